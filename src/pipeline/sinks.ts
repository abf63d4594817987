/**
 * The one place outputs are made, for replay and live: SINK_KINDS has one entry per kind of output (CSV, JSON
 * lines, ClickHouse, SQLite), each saying which setting asks for it and how to open it. Adding an output is adding an entry.
 * Order matters only for the order of writes (the files first, then the database, as before).
 */
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import type { LiveConfig, Mode } from '../config/schema.js';
import type { FlowSink, ProfileColumns } from '../sinks/flow-rows.js';
import { CsvSink } from '../sinks/csv.js';
import { JsonSink } from '../sinks/json.js';
import { SqliteSink } from '../sinks/sqlite.js';
// The ClickHouse client (@clickhouse/client and its dependencies) loads only when a run writes to ClickHouse.
import type { ClickHouseEvent } from '../sinks/clickhouse.js';

/** Live: a JSON lines file may fall this far behind before batches are dropped (and counted) rather than queued. */
const JSON_MAX_BUFFERED_BYTES = 64 << 20;

/** What opening an output needs beyond the settings; shared by every reopening in one process. */
export interface SinkContext {
  mode: Mode;
  columns: ProfileColumns;
  /** The run's source for the `runs` table and JSON: the capture files (space-separated) or the interface. */
  source: string;
  argv: string[];
  /** The model's benign class (verdicts with another label are alerts); absent without a model. */
  benignClass?: string;
  /** JSON `flow_id` counter, kept across reopenings so a live SIGHUP continues the sequence. */
  flowIds: { next: number };
  /** Live: told the lines of each JSON batch dropped because the file could not keep up. */
  onJsonDrop?: (lines: number) => void;
  /** Told about ClickHouse outages, spooling and recovery (replay prints them, live logs them). */
  onClickHouseEvent?: (e: ClickHouseEvent) => void;
}

/** One open output and what it was opened for. */
export interface OpenSink {
  kind: string;
  sink: FlowSink;
  /** The settings it was opened with: a reopening keeps the sink only when they are the same (and the file is). */
  key: string;
  /** The file's inode when opened (rotation on SIGHUP: a file moved away gets a new one). */
  ino: number | undefined;
}

interface SinkKind {
  /** Counter name: `sink.<kind>.rows_lost`. */
  kind: string;
  /** The settings that make this output, or undefined when it is not asked for. */
  key(cfg: LiveConfig): string | undefined;
  /** The file to watch for rotation; undefined: never kept across a reload (SQLite starts a new run). */
  file?(cfg: LiveConfig): string;
  /** Kept across a reload while its settings are the same (no file to rotate; ClickHouse: one spool per process). */
  keptOnReload?: true;
  open(cfg: LiveConfig, ctx: SinkContext): FlowSink | Promise<FlowSink>;
}

const SINK_KINDS: readonly SinkKind[] = [
  {
    kind: 'csv',
    key: (cfg) => cfg.csv,
    file: (cfg) => cfg.csv!,
    // The lines are made in the CSV writer's own thread, off the capture thread.
    open: (cfg, ctx) => new CsvSink(cfg.csv!, ctx.columns, { append: ctx.mode === 'live', thread: true }),
  },
  {
    kind: 'json',
    key: (cfg) => (cfg.json === undefined ? undefined : JSON.stringify([cfg.json, cfg.jsonAlertsOnly, cfg.jsonFeatures, cfg.sensorName])),
    file: (cfg) => cfg.json!,
    open: (cfg, ctx) =>
      new JsonSink(cfg.json!, ctx.columns, {
        sensor: cfg.sensorName ?? hostname(),
        ...(ctx.mode === 'live' ? { iface: ctx.source, append: true } : {}),
        ...(ctx.benignClass !== undefined ? { benignClass: ctx.benignClass } : {}),
        alertsOnly: cfg.jsonAlertsOnly,
        features: cfg.jsonFeatures,
        flowIds: ctx.flowIds,
        // Live, the capture must not wait for a slow disk: past this, batches are dropped and counted.
        ...(ctx.mode === 'live' ? { dropAboveBytes: JSON_MAX_BUFFERED_BYTES } : {}),
        ...(ctx.onJsonDrop ? { onDrop: ctx.onJsonDrop } : {}),
      }),
  },
  {
    kind: 'clickhouse',
    key: (cfg) => (cfg.clickhouse === undefined ? undefined : JSON.stringify([cfg.clickhouse, cfg.clickhouseSpool, cfg.sensorName])),
    keptOnReload: true,
    open: async (cfg, ctx) => {
      const { ClickHouseSink, defaultSpoolDir } = await import('../sinks/clickhouse.js');
      return ClickHouseSink.open(cfg.clickhouse!, ctx.columns, {
        spoolDir: cfg.clickhouseSpool ?? defaultSpoolDir(),
        sensor: cfg.sensorName ?? hostname(),
        // Replay waits for a slow server, as for SQLite; live the capture must not wait: a slow server spools.
        backpressure: ctx.mode === 'replay',
        ...(ctx.onClickHouseEvent ? { onEvent: ctx.onClickHouseEvent } : {}),
      });
    },
  },
  {
    kind: 'sqlite',
    key: (cfg) => cfg.db,
    open: (cfg, ctx) => SqliteSink.open(cfg.db!, ctx.columns, { source: ctx.source, mode: ctx.mode, profile: ctx.columns.name, argv: ctx.argv }),
  },
];

/**
 * Opens every output the settings ask for, in SINK_KINDS order. `keep` (a live reload): outputs still open that
 * are reused when their settings and file are unchanged; the others are not touched here. On a failure, closes
 * what it opened and rethrows (a SinkError: the caller says which output and exits 4).
 */
export async function openSinks(cfg: LiveConfig, ctx: SinkContext, keep: readonly OpenSink[] = []): Promise<OpenSink[]> {
  const out: OpenSink[] = [];
  const opened: FlowSink[] = [];
  try {
    for (const k of SINK_KINDS) {
      const key = k.key(cfg);
      if (key === undefined) continue;
      const ino = k.file ? inode(k.file(cfg)) : undefined;
      const old = keep.find((o) => o.kind === k.kind);
      if (old && old.key === key && (k.keptOnReload || (k.file && old.ino !== undefined && old.ino === ino))) {
        out.push(old);
        continue;
      }
      const sink = await k.open(cfg, ctx);
      opened.push(sink);
      out.push({ kind: k.kind, sink, key, ino: k.file ? inode(k.file(cfg)) : undefined });
    }
  } catch (e) {
    for (const s of opened) await s.close().catch(() => undefined);
    throw e;
  }
  return out;
}

function inode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}
