/**
 * SQLite output through better-sqlite3, running in a worker thread so inserts stay off the packet path.
 * (Over 400 lines: the main side of one worker protocol, open, batches, run counters and close, kept together.)
 *
 * Main side (this file): opens the database in the worker and waits for it, so every open problem (directory
 * missing, not writable, locked, not a database, other profile) is a SinkError before any packet is read.
 * Then it posts batches to the worker and keeps at most `maxInFlight` of them unacknowledged: past that,
 * write() returns a promise that resolves when the worker has caught up (nothing is ever dropped).
 *
 * Ownership of a batch: write() copies what it needs before returning, so the caller may reuse its FlowRows
 * (and its `features` buffer) at once. The copy of `features` (count × F doubles) is transferred to the worker,
 * not cloned a second time. With `transferFeatures: true` the sink skips that copy and transfers
 * `rows.features.buffer` itself, which detaches the caller's array: use it only when nothing reads the batch
 * after this sink (the CLI writes CSV first, SQLite last). A `features` array that is a view into a larger or
 * shared buffer is always copied. The identities are numbers and the labels codes, in typed arrays (below), so
 * postMessage clones no per-flow object.
 *
 * Schema: src/sinks/sqlite-schema.ts (version 4: `flow_rows` typed identity/times/counts/verdicts, `flow_features`
 * the other features, written with them or, by a live writer that is behind, staged as a BLOB and filled off the
 * hot path; the view `flows` naming every feature). A
 * database created with another profile (or other feature columns) is refused with 'profile-mismatch'; one of
 * schema version 1 to 3 is upgraded in the transaction that opens it; any other version is refused.
 * The worker runs WAL, synchronous=NORMAL, one transaction per batch (so a batch is committed as soon as the
 * worker has it, well within a second).
 *
 * What crosses to the worker per batch is columnar, so posting it clones no per-flow object: the identity as
 * numbers (the worker makes the Flow ID, address and Timestamp text, off the main thread), labels as codes into a
 * per-batch dictionary, the features as they are (transferred).
 */
import { existsSync } from 'node:fs';
import { threadNice } from '../sources/thread-priority.js';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SinkError, copyIdentityColumns, type FlowIdentityColumns, type FlowRows, type FlowSink, type IdentityFormat, type ProfileColumns, type SinkErrorKind } from './flow-rows.js';
import { sqliteColumnTypes } from './column-types.js';
import { SERVER_NAME_MAX } from '../decode/server-name.js';
import { CONTEXT_COLUMNS, IDENTITY_COLUMNS, NAME_COLUMNS, VERDICT_COLUMNS } from './sqlite-schema.js';

/**
 * What `runs.counters` holds: numbers by name, or groups of them (the CLI stores `packets`, `flows`,
 * `packets_in_written_flows`, and the groups `packets_not_in_written_flows` and `info`).
 */
export type RunCounters = Record<string, number | Record<string, number>>;

export interface RunInfo {
  /** Capture file or interface name. */
  source: string;
  mode: 'replay' | 'live';
  /** Profile name as given on the command line (normally equal to `columns.name`). */
  profile: string;
  argv: string[];
}

export interface SqliteSinkOptions {
  /** Uncommitted batches before write() applies backpressure (default 64); its promise resolves at half that. */
  maxInFlight?: number;
  /** SQLite busy timeout while opening, in ms: a database locked longer than this is 'locked' (default 2000). */
  busyTimeoutMs?: number;
  /** SQLite busy timeout for inserts once open, in ms (default 30000). */
  writeBusyTimeoutMs?: number;
  /** Transfer `rows.features.buffer` to the worker instead of copying it (detaches the caller's array). */
  transferFeatures?: boolean;
  /**
   * When a batch's features go to flow_features in its own transaction ('never' staged), or are staged as one
   * block to be expanded when the writer is idle: 'when-behind' stages while STAGE_WHEN_BEHIND or more batches
   * already wait for the writer (a live flood: the narrow rows keep up, the features catch up later), 'always'
   * stages every batch. Default: 'never' for a replay (it must end with every feature expanded, and staging only
   * adds the block's write and read), 'when-behind' for live.
   */
  stageFeatures?: StageFeatures;
  /** Worker script to run (default: `sqlite-worker.js` next to this module, else `dist/sinks/`). */
  workerUrl?: URL;
}

export type StageFeatures = 'never' | 'when-behind' | 'always';

/** Batches already waiting for the writer from which a live sink stages a batch's features ('when-behind'). */
export const STAGE_WHEN_BEHIND = 2;

// ---- names ------------------------------------------------------------------------------------------------

/** SQL column name of a feature: lowercase, runs of non-alphanumerics → `_`, trimmed of `_`. */
export function sqlName(featureName: string): string {
  return featureName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** The identity and verdict columns of `flows`; feature columns never take these names. */
export const FIXED_FLOW_COLUMNS: readonly string[] = ['id', ...IDENTITY_COLUMNS, ...VERDICT_COLUMNS, ...NAME_COLUMNS, ...CONTEXT_COLUMNS, 'features'];

/**
 * Unique SQL column names for a profile's features, in order: the second `Fwd Header Length` of cic2017 is
 * `fwd_header_length_1`, a third would be `_2`. A name that is empty or collides with a fixed column also gets
 * a suffix (`col_<index>` when empty).
 */
export function sqlColumnNames(featureNames: readonly string[]): string[] {
  const taken = new Set<string>(FIXED_FLOW_COLUMNS);
  const out: string[] = [];
  featureNames.forEach((name, i) => {
    const base = sqlName(name) || `col_${i}`;
    let n = base;
    for (let k = 1; taken.has(n); k++) n = `${base}_${k}`;
    taken.add(n);
    out.push(n);
  });
  return out;
}

// ---- protocol between this module and sqlite-worker.ts ------------------------------------------------------

/** workerData of the SQLite worker. */
export interface WorkerInit {
  path: string;
  /** Nice steps below the packet thread this thread lowers itself by (sources/thread-priority.ts); absent = 0. */
  nice?: number;
  profile: string;
  featureNames: string[];
  featureSqlNames: string[];
  featureTypes: ('INTEGER' | 'REAL')[];
  /** How the profile prints Flow ID and Timestamp. */
  identityFormat: IdentityFormat;
  run: RunInfo;
  startedAt: string;
  busyTimeoutMs: number;
  writeBusyTimeoutMs: number;
}


/** A string column of a batch as codes into a dictionary of its distinct values; 0xffff = NULL. */
export interface CodedStrings {
  codes: Uint16Array;
  dict: string[];
}

export type ToWorker =
  | {
      t: 'batch';
      seq: number;
      count: number;
      /** The rows' identity as numbers: the worker prints it (features/identity-text.ts). */
      identity: FlowIdentityColumns;
      features: Float64Array;
      /** Stage the features as one block (expanded later) instead of writing them into flow_features now. */
      stage: boolean;
      labels?: CodedStrings;
      scores?: Float64Array;
      attackLabels?: CodedStrings;
      attackScores?: Float64Array;
      kdd?: CodedStrings;
      model?: string;
      appLabels?: CodedStrings;
      appScores?: Float64Array;
      appModel?: string;
      /** The rows' server names: length per row (0 = none), and SERVER_NAME_MAX bytes a row. */
      serverNameLengths?: Uint8Array;
      serverNames?: Uint8Array;
      /** Per row: where its name came from (flows/server-names.ts ServerNameSource). */
      serverNameSources?: Uint8Array;
      /** Per row: the payload protocol id (decode/payload-protocol.ts), 0 = none. */
      payloadProtocol?: Uint8Array;
      context?: CodedStrings;
    }
  | { t: 'flush'; seq: number }
  | { t: 'finish'; seq: number; counters: RunCounters; endedAt: string | null }
  | { t: 'close'; seq: number };

export type FromWorker =
  | { t: 'ready'; runId: number; featuresPending: number; rowsExtension: boolean }
  | { t: 'open-error'; kind: SinkErrorKind; message: string }
  | { t: 'ack'; seq: number; featuresPending: number }
  | { t: 'fail'; seq: number; kind: SinkErrorKind; message: string };

/** The first `count` values as codes into a dictionary (a batch has a handful of distinct labels). */
function codeStrings(values: readonly (string | null)[], count: number, transfer: ArrayBuffer[]): CodedStrings {
  const codes = new Uint16Array(count);
  const dict: string[] = [];
  const index = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      codes[i] = 0xffff;
      continue;
    }
    let c = index.get(v);
    if (c === undefined) {
      c = dict.length;
      if (c === 0xffff) throw new RangeError('more than 65535 distinct labels in one batch');
      dict.push(v);
      index.set(v, c);
    }
    codes[i] = c;
  }
  transfer.push(codes.buffer);
  return { codes, dict };
}

// ---- the sink ---------------------------------------------------------------------------------------------

interface Pending {
  resolve: () => void;
  reject: (err: SinkError) => void;
}

/** Resolves the compiled worker script: next to this module (dist/), else dist/sinks/ (sources under vitest). */
export function defaultWorkerUrl(): URL {
  const sibling = new URL('./sqlite-worker.js', import.meta.url);
  if (sibling.protocol !== 'file:' || existsSync(fileURLToPath(sibling))) return sibling;
  const built = new URL('../../dist/sinks/sqlite-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error(
    `SQLite worker script not found (${fileURLToPath(sibling)} or ${fileURLToPath(built)}): run "npm run build"`,
  );
}

export class SqliteSink implements FlowSink {
  /** Batches posted and not yet committed. */
  private inFlight = 0;
  /** Row counts of the posted, uncommitted batches, oldest first (the worker acknowledges in order). */
  private readonly inFlightRows: number[] = [];
  #rowsCommitted = 0;
  #featuresPending = 0;
  #batchesStaged = 0;
  #rowsExtension = false;
  private seq = 0;
  private readonly controls = new Map<number, Pending>();
  /** write() callers waiting for inFlight to drop to the low-water mark. */
  private waiters: Pending[] = [];
  private failure: SinkError | null = null;
  private closing = false;
  private closed = false;
  private closePromise: Promise<void> | null = null;
  private readonly nFeatures: number;
  private readonly lowWater: number;

  /**
   * Whether the writer inserts each batch through its SQLite extension (native/src/sqlite-rows.c, built by `npm
   * install`), or binds every value (the same rows, at about half the rate) because the extension is not built.
   */
  get rowsExtension(): boolean {
    return this.#rowsExtension;
  }

  /** Batches whose features were staged as blocks rather than written with them (stageFeatures). */
  get batchesStaged(): number {
    return this.#batchesStaged;
  }

  /** Batches handed to the writer thread and not yet committed (the live stats line reports it). */
  get batchesInFlight(): number {
    return this.inFlight;
  }

  private constructor(
    private readonly worker: Worker,
    readonly path: string,
    readonly columns: ProfileColumns,
    /** id of this run's row in `runs`. */
    readonly runId: number,
    private readonly maxInFlight: number,
    private readonly transferFeatures: boolean,
    private readonly stageFeatures: StageFeatures,
  ) {
    this.nFeatures = columns.featureNames.length;
    this.lowWater = Math.floor(maxInFlight / 2);
    worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    worker.on('error', (err) =>
      this.fail(new SinkError('write-failed', `SQLite worker for ${path} crashed: ${err.message}`, { cause: err })),
    );
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new SinkError('write-failed', `SQLite worker for ${path} exited (code ${code})`));
    });
    worker.unref();
  }

  /**
   * Opens or creates the database, checks its schema against `columns` and inserts this run's row. Rejects with
   * a SinkError whose kind is 'directory-missing', 'not-writable', 'locked', 'not-a-database',
   * 'profile-mismatch', 'schema-mismatch' or 'write-failed'.
   */
  static async open(
    path: string,
    columns: ProfileColumns,
    run: RunInfo,
    options: SqliteSinkOptions = {},
  ): Promise<SqliteSink> {
    const init: WorkerInit = {
      path,
      nice: threadNice(),
      profile: columns.name,
      featureNames: [...columns.featureNames],
      featureSqlNames: sqlColumnNames(columns.featureNames),
      featureTypes: sqliteColumnTypes(columns.featureNames),
      identityFormat: { ...columns.identityFormat },
      run: { ...run, argv: [...run.argv] },
      startedAt: new Date().toISOString(),
      busyTimeoutMs: options.busyTimeoutMs ?? 2000,
      writeBusyTimeoutMs: options.writeBusyTimeoutMs ?? 30_000,
    };
    const worker = new Worker(options.workerUrl ?? defaultWorkerUrl(), { workerData: init });
    let ready: Extract<FromWorker, { t: 'ready' }>;
    try {
      ready = await new Promise<Extract<FromWorker, { t: 'ready' }>>((resolve, reject) => {
        const onMessage = (msg: FromWorker): void => {
          if (msg.t === 'ready') resolve(msg);
          else if (msg.t === 'open-error') reject(new SinkError(msg.kind, msg.message));
          else reject(new SinkError('write-failed', `SQLite worker for ${path}: unexpected message ${msg.t}`));
        };
        const onError = (err: Error): void =>
          reject(new SinkError('write-failed', `SQLite worker for ${path} failed: ${err.message}`, { cause: err }));
        const onExit = (code: number): void =>
          reject(new SinkError('write-failed', `SQLite worker for ${path} exited while opening (code ${code})`));
        worker.once('message', onMessage);
        worker.once('error', onError);
        worker.once('exit', onExit);
      }).finally(() => {
        worker.removeAllListeners('message');
        worker.removeAllListeners('error');
        worker.removeAllListeners('exit');
      });
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    const sink = new SqliteSink(
      worker,
      path,
      columns,
      ready.runId,
      Math.max(1, options.maxInFlight ?? 64),
      options.transferFeatures ?? false,
      options.stageFeatures ?? (run.mode === 'live' ? 'when-behind' : 'never'),
    );
    sink.#featuresPending = ready.featuresPending;
    sink.#rowsExtension = ready.rowsExtension;
    return sink;
  }

  /** Posts one batch; returns a promise when more than `maxInFlight` batches are not yet committed. */
  write(rows: FlowRows): void | Promise<void> {
    this.check();
    if (rows.count === 0) return;
    const n = rows.count * this.nFeatures;
    const src = rows.features;
    if (src.length < n) {
      throw new RangeError(`FlowRows.features has ${src.length} cells, ${rows.count} rows need ${n}`);
    }
    let features: Float64Array;
    if (
      this.transferFeatures &&
      src.byteOffset === 0 &&
      src.length === n &&
      src.buffer.byteLength === src.byteLength &&
      src.buffer instanceof ArrayBuffer
    ) {
      features = src;
    } else {
      features = src.slice(0, n);
    }
    const count = rows.count;
    const transfer = [features.buffer as ArrayBuffer];
    const stage = this.stageFeatures === 'always' || (this.stageFeatures === 'when-behind' && this.inFlight >= STAGE_WHEN_BEHIND);
    if (stage) this.#batchesStaged++;
    const msg: ToWorker = { t: 'batch', seq: ++this.seq, count, identity: copyIdentityColumns(rows, count, transfer), features, stage };
    if (rows.labels) msg.labels = codeStrings(rows.labels, count, transfer);
    if (rows.scores) transfer.push((msg.scores = rows.scores.slice(0, count)).buffer);
    if (rows.attackLabels) msg.attackLabels = codeStrings(rows.attackLabels, count, transfer);
    if (rows.attackScores) transfer.push((msg.attackScores = rows.attackScores.slice(0, count)).buffer);
    if (rows.kdd) msg.kdd = codeStrings(rows.kdd, count, transfer);
    if (rows.model !== undefined) msg.model = rows.model;
    if (rows.appLabels) msg.appLabels = codeStrings(rows.appLabels, count, transfer);
    if (rows.appScores) transfer.push((msg.appScores = rows.appScores.slice(0, count)).buffer);
    if (rows.appModel !== undefined) msg.appModel = rows.appModel;
    if (rows.serverNameLengths && rows.serverNames) {
      transfer.push((msg.serverNameLengths = rows.serverNameLengths.slice(0, count)).buffer);
      transfer.push((msg.serverNames = rows.serverNames.slice(0, count * SERVER_NAME_MAX)).buffer);
      if (rows.serverNameSources) transfer.push((msg.serverNameSources = rows.serverNameSources.slice(0, count)).buffer);
    }
    if (rows.payloadProtocol) transfer.push((msg.payloadProtocol = rows.payloadProtocol.slice(0, count)).buffer);
    if (rows.context) msg.context = codeStrings(rows.context, count, transfer);
    this.post(msg, transfer);
    this.inFlight++;
    this.inFlightRows.push(rows.count);
    if (this.inFlight <= this.maxInFlight) return;
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /**
   * Committed flows whose features still wait in feature_blocks (on disk, not in memory) to be expanded into the
   * flows view: what the store has not caught up with yet, as of the worker's last acknowledgement.
   */
  get featuresPending(): number {
    return this.#featuresPending;
  }

  /** Rows whose batch the worker has committed. After a failure, rows written minus this were lost. */
  get rowsCommitted(): number {
    return this.#rowsCommitted;
  }

  /** Resolves when every batch written so far is committed (and the WAL checkpointed passively). */
  flush(): Promise<void> {
    return this.control({ t: 'flush', seq: 0 });
  }

  /** Records the end of this run: `ended_at`, `packets` and `flows` (from counters, when present), `counters`. */
  finishRun(counters: RunCounters, endedAt: Date | string = new Date()): Promise<void> {
    const iso = typeof endedAt === 'string' ? endedAt : endedAt.toISOString();
    return this.control({ t: 'finish', seq: 0, counters: { ...counters }, endedAt: iso });
  }

  /** Records the counters so far without ending the run (`ended_at` stays NULL): a live run's periodic update. */
  updateRun(counters: RunCounters): Promise<void> {
    return this.control({ t: 'finish', seq: 0, counters: { ...counters }, endedAt: null });
  }

  /**
   * Commits what is queued, checkpoints, closes the database and terminates the worker. Idempotent. Rejects with
   * the sink's failure if a batch could not be written (those rows are lost; the error says why).
   */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    const closing = this.failure ? null : this.control({ t: 'close', seq: 0 });
    this.closing = true;
    let error: unknown = null;
    try {
      await closing;
    } catch (err) {
      error = err;
    }
    this.closed = true;
    await this.worker.terminate();
    if (error) throw error;
    if (this.failure) throw this.failure;
  }

  private control(msg: ToWorker): Promise<void> {
    try {
      this.check();
    } catch (err) {
      return Promise.reject(err);
    }
    const seq = ++this.seq;
    msg.seq = seq;
    return new Promise<void>((resolve, reject) => {
      this.controls.set(seq, { resolve, reject });
      this.post(msg, []);
    });
  }

  private post(msg: ToWorker, transfer: ArrayBuffer[]): void {
    this.worker.ref(); // keep the process alive while the worker owes us an answer; unref'd when idle
    this.worker.postMessage(msg, transfer);
  }

  private onMessage(msg: FromWorker): void {
    if (msg.t === 'ack') {
      this.#featuresPending = msg.featuresPending;
      const control = this.controls.get(msg.seq);
      if (control) {
        this.controls.delete(msg.seq);
        control.resolve();
      } else {
        this.inFlight--;
        this.#rowsCommitted += this.inFlightRows.shift() ?? 0;
        if (this.inFlight <= this.lowWater && this.waiters.length > 0) {
          const waiters = this.waiters;
          this.waiters = [];
          for (const w of waiters) w.resolve();
        }
      }
      if (this.inFlight === 0 && this.controls.size === 0) this.worker.unref();
    } else if (msg.t === 'fail') {
      this.fail(new SinkError(msg.kind, msg.message));
    }
  }

  private fail(err: SinkError): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.waiters) w.reject(err);
    this.waiters = [];
    for (const c of this.controls.values()) c.reject(err);
    this.controls.clear();
    this.worker.unref();
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if (this.closing || this.closed) throw new SinkError('closed', `SQLite sink ${this.path} is closed`);
  }
}
