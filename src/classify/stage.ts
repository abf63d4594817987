/**
 * Verdicts between the engine and the sinks, pipelined: submit(rows) starts classifying a completed batch in the
 * model's worker thread and returns at once; the replay loop goes on reading packets and hands a batch to the
 * sinks once isDone(rows), in order. Only when more than `maxInFlight` batches wait does the loop await the
 * oldest (backpressure, so memory stays bounded when inference is slower than the packet path).
 *
 * Ownership: a batch is held until the sinks have it. The engine hands over a fresh FlowRows each time (it
 * never reuses one), which is what makes holding it safe.
 */
import type { FlowRows } from '../engine/flow-batch.js';
import type { Classifier } from './classifier.js';
import { VerdictTally } from './tally.js';

export class VerdictQueue {
  private readonly jobs = new Map<FlowRows, { promise: Promise<void>; done: boolean }>();
  /** The verdicts of every batch classified so far, by class (and alert sources when asked). */
  readonly tally: VerdictTally;

  constructor(
    readonly classifier: Classifier,
    /** Batches allowed to wait for verdicts before the packet loop waits for them (default 8 = 8 k flows). */
    readonly maxInFlight = 8,
    opts: { countAlertSources?: boolean } = {},
  ) {
    this.tally = new VerdictTally(classifier.classes, classifier.benignIndex, opts.countAlertSources ?? false);
  }

  /** Told how long each batch took to classify, ms (the live daemon's inference latency metric). */
  onClassified?: (ms: number, flows: number) => void;

  /** Start classifying a batch (sets rows.labels/scores/attackLabels/attackScores/kdd/model when done). */
  submit(rows: FlowRows): void {
    const job = { promise: Promise.resolve(), done: false };
    const started = performance.now();
    job.promise = this.classifier.classify(rows).then((v) => {
      this.tally.add(rows, v);
      job.done = true;
      this.onClassified?.(performance.now() - started, rows.count);
    });
    job.promise.catch(() => undefined); // reported by done()
    this.jobs.set(rows, job);
  }

  /** True when the batch has its verdicts (or was never submitted). */
  isDone(rows: FlowRows): boolean {
    return this.jobs.get(rows)?.done ?? true;
  }

  /** Resolves when the batch has its verdicts; rejects when inference failed. Forgets the batch. */
  async done(rows: FlowRows): Promise<void> {
    const job = this.jobs.get(rows);
    if (!job) return;
    try {
      await job.promise;
    } finally {
      this.jobs.delete(rows);
    }
  }

  get inFlight(): number {
    return this.jobs.size;
  }
}
