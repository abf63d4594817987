/**
 * Worker thread of SqliteSink (see sqlite.ts for the protocol, schema and ownership rules). Runs compiled, from
 * dist/sinks/sqlite-worker.js. Opens the database, answers 'ready' or 'open-error', then handles messages in
 * order: each batch is one transaction (WAL, synchronous=NORMAL), acknowledged after commit.
 */
import { accessSync, constants as fsc, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { SinkErrorKind } from './flow-rows.js';
import type { FromWorker, ToWorker, WorkerInit } from './sqlite.js';

/** 2: flows gained attack_label, attack_score, kdd (a version-1 database is upgraded when opened). */
const SCHEMA_VERSION = 2;
/** Columns added to `flows` by each version after 1 (all nullable: rows written before have NULL). */
const ADDED_COLUMNS: Record<number, string[]> = { 2: ['attack_label TEXT NULL', 'attack_score REAL NULL', 'kdd TEXT NULL'] };
/**
 * Rows per multi-row INSERT (one statement call per 32 rows is ~1.4x faster than one per row); fewer when a row
 * has so many columns that 32 rows would pass SQLite's limit of 32766 bound variables.
 */
const MAX_ROWS_PER_STATEMENT = 32;

class OpenError extends Error {
  constructor(
    readonly kind: SinkErrorKind,
    message: string,
  ) {
    super(message);
  }
}

if (!parentPort) throw new Error('sqlite-worker.js must run in a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;

function send(msg: FromWorker): void {
  port.postMessage(msg);
}

function q(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function sqliteCode(err: unknown): string {
  return String((err as { code?: unknown } | null)?.code ?? '');
}

function oneLine(err: unknown): string {
  return String((err as Error | null)?.message ?? err).replace(/\s+/g, ' ').trim();
}

/** Maps a SQLite/fs error at open time to a one-line OpenError. */
function classify(err: unknown, path: string): OpenError {
  if (err instanceof OpenError) return err;
  const code = sqliteCode(err);
  const msg = oneLine(err);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new OpenError(
      'locked',
      `database ${path} is locked by another process (still busy after ${init.busyTimeoutMs} ms)`,
    );
  }
  if (code === 'SQLITE_NOTADB') return new OpenError('not-a-database', `${path} is not a SQLite database`);
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') {
    return new OpenError('not-writable', `database ${path} is not writable (${msg})`);
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return new OpenError('not-writable', `cannot open database ${path} for writing (${msg})`);
  }
  if (/directory does not exist/i.test(msg)) {
    return new OpenError('directory-missing', `cannot create database ${path}: directory does not exist`);
  }
  return new OpenError('write-failed', `cannot open database ${path}: ${msg}${code ? ` (${code})` : ''}`);
}

function checkPath(path: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) {
    throw new OpenError('directory-missing', `cannot create database ${path}: directory ${dir} does not exist`);
  }
  if (!statSync(dir).isDirectory()) {
    throw new OpenError('directory-missing', `cannot create database ${path}: ${dir} is not a directory`);
  }
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) throw new OpenError('not-writable', `database ${path} is a directory`);
    try {
      accessSync(path, fsc.R_OK | fsc.W_OK);
    } catch {
      throw new OpenError('not-writable', `database ${path} is not writable (permission denied)`);
    }
  }
  // WAL needs to create <db>-wal and <db>-shm next to the database.
  try {
    accessSync(dir, fsc.W_OK | fsc.X_OK);
  } catch {
    throw new OpenError('not-writable', `cannot write database ${path}: directory ${dir} is not writable`);
  }
}

interface ColumnSpec {
  name: string;
  sql: string;
  type: 'INTEGER' | 'REAL';
}

function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}

/** Creates the schema, or checks that the existing one is ours and has this profile's columns. */
function ensureSchema(db: Database.Database, path: string): void {
  const specs: ColumnSpec[] = init.featureNames.map((name, i) => ({
    name,
    sql: init.featureSqlNames[i]!,
    type: init.featureTypes[i]!,
  }));
  const columnsJson = JSON.stringify(specs);
  if (tableExists(db, 'meta')) {
    const meta = new Map(
      (db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [
        r.key,
        r.value,
      ]),
    );
    const version = Number(meta.get('schema_version'));
    const older = Number.isInteger(version) && version >= 1 && version < SCHEMA_VERSION;
    if (!older && version !== SCHEMA_VERSION) {
      throw new OpenError(
        'schema-mismatch',
        `database ${path} has schema version ${meta.get('schema_version') ?? '(none)'}, this program writes ${SCHEMA_VERSION}`,
      );
    }
    const profile = meta.get('profile') ?? '(none)';
    if (profile !== init.profile) {
      throw new OpenError(
        'profile-mismatch',
        `database ${path} holds flows of profile '${profile}', not '${init.profile}': use another database file`,
      );
    }
    if (meta.get('columns') !== columnsJson) {
      throw new OpenError(
        'profile-mismatch',
        `database ${path} was created for profile '${profile}' with other feature columns: use another database file`,
      );
    }
    if (!tableExists(db, 'runs') || !tableExists(db, 'flows')) {
      throw new OpenError('schema-mismatch', `database ${path} lacks its runs/flows tables`);
    }
    if (older) {
      // An older database of ours (checked above): add the new nullable columns. This runs inside the opening
      // transaction (BEGIN IMMEDIATE), so the upgrade is all or nothing; ADD COLUMN does not rewrite the rows.
      for (let v = version + 1; v <= SCHEMA_VERSION; v++) {
        for (const col of ADDED_COLUMNS[v] ?? []) db.exec(`ALTER TABLE flows ADD COLUMN ${col}`);
      }
      db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(String(SCHEMA_VERSION));
    }
    return;
  }
  for (const t of ['runs', 'flows']) {
    if (tableExists(db, t)) {
      throw new OpenError(
        'schema-mismatch',
        `database ${path} already has a '${t}' table that this program did not create: use another database file`,
      );
    }
  }
  const featureDdl = specs.map((c) => `  ${q(c.sql)} ${c.type}`).join(',\n');
  db.exec(`
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  source TEXT,
  mode TEXT CHECK (mode IN ('replay', 'live')),
  profile TEXT,
  started_at TEXT,
  ended_at TEXT,
  packets INTEGER,
  flows INTEGER,
  counters TEXT,
  argv TEXT
);
CREATE TABLE flows (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  flow_id TEXT,
  src_ip TEXT,
  src_port INTEGER,
  dst_ip TEXT,
  dst_port INTEGER,
  protocol INTEGER,
  start_us INTEGER,
  end_us INTEGER,
  timestamp TEXT,
${featureDdl}${specs.length > 0 ? ',' : ''}
  label TEXT NULL,
  score REAL NULL,
  model TEXT NULL,
  attack_label TEXT NULL,
  attack_score REAL NULL,
  kdd TEXT NULL
);
CREATE INDEX flows_run_id ON flows(run_id);
CREATE INDEX flows_start_us ON flows(start_us);
`);
  const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
  put.run('schema_version', String(SCHEMA_VERSION));
  put.run('profile', init.profile);
  put.run('columns', columnsJson);
  put.run('created_at', init.startedAt);
}

function open(): { db: Database.Database; runId: number } {
  const path = init.path;
  const memory = path === ':memory:' || path === '';
  if (!memory) checkPath(path);
  let db: Database.Database | null = null;
  try {
    db = new Database(path, { timeout: init.busyTimeoutMs });
    // The first statements read the header: NOTADB and BUSY (rollback-journal lock) surface here.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    const conn = db;
    // BEGIN IMMEDIATE takes the write lock now: a database another process is writing fails here, 'locked'.
    const runId = conn
      .transaction(() => {
        ensureSchema(conn, path);
        const info = conn
          .prepare(
            'INSERT INTO runs (source, mode, profile, started_at, argv) VALUES (?, ?, ?, ?, ?)',
          )
          .run(init.run.source, init.run.mode, init.run.profile, init.startedAt, JSON.stringify(init.run.argv));
        return Number(info.lastInsertRowid);
      })
      .immediate();
    db.pragma(`busy_timeout = ${init.writeBusyTimeoutMs}`);
    return { db, runId };
  } catch (err) {
    try {
      db?.close();
    } catch {
      /* ignore */
    }
    throw classify(err, path);
  }
}

/** Prepares the statements and starts serving messages; throws (as an open error) if preparing fails. */
function serve(db: Database.Database, runId: number): void {
  const F = init.featureNames.length;
  const insertColumns = [
    'run_id',
    'flow_id',
    'src_ip',
    'src_port',
    'dst_ip',
    'dst_port',
    'protocol',
    'start_us',
    'end_us',
    'timestamp',
    ...init.featureSqlNames,
    'label',
    'score',
    'model',
    'attack_label',
    'attack_score',
    'kdd',
  ];
  const P = insertColumns.length;
  const ROWS_PER_STATEMENT = Math.max(1, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(32_000 / P)));
  const rowPlaceholder = `(${new Array(P).fill('?').join(',')})`;
  const insertHead = `INSERT INTO flows (${insertColumns.map(q).join(', ')}) VALUES `;
  const insertOne = db.prepare(insertHead + rowPlaceholder);
  const insertMany = db.prepare(insertHead + new Array(ROWS_PER_STATEMENT).fill(rowPlaceholder).join(','));
  const argsOne: unknown[] = new Array(P);
  const argsMany: unknown[] = new Array(P * ROWS_PER_STATEMENT);
  let rowsWritten = 0;

  type Batch = Extract<ToWorker, { t: 'batch' }>;

  /** Fills args[off .. off+P) with row i of the batch. */
  function fill(args: unknown[], off: number, b: Batch, i: number): void {
    const id = b.ids[i]!;
    args[off] = runId;
    args[off + 1] = id.flowId;
    args[off + 2] = id.srcIp;
    args[off + 3] = id.srcPort;
    args[off + 4] = id.dstIp;
    args[off + 5] = id.dstPort;
    args[off + 6] = id.protocol;
    args[off + 7] = id.startUs;
    args[off + 8] = id.endUs;
    args[off + 9] = id.timestamp;
    const f = b.features;
    const base = i * F;
    let o = off + 10;
    for (let j = 0; j < F; j++) args[o++] = f[base + j];
    args[o] = b.labels?.[i] ?? null;
    args[o + 1] = b.scores ? b.scores[i] : null;
    args[o + 2] = b.model ?? null;
    args[o + 3] = b.attackLabels?.[i] ?? null;
    args[o + 4] = b.attackScores ? b.attackScores[i] : null;
    args[o + 5] = b.kdd?.[i] ?? null;
  }

  const insertBatch = db.transaction((b: Batch) => {
    let i = 0;
    for (; i + ROWS_PER_STATEMENT <= b.count; i += ROWS_PER_STATEMENT) {
      for (let k = 0; k < ROWS_PER_STATEMENT; k++) fill(argsMany, k * P, b, i + k);
      insertMany.run(argsMany);
    }
    for (; i < b.count; i++) {
      fill(argsOne, 0, b, i);
      insertOne.run(argsOne);
    }
  });

  const finishRun = db.prepare(
    'UPDATE runs SET ended_at = ?, packets = ?, flows = ?, counters = ? WHERE id = ?',
  );

  let failed = false;

  port.on('message', (msg: ToWorker) => {
    if (failed) return;
    try {
      switch (msg.t) {
        case 'batch':
          insertBatch(msg);
          rowsWritten += msg.count;
          break;
        case 'flush':
          db.pragma('wal_checkpoint(PASSIVE)');
          break;
        case 'finish': {
          const c = msg.counters;
          const packets = typeof c.packets === 'number' ? c.packets : null;
          const flows = typeof c.flows === 'number' ? c.flows : rowsWritten;
          finishRun.run(msg.endedAt, packets, flows, JSON.stringify(c), runId);
          break;
        }
        case 'close':
          db.pragma('wal_checkpoint(TRUNCATE)');
          db.close();
          failed = true; // nothing more is accepted
          break;
      }
      send({ t: 'ack', seq: msg.seq });
    } catch (err) {
      failed = true;
      const code = sqliteCode(err);
      const kind: SinkErrorKind = code.startsWith('SQLITE_BUSY') ? 'locked' : 'write-failed';
      send({
        t: 'fail',
        seq: msg.seq,
        kind,
        message: `writing database ${init.path} failed: ${oneLine(err)}${code ? ` (${code})` : ''}`,
      });
    }
  });
}

try {
  const { db, runId } = open();
  try {
    serve(db, runId);
  } catch (err) {
    db.close();
    throw err;
  }
  send({ t: 'ready', runId });
} catch (err) {
  const e = classify(err, init.path);
  send({ t: 'open-error', kind: e.kind, message: e.message });
  // Stay alive (the listener keeps the thread up) until the main side terminates us, so the answer is seen.
  port.on('message', () => undefined);
}
