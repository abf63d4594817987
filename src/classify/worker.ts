/**
 * The ONNX session, in its own thread: onnxruntime-node's run() is synchronous inside the binding, so running it
 * here is what keeps inference off the packet path. Protocol with classifier.ts:
 *   → workerData {onnxPath, threads, spec}
 *   ← {t:'ready', inputs, outputs} once the session is created, or {t:'error', message}
 *   → {t:'run', seq, count, stride, features: Float64Array, identity, input, output}   (features transferred)
 *   ← {t:'done', seq, probs: Float32Array, dims, verdicts, features} or {t:'failed', seq, message, features}
 * The batch's features come here by transfer (no copy) and go back the same way with the reply: picking the
 * card's columns and preprocessing them, and the verdicts (verdict.ts), happen here, off the packet thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type * as OrtTypes from 'onnxruntime-node';
import { buildModelInput, type InputSpec } from './input.js';
import { batchVerdicts, type BatchVerdicts, type VerdictRule } from './verdict.js';

// onnxruntime-node is CommonJS; require() keeps its native binding loaded once per thread.
const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof OrtTypes;

export interface WorkerInit {
  onnxPath: string;
  threads: number;
  spec: InputSpec;
  verdict: VerdictRule;
}
export interface TensorInfo {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: (number | string)[];
}
export type FromWorker =
  | { t: 'ready'; inputs: TensorInfo[]; outputs: TensorInfo[] }
  | { t: 'error'; message: string }
  | { t: 'done'; seq: number; probs: Float32Array; dims: number[]; verdicts: BatchVerdicts | null; features: Float64Array }
  | { t: 'failed'; seq: number; message: string; features: Float64Array };
export interface RunRequest {
  t: 'run';
  seq: number;
  count: number;
  /** Doubles per row of `features` (the profile's feature count). */
  stride: number;
  features: Float64Array;
  /** [count × identity columns] when an input is a port or the protocol, else null. */
  identity: Float64Array | null;
  input: string;
  output: string;
  /** The card's class count (the verdicts need the output to have this width). */
  classes: number;
}

const port = parentPort!;
const init = workerData as WorkerInit;

function metadata(list: readonly OrtTypes.InferenceSession.ValueMetadata[]): TensorInfo[] {
  return list.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false }));
}

async function main(): Promise<void> {
  let session: OrtTypes.InferenceSession;
  try {
    session = await ort.InferenceSession.create(init.onnxPath, {
      intraOpNumThreads: init.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    port.postMessage({ t: 'error', message: firstLine(e) } satisfies FromWorker);
    return;
  }
  port.postMessage({ t: 'ready', inputs: metadata(session.inputMetadata), outputs: metadata(session.outputMetadata) } satisfies FromWorker);
  port.on('message', (m: RunRequest) => {
    void (async () => {
      const back = [m.features.buffer as ArrayBuffer];
      try {
        const data = buildModelInput(m.features, m.stride, m.count, m.identity, init.spec);
        const input = new ort.Tensor('float32', data, [m.count, init.spec.featureIndex.length]);
        const out = await session.run({ [m.input]: input }, [m.output]);
        const t = out[m.output]!;
        const probs = t.data as Float32Array;
        // Own the buffer before transferring it (the tensor may view a larger one).
        const copy = probs.byteOffset === 0 && probs.byteLength === probs.buffer.byteLength ? probs : probs.slice();
        // A graph whose output width is not the card's is reported by the main side; no verdicts from it.
        const classes = m.count > 0 ? copy.length / m.count : 0;
        const v = classes === m.classes ? batchVerdicts(copy, m.count, classes, init.verdict) : null;
        const buffers = v ? [v.label.buffer, v.score.buffer, v.attack.buffer, v.attackScore.buffer] : [];
        port.postMessage({ t: 'done', seq: m.seq, probs: copy, dims: [...t.dims], verdicts: v, features: m.features } satisfies FromWorker, [copy.buffer as ArrayBuffer, ...(buffers as ArrayBuffer[]), ...back]);
      } catch (e) {
        port.postMessage({ t: 'failed', seq: m.seq, message: firstLine(e), features: m.features } satisfies FromWorker, back);
      }
    })();
  });
}

function firstLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.split('\n')[0]!.trim();
}

void main();
