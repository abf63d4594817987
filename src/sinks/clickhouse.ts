/**
 * ClickHouse output through the official client (`@clickhouse/client`, HTTP), with a durable on-disk spool so an
 * outage or a slow server loses no flow, and every flow arrives exactly once.
 * (Over 400 lines: the queue, the spool and the exactly-once check share one sender's state; split, each would
 * reach into the others.)
 *
 * The queue. write() encodes a batch (RowBinary, clickhouse-rows.ts) and appends it to one FIFO; a single sender
 * inserts from the head, the waiting batches of one run together in one INSERT (at most 65,536 rows), and takes
 * the next only after the server acknowledged it, so batches arrive in order. A queued batch lives in memory
 * while the server keeps up, and in a file of the spool directory (written to a temporary name, fsynced, renamed,
 * directory fsynced) when:
 * - the server is unreachable or answers with an error: every queued batch goes to disk at once, and every new
 *   one as it comes, until an insert succeeds again (retried with a backoff from 1 s to 30 s);
 * - more than `maxMemoryBatches` wait (a slow server, live: the capture must not wait); in replay
 *   (`backpressure`) write() waits instead, as for SQLite;
 * - the sink closes (SIGTERM, end of replay) with batches still queued.
 * The next start with the same spool directory loads those files, oldest first, ahead of its own batches.
 *
 * Exactly once. ClickHouse 18's MergeTree has no insert deduplication outside replicated tables, and an INSERT
 * whose answer was lost (server killed, connection dropped, timeout) may or may not have been committed. So each
 * row carries `(run_id, batch, row)`, and a batch that was ever sent without an answer is "uncertain": before it
 * is sent again the sender asks which of its rows the table already has, and sends only the others (normally all
 * or none: an INSERT of far fewer than max_insert_block_size rows into a table without a partition key is one
 * block, which MergeTree writes as one part, renamed into place atomically). The question is asked with the
 * INSERT's own `query_id`: while that INSERT is still running on the server (we gave up waiting, it did not), the
 * server refuses the question (QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING) and we ask again later, so an answer
 * always describes a finished insert. One case is left to timing: a server that stalls (for longer than the request
 * timeout) before it even starts our INSERT, then resumes; after a timeout the check therefore waits until the
 * server answers a ping, and 2 s more, so the INSERT queued ahead of it starts first. After a restart every spooled batch is uncertain (the previous process may
 * have been sending some when it stopped).
 *
 * The schema is created on first contact (`CREATE DATABASE/TABLE IF NOT EXISTS`); an existing table whose
 * columns differ is refused ('profile-mismatch'), at open when the server is up, else when it comes back (the
 * sink then fails and its flows are counted lost, as for a failing SQLite). A table an earlier version made, which
 * lacks only the application verdict columns, server_name, context, server_name_source and/or payload_protocol, gets them (ALTER TABLE ... ADD COLUMN, NULL in its
 * old rows).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { SinkError, type FlowRows, type FlowSink, type ProfileColumns } from './flow-rows.js';
import { parseClickHouseUrl } from './clickhouse-url.js';
import { sqliteColumnTypes } from './column-types.js';
import { IdentityText } from '../features/identity-text.js';
import { ADDED_LATER, createTableSql, encodeBatch, flowColumns, flowsTable, type ChColumn } from './clickhouse-rows.js';

export interface ClickHouseSinkOptions {
  /** Directory of the spool (created when absent). One sensor process per directory (a lock file says so). */
  spoolDir: string;
  /** The `sensor` column: the host name, or --sensor-name. */
  sensor: string;
  /** Replay: write() waits while `maxMemoryBatches` batches wait for a server that is up but slow. Live: spool. */
  backpressure: boolean;
  /** Batches queued in memory before spooling (live) or waiting (replay). Default 64 (~50-60 MB of cic2017 rows). */
  maxMemoryBatches?: number;
  /** The spool's size limit in bytes; past it a batch is dropped and counted (`rows_dropped`). Default 4 GiB. */
  maxSpoolBytes?: number;
  /** How long one request may take before it counts as failed, ms. Default 60000. */
  requestTimeoutMs?: number;
  /** How long flush()/close() keep sending to a server that is up before they spool the rest, ms. Default 10000. */
  closeTimeoutMs?: number;
  /** Told about outages, spooling, recovery and drops (the CLI logs them). */
  onEvent?: (e: ClickHouseEvent) => void;
}

export interface ClickHouseEvent {
  level: 'info' | 'warn' | 'error';
  event: 'clickhouse_unreachable' | 'clickhouse_spooled' | 'clickhouse_recovered' | 'clickhouse_dropped' | 'clickhouse_spool_loaded';
  message: string;
}

/** The counters the sink keeps, by the name they have in a run's `info` counters (`sink.clickhouse.*`). */
export interface ClickHouseCounters {
  /** Flows the server acknowledged (or was found to hold after an uncertain insert). */
  rows_sent: number;
  /** Flows in the spool directory right now, waiting for the server. */
  rows_spooled: number;
  /** Batches in the spool directory right now. */
  batches_spooled: number;
  /** Flows of uncertain batches that the server turned out to hold already, so they were not sent twice. */
  rows_already_stored: number;
  /** Failed requests (each followed by a retry). */
  retries: number;
  /** Flows dropped because the spool reached its size limit. */
  rows_dropped: number;
}

/** A batch in the queue: in memory (`body`), on disk (`file`), or both while being written out. */
interface Entry {
  run: string;
  batch: number;
  rows: number;
  body: Buffer | null;
  offsets: number[];
  file: string | null;
  bytes: number;
  /** Sent at least once without an acknowledgement: ask the server what it holds before sending again. */
  uncertain: boolean;
}

/** Header line of a spool file (JSON), followed by the RowBinary body. */
interface SpoolHeader {
  v: 1;
  table: string;
  columns: string[];
  run: string;
  batch: number;
  rows: number;
  offsets: number[];
}

/**
 * Where the spool goes without --clickhouse-spool. Under systemd with `StateDirectory=` (the shipped unit:
 * /var/lib/sensor), `$STATE_DIRECTORY/clickhouse-spool`: the service user's home is hidden (ProtectHome) and the
 * state directory is the one place it may write. Otherwise `$XDG_STATE_HOME/sensor/clickhouse-spool`
 * (~/.local/state/...).
 */
export function defaultSpoolDir(env: NodeJS.ProcessEnv = process.env): string {
  // systemd lists one directory per StateDirectory= entry, separated by ':'.
  const unitState = env.STATE_DIRECTORY?.split(':')[0];
  if (unitState) return join(unitState, 'clickhouse-spool');
  const state = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'sensor', 'clickhouse-spool');
}

/** The URL without its password, for messages. */
function shown(url: URL): string {
  const u = new URL(url.href);
  if (u.password !== '') u.password = '***';
  return u.href;
}

const SPOOL_SUFFIX = '.rowbinary';
/** ClickHouse error 216: a query with this query_id is still running. */
const QUERY_ALREADY_RUNNING = '216';
/** After a timed-out request, how long to let a stalled server start what it had queued before checking. */
const STALE_REQUEST_GRACE_MS = 2000;
/** Rows per INSERT at most (consecutive batches are sent together); far below max_insert_block_size (1,048,576). */
const MAX_INSERT_ROWS = 65_536;

function sleep(ms: number, abort: { wake: (() => void) | null }): Promise<void> {
  return new Promise((resolve) => {
    // Unref'd: a retry never keeps the process alive by itself (close() spools what is left).
    const t = setTimeout(resolve, ms);
    t.unref();
    abort.wake = () => {
      clearTimeout(t);
      resolve();
    };
  });
}

/**
 * The server's error code: the client sets `code` for newer servers; 18.x sends it only in the text
 * (`Code: 192, e.displayText() = ...`). '' when the server did not answer.
 */
function serverCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return code;
  return /^Code: (\d+),/.exec(String((e as Error | null)?.message ?? ''))?.[1] ?? '';
}

/** A ClickHouse string literal. */
function literal(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function oneLine(e: unknown): string {
  return String((e as Error | null)?.message ?? e).replace(/\s+/g, ' ').trim().slice(0, 300);
}

export class ClickHouseSink implements FlowSink {
  private readonly client: ClickHouseClient;
  private readonly table: string;
  private readonly cols: ChColumn[];
  private readonly featureIsInt: boolean[];
  private readonly runId = randomUUID();
  private batchSeq = 0;
  private readonly queue: Entry[] = [];
  private memoryBatches = 0;
  /** Next spool file number (names sort in queue order across restarts). */
  private fileSeq: number;
  private spoolBytes = 0;
  private healthy = true;
  private schemaReady = false;
  private failure: SinkError | null = null;
  private closing = false;
  private closePromise: Promise<void> | null = null;
  private readonly pumpDone: Promise<void>;
  private readonly sleeper: { wake: (() => void) | null } = { wake: null };
  private queueWaiter: (() => void) | null = null;
  /** write() callers waiting for the memory queue to shrink (replay). */
  private writeWaiters: { resolve: () => void; reject: (e: SinkError) => void }[] = [];
  /** flush() callers waiting until nothing is queued in memory. */
  private flushWaiters: (() => void)[] = [];
  private lastSpoolNotice = 0;
  /** The last failed request timed out (see send()). */
  private timedOut = false;
  /** The batches being inserted (never dropped for the spool limit while in flight). */
  private sending: Set<Entry> | null = null;
  private readonly maxMemoryBatches: number;
  private readonly maxSpoolBytes: number;
  private readonly closeTimeoutMs: number;
  /** The identity's text, made once per row encoded. */
  private readonly identity: IdentityText;
  readonly counters: ClickHouseCounters = { rows_sent: 0, rows_spooled: 0, batches_spooled: 0, rows_already_stored: 0, retries: 0, rows_dropped: 0 };

  private constructor(
    readonly url: URL,
    readonly database: string,
    columns: ProfileColumns,
    private readonly opts: ClickHouseSinkOptions,
    private readonly lockFile: string,
    loaded: { entries: Entry[]; nextFile: number; bytes: number },
  ) {
    this.table = flowsTable(columns.name);
    this.cols = flowColumns(columns);
    this.featureIsInt = sqliteColumnTypes(columns.featureNames).map((t) => t === 'INTEGER');
    this.identity = new IdentityText(columns.identityFormat);
    this.maxMemoryBatches = Math.max(1, opts.maxMemoryBatches ?? 64);
    this.maxSpoolBytes = opts.maxSpoolBytes ?? 4 * 2 ** 30;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 10_000;
    // Every statement names its database, so the client gets the URL without it (given to the client, the
    // database would be the default of each request, and CREATE DATABASE would fail on its own absence).
    const server = new URL(url.href);
    server.pathname = '/';
    this.client = createClient({
      url: server.href,
      // Failures reach the operator through onEvent, once per outage, not as the client's stack traces.
      log: { level: ClickHouseLogLevel.OFF },
      request_timeout: opts.requestTimeoutMs ?? 60_000,
      // The 18.x server knows none of the settings newer clients may send by default; send none.
      clickhouse_settings: {},
      application: 'sensor',
    });
    this.queue.push(...loaded.entries);
    this.fileSeq = loaded.nextFile;
    this.spoolBytes = loaded.bytes;
    this.counters.batches_spooled = loaded.entries.length;
    this.counters.rows_spooled = loaded.entries.reduce((n, e) => n + e.rows, 0);
    this.pumpDone = this.pump();
  }

  /**
   * Opens the spool (taking its lock, loading what a previous run left) and, when the server answers within
   * `requestTimeoutMs`, creates or checks the table. An unreachable server is not an error: flows are spooled.
   * Rejects with a SinkError: 'not-writable' (spool directory), 'locked' (another live sensor uses the spool),
   * 'profile-mismatch' (the table, or the spooled batches, have other columns), 'write-failed' (the server
   * refused: authentication, permissions).
   */
  static async open(urlText: string, columns: ProfileColumns, opts: ClickHouseSinkOptions): Promise<ClickHouseSink> {
    const parsed = parseClickHouseUrl(urlText);
    if (typeof parsed === 'string') throw new SinkError('write-failed', `--clickhouse: expected ${parsed}, got "${urlText}"`);
    const lockFile = takeSpoolLock(opts.spoolDir);
    let sink: ClickHouseSink;
    try {
      const loaded = loadSpool(opts.spoolDir, flowsTable(columns.name), flowColumns(columns).map((c) => c.name));
      sink = new ClickHouseSink(parsed.url, parsed.database, columns, opts, lockFile, loaded);
      if (loaded.entries.length > 0) {
        sink.event('info', 'clickhouse_spool_loaded', `ClickHouse spool ${opts.spoolDir}: ${sink.counters.rows_spooled} flows in ${loaded.entries.length} batches from an earlier run, sent first`);
      }
    } catch (e) {
      releaseLock(lockFile);
      throw e;
    }
    try {
      await sink.ensureSchema();
    } catch (e) {
      if (e instanceof SinkError) {
        await sink.abort();
        throw e;
      }
      sink.markUnhealthy(e); // unreachable: the sender retries, and creates the table when the server is back
    }
    sink.wakeSender();
    return sink;
  }

  /** Queues one batch (encoded now, so the caller may reuse `rows`). */
  write(rows: FlowRows): void | Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closing) throw new SinkError('closed', `ClickHouse sink ${shown(this.url)} is closed`);
    if (rows.count === 0) return;
    const batch = ++this.batchSeq;
    const { body, offsets } = encodeBatch(rows, this.identity, this.featureIsInt, this.opts.sensor, this.runId, batch);
    const e: Entry = { run: this.runId, batch, rows: rows.count, body, offsets, file: null, bytes: body.length, uncertain: false };
    this.queue.push(e);
    this.memoryBatches++;
    if (!this.healthy || (!this.opts.backpressure && this.memoryBatches > this.maxMemoryBatches)) this.spoolMemory();
    this.wakeSender();
    if (this.opts.backpressure && this.healthy && this.memoryBatches > this.maxMemoryBatches) {
      return new Promise<void>((resolve, reject) => this.writeWaiters.push({ resolve, reject }));
    }
  }

  /**
   * Resolves when every batch written so far is in the server or in the spool directory: while the server is up
   * it waits (at most `closeTimeoutMs`) for the queue to be sent, then spools what is left.
   */
  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.memoryBatches > 0) {
      const deadline = setTimeout(() => this.spoolMemory(), this.closeTimeoutMs);
      await new Promise<void>((resolve) => {
        this.flushWaiters.push(resolve);
        this.afterDequeue();
      });
      clearTimeout(deadline);
    }
    if (this.failure) throw this.failure;
  }

  /** Flushes, stops the sender, spools anything left, releases the spool. Idempotent; rejects with the sink's failure. */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  /** The counters as `sink.clickhouse.<name>` entries (the replay/live `info` counters). */
  info(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.counters)) out[`sink.clickhouse.${k}`] = v;
    return out;
  }

  private async doClose(): Promise<void> {
    await this.flush().catch(() => undefined);
    this.closing = true;
    this.wakeSender();
    this.sleeper.wake?.();
    await this.pumpDone;
    this.spoolMemory();
    await this.client.close().catch(() => undefined);
    releaseLock(this.lockFile);
    if (this.counters.batches_spooled > 0) {
      this.event('warn', 'clickhouse_spooled', `ClickHouse ${shown(this.url)} did not take ${this.counters.rows_spooled} flows: spooled in ${this.opts.spoolDir} (${this.counters.batches_spooled} batches); the next start with this spool sends them`);
    }
    if (this.failure) throw this.failure;
  }

  /** Close without sending (open failed). */
  private async abort(): Promise<void> {
    this.closing = true;
    this.wakeSender();
    await this.pumpDone;
    await this.client.close().catch(() => undefined);
    releaseLock(this.lockFile);
  }

  // ---- the sender ---------------------------------------------------------------------------------------------

  private wakeSender(): void {
    const w = this.queueWaiter;
    this.queueWaiter = null;
    w?.();
  }

  private async pump(): Promise<void> {
    let backoff = 1000;
    for (;;) {
      if (this.closing || this.failure) return;
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => (this.queueWaiter = resolve));
        continue;
      }
      const group = this.nextGroup();
      this.sending = new Set(group);
      try {
        if (!this.schemaReady) await this.ensureSchema();
        await this.send(group);
        for (const e of group) {
          this.queue.splice(this.queue.indexOf(e), 1);
          if (e.file !== null) {
            unlinkSync(e.file);
            this.spoolBytes -= e.bytes;
            this.counters.batches_spooled--;
            this.counters.rows_spooled -= e.rows;
          } else this.memoryBatches--;
          this.counters.rows_sent += e.rows;
        }
        this.sending = null;
        this.afterDequeue();
        backoff = 1000;
        if (!this.healthy) {
          this.healthy = true;
          this.event('info', 'clickhouse_recovered', `ClickHouse ${shown(this.url)} is back: sending ${this.counters.rows_spooled} spooled flows`);
        }
      } catch (e) {
        this.sending = null;
        if (e instanceof SinkError) {
          this.failWith(e);
          return;
        }
        this.counters.retries++;
        if (/timeout/i.test(oneLine(e))) this.timedOut = true;
        this.markUnhealthy(e);
        if (this.closing) return;
        await sleep(backoff, this.sleeper);
        this.sleeper.wake = null;
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  /**
   * The batches of the next INSERT: the head of the queue and the batches after it of the same run, up to
   * MAX_INSERT_ROWS rows. ClickHouse wants few large inserts (each one is a part on disk to merge later): one per
   * 1,024-flow batch kept the server, not the sensor, the limit (about 12 k flows/s on this machine).
   */
  private nextGroup(): Entry[] {
    const head = this.queue[0]!;
    const group = [head];
    let rows = head.rows;
    for (let i = 1; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.run !== head.run || rows + e.rows > MAX_INSERT_ROWS) break;
      group.push(e);
      rows += e.rows;
    }
    return group;
  }

  /**
   * One INSERT of the group's rows; for uncertain batches, only the rows the table does not hold yet. Its
   * query_id is the head batch's, which stays the head until the server acknowledges it: the same id on every
   * attempt, so the check below always sees the previous attempt finished.
   */
  private async send(group: Entry[]): Promise<void> {
    const head = group[0]!;
    const queryId = `sensor-${head.run}-${head.batch}`;
    if (group.some((e) => e.uncertain) && this.timedOut) {
      // The last request timed out: the server may hold our INSERT unstarted in a queue (a stalled server), and a
      // check that ran before it would miss its rows. Wait until the server answers again, then a grace period in
      // which the old request, queued ahead of ours, starts (and registers its query_id) or is dropped.
      const ping = await this.client.ping();
      if (!ping.success) throw ping.error;
      await new Promise((r) => setTimeout(r, STALE_REQUEST_GRACE_MS));
      this.timedOut = false;
    }
    const held = group.some((e) => e.uncertain) ? await this.rowsHeld(group, queryId) : new Map<number, Set<number>>();
    const parts: Buffer[] = [];
    for (const e of group) {
      let body = e.body;
      let offsets = e.offsets;
      if (body === null) {
        const read = readSpoolFile(e.file!);
        body = read.body;
        offsets = read.header.offsets;
      }
      const have = held.get(e.batch);
      if (have === undefined) parts.push(body);
      else {
        this.counters.rows_already_stored += have.size;
        for (let r = 0; r < e.rows; r++) if (!have.has(r)) parts.push(body.subarray(offsets[r], offsets[r + 1]));
      }
    }
    for (const e of group) e.uncertain = true; // from here until the server answers, they may or may not get stored
    const body = Buffer.concat(parts);
    if (body.length === 0) return; // all there already
    const names = this.cols.map((c) => `\`${c.name}\``).join(', ');
    const res = await this.client.exec({
      query: `INSERT INTO \`${this.database}\`.\`${this.table}\` (${names}) FORMAT RowBinary`,
      values: Readable.from([body], { objectMode: false }),
      query_id: queryId,
    });
    for await (const _ of res.stream) void _; // the (empty) answer: read it so the connection is reused
  }

  /** Which rows of the group's batches the table holds, by batch; asked under the INSERT's query_id (top of file). */
  private async rowsHeld(group: Entry[], queryId: string): Promise<Map<number, Set<number>>> {
    const rs = await this.client.query({
      // Literals, not query parameters: those came with ClickHouse 19.
      query:
        `SELECT batch, row FROM \`${this.database}\`.\`${this.table}\` WHERE sensor = ${literal(this.opts.sensor)} ` +
        `AND run_id = ${literal(group[0]!.run)} AND batch IN (${group.map((e) => e.batch).join(', ')})`,
      format: 'TabSeparated',
      query_id: queryId,
    });
    const held = new Map<number, Set<number>>();
    for (const line of (await rs.text()).split('\n')) {
      if (line === '') continue;
      const [batch, row] = line.split('\t').map(Number) as [number, number];
      let set = held.get(batch);
      if (!set) held.set(batch, (set = new Set()));
      set.add(row);
    }
    return held;
  }

  /** Creates the database and table when absent; refuses a table with other columns. */
  private async ensureSchema(): Promise<void> {
    try {
      await this.client.command({ query: `CREATE DATABASE IF NOT EXISTS \`${this.database}\`` });
      await this.client.command({ query: createTableSql(this.database, this.table, this.cols) });
      const describe = async (): Promise<string[]> => {
        const rs = await this.client.query({ query: `DESCRIBE TABLE \`${this.database}\`.\`${this.table}\``, format: 'TabSeparated' });
        return (await rs.text()).split('\n').filter((l) => l !== '').map((l) => l.split('\t').slice(0, 2).join(' '));
      };
      let have = await describe();
      const want = [...this.cols.map((c) => `${c.name} ${c.type}`), 'inserted_at DateTime'];
      // A table of an earlier version lacks columns added since (the application verdict, the context column, the
      // server name and its source): they are added in place (NULL in its old rows) when those are all it lacks.
      const later = new Set(ADDED_LATER.map((c) => `${c.name} ${c.type}`));
      const missing = want.filter((c) => !have.includes(c));
      if (missing.length > 0 && missing.every((c) => later.has(c)) && have.join('\n') === want.filter((c) => !missing.includes(c)).join('\n')) {
        const adds = missing.map((c) => {
          const [name, type] = [c.slice(0, c.indexOf(' ')), c.slice(c.indexOf(' ') + 1)];
          return `ADD COLUMN \`${name}\` ${type} AFTER \`${want[want.indexOf(c) - 1]!.split(' ')[0]}\``;
        });
        await this.client.command({ query: `ALTER TABLE \`${this.database}\`.\`${this.table}\` ${adds.join(', ')}` });
        have = await describe();
      }
      if (have.join('\n') !== want.join('\n')) {
        throw new SinkError('profile-mismatch', `ClickHouse table ${this.database}.${this.table} at ${shown(this.url)} has other columns than this program writes: drop or rename it, or use another database`);
      }
    } catch (e) {
      if (e instanceof SinkError) throw e;
      const code = serverCode(e);
      // The server answered and refused (wrong user or password, no right to create): retrying will not help.
      if (code === '516' || code === '192' || code === '193' || code === '194' || code === '497') {
        throw new SinkError('write-failed', `ClickHouse ${shown(this.url)} refused: ${oneLine(e)}`, { cause: e });
      }
      throw e;
    }
    this.schemaReady = true;
  }

  // ---- spooling -------------------------------------------------------------------------------------------------

  private markUnhealthy(e: unknown): void {
    if (this.healthy) {
      this.healthy = false;
      this.event('warn', 'clickhouse_unreachable', `ClickHouse ${shown(this.url)} unavailable (${oneLine(e)}): spooling flows in ${this.opts.spoolDir} until it is back`);
    } else if (serverCode(e) === QUERY_ALREADY_RUNNING) {
      return; // the earlier insert is still running: wait for it quietly
    }
    this.spoolMemory();
  }

  /** Writes every batch queued in memory to the spool (in queue order), and tells waiting writers. */
  private spoolMemory(): void {
    for (const e of this.queue) {
      if (e.body === null || e.file !== null) continue;
      if (this.spoolBytes + e.bytes > this.maxSpoolBytes && !this.sending?.has(e)) {
        this.counters.rows_dropped += e.rows;
        this.event('error', 'clickhouse_dropped', `ClickHouse spool ${this.opts.spoolDir} is full (${this.maxSpoolBytes} bytes): ${e.rows} flows dropped (sink.clickhouse.rows_dropped ${this.counters.rows_dropped})`);
        e.body = null;
        e.rows = 0;
        continue;
      }
      try {
        e.file = this.writeSpoolFile(e);
      } catch (err) {
        this.failWith(new SinkError('write-failed', `cannot write the ClickHouse spool ${this.opts.spoolDir}: ${oneLine(err)}`, { cause: err }));
        return;
      }
      this.spoolBytes += e.bytes;
      this.counters.batches_spooled++;
      this.counters.rows_spooled += e.rows;
      e.body = null;
      this.memoryBatches--;
    }
    // Batches dropped for the size limit leave the queue.
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const e = this.queue[i]!;
      if (e.body === null && e.file === null && !this.sending?.has(e)) {
        this.queue.splice(i, 1);
        this.memoryBatches--;
      }
    }
    this.afterDequeue();
    const now = Date.now();
    if (this.counters.batches_spooled > 0 && now - this.lastSpoolNotice >= 10_000) {
      this.lastSpoolNotice = now;
      this.event('warn', 'clickhouse_spooled', `ClickHouse spool ${this.opts.spoolDir}: ${this.counters.rows_spooled} flows in ${this.counters.batches_spooled} batches wait for ${shown(this.url)} (sink.clickhouse.rows_spooled)`);
    }
  }

  private writeSpoolFile(e: Entry): string {
    const name = join(this.opts.spoolDir, `${String(this.fileSeq++).padStart(12, '0')}${SPOOL_SUFFIX}`);
    const header: SpoolHeader = { v: 1, table: this.table, columns: this.cols.map((c) => c.name), run: e.run, batch: e.batch, rows: e.rows, offsets: e.offsets };
    const tmp = `${name}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, `${JSON.stringify(header)}\n`);
      writeSync(fd, e.body!);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, name);
    syncDir(this.opts.spoolDir);
    return name;
  }

  /** Releases writers and flushers that waited for the memory queue. */
  private afterDequeue(): void {
    if (this.memoryBatches <= this.maxMemoryBatches / 2 || !this.healthy) {
      const w = this.writeWaiters;
      this.writeWaiters = [];
      for (const x of w) x.resolve();
    }
    if (this.memoryBatches === 0) {
      const f = this.flushWaiters;
      this.flushWaiters = [];
      for (const x of f) x();
    }
  }

  private failWith(e: SinkError): void {
    if (this.failure) return;
    this.failure = e;
    for (const w of this.writeWaiters) w.reject(e);
    this.writeWaiters = [];
    for (const f of this.flushWaiters) f();
    this.flushWaiters = [];
    this.sleeper.wake?.();
    this.wakeSender();
    this.event('error', 'clickhouse_unreachable', e.message);
  }

  private event(level: ClickHouseEvent['level'], event: ClickHouseEvent['event'], message: string): void {
    this.opts.onEvent?.({ level, event, message });
  }
}

// ---- the spool directory ---------------------------------------------------------------------------------------

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Creates the directory and takes `lock` (our pid); a lock whose process is gone is taken over. */
function takeSpoolLock(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.probe-${process.pid}`);
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (e) {
    throw new SinkError('not-writable', `ClickHouse spool directory ${dir} is not writable (${oneLine(e)})`, { cause: e });
  }
  const lock = join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      return lock;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new SinkError('not-writable', `cannot lock the ClickHouse spool ${dir}: ${oneLine(e)}`);
      const pid = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new SinkError('locked', `ClickHouse spool ${dir} is in use by process ${pid}: give each sensor its own --clickhouse-spool`);
      }
      unlinkSync(lock); // left by a process that is gone
    }
  }
  throw new SinkError('locked', `cannot lock the ClickHouse spool ${dir}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseLock(lock: string): void {
  try {
    unlinkSync(lock);
  } catch {
    // already gone
  }
}

function readSpoolFile(path: string): { header: SpoolHeader; body: Buffer } {
  const data = readFileSync(path);
  const nl = data.indexOf(10);
  const header = JSON.parse(data.subarray(0, nl).toString('utf8')) as SpoolHeader;
  return { header, body: data.subarray(nl + 1) };
}

/**
 * The batches a previous run left, oldest first, all uncertain: some may have been in flight when it stopped (it
 * costs one SELECT per INSERT to check).
 */
function loadSpool(dir: string, table: string, columns: string[]): { entries: Entry[]; nextFile: number; bytes: number } {
  const names = readdirSync(dir).filter((n) => n.endsWith(SPOOL_SUFFIX)).sort();
  for (const n of readdirSync(dir)) if (n.endsWith(`${SPOOL_SUFFIX}.tmp`)) unlinkSync(join(dir, n)); // never renamed: not acknowledged to anyone
  const entries: Entry[] = [];
  let bytes = 0;
  for (const n of names) {
    const path = join(dir, n);
    let header: SpoolHeader;
    let size: number;
    try {
      header = readSpoolFile(path).header;
      size = statSync(path).size;
    } catch (e) {
      throw new SinkError('schema-mismatch', `ClickHouse spool file ${path} is unreadable (${oneLine(e)}): move it away to start`, { cause: e });
    }
    if (header.table !== table || header.columns.join(',') !== columns.join(',')) {
      throw new SinkError('profile-mismatch', `ClickHouse spool ${dir} holds flows for table ${header.table} with other columns: send them with that profile first, or use another --clickhouse-spool`);
    }
    entries.push({ run: header.run, batch: header.batch, rows: header.rows, body: null, offsets: header.offsets, file: path, bytes: size, uncertain: true });
    bytes += size;
  }
  const last = names.length > 0 ? Number(names[names.length - 1]!.slice(0, 12)) : 0;
  return { entries, nextFile: last + 1, bytes };
}
