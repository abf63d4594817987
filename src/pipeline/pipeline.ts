/**
 * One pipeline for replay and live: packet batches → engine → verdicts (the model's thread) → every output.
 *
 * The caller (cli/replay.ts, cli/live.ts) owns the source and the clock: it hands each packet batch to ingest()
 * and calls pump() between batches. The pipeline owns the rest: the engine built from the run's settings, the
 * queue of completed flow batches waiting for their verdicts, the fan-out to the outputs (a failing output is set
 * aside, the others still get every flow), the once-a-second flush of partial batches (so a kill loses at most
 * about a second of flows), and the run's counters (the `runs` table's `counters` JSON).
 *
 * Ownership: the engine hands over a fresh FlowRows each time; a batch is held here until every output has it.
 */
import { Engine, type EngineAccounting } from '../engine/engine.js';
import type { Profile } from '../features/profiles.js';
import { FLOW_END_NAMES, FlowEnd, type FlowRows, type FlowSink } from '../sinks/flow-rows.js';
import type { RunCounters } from '../sinks/sqlite.js';
import { SinkFanout, type SinkFailure } from '../sinks/fanout.js';
import type { VerdictQueue } from '../classify/stage.js';
import { DETECTORS, type ContextThresholds } from '../classify/context.js';
import type { ThreadContextCounts } from '../classify/context-thread.js';
import type { OpenSink } from './sinks.js';
import { engineConfig, type EngineSettings } from './engine-config.js';
import { ShardedEngine } from './sharded-engine.js';

export type { EngineSettings } from './engine-config.js';

/** Partial output batches are handed to the outputs at least this often (ms). */
const FLUSH_INTERVAL_MS = 1000;

/** Open flows ended per slice of finish() (a few output batches). */
const FINISH_SLICE_FLOWS = 4096;

/**
 * What turns packet batches into completed flow batches: the engine itself (one worker, in this thread), or
 * ShardedEngine (`--workers N` > 1: one engine per shard of the flows in worker threads, the same rows in the same
 * order). The sharded one answers some calls asynchronously.
 */
export interface FlowStage {
  /** Packets read, and flows handed on, so far. */
  readonly packets: number;
  readonly flowsWritten: number;
  readonly activeFlows: number;
  ingestBatch(linkType: number, data: Uint8Array, meta: Float64Array, n: number): void | Promise<void>;
  expireIdleAfterQuiet(quietUs: number): unknown;
  flushRows(): void | Promise<void>;
  finish(reason?: FlowEnd): void | Promise<void>;
  accounting(): EngineAccounting;
}

export interface PipelineOptions {
  profile: Profile;
  /** With `workers` > 1, the engine's work is sharded over that many worker threads (sharded-engine.ts). */
  settings: EngineSettings & { workers?: number };
  sinks: readonly OpenSink[];
  /** Classify each completed batch before the outputs get it; absent = no verdicts. */
  verdicts?: VerdictQueue;
  /**
   * Live: when inference fails, flows keep being written without verdicts (counted as
   * `verdicts.unclassified_flows`, and `verdicts.flows_lost` for those whose features died with the thread).
   * Replay: the failure ends the run.
   */
  continueWithoutVerdicts?: boolean;
  /**
   * The context stage (classify/context.ts) with these thresholds (the defaults for the ones not given): sees every
   * flow once its verdicts are in, in order, and relabels the benign-called flows of a firing detector before the
   * outputs get them. It runs in the inference thread, after the attack model (classify/context-thread.ts). Needs an
   * attack model; absent or false = off (`--no-context`).
   */
  context?: false | Partial<ContextThresholds>;
  /** Told once, when inference first fails (with continueWithoutVerdicts). */
  onModelFailed?: (error: Error) => void;
  /** Told once per output, when it first fails (the daemon stops then; replay carries on). */
  onSinkFailed?: (failure: SinkFailure) => void;
}

/** A sink may report how many rows it has made durable (SqliteSink: committed rows); otherwise rows accepted. */
interface CountingSink extends FlowSink {
  readonly rowsCommitted?: number;
}

export class Pipeline {
  readonly engine: FlowStage;
  readonly fanout: SinkFanout;
  readonly verdicts: VerdictQueue | undefined;
  /** The context stage's counts (the stage itself runs in the inference thread), when it is on. */
  readonly context: ThreadContextCounts | undefined;
  private readonly sharded: ShardedEngine | undefined;
  private currentSource: string | undefined;
  /** Flows handed to the outputs, by why they ended (FLOW_END_NAMES order). */
  readonly flowsEnded = new Array<number>(FLOW_END_NAMES.length).fill(0);
  /** Flows handed to the outputs without verdicts, and flows lost with a dead inference thread (live). */
  unclassified = 0;
  lostWithInference = 0;

  private readonly pending: FlowRows[] = [];
  private readonly continueWithoutVerdicts: boolean;
  private readonly onModelFailed: (error: Error) => void;
  private readonly featureCount: number;
  private verdictsFailed = false;
  private open: readonly OpenSink[] = [];
  private sinkList: FlowSink[] = [];
  /** Flows handed to the outputs so far, and that count when each output was attached (for its losses). */
  private handed = 0;
  private readonly attachedAt = new Map<FlowSink, number>();
  private lastFlush = performance.now();
  /** Outputs still being opened (sinksWhenReady): completed batches wait for them; their error, once failed. */
  private sinksOpening: Promise<void> | null = null;
  private sinksFailure: Error | null = null;

  constructor(opts: PipelineOptions) {
    const s = opts.settings;
    this.verdicts = opts.verdicts;
    // Started before the first batch is submitted: it judges every batch of this pipeline, in order.
    const classifier = opts.verdicts?.classifier;
    this.context = opts.context === undefined || opts.context === false || !classifier?.attack ? undefined : classifier.startContext(opts.profile.columns, opts.context);
    this.continueWithoutVerdicts = opts.continueWithoutVerdicts ?? false;
    this.onModelFailed = opts.onModelFailed ?? (() => undefined);
    this.featureCount = opts.profile.columns.featureNames.length;
    this.fanout = new SinkFanout(opts.onSinkFailed);
    const onFlows = (rows: FlowRows): void => {
      if (this.currentSource !== undefined && rows.source === undefined) rows.source = this.currentSource;
      this.pending.push(rows);
      if (!this.verdictsFailed) this.verdicts?.submit(rows);
    };
    const workers = s.workers ?? 1;
    if (workers > 1) {
      this.sharded = new ShardedEngine(opts.profile, s, workers, onFlows);
      this.engine = this.sharded;
    } else {
      this.sharded = undefined;
      this.engine = new Engine(engineConfig(opts.profile, s, onFlows));
    }
    this.setSinks(opts.sinks);
  }

  /** The capture file being read (replay): each completed batch names it (JSON `pcap_file`). */
  get source(): string | undefined {
    return this.currentSource;
  }

  set source(name: string | undefined) {
    this.currentSource = name;
    if (name !== undefined) this.sharded?.setSource(name);
  }

  /** The outputs being written. */
  get sinks(): readonly OpenSink[] {
    return this.open;
  }

  /** Switch to another set of outputs (a live reload); flows completed before go to the old ones (drain first). */
  setSinks(sinks: readonly OpenSink[]): void {
    this.open = sinks;
    this.sinkList = sinks.map((o) => o.sink);
    for (const s of this.sinkList) if (!this.attachedAt.has(s)) this.attachedAt.set(s, this.handed);
  }

  /**
   * Outputs that open later (replay opens them once the models' sessions are loaded, reading packets meanwhile):
   * completed batches wait here until then; when `sinks` rejects, the next pump(), flush() or finish() throws its error.
   */
  sinksWhenReady(sinks: Promise<readonly OpenSink[]>): void {
    this.sinksOpening = sinks.then(
      (s) => {
        this.setSinks(s);
        this.sinksOpening = null;
      },
      (e: unknown) => {
        this.sinksFailure = e instanceof Error ? e : new Error(String(e));
        throw e;
      },
    );
    this.sinksOpening.catch(() => undefined); // thrown by the next pump(), flush() or finish()
  }

  /** Batches of completed flows waiting for their verdicts or for the outputs. */
  get batchesWaiting(): number {
    return this.pending.length;
  }

  /**
   * Feed one packet batch (the source's reused data/meta) to the engine; allocates nothing per packet. Synchronous
   * with one worker; with several, a promise while every slot of the shards' ring is in use (await it before the
   * source's next batch).
   */
  ingest(linkType: number, data: Uint8Array, meta: Float64Array, n: number): void | Promise<void> {
    return this.engine.ingestBatch(linkType, data, meta, n);
  }

  /**
   * Between input batches (`now` = performance.now()): once a second, end flows idle at the live clock (with
   * `quietMs`, the wall time since the last packet arrived) and hand the partial batch over; then pass on the
   * batches whose verdicts are in (waiting for the oldest only when too many wait).
   */
  async pump(now: number, quietMs?: number): Promise<void> {
    if (now - this.lastFlush >= FLUSH_INTERVAL_MS) {
      this.lastFlush = now;
      if (quietMs !== undefined) this.engine.expireIdleAfterQuiet(quietMs * 1000);
      // Sharded: the rows arrive once every shard has answered; a failed shard is reported by the next call.
      void Promise.resolve(this.engine.flushRows()).catch(() => undefined);
    }
    this.sharded?.throwIfFailed();
    if (this.sinksFailure) throw this.sinksFailure;
    if (this.pending.length > 0) await this.drain(false);
  }

  /** Everything completed so far to the outputs (before a reload switches them). */
  async flush(): Promise<void> {
    await this.engine.flushRows();
    await this.drain();
  }

  /**
   * End of input or shutdown: end every open flow, write everything, flush every output. One engine here ends its
   * open flows a few batches at a time, passing on between slices what is classified, so that the model and the
   * outputs work while it ends the rest (a flood's flows all end here) and at most a few batches wait.
   */
  async finish(reason: FlowEnd = FlowEnd.EndOfCapture): Promise<void> {
    const e = this.engine;
    if (e instanceof Engine) {
      while (!e.finishSome(FINISH_SLICE_FLOWS, reason)) {
        await new Promise<void>((resolve) => setImmediate(resolve)); // verdicts and the writers' answers come in
        await this.drain(false);
      }
    } else await e.finish(reason);
    await this.drain();
    await this.fanout.flush(this.sinkList);
    this.settleLosses();
  }

  /** Stop the shards' threads, if any (after finish, or when the run ends by an error). */
  async close(): Promise<void> {
    await this.sharded?.close();
  }

  /** final = false between input batches: a batch whose verdicts are not in yet waits, unless too many wait. */
  private async drain(final = true): Promise<void> {
    if (this.sinksOpening) {
      // No output yet: batches wait (classified meanwhile), unless too many wait.
      if (!final && this.pending.length <= (this.verdicts?.maxInFlight ?? 8)) return;
      await this.sinksOpening;
    }
    const v = this.verdicts;
    while (this.pending.length > 0) {
      if (v && !this.verdictsFailed && !final && !v.isDone(this.pending[0]!) && this.pending.length <= v.maxInFlight) break;
      const rows = this.pending.shift()!;
      if (v) {
        if (!this.continueWithoutVerdicts) await v.done(rows);
        else {
          try {
            await v.done(rows);
          } catch (e) {
            if (!this.verdictsFailed) this.onModelFailed(e as Error);
            this.verdictsFailed = true;
          }
          if (rows.model === undefined && rows.appModel === undefined) this.unclassified += rows.count;
          if (rows.features.length < rows.count * this.featureCount) {
            // The features were lent to an inference thread that died with them.
            this.lostWithInference += rows.count;
            continue;
          }
        }
      }
      for (let i = 0; i < rows.count; i++) {
        const r = rows.endReasons?.[i];
        if (r !== undefined) this.flowsEnded[r]!++;
      }
      this.handed += rows.count;
      await this.fanout.write(this.sinkList, rows);
      // Every output has copied what it needs of the batch (their write() reads it before returning): its buffers
      // go back to the engine.
      if (this.engine instanceof Engine) this.engine.recycle(rows);
    }
  }

  /**
   * Rows lost by a failed output: the batches it refused, or, when it says what it made durable (SQLite:
   * committed batches), every flow handed over since it was attached minus that.
   */
  private settleLosses(): void {
    for (const f of this.fanout.failures.values()) {
      const committed = (f.sink as CountingSink).rowsCommitted;
      if (committed !== undefined) f.rowsLost = this.handed - (this.attachedAt.get(f.sink) ?? 0) - committed;
    }
  }

  /** The engine's counters with each output's losses (`sink.<kind>.rows_lost`) and `extraInfo` in `info`. */
  accounting(extraInfo: Record<string, number> = {}): EngineAccounting {
    const a = this.engine.accounting();
    Object.assign(a.info, extraInfo);
    for (const o of this.open) {
      a.info[`sink.${o.kind}.rows_lost`] = this.fanout.rowsLost(o.sink);
      Object.assign(a.info, o.sink.info?.());
    }
    for (const f of this.fanout.failures.values()) a.info[`sink.${f.name}.rows_lost`] = f.rowsLost;
    if (this.context) {
      const c = this.context.counts();
      for (const d of DETECTORS) {
        a.info[`context.${d}.flows_relabelled`] = c.relabelled[d];
        a.info[`context.${d}.keys_evicted`] = c.evicted[d];
      }
    }
    if (this.verdicts && this.continueWithoutVerdicts) {
      a.info['verdicts.unclassified_flows'] = this.unclassified;
      a.info['verdicts.flows_lost'] = this.lostWithInference;
    }
    return a;
  }

  /**
   * The runs table's `counters` JSON: `packets`, `flows`, `packets_in_written_flows`, the group
   * `packets_not_in_written_flows` (reason → packets; with `packets_in_written_flows` it sums to `packets`), the
   * group `info` (counts about flows, files and outputs that are not packet reasons), `groups` (e.g. live's
   * `capture`) and, with an attack model, `verdicts` (class → flows with that verdict), with an application model
   * `app_groups` (group → flows the model put in it).
   */
  counters(extraInfo: Record<string, number> = {}, groups: Record<string, Record<string, number>> = {}): RunCounters {
    const a = this.accounting(extraInfo);
    return {
      packets: a.packets,
      flows: a.flows,
      packets_in_written_flows: a.packetsInWrittenFlows,
      packets_not_in_written_flows: { ...a.packetsNotInWrittenFlows },
      info: { ...a.info },
      ...groups,
      ...(this.verdicts?.tally ? { verdicts: this.verdicts.tally.verdicts() } : {}),
      ...(this.verdicts?.appTally ? { app_groups: this.verdicts.appTally.verdicts() } : {}),
    };
  }
}
