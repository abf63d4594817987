/**
 * Replay: capture files → engine → sinks. The only place (with the live daemon) that wires the pipeline.
 *
 * Each input batch from the native reader goes through the engine synchronously; completed flows collect in
 * batches that are handed to the sinks between input batches, awaiting a sink's backpressure so a replay never
 * drops rows. Several files are one continuous stream (like a rotated capture): flows may span them.
 */
import { statSync } from 'node:fs';
import { CaptureError, PcapSource, META_STRIDE } from '../sources/pcap-source.js';
import { SUPPORTED_LINK_TYPES, SUPPORTED_LINK_TYPES_TEXT } from '../decode/decode.js';
import { Engine, type EngineAccounting } from '../engine/engine.js';
import type { Profile } from '../features/profiles.js';
import type { FlowRows, FlowSink } from '../sinks/flow-rows.js';
import { SinkFanout, sinkName, type SinkFailure } from '../sinks/fanout.js';
import type { VerdictQueue } from '../classify/stage.js';

export interface ReplayOptions {
  files: string[];
  profile: Profile;
  filter?: string;
  flowTimeoutUs: number;
  activityTimeoutUs: number;
  idleTimeoutUs: number;
  maxFlows: number;
  portAwareDirection: boolean;
  ipv6: boolean;
  sinks: FlowSink[];
  /** Called about twice a second with progress (for a TTY progress line). */
  onProgress?: (p: ReplayProgress) => void;
  /** Called once per file that ended abnormally (cut short): one line. */
  onWarning?: (message: string) => void;
  /** Set to true (e.g. by SIGINT) to stop reading; flows seen so far are still written. */
  stop?: { requested: boolean };
  /** Classify each completed batch (in the model's thread) before the sinks get it; absent = no verdicts. */
  verdicts?: VerdictQueue;
}

export interface ReplayProgress {
  file: string;
  fileIndex: number;
  files: number;
  /** Fraction of the current file read, 0..1 (NaN when unknown). */
  fraction: number;
  packets: number;
  flows: number;
  elapsedMs: number;
}

export interface ReplaySummary {
  packets: number;
  flows: number;
  packetsInFlows: number;
  elapsedMs: number;
  packetsPerSecond: number;
  warnings: string[];
  stopped: boolean;
  /** The counters grouped by meaning (packet reasons vs information), as the runs table stores them. */
  accounting: EngineAccounting;
  /** Sinks that failed while writing: the replay went on with the others; `rowsLost` flows did not reach it. */
  sinkFailures: SinkFailure[];
  /** With a model: the verdicts by class, the alert threshold used, and the sources with the most alerts. */
  verdicts?: {
    counts: Record<string, number>;
    threshold: number | null;
    topAlertSources: { address: string; alerts: number }[];
  };
}

/** How many alert sources the summary names. */
export const TOP_ALERT_SOURCES = 5;


/** A sink may report how many rows it has made durable (SqliteSink: committed rows); otherwise rows accepted. */
interface CountingSink extends FlowSink {
  readonly rowsCommitted?: number;
}

/** `CsvSink` → `csv`, `SqliteSink` → `sqlite`. */

/** Partial output batches are handed to the sinks at least this often (ms), so a kill loses at most ~1 s. */
const FLUSH_INTERVAL_MS = 1000;

const BATCH_FLOWS = 1024;

/** Open every file first so a missing or corrupt one fails before any output is written. */
export function openSources(files: string[], filter: string | undefined): PcapSource[] {
  const sources: PcapSource[] = [];
  try {
    for (const f of files) {
      const src = PcapSource.openFile(f, filter === undefined ? {} : { filter });
      sources.push(src);
      // A link type the decoder does not know would turn every packet into a counter: say so up front.
      if (!SUPPORTED_LINK_TYPES.includes(src.linkType)) {
        throw new CaptureError('unsupported', f, `${f}: unsupported link type ${src.linkTypeName} (${src.linkType}); supported: ${SUPPORTED_LINK_TYPES_TEXT}`);
      }
    }
  } catch (e) {
    for (const s of sources) s.close();
    throw e;
  }
  return sources;
}

if (META_STRIDE !== 6) throw new Error('engine and packet source disagree on the batch layout');

export async function replay(opts: ReplayOptions, sources: PcapSource[]): Promise<ReplaySummary> {
  const pending: FlowRows[] = [];
  let currentFile = sources[0]?.path;
  const engine = new Engine({
    profile: opts.profile,
    flowTimeoutUs: opts.flowTimeoutUs,
    activityTimeoutUs: opts.activityTimeoutUs,
    idleTimeoutUs: opts.idleTimeoutUs,
    maxFlows: opts.maxFlows,
    batchSize: BATCH_FLOWS,
    portAwareDirection: opts.portAwareDirection,
    ipv6: opts.ipv6,
    onFlows: (rows) => {
      rows.source = currentFile;
      pending.push(rows);
      opts.verdicts?.submit(rows);
    },
  });
  // A sink that fails (disk full, database locked for too long) is set aside: the others still get every flow.
  const fanout = new SinkFanout();
  // final = false between input batches: a batch whose verdicts are not in yet waits (the engine reads on)
  // unless more than verdicts.maxInFlight batches wait.
  const drain = async (final = true): Promise<void> => {
    while (pending.length > 0) {
      const v = opts.verdicts;
      if (v && !final && !v.isDone(pending[0]!) && pending.length <= v.maxInFlight) break;
      const rows = pending.shift()!;
      if (v) await v.done(rows);
      await fanout.write(opts.sinks, rows);
    }
  };

  const started = performance.now();
  let lastProgress = started;
  let lastYield = started;
  let lastFlush = started;
  const warnings: string[] = [];
  let stopped = false;
  for (let fi = 0; fi < sources.length; fi++) {
    const src = sources[fi]!;
    currentFile = src.path;
    const size = fileSize(src.path);
    const linkType = src.linkType;
    const data = src.data;
    const meta = src.meta;
    for (;;) {
      if (opts.stop?.requested) {
        stopped = true;
        break;
      }
      const n = src.next();
      if (n === 0) break;
      engine.ingestBatch(linkType, data, meta, n);
      const now = performance.now();
      if (now - lastFlush >= FLUSH_INTERVAL_MS) {
        // Flows that completed since the last full batch still reach the sinks (and SQLite commits them) within
        // about a second, however slowly flows complete.
        lastFlush = now;
        engine.flushRows();
      }
      if (pending.length > 0) await drain(false);
      if (now - lastYield >= 50) {
        // Let signal handlers and the SQLite worker's messages run even when no flow completes for a while.
        lastYield = now;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (opts.onProgress) {
        if (now - lastProgress >= 500) {
          lastProgress = now;
          opts.onProgress({
            file: src.path,
            fileIndex: fi,
            files: sources.length,
            fraction: size > 0 ? Math.min(1, src.bytesRead / size) : NaN,
            packets: engine.packets,
            flows: engine.flowsWritten,
            elapsedMs: now - started,
          });
        }
      }
    }
    const warning = src.warning;
    if (warning !== undefined) {
      const line = `${src.path}: ${warning}; flows before the cut are kept`;
      warnings.push(line);
      opts.onWarning?.(line);
    }
    src.close();
    if (stopped) break;
    // A batch never spans two files, so each flow's batch names the file it completed in (JSON `pcap_file`).
    if (fi + 1 < sources.length) engine.flushRows();
  }
  for (let fi = 0; fi < sources.length; fi++) sources[fi]!.close();
  engine.finish();
  await drain();
  await fanout.flush(opts.sinks);
  const elapsedMs = performance.now() - started;

  // Rows lost by a failed sink: the batches it refused, or, when it says what it made durable (SQLite:
  // committed batches), every flow minus that.
  for (const f of fanout.failures.values()) {
    const committed = (f.sink as CountingSink).rowsCommitted;
    if (committed !== undefined) f.rowsLost = engine.flowsWritten - committed;
  }
  const accounting = engine.accounting();
  accounting.info['capture.files_cut_short'] = warnings.length;
  for (const sink of opts.sinks) {
    const lost = fanout.rowsLost(sink);
    accounting.info[`sink.${sinkName(sink)}.rows_lost`] = lost;
    // A sink with counters of its own (ClickHouse: rows sent, spooled) adds them.
    Object.assign(accounting.info, (sink as { info?: () => Record<string, number> }).info?.());
  }
  return {
    packets: engine.packets,
    flows: engine.flowsWritten,
    packetsInFlows: engine.packetsInFlows,
    elapsedMs,
    packetsPerSecond: elapsedMs > 0 ? (engine.packets * 1000) / elapsedMs : 0,
    warnings,
    stopped,
    accounting,
    sinkFailures: [...fanout.failures.values()],
    ...(opts.verdicts
      ? {
          verdicts: {
            counts: opts.verdicts.tally.verdicts(),
            threshold: opts.verdicts.classifier.threshold,
            topAlertSources: opts.verdicts.tally.topAlertSources(TOP_ALERT_SOURCES),
          },
        }
      : {}),
  };
}

/**
 * The runs table's `counters` JSON: `packets`, `flows`, `packets_in_written_flows`, the group
 * `packets_not_in_written_flows` (reason → packets; with `packets_in_written_flows` it sums to `packets`) and the
 * group `info` (counts about flows, files and sinks that are not packet reasons); with a model, `verdicts`
 * (class → flows with that verdict).
 */
export function runCounters(s: ReplaySummary): Record<string, number | Record<string, number>> {
  const a = s.accounting;
  return {
    packets: a.packets,
    flows: a.flows,
    packets_in_written_flows: a.packetsInWrittenFlows,
    packets_not_in_written_flows: { ...a.packetsNotInWrittenFlows },
    info: { ...a.info },
    ...(s.verdicts ? { verdicts: { ...s.verdicts.counts } } : {}),
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
