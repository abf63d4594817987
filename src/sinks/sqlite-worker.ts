/**
 * Worker thread of SqliteSink (see sqlite.ts for the protocol, schema and ownership rules). Runs compiled, from
 * dist/sinks/sqlite-worker.js. Opens the database, answers 'ready' or 'open-error', then handles messages in
 * order: each batch is one transaction (WAL, synchronous=NORMAL), acknowledged after commit.
 * (Over 400 lines: the worker side of the same protocol, with the schema upgrade and the feature expansion.)
 */
import { accessSync, constants as fsc, existsSync, statSync } from 'node:fs';
import { lowerThisThread } from '../sources/thread-priority.js';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { SinkErrorKind } from './flow-rows.js';
import type { FromWorker, ToWorker, WorkerInit } from './sqlite.js';
import { IdentityText } from '../features/identity-text.js';
import { SERVER_NAME_MAX, serverNameText } from '../decode/server-name.js';
import { payloadProtocolName } from '../decode/payload-protocol.js';
import { SERVER_NAME_SOURCE_NAMES, ServerNameSource } from './flow-rows.js';
import {
  DELETE_FEATURE_BLOCK_SQL,
  HOT_FEATURES,
  INSERT_FEATURE_BLOCK_SQL,
  NEXT_FLOW_ID_SQL,
  OLDEST_FEATURE_BLOCK_SQL,
  PENDING_FEATURE_ROWS_SQL,
  PRUNE_ORPHAN_FEATURES_SQL,
  SCHEMA_VERSION,
  createSchemaSql,
  insertFlowFeaturesFromBlobSql,
  insertFlowRowsFromBatchSql,
  rowNumbersStride,
  insertFlowFeaturesSql,
  insertFlowRowsSql,
  labelDictionary,
  rowsPerStatement,
  upgradeSql,
  type FeatureColumnSpec,
} from './sqlite-schema.js';



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
// Behind the packet thread (sources/thread-priority.ts).
lowerThisThread(init.nice ?? 0);

function send(msg: FromWorker): void {
  port.postMessage(msg);
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

function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}

/** Creates the schema, or checks that the existing one is ours and has this profile's columns (upgrading it). */
function ensureSchema(db: Database.Database, path: string): void {
  const specs: FeatureColumnSpec[] = init.featureNames.map((name, i) => ({
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
    // Versions 1-2 have a `flows` table; from 3, flows is a view over flow_rows and flow_features.
    const expected = older && version < 3 ? ['runs', 'flows'] : ['runs', 'flow_rows', 'flow_features'];
    if (!expected.every((t) => tableExists(db, t))) {
      throw new OpenError('schema-mismatch', `database ${path} lacks its ${expected.join('/')} tables`);
    }
    // An older database of ours (checked above): brought to this version inside the opening transaction
    // (BEGIN IMMEDIATE), so the upgrade is all or nothing.
    if (older) for (const sql of upgradeSql(version, specs)) db.exec(sql);
    return;
  }
  for (const t of ['runs', 'flows', 'flow_rows', 'flow_features']) {
    if (db.prepare(`SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?`).get(t) !== undefined) {
      throw new OpenError(
        'schema-mismatch',
        `database ${path} already has a '${t}' table that this program did not create: use another database file`,
      );
    }
  }
  db.exec(createSchemaSql(specs));
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
    // Checkpoint every ~40 MB of WAL instead of 4 MB: a narrow flow row cost 2.7 µs of CPU with the default,
    // 2.4 µs with this (better-sqlite3 12, 127 k rows); close and flush still checkpoint.
    db.pragma('wal_autocheckpoint = 10000');
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

/**
 * Prepares the statements and starts serving; returns the flows whose features wait in blocks and whether the
 * writer's SQLite extension is in use.
 */
function serve(db: Database.Database, runId: number): { featuresPending: number; rowsExtension: boolean } {
  const F = init.featureNames.length;
  const specs: FeatureColumnSpec[] = init.featureNames.map((name, i) => ({
    name,
    sql: init.featureSqlNames[i]!,
    type: init.featureTypes[i]!,
  }));
  const HOT = Math.min(F, HOT_FEATURES);
  // With the writer's SQLite extension, a batch is one statement per table with a few bound values (its numbers as
  // one BLOB, its identity text as one string): binding each of ~110 values a flow from JavaScript cost about twice
  // what SQLite spends storing them (feature rows 4.8 against 2.2 µs a row, measured).
  const withExtension = Math.max(F, rowNumbersStride(specs)) <= BATCH_ROWS_NUMBERS && loadRowsExtension(db);

  // ---- the hot path: one narrow row per flow, and its other features (or the batch's block of them) ----
  const P = insertFlowRowsSql(specs, 1).columns.length;
  const ROWS = rowsPerStatement(P);
  const insertOne = db.prepare(insertFlowRowsSql(specs, 1).sql);
  const insertMany = db.prepare(insertFlowRowsSql(specs, ROWS).sql);
  const nextId = db.prepare(NEXT_FLOW_ID_SQL).pluck();
  const insertBlock = db.prepare(INSERT_FEATURE_BLOCK_SQL);
  const argsOne: unknown[] = new Array(P);
  const argsMany: unknown[] = new Array(P * ROWS);
  let rowsWritten = 0;

  type Batch = Extract<ToWorker, { t: 'batch' }>;

  /** The identity's text (Flow ID, addresses, Timestamp), made here rather than on the packet thread. */
  const identity = new IdentityText(init.identityFormat);

  /** Fills args[off .. off+P) with row i of the batch, whose id is `id`. */
  function fill(args: unknown[], off: number, b: Batch, i: number, id: number): void {
    const n = b.identity;
    const t = identity.read(n, i);
    args[off] = id;
    args[off + 1] = runId;
    args[off + 2] = t.flowId;
    args[off + 3] = t.srcIp;
    args[off + 4] = n.srcPorts[i];
    args[off + 5] = t.dstIp;
    args[off + 6] = n.dstPorts[i];
    args[off + 7] = n.protocols[i];
    args[off + 8] = n.startUs[i];
    args[off + 9] = n.endUs[i];
    args[off + 10] = t.timestamp;
    const f = b.features;
    const base = i * F;
    let o = off + 11;
    for (let j = 0; j < HOT; j++) args[o++] = f[base + j];
    args[o] = label(b.labels, i);
    args[o + 1] = b.scores ? b.scores[i] : null;
    args[o + 2] = b.model ?? null;
    args[o + 3] = label(b.attackLabels, i);
    args[o + 4] = b.attackScores ? b.attackScores[i] : null;
    args[o + 5] = label(b.kdd, i);
    args[o + 6] = label(b.appLabels, i);
    args[o + 7] = b.appScores ? b.appScores[i] : null;
    args[o + 8] = b.appModel ?? null;
    args[o + 9] = name(b, i);
    args[o + 10] = label(b.context, i);
    args[o + 11] = nameSource(b, i);
    args[o + 12] = payloadProtocolName(b.payloadProtocol?.[i] ?? 0);
  }

  // ---- flow_features: every other feature by name, written with the batch or later from its block ----
  const E = insertFlowFeaturesSql(specs, 1).columns.length;
  const EROWS = rowsPerStatement(E);
  const featuresOne = db.prepare(insertFlowFeaturesSql(specs, 1).sql);
  const featuresMany = db.prepare(insertFlowFeaturesSql(specs, EROWS).sql);
  const eArgsOne: unknown[] = new Array(E);
  const eArgsMany: unknown[] = new Array(E * EROWS);

  function fillFeatures(args: unknown[], off: number, id: number, vec: Float64Array, base: number): void {
    args[off] = id;
    for (let j = HOT; j < F; j++) args[off + 1 + j - HOT] = vec[base + j];
  }

  const featuresFromBlob = withExtension ? db.prepare(insertFlowFeaturesFromBlobSql(specs)) : null;

  /** The non-hot features of ids first .. first + count - 1 (row-major, `count` × F doubles) into flow_features. */
  function insertFeatures(first: number, count: number, vec: Float64Array | Buffer): void {
    if (featuresFromBlob) {
      featuresFromBlob.run(first, Buffer.from(vec.buffer, vec.byteOffset, count * F * 8));
      return;
    }
    if (!(vec instanceof Float64Array)) {
      // A BLOB's Buffer may start at any byte: copy it to an aligned array once.
      const aligned = new Float64Array(count * F);
      new Uint8Array(aligned.buffer).set(vec);
      vec = aligned;
    }
    let i = 0;
    for (; i + EROWS <= count; i += EROWS) {
      for (let k = 0; k < EROWS; k++) fillFeatures(eArgsMany, k * E, first + i + k, vec, (i + k) * F);
      featuresMany.run(eArgsMany);
    }
    for (; i < count; i++) {
      fillFeatures(eArgsOne, 0, first + i, vec, i * F);
      featuresOne.run(eArgsOne);
    }
  }

  // ---- the same rows through the writer's SQLite extension: one statement per table and batch ----
  const rowsFromBatch = withExtension ? db.prepare(insertFlowRowsFromBatchSql(specs)) : null;
  const NR = rowNumbersStride(specs);
  let rowNumbers = new Float64Array(0);
  const texts: string[] = [];

  /** The batch's narrow rows: their numbers in one array, their identity text in one string, the labels as codes. */
  function insertRowsFromBatch(b: Batch, first: number): void {
    packRows(b);
    rowsFromBatch!.run({
      first,
      run: runId,
      numbers: Buffer.from(rowNumbers.buffer, 0, b.count * NR * 8),
      texts: texts.join(''),
      model: b.model ?? null,
      app_model: b.appModel ?? null,
      label: labelDictionary(b.labels?.dict ?? []),
      attack_label: labelDictionary(b.attackLabels?.dict ?? []),
      kdd: labelDictionary(b.kdd?.dict ?? []),
      app_label: labelDictionary(b.appLabels?.dict ?? []),
      context: labelDictionary(b.context?.dict ?? []),
    });
  }

  /**
   * Fills rowNumbers and texts with the batch's rows. A function of its own, with nothing after its loop: V8
   * compiles the long loop on the stack (OSR) during the first batches, before the code after it has ever run, and
   * a statement after the loop without type feedback made that compiled code bail out at the loop's end, for every
   * batch again (72 deoptimisations in a big.pcap replay with the models, recompiled each time on V8's threads).
   */
  function packRows(b: Batch): void {
    if (rowNumbers.length < b.count * NR) rowNumbers = new Float64Array(b.count * NR);
    const n = b.identity;
    const f = b.features;
    const scores = [b.scores, b.attackScores, b.appScores];
    const codes = [b.labels, b.attackLabels, b.kdd, b.appLabels, b.context];
    texts.length = 0;
    for (let i = 0, o = 0; i < b.count; i++) {
      rowNumbers[o++] = n.srcPorts[i]!;
      rowNumbers[o++] = n.dstPorts[i]!;
      rowNumbers[o++] = n.protocols[i]!;
      rowNumbers[o++] = n.startUs[i]!;
      rowNumbers[o++] = n.endUs[i]!;
      for (let j = 0; j < HOT; j++) rowNumbers[o++] = f[i * F + j]!;
      for (const s of scores) rowNumbers[o++] = s ? s[i]! : NaN; // NaN is NULL
      for (const c of codes) rowNumbers[o++] = c && c.codes[i] !== 0xffff ? c.codes[i]! : NaN;
      const t = identity.read(n, i);
      texts.push(t.flowId, FIELD_END, t.srcIp, FIELD_END, t.dstIp, FIELD_END, t.timestamp, FIELD_END, name(b, i) ?? '', FIELD_END, nameSource(b, i) ?? '', FIELD_END);
      texts.push(payloadProtocolName(b.payloadProtocol?.[i] ?? 0) ?? '', FIELD_END);
    }
  }

  /**
   * One batch in one transaction: its narrow rows, then its features either straight into flow_features (the
   * writer keeps up: no later expansion to pay) or staged as one block (the writer is behind a live flood: the
   * block is expanded when the writer is idle). Returns whether it staged.
   */
  const insertBatch = db.transaction((b: Batch): boolean => {
    const first = Number(nextId.get());
    if (rowsFromBatch) insertRowsFromBatch(b, first);
    else {
      let i = 0;
      for (; i + ROWS <= b.count; i += ROWS) {
        for (let k = 0; k < ROWS; k++) fill(argsMany, k * P, b, i + k, first + i + k);
        insertMany.run(argsMany);
      }
      for (; i < b.count; i++) {
        fill(argsOne, 0, b, i, first + i);
        insertOne.run(argsOne);
      }
    }
    if (b.stage) insertBlock.run(first, b.count, Buffer.from(b.features.buffer, b.features.byteOffset, b.count * F * 8));
    else insertFeatures(first, b.count, b.features);
    return b.stage;
  });

  // ---- off the hot path: staged blocks into flow_features, so the flows view names every feature ----
  const oldestBlock = db.prepare(OLDEST_FEATURE_BLOCK_SQL).raw(true);
  const deleteBlock = db.prepare(DELETE_FEATURE_BLOCK_SQL);
  const pruneOrphans = db.prepare(PRUNE_ORPHAN_FEATURES_SQL);
  let expandScheduled = false;
  /** Flows whose features wait in blocks (told to the main side with every acknowledgement). */
  let featuresPending = Number(db.prepare(PENDING_FEATURE_ROWS_SQL).pluck().get());

  /** Expands the oldest block in one transaction; false when there was none. */
  const expandBlock = db.transaction((): boolean => {
    const block = oldestBlock.get() as [number, number, Buffer] | undefined;
    if (!block) return false;
    const [first, count, blob] = block;
    if (blob.length !== count * F * 8) throw new Error(`feature block ${first} holds ${blob.length} bytes, not ${count} × ${F} features`);
    insertFeatures(first, count, blob);
    // Rows that retention deleted before their block was expanded must not leave feature rows behind.
    pruneOrphans.run(first, first + count - 1);
    deleteBlock.run(first);
    featuresPending -= count;
    return true;
  });

  /**
   * Expands blocks one at a time whenever nothing waits on the port; stops (until the next batch) when none is
   * left. The hot path comes first: messages that arrived meanwhile are taken before each block
   * (receiveMessageOnPort), so a batch waits behind at most one block's expansion, and the expansion fills the
   * writer's gaps between batches (e.g. while the model classifies the next one) instead of following them all.
   */
  function scheduleExpand(): void {
    if (expandScheduled || failed) return;
    expandScheduled = true;
    setImmediate(() => {
      expandScheduled = false;
      for (let m = receiveMessageOnPort(port); m !== undefined && !failed; m = receiveMessageOnPort(port)) handle(m.message as ToWorker);
      if (failed) return;
      try {
        if (expandBlock()) scheduleExpand();
      } catch (err) {
        fail(0, err);
      }
    });
  }

  const finishRun = db.prepare(
    'UPDATE runs SET ended_at = ?, packets = ?, flows = ?, counters = ? WHERE id = ?',
  );

  let failed = false;

  function fail(seq: number, err: unknown): void {
    failed = true;
    const code = sqliteCode(err);
    const kind: SinkErrorKind = code.startsWith('SQLITE_BUSY') ? 'locked' : 'write-failed';
    send({
      t: 'fail',
      seq,
      kind,
      message: `writing database ${init.path} failed: ${oneLine(err)}${code ? ` (${code})` : ''}`,
    });
  }

  function handle(msg: ToWorker): void {
    if (failed) return;
    try {
      switch (msg.t) {
        case 'batch':
          rowsWritten += msg.count;
          if (insertBatch(msg)) {
            featuresPending += msg.count;
            scheduleExpand();
          }
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
          while (expandBlock());
          db.pragma('wal_checkpoint(TRUNCATE)');
          db.close();
          failed = true; // nothing more is accepted
          break;
      }
      send({ t: 'ack', seq: msg.seq, featuresPending });
    } catch (err) {
      fail(msg.seq, err);
    }
  }
  port.on('message', handle);
  // Blocks a previous run left (it was killed) are expanded as soon as the writer is idle.
  scheduleExpand();
  return { featuresPending, rowsExtension: withExtension };
}

/** Numbers a row batch_rows gives at most (its columns c0 .. c255). */
const BATCH_ROWS_NUMBERS = 256;

/** Ends each text field in batch_rows' texts (native/src/sqlite-rows.c); identity text never contains it. */
const FIELD_END = '\x1f';

/** The writer's SQLite extension (native/src/sqlite-rows.c), built by `npm install` next to the capture addon. */
const ROWS_EXTENSION = fileURLToPath(new URL('../../native/build/Release/sensor_sqlite_rows.node', import.meta.url));

/**
 * Loads the writer's SQLite extension into this connection; false (the writer binds every value instead, the same
 * rows more slowly) when it is not built. SENSOR_SQLITE_BIND=1 forces the binding path (tests compare the two).
 */
function loadRowsExtension(db: Database.Database): boolean {
  if (process.env.SENSOR_SQLITE_BIND === '1' || !existsSync(ROWS_EXTENSION)) return false;
  db.loadExtension(ROWS_EXTENSION);
  return true;
}

/** Row i's server name (printable ASCII, so never FIELD_END), or null. */
function name(b: { serverNameLengths?: Uint8Array; serverNames?: Uint8Array }, i: number): string | null {
  const n = b.serverNameLengths?.[i] ?? 0;
  return n === 0 ? null : serverNameText(b.serverNames!, i * SERVER_NAME_MAX, n);
}

/** Row i's server_name_source ('flow', 'carried', 'dns'), or null (no name). */
function nameSource(b: { serverNameLengths?: Uint8Array; serverNameSources?: Uint8Array }, i: number): string | null {
  if ((b.serverNameLengths?.[i] ?? 0) === 0) return null;
  return SERVER_NAME_SOURCE_NAMES[b.serverNameSources?.[i] ?? ServerNameSource.Flow] ?? null;
}

/** A batch's label-like column: codes into its dictionary, 0xffff = NULL. */
function label(col: { codes: Uint16Array; dict: string[] } | undefined, i: number): string | null {
  if (!col) return null;
  const c = col.codes[i]!;
  return c === 0xffff ? null : col.dict[c]!;
}

try {
  const { db, runId } = open();
  let served: ReturnType<typeof serve>;
  try {
    served = serve(db, runId);
  } catch (err) {
    db.close();
    throw err;
  }
  send({ t: 'ready', runId, ...served });
} catch (err) {
  const e = classify(err, init.path);
  send({ t: 'open-error', kind: e.kind, message: e.message });
  // Stay alive (the listener keeps the thread up) until the main side terminates us, so the answer is seen.
  port.on('message', () => undefined);
}
