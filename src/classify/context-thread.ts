/**
 * The context stage (context.ts) in the inference thread, after each batch's attack verdicts: there it costs the
 * packet thread (the replay's critical path) nothing but packing a few identity columns and applying what it
 * decided. Both sides of it live here:
 * - main thread: ContextStart starts it (FlowClassifier.startContext, once per pipeline, before its first batch);
 *   packContextFlows() gives each batch's columns it reads besides the features (which travel to the thread anyway);
 *   ThreadContextCounts keeps the counts the thread sends with each batch's decisions.
 * - inference thread: ContextStep holds the stage and decides each batch after the attack model, in batch order
 *   (the thread handles batches one at a time, in the order the pipeline submits them: the order it writes them),
 *   so the labels are the ones the stage gives on the main thread.
 */
import type { FlowRows, ProfileColumns } from '../engine/flow-batch.js';
import { ContextStage, contextCounts, DETECTORS, type ContextCounts, type ContextDecisions, type ContextFlows, type ContextThresholds, type DetectorName } from './context.js';

/** To the thread: judge the batches from `from` (a run request's seq) on with a new stage. */
export interface ContextStart {
  t: 'context';
  from: number;
  columns: ProfileColumns;
  /** The attack model's classes and benign class. */
  classes: readonly string[];
  benign: string;
  thresholds: Partial<ContextThresholds>;
}

/** Bytes a flow takes packed: its start (f64), source and destination addresses (4 u32 each), destination port (u16), protocol and IP version (u8 each). */
const FLOW_BYTES = 8 + 16 + 16 + 2 + 1 + 1;

/** A batch's columns the stage reads besides the features, copied into one buffer (to transfer to the thread). */
export function packContextFlows(rows: FlowRows): ArrayBuffer {
  const n = rows.count;
  const b = new ArrayBuffer(n * FLOW_BYTES);
  const v = flowViews(b, n);
  v.startUs.set(rows.startUs.subarray(0, n));
  v.srcAddrs.set(rows.srcAddrs.subarray(0, 4 * n));
  v.dstAddrs.set(rows.dstAddrs.subarray(0, 4 * n));
  v.dstPorts.set(rows.dstPorts.subarray(0, n));
  v.protocols.set(rows.protocols.subarray(0, n));
  v.ipVersions.set(rows.ipVersions.subarray(0, n));
  return b;
}

/** The packed columns (packContextFlows) and the batch's features, as the stage reads a batch. */
export function unpackContextFlows(b: ArrayBuffer, count: number, features: Float64Array): ContextFlows {
  return { count, features, ...flowViews(b, count) };
}

/** The packed buffer's layout (FLOW_BYTES a flow), one column after the other: views of its `n` flows' columns. */
function flowViews(b: ArrayBuffer, n: number): Omit<ContextFlows, 'count' | 'features'> {
  return {
    startUs: new Float64Array(b, 0, n),
    srcAddrs: new Uint32Array(b, 8 * n, 4 * n),
    dstAddrs: new Uint32Array(b, 24 * n, 4 * n),
    dstPorts: new Uint16Array(b, 40 * n, n),
    protocols: new Uint8Array(b, 42 * n, n),
    ipVersions: new Uint8Array(b, 43 * n, n),
  };
}

/** A batch's decisions, from the stage started for batch `stage` on (its ContextStart `from`). */
export interface ThreadContextDecisions extends ContextDecisions {
  stage: number;
}

/** Inference thread: the run's stage, once started; a stage started again judges the batches from its `from` on. */
export class ContextStep {
  /** In `from` order; batches come in seq order, so a stage is dropped once the next one's first batch comes. */
  private readonly stages: { from: number; stage: ContextStage }[] = [];

  start(m: ContextStart): void {
    this.stages.push({ from: m.from, stage: new ContextStage({ columns: m.columns, classes: m.classes, benign: m.benign, thresholds: m.thresholds }) });
  }

  /**
   * Batch `seq`'s decisions, given its packed columns, features and attack verdicts (class indices; null when the
   * model gave none: the flows are counted only); null when no stage is on for this batch.
   */
  decide(seq: number, count: number, features: Float64Array, packed: ArrayBuffer | null, labels: Int32Array | null, benign: number): ThreadContextDecisions | null {
    while (this.stages.length > 1 && this.stages[1]!.from <= seq) this.stages.shift();
    const s = this.stages[0];
    if (s === undefined || packed === null || seq < s.from) return null;
    return { ...s.stage.decide(unpackContextFlows(packed, count, features), labels ?? undefined, benign), stage: s.from };
  }
}

/** Main thread: the stage's counts as of the last batch decided (what Pipeline.accounting reports). */
export class ThreadContextCounts {
  private last: Float64Array = new Float64Array(0);

  constructor(
    /** Detectors that run (their class is one of the model's). */
    readonly detectors: readonly DetectorName[],
    /** The stage's ContextStart `from`: the decisions it gives carry it (`stage`). */
    readonly from: number,
  ) {}

  /** Told each batch's decisions (of this stage), in batch order. */
  update(d: ContextDecisions): void {
    this.last = d.counts;
  }

  counts(): ContextCounts {
    return contextCounts(this.last.length > 0 ? this.last : new Float64Array(2 * DETECTORS.length));
  }
}
