/**
 * The ONNX sessions, in their own thread: onnxruntime-node's run() is synchronous inside the binding, so running
 * it here is what keeps inference off the packet path. One thread holds every model of a run (the attack model
 * and the application model), so a batch crosses to it once and both models read the same features.
 * Protocol with classifier.ts:
 *   → workerData {threads, models: [{onnxPath, spec, verdict}]}
 *   ← {t:'ready', graphs} once every session is created, or {t:'error', model, message}
 *   → {t:'run', seq, count, stride, features: Float64Array, identity, models: [{input, output, classes}]}   (features transferred)
 *   → {t:'stop'}: drop the queued batches and end the thread after the current one (close())
 *   → {t:'context', from, columns, classes, benign, thresholds}: the context stage on, from batch `from` on
 *     (context-thread.ts); each run then carries `context`, the columns it reads besides the features (transferred)
 *   ← {t:'done', seq, results: [{probs, verdicts, context?}], features} or {t:'failed', seq, message, features}
 *     (every model's probs and verdicts are views of one buffer, transferred; `context`: on the attack model's
 *     result, what the context stage decided for the batch)
 * The batch's features come here by transfer (no copy) and go back the same way with the reply: picking each
 * model's columns and preprocessing them (into arrays reused from batch to batch, input.ts), and the verdicts
 * (verdict.ts for the attack task, group-verdict.ts for the application task), happen here, off the packet thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThisThread } from '../sources/thread-priority.js';
import { createRequire } from 'node:module';
import type * as OrtTypes from 'onnxruntime-node';
import { InputBuilder, type InputSpec, type ServerNameColumns } from './input.js';
import { batchVerdicts, type BatchVerdicts, type VerdictRule } from './verdict.js';
import { groupVerdicts, type GroupVerdicts } from './group-verdict.js';
import { ContextStep, type ContextStart, type ThreadContextDecisions } from './context-thread.js';

// onnxruntime-node is CommonJS; require() keeps its native binding loaded once per thread.
const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof OrtTypes;

export interface WorkerModel {
  onnxPath: string;
  spec: InputSpec;
  /** The attack task's rule; null for an application model (the most probable group). */
  verdict: VerdictRule | null;
}
export interface WorkerInit {
  threads: number;
  /** Nice steps below the packet thread this thread lowers itself by (sources/thread-priority.ts); absent = 0. */
  nice?: number;
  models: WorkerModel[];
}
export interface TensorInfo {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: (number | string)[];
}
export interface ModelResult {
  probs: Float32Array;
  /** Null when the output is not `classes` wide (the main side reports that). */
  verdicts: BatchVerdicts | GroupVerdicts | null;
  /** The attack model's result, with the context stage on: what it decided for the batch. */
  context?: ThreadContextDecisions;
}
export type FromWorker =
  | { t: 'ready'; graphs: { inputs: TensorInfo[]; outputs: TensorInfo[] }[] }
  | { t: 'error'; model: number; message: string }
  | { t: 'done'; seq: number; results: ModelResult[]; features: Float64Array }
  | { t: 'failed'; seq: number; message: string; features: Float64Array };
export interface RunRequest {
  t: 'run';
  seq: number;
  count: number;
  /** Doubles per row of `features` (the profile's feature count). */
  stride: number;
  features: Float64Array;
  /** [count × identity columns] when an input of any model is a port or the protocol, else null. */
  identity: Float64Array | null;
  /** The batch's server names when an input of any model is Server Name Class, else null. */
  names: ServerNameColumns | null;
  /** Per model (workerData order): graph input and output names, and the card's class count. */
  models: { input: string; output: string; classes: number }[];
  /** With the context stage on: the batch's columns it reads besides the features (packContextFlows), else null. */
  context: ArrayBuffer | null;
}

/** To the thread: a batch to classify, the context stage to start, or the end of the run. */
export type ToWorker = RunRequest | ContextStart | { t: 'stop' };

const port = parentPort!;
const init = workerData as WorkerInit;
// Behind the packet thread (sources/thread-priority.ts).
lowerThisThread(init.nice ?? 0);
const context = new ContextStep();

function metadata(list: readonly OrtTypes.InferenceSession.ValueMetadata[]): TensorInfo[] {
  return list.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false }));
}

async function main(): Promise<void> {
  const sessions: OrtTypes.InferenceSession[] = [];
  for (const [k, m] of init.models.entries()) {
    try {
      sessions.push(
        await ort.InferenceSession.create(m.onnxPath, {
          intraOpNumThreads: init.threads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: 'all',
        }),
      );
    } catch (e) {
      port.postMessage({ t: 'error', model: k, message: firstLine(e) } satisfies FromWorker);
      return;
    }
  }
  port.postMessage({ t: 'ready', graphs: sessions.map((s) => ({ inputs: metadata(s.inputMetadata), outputs: metadata(s.outputMetadata) })) } satisfies FromWorker);
  const inputs = new InputBuilder(init.models.map((m) => m.spec));
  inputs.warmUp();
  // One batch at a time, in arrival order: the input arrays are reused from batch to batch, and a batch's
  // sessions must be done with them before the next batch is built.
  const queue: RunRequest[] = [];
  let running = false;
  let stopping = false;
  const runQueued = async (): Promise<void> => {
    running = true;
    for (let m = queue.shift(); m !== undefined && !stopping; m = queue.shift()) await classify(sessions, inputs, m);
    running = false;
    if (stopping) process.exit(0);
  };
  port.on('message', (m: ToWorker) => {
    if (m.t === 'stop') {
      // The run is over (close()): the batches still queued are dropped; the thread ends after the current one.
      stopping = true;
      queue.length = 0;
      if (!running) process.exit(0);
      return;
    }
    if (m.t === 'context') return context.start(m);
    queue.push(m);
    if (!running) void runQueued();
  });
}

/**
 * Every model's verdicts of one batch, posted back with the batch's features. Each model runs on the batch's
 * distinct input rows only (InputBuilder.distinct); a repeated row gets its first occurrence's probabilities. Every
 * model's probabilities and verdicts are views of one new buffer (ResultsBuffer), so the reply moves one buffer
 * besides the features.
 */
async function classify(sessions: readonly OrtTypes.InferenceSession[], inputs: InputBuilder, m: RunRequest): Promise<void> {
  const back = [m.features.buffer as ArrayBuffer];
  try {
    const distinct = inputs.distinct(m.features, m.stride, m.count, m.identity, m.names);
    const perDistinct: Float32Array[] = [];
    for (let k = 0; k < sessions.length; k++) {
      const io = m.models[k]!;
      const d = distinct[k]!;
      const tensor = new ort.Tensor('float32', d.rows, [d.kept, init.models[k]!.spec.featureIndex.length]);
      const out = await sessions[k]!.run({ [io.input]: tensor }, [io.output]);
      perDistinct.push(out[io.output]!.data as Float32Array);
    }
    // Output widths: a graph whose width is not the card's is reported by the main side; no verdicts from it.
    const widths = perDistinct.map((p, k) => {
      const rows = distinct[k]!.kept;
      const classes = rows > 0 ? p.length / rows : 0;
      if (!Number.isInteger(classes)) throw new Error(`output "${m.models[k]!.output}" has ${p.length} values for ${rows} rows`);
      return classes;
    });
    const n = m.count;
    const buffer = new ResultsBuffer(widths.reduce((bytes, classes, k) => bytes + ResultsBuffer.bytes(n, classes, init.models[k]!.verdict !== null), 0));
    const results: ModelResult[] = [];
    for (let k = 0; k < sessions.length; k++) {
      const classes = widths[k]!;
      const probs = distinct[k]!.expand(perDistinct[k]!, classes, buffer.f32(n * classes));
      const rule = init.models[k]!.verdict;
      const v =
        classes !== m.models[k]!.classes
          ? null
          : rule !== null
            ? batchVerdicts(probs, n, classes, rule, { label: buffer.i32(n), score: buffer.f64(n), attack: buffer.i32(n), attackScore: buffer.f64(n) })
            : groupVerdicts(probs, n, classes, { label: buffer.i32(n), score: buffer.f64(n) });
      results.push({ probs, verdicts: v });
    }
    const transfer = [buffer.buffer];
    decideContext(m, results, transfer);
    port.postMessage({ t: 'done', seq: m.seq, results, features: m.features } satisfies FromWorker, [...transfer, ...back]);
  } catch (e) {
    port.postMessage({ t: 'failed', seq: m.seq, message: firstLine(e), features: m.features } satisfies FromWorker, back);
  }
}

/**
 * The context stage's decisions for the batch, after the attack model's verdicts (the batch's features are still
 * here), put on its result; none without an attack model or before the stage started.
 */
function decideContext(m: RunRequest, results: ModelResult[], transfer: ArrayBuffer[]): void {
  const k = init.models.findIndex((x) => x.verdict !== null);
  if (k < 0 || m.context === null) return;
  const v = results[k]!.verdicts as BatchVerdicts | null;
  const d = context.decide(m.seq, m.count, m.features, m.context, v?.label ?? null, init.models[k]!.verdict!.benign);
  if (d === null) return;
  results[k]!.context = d;
  transfer.push(d.rows.buffer as ArrayBuffer, d.labels.buffer as ArrayBuffer, d.counts.buffer as ArrayBuffer);
}

/** Typed arrays carved one after the other out of one new buffer, each at a multiple of 8 bytes. */
class ResultsBuffer {
  readonly buffer: ArrayBuffer;
  private at = 0;

  constructor(bytes: number) {
    this.buffer = new ArrayBuffer(bytes);
  }

  /** The bytes of one model's results for `n` rows: probabilities, and label + score (+ attack + attackScore). */
  static bytes(n: number, classes: number, attack: boolean): number {
    const pad = (b: number): number => Math.ceil(b / 8) * 8;
    return pad(4 * n * classes) + (pad(4 * n) + 8 * n) * (attack ? 2 : 1);
  }

  f32(length: number): Float32Array {
    return new Float32Array(this.buffer, this.take(4 * length), length);
  }
  i32(length: number): Int32Array {
    return new Int32Array(this.buffer, this.take(4 * length), length);
  }
  f64(length: number): Float64Array {
    return new Float64Array(this.buffer, this.take(8 * length), length);
  }

  private take(bytes: number): number {
    const at = this.at;
    this.at += Math.ceil(bytes / 8) * 8;
    return at;
  }
}

function firstLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.split('\n')[0]!.trim();
}

void main();
