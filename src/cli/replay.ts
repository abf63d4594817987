/**
 * Replay: capture files → the pipeline (src/pipeline/) → outputs. This file reads the files in order and reports
 * progress; the pipeline does the rest, as it does for the live daemon.
 *
 * Each input batch from the native reader goes through the engine synchronously; completed flows collect in
 * batches that are handed to the outputs between input batches, awaiting an output's backpressure so a replay
 * never drops rows. Several files are one continuous stream (like a rotated capture): flows may span them.
 */
import { statSync } from 'node:fs';
import { CaptureError } from '../sources/batch.js';
import { PcapSource } from '../sources/pcap-source.js';
import { lowerThisThread } from '../sources/thread-priority.js';
import { SUPPORTED_LINK_TYPES, SUPPORTED_LINK_TYPES_TEXT } from '../decode/decode.js';
import type { EngineAccounting } from '../engine/engine.js';
import type { Profile } from '../features/profiles.js';
import type { SinkFailure } from '../sinks/fanout.js';
import type { RunCounters } from '../sinks/sqlite.js';
import type { VerdictQueue } from '../classify/stage.js';
import type { ContextThresholds } from '../classify/context.js';
import { Pipeline, type EngineSettings } from '../pipeline/pipeline.js';
import type { OpenSink } from '../pipeline/sinks.js';

export interface ReplayOptions {
  profile: Profile;
  settings: EngineSettings & { workers?: number };
  /** The outputs, or the promise of them (they open while the first packets are read: completed flows wait). */
  sinks: readonly OpenSink[] | Promise<readonly OpenSink[]>;
  /** Called about twice a second with progress (for a TTY progress line). */
  onProgress?: (p: ReplayProgress) => void;
  /** Called once per file that ended abnormally (cut short): one line. */
  onWarning?: (message: string) => void;
  /** Set to true (e.g. by SIGINT) to stop reading; flows seen so far are still written. */
  stop?: { requested: boolean };
  /** Classify each completed batch (in the model's thread) before the outputs get it; absent = no verdicts. */
  verdicts?: VerdictQueue;
  /** The context stage's thresholds (Pipeline `context`); absent or false = off. */
  context?: false | Partial<ContextThresholds>;
  /**
   * Once the input has ended, the packet thread lowers its priority by these nice steps before ending the open
   * flows: the CLI's `--thread-nice` (sources/thread-priority.ts), so it then runs level with the inference thread
   * and the writers. Its work left is ending the flows a few batches ahead of them (bounded by the batches in
   * flight); they are the critical path then and should not wait for a core it holds. Not lower than them: on a
   * busy machine a packet thread at nice 19 would make the end wait for it instead.
   */
  stepBackAtEnd?: number;
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
  /** The runs table's `counters` JSON (Pipeline.counters). */
  counters: RunCounters;
  /** Sinks that failed while writing: the replay went on with the others; `rowsLost` flows did not reach it. */
  sinkFailures: SinkFailure[];
  /** With a model: the verdicts by class, the alert threshold used, and the sources with the most alerts. */
  verdicts?: {
    counts: Record<string, number>;
    threshold: number | null;
    topAlertSources: { address: string; alerts: number }[];
  };
  /** With an application model: flows per application group, and the model (`name@version`). */
  appGroups?: {
    counts: Record<string, number>;
    model: string;
  };
}

/** How many alert sources the summary names. */
const TOP_ALERT_SOURCES = 5;


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

export async function replay(opts: ReplayOptions, sources: PcapSource[]): Promise<ReplaySummary> {
  const later = opts.sinks instanceof Promise ? opts.sinks : undefined;
  const pipeline = new Pipeline({
    profile: opts.profile,
    settings: opts.settings,
    sinks: later ? [] : (opts.sinks as readonly OpenSink[]),
    ...(opts.verdicts ? { verdicts: opts.verdicts } : {}),
    ...(opts.context !== undefined ? { context: opts.context } : {}),
  });
  if (later) pipeline.sinksWhenReady(later);
  try {
    return await replayInto(pipeline, opts, sources);
  } finally {
    await pipeline.close();
  }
}

async function replayInto(pipeline: Pipeline, opts: ReplayOptions, sources: PcapSource[]): Promise<ReplaySummary> {
  const engine = pipeline.engine;
  const started = performance.now();
  let lastProgress = started;
  let lastYield = started;
  const warnings: string[] = [];
  let stopped = false;
  for (let fi = 0; fi < sources.length; fi++) {
    const src = sources[fi]!;
    pipeline.source = src.path;
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
      const waiting = pipeline.ingest(linkType, data, meta, n);
      if (waiting) await waiting; // --workers: every slot of the shards' ring in use
      const now = performance.now();
      await pipeline.pump(now);
      if (now - lastYield >= 50) {
        // Let signal handlers and the SQLite worker's messages run even when no flow completes for a while.
        lastYield = now;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (opts.onProgress && now - lastProgress >= 500) {
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
    const warning = src.warning;
    if (warning !== undefined) {
      const line = `${src.path}: ${warning}; flows before the cut are kept`;
      warnings.push(line);
      opts.onWarning?.(line);
    }
    src.close();
    if (stopped) break;
    // A batch never spans two files, so each flow's batch names the file it completed in (JSON `pcap_file`).
    if (fi + 1 < sources.length) await engine.flushRows();
  }
  for (let fi = 0; fi < sources.length; fi++) sources[fi]!.close();
  if (opts.stepBackAtEnd) {
    // After the outputs' threads exist (a thread starts at its creator's priority); their failure is the pipeline's to report.
    await Promise.resolve(opts.sinks).catch(() => undefined);
    lowerThisThread(opts.stepBackAtEnd);
  }
  await pipeline.finish();
  const elapsedMs = performance.now() - started;

  const extra = { 'capture.files_cut_short': warnings.length };
  const accounting = pipeline.accounting(extra);
  return {
    packets: engine.packets,
    flows: engine.flowsWritten,
    packetsInFlows: accounting.packetsInWrittenFlows,
    elapsedMs,
    packetsPerSecond: elapsedMs > 0 ? (engine.packets * 1000) / elapsedMs : 0,
    warnings,
    stopped,
    accounting,
    counters: pipeline.counters(extra),
    sinkFailures: [...pipeline.fanout.failures.values()],
    ...(opts.verdicts?.tally
      ? {
          verdicts: {
            counts: opts.verdicts.tally.verdicts(),
            threshold: opts.verdicts.classifier.attack!.threshold,
            topAlertSources: opts.verdicts.tally.topAlertSources(TOP_ALERT_SOURCES),
          },
        }
      : {}),
    ...(opts.verdicts?.appTally ? { appGroups: { counts: opts.verdicts.appTally.verdicts(), model: opts.verdicts.classifier.app!.id } } : {}),
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
