// The SQLite layout (src/sinks/sqlite-schema.ts): narrow typed rows + feature blocks on the hot path, every
// feature by name through the `flows` view once the writer has expanded the blocks, read by other clients.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newFlowRows, type FlowRows, type ProfileColumns } from '../src/sinks/flow-rows.js';
import { setIdentity, type TestIdentity } from './helpers/flow-rows.js';
import { asOlderSchema } from './helpers/run-db.js';
import { HOT_FEATURES, RETENTION_SQL, SCHEMA_VERSION, labelDictionary } from '../src/sinks/sqlite-schema.js';
import { SERVER_NAME_MAX } from '../src/decode/server-name.js';
import { setServerNames } from '../src/engine/flow-batch.js';
import { PAYLOAD_PROTOCOLS } from '../src/decode/payload-protocol.js';
import { STAGE_WHEN_BEHIND, SqliteSink, sqlColumnNames, type RunInfo } from '../src/sinks/sqlite.js';
import { ensureBuilt } from './setup/build.js';

const COLUMNS: ProfileColumns = {
  name: 'test9',
  identityNames: ['Flow ID', 'Src IP', 'Src Port', 'Dst IP', 'Dst Port', 'Protocol', 'Timestamp'],
  featureNames: ['Flow Duration', 'Total Fwd Packet', 'Total Bwd packets', 'Total Length of Fwd Packet',
    'Total Length of Bwd Packet', 'Flow Bytes/s', 'Fwd IAT Mean', 'Fwd Header Length', 'Fwd Header Length'],
  featureTypes: ['INTEGER', 'INTEGER', 'INTEGER', 'REAL', 'REAL', 'REAL', 'REAL', 'INTEGER', 'INTEGER'],
  labelName: 'Label',
  defaultLabel: 'NeedManualLabel',
  identityFormat: { timestamp: 'cic', canonicalFlowId: false },
};
const F = COLUMNS.featureNames.length;
const SQL = sqlColumnNames(COLUMNS.featureNames);
const run: RunInfo = { source: 'test.pcap', mode: 'replay', profile: 'test9', argv: [] };

/** Row i's identity: Flow ID `10.0.0.1-10.0.0.2-<40000+i>-80-6`, Timestamp `14/11/2023 10:13:20 PM`. */
function ident(i: number): TestIdentity {
  return { srcIp: '10.0.0.1', srcPort: 40000 + i, dstIp: '10.0.0.2', dstPort: 80, protocol: 6, startUs: 1_700_000_000_000_000 + i, endUs: 1_700_000_008_100_100 + i };
}

/** Row i: features that differ per row and per column, with a fraction, a negative and the specials. */
function feature(i: number, j: number): number {
  if (j === 6 && i % 17 === 3) return NaN;
  if (j === 5 && i % 19 === 4) return Infinity;
  return j === 6 ? (i * 1000003 + j) / 7 : j === 0 ? -(i + 1) : i * 100 + j;
}

function makeRows(n: number, first: number): FlowRows {
  const rows = newFlowRows(n, F);
  for (let i = 0; i < n; i++) {
    setIdentity(rows, i, ident(first + i));
    for (let j = 0; j < F; j++) rows.features[i * F + j] = feature(first + i, j);
  }
  rows.count = n;
  rows.labels = Array.from({ length: n }, (_, i) => ((first + i) % 3 === 0 ? 'DoS' : 'BENIGN'));
  rows.scores = Float64Array.from({ length: n }, (_, i) => (first + i) / 1000);
  rows.model = 'm@1';
  return rows;
}

/** What SQLite holds for a double we bound: NaN has no SQLite value and is NULL. */
const stored = (v: number): number | null => (Number.isNaN(v) ? null : v);

describe('SQLite layout', () => {
  let dir: string;
  beforeAll(() => {
    ensureBuilt(['src/sinks/sqlite-worker.ts', 'src/sinks/sqlite-schema.ts']);
    dir = mkdtempSync(join(tmpdir(), 'sqlite-layout-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every feature of every row is in the flows view by name after close, from SQLite, Python and the sqlite3 shell', async () => {
    const path = join(dir, 'all.sqlite');
    const sink = await SqliteSink.open(path, COLUMNS, run);
    // 70 rows (multi-row statements and single ones), 1 row, 130 rows.
    let first = 0;
    for (const n of [70, 1, 130]) {
      const r = sink.write(makeRows(n, first));
      if (r) await r;
      first += n;
    }
    await sink.close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get()).toBe(String(SCHEMA_VERSION));
      expect(db.prepare('SELECT count(*) FROM feature_blocks').pluck().get()).toBe(0);
      const rows = db.prepare(`SELECT id, src_port, label, score, ${SQL.join(', ')} FROM flows ORDER BY id`).raw(true).all() as unknown[][];
      expect(rows.length).toBe(201);
      rows.forEach((r, i) => {
        expect(r.slice(0, 4)).toEqual([i + 1, 40000 + i, i % 3 === 0 ? 'DoS' : 'BENIGN', i / 1000]);
        expect(r.slice(4)).toEqual(Array.from({ length: F }, (_, j) => stored(feature(i, j))));
      });
      // The hot columns are typed in flow_rows itself; the others only in flow_features.
      const rowCols = (db.prepare('PRAGMA table_info(flow_rows)').all() as { name: string }[]).map((c) => c.name);
      expect(SQL.filter((c) => rowCols.includes(c))).toEqual(SQL.slice(0, HOT_FEATURES));
      expect(db.prepare('SELECT typeof(total_fwd_packet), typeof(fwd_iat_mean) FROM flows WHERE id = 2').raw(true).get()).toEqual(['integer', 'real']);
    } finally {
      db.close();
    }
    const py = spawnSync('python3', ['-c', `import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(c.execute("SELECT fwd_iat_mean, fwd_header_length_1, flow_bytes_s FROM flows WHERE id = 11").fetchone())`, path], { encoding: 'utf8' });
    if (py.error) console.warn('python3 not found: the Python reader is not checked');
    else expect(py.stdout.trim()).toBe(`(${feature(10, 6)}, ${feature(10, 8)}, ${feature(10, 5)}.0)`);
    const sh = spawnSync('sqlite3', [path, 'SELECT fwd_header_length, fwd_header_length_1 FROM flows WHERE id = 200'], { encoding: 'utf8' });
    if (sh.error) console.warn('sqlite3 shell not found: the shell reader is not checked');
    else expect(sh.stdout.trim()).toBe(`${feature(199, 7)}|${feature(199, 8)}`);
  });

  it('a replay writes every feature with its batch: nothing is staged, each committed batch is whole in flows', async () => {
    const path = join(dir, 'replay.sqlite');
    const sink = await SqliteSink.open(path, COLUMNS, run);
    const reader = new Database(path, { readonly: true });
    try {
      // More batches than the writer takes at once, posted without waiting: a replay's flood at end of capture.
      const posted = [];
      for (let b = 0; b < 6; b++) posted.push(sink.write(makeRows(100, b * 100)));
      await Promise.all(posted);
      await sink.flush();
      expect(sink.batchesStaged).toBe(0);
      expect(sink.featuresPending).toBe(0);
      expect(reader.prepare('SELECT count(*) FROM feature_blocks').pluck().get()).toBe(0);
      const rows = reader.prepare(`SELECT ${SQL.join(', ')} FROM flows ORDER BY id`).raw(true).all();
      expect(rows).toEqual(Array.from({ length: 600 }, (_, i) => Array.from({ length: F }, (_, j) => stored(feature(i, j)))));
    } finally {
      reader.close();
      await sink.close();
    }
  });

  it('a live writer that falls behind stages features as blocks and expands them when idle, before close', async () => {
    const path = join(dir, 'behind.sqlite');
    const sink = await SqliteSink.open(path, COLUMNS, { ...run, mode: 'live' });
    for (let b = 0; b < 20; b++) void sink.write(makeRows(200, b * 200));
    // Posted at once: from the (STAGE_WHEN_BEHIND + 1)th on, each found that many batches ahead of it.
    expect(sink.batchesStaged).toBe(20 - STAGE_WHEN_BEHIND);
    await sink.flush();
    await sink.close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) FROM feature_blocks').pluck().get()).toBe(0);
      const rows = db.prepare(`SELECT ${SQL.join(', ')} FROM flows ORDER BY id`).raw(true).all();
      expect(rows).toEqual(Array.from({ length: 4000 }, (_, i) => Array.from({ length: F }, (_, j) => stored(feature(i, j)))));
    } finally {
      db.close();
    }
  });

  it('expands staged features off the hot path while the writer is idle, before close', async () => {
    const path = join(dir, 'idle.sqlite');
    const sink = await SqliteSink.open(path, COLUMNS, run, { stageFeatures: 'always' });
    const reader = new Database(path, { readonly: true });
    try {
      void sink.write(makeRows(50, 0));
      const t0 = performance.now();
      let got: unknown[] | undefined;
      while (performance.now() - t0 < 3000) {
        got = reader.prepare('SELECT count(*), count(fwd_iat_mean), (SELECT count(*) FROM feature_blocks) FROM flows').raw(true).get() as unknown[];
        if (got[0] === 50 && got[2] === 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      // 50 rows, all expanded (3 NaN means are NULL), no block left, while the sink is still open.
      expect(got).toEqual([50, 47, 0]);
      expect(performance.now() - t0).toBeLessThan(1500);
      // The sink's counter of what waits follows: nothing after the next acknowledgement.
      await sink.flush();
      expect(sink.featuresPending).toBe(0);

    } finally {
      reader.close();
      await sink.close();
    }
  });

  it("the writer's SQLite extension stores exactly the rows that binding every value stores", async () => {
    // Batches with every kind of cell: verdicts with NULL labels and NaN scores, none at all, IPv6 and IPv4
    // identities, NaN and Infinity features, a canonical Flow ID, multi-row and single-row batch sizes.
    const columns: ProfileColumns = { ...COLUMNS, identityFormat: { timestamp: 'cic', canonicalFlowId: true } };
    const batches = (): FlowRows[] => {
      const a = makeRows(70, 0);
      a.labels![3] = null;
      a.scores![4] = NaN;
      a.attackLabels = Array.from({ length: 70 }, (_, i) => (i % 5 === 0 ? null : `A${i % 3}`));
      a.attackScores = Float64Array.from({ length: 70 }, (_, i) => i / 70);
      a.kdd = Array.from({ length: 70 }, () => 'dos');
      a.appLabels = Array.from({ length: 70 }, (_, i) => (i % 2 ? 'Web' : 'Network, "DNS"\n é'));
      a.appScores = Float64Array.from({ length: 70 }, (_, i) => 1 - i / 70);
      a.appModel = 'app@1';
      // Server names: none, a plain one, one with every printable byte that SQL or the texts could trip on, the longest.
      const names = [null, 'www.example.com', `a'b"c,d\\e;%_ ~.x`, 'n'.repeat(SERVER_NAME_MAX)];
      setServerNames(a, Array.from({ length: 70 }, (_, i) => names[i % names.length]!));
      a.serverNameSources = Uint8Array.from({ length: 70 }, (_, i) => 1 + (i % 3)); // flow, carried, dns
      a.context = Array.from({ length: 70 }, (_, i) => (i % 9 === 0 ? `port-scan: 10.0.0.${i} → 15+ ports of "x"\n é` : null));
      const b = makeRows(1, 70);
      const c = makeRows(130, 71);
      delete c.labels;
      delete c.scores;
      delete c.model;
      for (let i = 0; i < 130; i += 7) setIdentity(c, i, { srcIp: '2001:db8::1', srcPort: 5353, dstIp: 'fe80::2', dstPort: 53, protocol: 17, startUs: 1_700_000_100_000_000 + i, endUs: 1_700_000_100_000_000 + i });
      setIdentity(c, 1, { srcIp: '10.9.9.9', srcPort: 80, dstIp: '10.0.0.1', dstPort: 1234, protocol: 6, startUs: 1, endUs: 2 });
      return [a, b, c];
    };
    const written: Record<string, { rows: unknown[][]; typed: unknown[][] }> = {};
    for (const bind of [false, true]) {
      const path = join(dir, `extension-${bind}.sqlite`);
      if (bind) process.env.SENSOR_SQLITE_BIND = '1'; // read by the writer thread when it starts
      const sink = await SqliteSink.open(path, columns, run);
      delete process.env.SENSOR_SQLITE_BIND;
      expect(sink.rowsExtension).toBe(!bind);
      for (const rows of batches()) await sink.write(rows);
      await sink.close();
      const db = new Database(path, { readonly: true });
      const cols = (t: string): string[] => (db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name);
      const all = [...cols('flow_rows').map((c) => `r.${c}`), ...cols('flow_features').map((c) => `f.${c}`)];
      const from = 'FROM flow_rows r JOIN flow_features f USING (id) ORDER BY id';
      written[String(bind)] = {
        rows: db.prepare(`SELECT ${all.join(', ')} ${from}`).raw(true).all() as unknown[][],
        typed: db.prepare(`SELECT ${all.map((c) => `typeof(${c})`).join(', ')} ${from}`).raw(true).all() as unknown[][],
      };
      db.close();
    }
    const viaExtension = written['false']!;
    expect(viaExtension.rows.length).toBe(201);
    expect(viaExtension).toEqual(written['true']);
    // And what was written is what the batches said (spot checks of the kinds above).
    const byId = (id: number): unknown[] => viaExtension.rows[id - 1]!;
    expect(byId(4).slice(11 + HOT_FEATURES, 11 + HOT_FEATURES + 2)).toEqual([null, 3 / 1000]); // NULL label, its score
    expect(byId(5)[11 + HOT_FEATURES + 1]).toBeNull(); // NaN score
    const app = 11 + HOT_FEATURES + 6; // app_label, app_score, app_model: the last columns of flow_rows
    expect(byId(1).slice(app, app + 3)).toEqual(['Network, "DNS"\n é', 1, 'app@1']);
    expect(byId(1).slice(app - 3, app)).toEqual([null, 0, 'dos']); // attack_label NULL (i % 5 = 0), its score, kdd
    // server_name, then context (flow_rows' last columns): NULL without one (and in batches without the columns).
    const name = app + 3;
    expect([1, 2, 3, 4, 5, 71, 72].map((id) => byId(id)[name])).toEqual([null, 'www.example.com', `a'b"c,d\\e;%_ ~.x`, 'n'.repeat(SERVER_NAME_MAX), null, null, null]);
    expect([byId(1)[app + 4], byId(2)[app + 4], byId(10)[app + 4]]).toEqual(['port-scan: 10.0.0.0 → 15+ ports of "x"\n é', null, 'port-scan: 10.0.0.9 → 15+ ports of "x"\n é']); // context
    // server_name_source: NULL without a name, else the batch's source (the batch without sources: the flow's own).
    expect([1, 2, 3, 4, 6, 72].map((id) => byId(id)[app + 5])).toEqual([null, 'carried', 'dns', 'flow', 'dns', null]);
    expect(byId(72).slice(2, 11)).toEqual(['fe80::2-2001:db8::1-53-5353-17', '2001:db8::1', 5353, 'fe80::2', 53, 17, 1_700_000_100_000_000, 1_700_000_100_000_000, '14/11/2023 10:15:00 PM']);
    expect(byId(73).slice(2, 4)).toEqual(['10.0.0.1-10.9.9.9-1234-80-6', '10.9.9.9']);
  });

  it('the extension refuses a batch whose numbers or texts do not make whole rows', () => {
    const db = new Database(':memory:');
    try {
      db.loadExtension(join(process.cwd(), 'native/build/Release/sensor_sqlite_rows.node'));
      const numbers = Buffer.from(new Float64Array([1.5, NaN, -Infinity, 4]).buffer);
      expect(db.prepare('SELECT rowid, c0, c1, t0, t1 FROM batch_rows(?, 2, ?, 2)').raw(true).all(numbers, 'a\x1fbc\x1f\x1fé\x1f')).toEqual([
        [0, 1.5, null, 'a', 'bc'],
        [1, -Infinity, 4, '', 'é'],
      ]);
      expect(() => db.prepare('SELECT * FROM batch_rows(?, 3)').all(numbers)).toThrow(/32 bytes are not rows of 3 doubles/);
      expect(() => db.prepare('SELECT * FROM batch_rows(?, 2, ?, 2)').all(numbers, 'a\x1fb\x1fc\x1f')).toThrow(/3 text fields for 2 rows of 2/);
      expect(() => db.prepare('SELECT * FROM batch_rows(?, 2)').all('text')).toThrow(/numbers must be a BLOB/);
    } finally {
      db.close();
    }
  });

  it('batch_label gives a label code\'s text from the batch\'s dictionary, whatever the entries hold', () => {
    const db = new Database(':memory:');
    try {
      db.loadExtension(join(process.cwd(), 'native/build/Release/sensor_sqlite_rows.node'));
      const entries = ['BENIGN', '12:x', '', 'port-scan: 10.0.0.0 → 15+ ports of "x"\n é'];
      const dictionary = labelDictionary(entries);
      const numbers = Buffer.from(new Float64Array([0, 1, 2, 3, 4, NaN, -1]).buffer);
      const got = db.prepare('SELECT batch_label(?, c0) FROM batch_rows(?, 1)').pluck().all(dictionary, numbers);
      expect(got).toEqual([...entries, null, null, null]); // out of range and NULL codes are NULL
      expect(db.prepare('SELECT batch_label(?, 0)').pluck().get('')).toBeNull(); // no entries (a batch without the column)
      expect(() => db.prepare('SELECT batch_label(?, 0)').get('6:BENIGN3:Do')).toThrow(/dictionary is not length:text entries/);
      expect(() => db.prepare('SELECT batch_label(?, 0)').get('["BENIGN"]')).toThrow(/dictionary is not length:text entries/);
    } finally {
      db.close();
    }
  });

  it('expands blocks that a killed writer left, the next time the database is opened', async () => {
    const path = join(dir, 'killed.sqlite');
    const sink = await SqliteSink.open(path, COLUMNS, run);
    await sink.write(makeRows(10, 0));
    await sink.close();
    // What a writer killed right after committing a batch leaves: the rows and their block, not yet expanded.
    const db = new Database(path);
    db.exec('DELETE FROM flow_features WHERE id > 4');
    const rows = makeRows(6, 4);
    db.prepare('INSERT INTO feature_blocks (first_id, count, features) VALUES (?, ?, ?)').run(5, 6, Buffer.from(rows.features.buffer));
    expect(db.prepare('SELECT count(fwd_iat_mean) FROM flows').pluck().get()).toBe(3); // rows 1-4, row 4's mean is NaN
    // Retention deleted flow 7 before its block was expanded: no feature row may be left for it.
    db.exec('DELETE FROM flow_rows WHERE id = 7');
    db.close();
    const again = await SqliteSink.open(path, COLUMNS, run);
    expect(again.featuresPending).toBe(6); // what waits, counted when the database is opened
    await again.close();
    const check = new Database(path, { readonly: true });
    try {
      const got = check.prepare(`SELECT ${SQL.join(', ')} FROM flows ORDER BY id`).raw(true).all();
      const kept = Array.from({ length: 10 }, (_, i) => i).filter((i) => i !== 6);
      expect(got).toEqual(kept.map((i) => Array.from({ length: F }, (_, j) => stored(feature(i, j)))));
      expect(check.prepare('SELECT id FROM flow_features ORDER BY id').pluck().all()).toEqual(kept.map((i) => i + 1));
      expect(check.prepare('SELECT count(*) FROM feature_blocks').pluck().get()).toBe(0);
    } finally {
      check.close();
    }
  });

  it('upgrades a version-4 database (before server_name and context): the columns are added, NULL in the old rows', async () => {
    const path = join(dir, 'v4.sqlite');
    const withNames = (n: number, first: number): FlowRows => {
      const rows = makeRows(n, first);
      setServerNames(rows, new Array<string>(n).fill('a.b'));
      return rows;
    };
    const sink = await SqliteSink.open(path, COLUMNS, run);
    await sink.write(withNames(10, 0));
    await sink.close();
    // Make it what version 4 wrote: flow_rows and the view without server_name and context.
    const db = new Database(path);
    asOlderSchema(db, ['server_name', 'context', 'server_name_source', 'payload_protocol'], 4);
    const before = db.prepare('SELECT * FROM flows ORDER BY id').all() as Record<string, unknown>[];
    expect(Object.keys(before[0]!)).not.toContain('server_name');
    db.close();
    const again = await SqliteSink.open(path, COLUMNS, run);
    await again.write(withNames(5, 10));
    await again.close();
    const after = new Database(path, { readonly: true });
    try {
      expect(after.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get()).toBe(String(SCHEMA_VERSION));
      const old = after.prepare('SELECT * FROM flows WHERE run_id = 1 ORDER BY id').all() as Record<string, unknown>[];
      expect(old.map(({ server_name: _n, context: _c, server_name_source: _o, payload_protocol: _p, ...rest }) => rest)).toEqual(before);
      expect(old.every((r) => r.server_name === null && r.context === null && r.server_name_source === null && r.payload_protocol === null)).toBe(true);
      expect(after.prepare('SELECT server_name FROM flows WHERE run_id = 2').pluck().all()).toEqual(new Array(5).fill('a.b'));
    } finally {
      after.close();
    }
  });

  it('upgrades a version-5 database (before server_name_source): the column is added, NULL in the old rows', async () => {
    const path = join(dir, 'v5.sqlite');
    // Names with each source, and rows without one (a hand-made batch's names without sources read as the flow's own).
    const withSources = (n: number, first: number, sources: boolean): FlowRows => {
      const rows = makeRows(n, first);
      setServerNames(rows, Array.from({ length: n }, (_, i) => (i % 4 === 3 ? null : `n${i}.example`)));
      if (sources) rows.serverNameSources = Uint8Array.from({ length: n }, (_, i) => [1, 2, 3, 0][i % 4]!);
      return rows;
    };
    const sink = await SqliteSink.open(path, COLUMNS, run);
    await sink.write(withSources(8, 0, true));
    await sink.close();
    const db = new Database(path);
    asOlderSchema(db, ['server_name_source', 'payload_protocol'], 5);
    const before = db.prepare('SELECT * FROM flows ORDER BY id').all() as Record<string, unknown>[];
    expect(Object.keys(before[0]!)).not.toContain('server_name_source');
    db.close();
    const again = await SqliteSink.open(path, COLUMNS, run);
    await again.write(withSources(8, 8, true));
    await again.write(withSources(4, 16, false));
    await again.close();
    const after = new Database(path, { readonly: true });
    try {
      expect(after.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get()).toBe(String(SCHEMA_VERSION));
      const old = after.prepare('SELECT * FROM flows WHERE run_id = 1 ORDER BY id').all() as Record<string, unknown>[];
      expect(old.map(({ server_name_source: _o, payload_protocol: _p, ...rest }) => rest)).toEqual(before);
      expect(old.every((r) => r.server_name_source === null && r.payload_protocol === null)).toBe(true);
      const fresh = after.prepare('SELECT server_name, server_name_source FROM flows WHERE run_id = 2 ORDER BY id').raw().all();
      const expected = (n: number, sources: boolean): unknown[][] =>
        Array.from({ length: n }, (_, i) => (i % 4 === 3 ? [null, null] : [`n${i}.example`, sources ? ['flow', 'carried', 'dns'][i % 4] : 'flow']));
      expect(fresh).toEqual([...expected(8, true), ...expected(4, false)]);
    } finally {
      after.close();
    }
  });

  it('upgrades a version-6 database (before payload_protocol): the column is added, NULL in the old rows; new rows carry the names', async () => {
    const path = join(dir, 'v6.sqlite');
    // Ids as the engine hands them on (k + 1 in PAYLOAD_PROTOCOLS, 0 = none), and a batch without the column.
    const withProtocols = (n: number, first: number, ids: number[] | null): FlowRows => {
      const rows = makeRows(n, first);
      if (ids) rows.payloadProtocol = Uint8Array.from(ids);
      return rows;
    };
    const sink = await SqliteSink.open(path, COLUMNS, run);
    await sink.write(withProtocols(3, 0, [1, 0, 2]));
    await sink.close();
    const db = new Database(path);
    expect(db.prepare('SELECT payload_protocol FROM flows ORDER BY id').pluck().all()).toEqual(['TLS', null, 'HTTP']);
    asOlderSchema(db, ['payload_protocol'], 6);
    const before = db.prepare('SELECT * FROM flows ORDER BY id').all() as Record<string, unknown>[];
    expect(Object.keys(before[0]!)).not.toContain('payload_protocol');
    db.close();
    const again = await SqliteSink.open(path, COLUMNS, run);
    const rtp = PAYLOAD_PROTOCOLS.indexOf('RTP') + 1;
    const stun = PAYLOAD_PROTOCOLS.indexOf('STUN') + 1;
    await again.write(withProtocols(4, 3, [rtp, stun, 0, PAYLOAD_PROTOCOLS.length]));
    await again.write(withProtocols(2, 7, null));
    await again.close();
    const after = new Database(path, { readonly: true });
    try {
      expect(after.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get()).toBe(String(SCHEMA_VERSION));
      const cols = (after.prepare('PRAGMA table_info(flows)').all() as { name: string }[]).map((c) => c.name);
      expect(cols[cols.length - 1]).toBe('payload_protocol');
      const old = after.prepare('SELECT * FROM flows WHERE run_id = 1 ORDER BY id').all() as Record<string, unknown>[];
      expect(old.map(({ payload_protocol: _p, ...rest }) => rest)).toEqual(before);
      expect(old.every((r) => r.payload_protocol === null)).toBe(true);
      const fresh = after.prepare('SELECT payload_protocol FROM flows WHERE run_id = 2 ORDER BY id').pluck().all();
      expect(fresh).toEqual(['RTP', 'STUN', null, PAYLOAD_PROTOCOLS[PAYLOAD_PROTOCOLS.length - 1], null, null]);
    } finally {
      after.close();
    }
  });

  it('upgrades a version-2 database (flows a table) keeping every row, and deletes through retention and the view', async () => {
    const path = join(dir, 'v2.sqlite');
    const sink = await SqliteSink.open(path, COLUMNS, run);
    await sink.write(makeRows(40, 0));
    await sink.close();
    // Version 2's layout: flows a table with a typed column per feature, nothing else.
    const db = new Database(path);
    const before = db.prepare('SELECT * FROM flows ORDER BY id').all();
    db.exec(`CREATE TABLE flows_t AS SELECT * FROM flows; DROP VIEW flows; DROP TABLE flow_rows; DROP TABLE flow_features;
      DROP TABLE feature_blocks; ALTER TABLE flows_t RENAME TO flows; UPDATE meta SET value = '2' WHERE key = 'schema_version';`);
    db.close();
    const again = await SqliteSink.open(path, COLUMNS, run);
    await again.write(makeRows(5, 40));
    await again.close();
    const after = new Database(path);
    try {
      expect(after.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get()).toBe(String(SCHEMA_VERSION));
      expect(after.prepare('SELECT * FROM flows WHERE run_id = 1 ORDER BY id').all()).toEqual(before);
      expect(after.prepare('SELECT count(*) FROM flows WHERE run_id = 2 AND fwd_iat_mean IS NOT NULL').pluck().get()).toBe(5);
      expect(after.prepare('PRAGMA integrity_check').pluck().get()).toBe('ok');
      // Retention's statement deletes rows and their features; so does DELETE on the view.
      expect(after.prepare(RETENTION_SQL.present).get()).toBeDefined();
      expect(after.prepare(RETENTION_SQL.deleteChunk).run(1_700_000_000_000_000 + 10, 4).changes).toBe(4);
      after.exec('DELETE FROM flows WHERE src_port = 40020');
      expect(after.prepare('SELECT count(*) FROM flow_rows').pluck().get()).toBe(40);
      expect(after.prepare('SELECT count(*) FROM flow_features').pluck().get()).toBe(40);
      expect(after.prepare('SELECT count(*) FROM flows WHERE src_port IN (40000, 40001, 40002, 40003, 40020)').pluck().get()).toBe(0);
    } finally {
      after.close();
    }
  });
});
