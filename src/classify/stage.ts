/**
 * Verdicts between the engine and the sinks, pipelined: submit(rows) starts classifying a completed batch in the
 * models' worker thread (the attack model and the application model read it there together) and returns at
 * once; the replay loop goes on reading packets and hands a batch to the sinks once isDone(rows), in order. Only
 * when more than `maxInFlight` batches wait does the loop await the oldest (backpressure, so memory stays bounded
 * when inference is slower than the packet path).
 *
 * Ownership: a batch is held until the sinks have it. The engine reuses a FlowRows only once the pipeline gives it
 * back, after every sink has written it (Engine.recycle), which is what makes holding it safe.
 */
import type { FlowRows } from '../engine/flow-batch.js';
import type { FlowClassifier } from './classifier.js';
import { VerdictTally } from './tally.js';
import type { ContextDecisions } from './context.js';

export class VerdictQueue {
  private readonly jobs = new Map<FlowRows, { promise: Promise<void>; done: boolean }>();
  /** The attack verdicts of every batch classified so far, by class (and alert sources when asked); null without an attack model. */
  readonly tally: VerdictTally | null;
  /** The application verdicts so far, by group; null without an application model. */
  readonly appTally: VerdictTally | null;

  constructor(
    readonly classifier: FlowClassifier,
    /** Batches allowed to wait for verdicts before the packet loop waits for them (default 8 = 8 k flows). */
    readonly maxInFlight = 8,
    opts: { countAlertSources?: boolean } = {},
  ) {
    const { attack, app } = classifier;
    this.tally = attack ? new VerdictTally(attack.classes, attack.benignIndex, opts.countAlertSources ?? false) : null;
    // An application group is never an alert: no benign class, no sources.
    this.appTally = app ? new VerdictTally(app.classes, -1, false) : null;
  }

  /** Told how long each batch took to classify, ms (the live daemon's inference latency metric). */
  onClassified?: (ms: number, flows: number) => void;

  /** Start classifying a batch (sets the attack and application verdict fields of rows when done). */
  submit(rows: FlowRows): void {
    const job = { promise: Promise.resolve(), done: false };
    const started = performance.now();
    job.promise = this.classifier.classify(rows).then((v) => {
      if (v.attack) this.tally?.add(rows, v.attack);
      if (v.context) this.moveRelabelled(rows, v.context);
      if (v.app) this.appTally?.add(rows, v.app);
      job.done = true;
      this.onClassified?.(performance.now() - started, rows.count);
    });
    job.promise.catch(() => undefined); // reported by done()
    this.jobs.set(rows, job);
  }

  /** The flows the context stage relabelled, counted by add() under the benign class: under their new class. */
  private moveRelabelled(rows: FlowRows, d: ContextDecisions): void {
    const t = this.tally;
    if (t === null) return;
    const benign = t.classes[t.benignIndex]!;
    for (let j = 0; j < d.rows.length; j++) t.move(rows, d.rows[j]!, benign, t.classes[d.labels[j]!]!);
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
