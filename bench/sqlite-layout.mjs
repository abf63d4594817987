// The SQLite writer's ways of storing a batch, measured alone: CPU time (user + system, this process) per flow
// for 126,976 flows of 85 features in batches of 1,024, one transaction per batch, WAL, synchronous=NORMAL, the
// schema and statements of src/sinks/sqlite-schema.ts (run `npm run build` first).
//
//   node bench/sqlite-layout.mjs [--repeat N] [--dir DIR]
//
// Variants, each in a fresh database, in turn, N rounds (median [min – max] printed):
//   bound R       narrow row + feature row, every value bound from JavaScript, R rows per INSERT (10, 50, 64, 100)
//   staged        narrow row bound + the batch's features as one BLOB block, then the block expanded (bound, 64)
//                 into flow_features: what a live writer that fell behind pays in all
//   extension     both rows through the writer's SQLite extension (native/src/sqlite-rows.c): one statement per
//                 table and batch; then the same with pragmas: page_size=8192, cache_size=-65536,
//                 mmap_size=256 MiB, locking_mode=EXCLUSIVE, wal_autocheckpoint=1000 (SQLite's default)
// The features are a flood's kind of values: zeros, small integers and some fractions; the identity text is
// made per row as the writer makes it (a Flow ID, two addresses, a Timestamp).
import { rmSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(join(ROOT, 'package.json'));
const Database = require('better-sqlite3');
const schema = await import(join(ROOT, 'dist/sinks/sqlite-schema.js'));
const EXTENSION = join(ROOT, 'native/build/Release/sensor_sqlite_rows.node');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const REPEAT = Number(opt('--repeat', 3));
const DIR = opt('--dir', null) ?? mkdtempSync(join(tmpdir(), 'sensor-sqlite-layout-'));

const BATCH = 1024;
const N = 124 * BATCH;
const F = 85;
const specs = Array.from({ length: F }, (_, j) => ({ name: `f${j}`, sql: `f${j}`, type: j < 3 ? 'INTEGER' : 'REAL' }));
const features = new Float64Array(N * F);
for (let i = 0; i < N; i++) {
  for (let j = 0; j < F; j++) {
    const k = (i + j) % 5;
    features[i * F + j] = k === 0 ? 0 : k === 1 ? i % 7 : k === 2 ? 1 + (j % 3) : k === 3 ? (i * 7919 + j) / 13 : 0;
  }
}
const texts = (i) => [`10.0.${(i >> 8) & 255}.${i & 255}-10.1.0.1-${i & 65535}-80-6`, `10.0.${(i >> 8) & 255}.${i & 255}`, '10.1.0.1', '23/11/2026 06:31:00'];

function open(path, pragmas) {
  for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 10000');
  for (const p of pragmas) db.pragma(p);
  db.exec(schema.createSchemaSql(specs));
  db.prepare("INSERT INTO runs (id, mode) VALUES (1, 'replay')").run();
  return db;
}

/** Binds every value: narrow rows R per statement (the rest one by one); features into flow_features, or a block. */
function bound(db, R, staged) {
  const rowSql = (n) => schema.insertFlowRowsSql(specs, n);
  const featSql = (n) => schema.insertFlowFeaturesSql(specs, n);
  const P = rowSql(1).columns.length;
  const E = featSql(1).columns.length;
  const stmt = { rows: [db.prepare(rowSql(1).sql), db.prepare(rowSql(R).sql)], feats: [db.prepare(featSql(1).sql), db.prepare(featSql(R).sql)] };
  const args = { rows: [new Array(P), new Array(P * R)], feats: [new Array(E), new Array(E * R)] };
  const block = db.prepare(schema.INSERT_FEATURE_BLOCK_SQL);
  const fillRow = (a, o, id) => {
    const t = texts(id);
    a[o] = id; a[o + 1] = 1; a[o + 2] = t[0]; a[o + 3] = t[1]; a[o + 4] = id & 65535; a[o + 5] = t[2]; a[o + 6] = 80;
    a[o + 7] = 6; a[o + 8] = 1.7e15 + id; a[o + 9] = 1.7e15 + id + 996; a[o + 10] = t[3];
    for (let j = 0; j < 5; j++) a[o + 11 + j] = features[(id - 1) * F + j];
    a[o + 16] = 'BENIGN'; a[o + 17] = 0.99; a[o + 18] = 'attack@4'; a[o + 19] = null; a[o + 20] = null; a[o + 21] = null;
    a[o + 22] = 'Web'; a[o + 23] = 0.6; a[o + 24] = 'app@1';
  };
  const fillFeat = (e, o, id) => {
    e[o] = id;
    for (let j = 5; j < F; j++) e[o + j - 4] = features[(id - 1) * F + j];
  };
  const put = (kind, fill, W, first) => {
    let i = 0;
    for (; i + R <= BATCH; i += R) {
      for (let k = 0; k < R; k++) fill(args[kind][1], k * W, first + i + k);
      stmt[kind][1].run(args[kind][1]);
    }
    for (; i < BATCH; i++) {
      fill(args[kind][0], 0, first + i);
      stmt[kind][0].run(args[kind][0]);
    }
  };
  const oldest = db.prepare(schema.OLDEST_FEATURE_BLOCK_SQL).raw(true);
  const drop = db.prepare(schema.DELETE_FEATURE_BLOCK_SQL);
  const batch = db.transaction((first) => {
    put('rows', fillRow, P, first);
    if (staged) block.run(first, BATCH, Buffer.from(features.buffer, (first - 1) * F * 8, BATCH * F * 8));
    else put('feats', fillFeat, E, first);
  });
  // The expansion reads the block back (the values bound are the same as the array's).
  const expand = db.transaction(() => {
    const [first] = oldest.get();
    put('feats', fillFeat, E, first);
    drop.run(first);
  });
  for (let first = 1; first <= N; first += BATCH) batch(first);
  if (staged) for (let first = 1; first <= N; first += BATCH) expand();
}

/** Both tables through batch_rows: one statement each per batch. */
function viaExtension(db) {
  db.loadExtension(EXTENSION);
  const rows = db.prepare(schema.insertFlowRowsFromBatchSql(specs));
  const feats = db.prepare(schema.insertFlowFeaturesFromBlobSql(specs));
  const NR = schema.rowNumbersStride(specs);
  const numbers = new Float64Array(BATCH * NR);
  const batch = db.transaction((first) => {
    const t = [];
    for (let i = 0, o = 0; i < BATCH; i++) {
      const id = first + i;
      numbers[o++] = id & 65535; numbers[o++] = 80; numbers[o++] = 6; numbers[o++] = 1.7e15 + id; numbers[o++] = 1.7e15 + id + 996;
      for (let j = 0; j < 5; j++) numbers[o++] = features[(id - 1) * F + j];
      numbers[o++] = 0.99; numbers[o++] = NaN; numbers[o++] = 0.6;
      numbers[o++] = 0; numbers[o++] = NaN; numbers[o++] = NaN; numbers[o++] = 0;
      const x = texts(id);
      t.push(x[0], '\x1f', x[1], '\x1f', x[2], '\x1f', x[3], '\x1f');
    }
    rows.run({ first, run: 1, numbers: Buffer.from(numbers.buffer), texts: t.join(''), model: 'attack@4', app_model: 'app@1', label: '["BENIGN"]', attack_label: '[]', kdd: '[]', app_label: '["Web"]' });
    feats.run(first, Buffer.from(features.buffer, (first - 1) * F * 8, BATCH * F * 8));
  });
  for (let first = 1; first <= N; first += BATCH) batch(first);
}

const VARIANTS = [
  ...[10, 50, 64, 100].map((R) => ({ name: `bound, ${R} rows a statement`, run: (db) => bound(db, R, false) })),
  { name: 'staged block, then expanded', run: (db) => bound(db, 64, true) },
  { name: 'extension', run: viaExtension },
  ...['page_size = 8192', 'cache_size = -65536', 'mmap_size = 268435456', 'locking_mode = EXCLUSIVE', 'wal_autocheckpoint = 1000'].map((p) => ({
    name: `extension, ${p}`,
    pragmas: [p],
    run: viaExtension,
  })),
];

const results = VARIANTS.map(() => []);
for (let r = 0; r < REPEAT; r++) {
  VARIANTS.forEach((v, k) => {
    const path = join(DIR, 'layout.sqlite');
    const db = open(path, v.pragmas ?? []);
    const t0 = process.cpuUsage();
    v.run(db);
    db.close(); // checkpoints: part of what a replay pays before it exits
    const t1 = process.cpuUsage();
    results[k].push((t1.user - t0.user + t1.system - t0.system) / N);
    for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
  });
}
rmSync(DIR, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = (await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`SQLite writer alone: CPU µs per flow (${N} flows, ${F} features, batches of ${BATCH}), median [min – max] of ${REPEAT}; load average ${load}`);
VARIANTS.forEach((v, k) => {
  const xs = results[k];
  console.log(`  ${v.name.padEnd(44)} ${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)} – ${Math.max(...xs).toFixed(2)}]`);
});
