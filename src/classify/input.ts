/**
 * The model's input for a batch: row i, input j = the card's column j of flow i, preprocessed as the card says,
 * as float32 [count × inputs]. Used by the inference thread (so the packet thread does not pay for it) and by
 * Classifier.buildInput (tests, benchmarks). InputBuilder fills the inputs of every model of a run (the attack
 * model and the application model) batch after batch into arrays it reuses; models with the same inputs and
 * preprocessing share one array.
 */
import { preprocessValue, type Preprocessing } from './preprocess.js';

export interface InputSpec {
  /** Per input: its column in the profile's feature row, or -1 when it is an identity value. */
  featureIndex: number[];
  /** Per input: its column in the identity matrix (ports, protocol), or -1. */
  identityIndex: number[];
  preprocessing: Preprocessing;
}

function sameSpec(a: InputSpec, b: InputSpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Builds the inputs of a run's models for batch after batch (the inference thread's), into arrays it keeps: once
 * the largest batch has been seen, a batch allocates nothing. The arrays returned are views that the next build()
 * overwrites, so the caller finishes with them (session.run) first. Models with the same inputs and preprocessing
 * get the same array.
 */
export class InputBuilder {
  private readonly unique: InputSpec[] = [];
  /** Per model: its index in `unique`. */
  private readonly which: number[];
  private readonly fIdx: Int32Array[];
  private readonly iIdx: Int32Array[];
  /** Per unique spec: only NaN/±Infinity replacement (no clipping, no scaling), so the replacement is inlined. */
  private readonly replaceOnly: boolean[];
  private readonly buffers: Float32Array[];

  constructor(specs: readonly InputSpec[]) {
    this.which = specs.map((s) => {
      const k = this.unique.findIndex((u) => sameSpec(u, s));
      return k >= 0 ? k : this.unique.push(s) - 1;
    });
    this.fIdx = this.unique.map((s) => Int32Array.from(s.featureIndex));
    this.iIdx = this.unique.map((s) => Int32Array.from(s.identityIndex));
    this.replaceOnly = this.unique.map((s) => s.preprocessing.clip === null && s.preprocessing.scale === null);
    this.buffers = this.unique.map(() => new Float32Array(0));
  }

  /** Same arguments as buildModelInput; one array per model of `specs` (views valid until the next build). */
  build(features: Float64Array, stride: number, count: number, identity: Float64Array | null): Float32Array[] {
    const outs = this.unique.map((s, u) => {
      const size = count * s.featureIndex.length;
      if (this.buffers[u]!.length < size) this.buffers[u] = new Float32Array(size);
      const out = this.buffers[u]!.length === size ? this.buffers[u]! : this.buffers[u]!.subarray(0, size);
      fill(out, features, stride, count, identity, this.fIdx[u]!, this.iIdx[u]!, s.preprocessing, this.replaceOnly[u]!);
      return out;
    });
    return this.which.map((u) => outs[u]!);
  }
}

/** The input of each model in `specs` (same arguments as buildModelInput), in new arrays. */
export function buildModelInputs(features: Float64Array, stride: number, count: number, identity: Float64Array | null, specs: readonly InputSpec[]): Float32Array[] {
  return new InputBuilder(specs).build(features, stride, count, identity);
}

/** Row i, input j of `out` = feature column fIdx[j] (or identity column iIdx[j] when fIdx[j] < 0) of flow i, preprocessed. */
function fill(
  out: Float32Array,
  features: Float64Array,
  stride: number,
  count: number,
  identity: Float64Array | null,
  fIdx: Int32Array,
  iIdx: Int32Array,
  pre: Preprocessing,
  replaceOnly: boolean,
): void {
  const W = fIdx.length;
  const idW = identity !== null && count > 0 ? identity.length / count : 0;
  if (replaceOnly) {
    // The common case (tree models): replacement of NaN/±Infinity only, inlined.
    const { nan, posinf, neginf } = pre;
    for (let i = 0; i < count; i++) {
      const base = i * stride;
      const idBase = i * idW;
      const o = i * W;
      for (let j = 0; j < W; j++) {
        const k = fIdx[j]!;
        const v = k >= 0 ? features[base + k]! : identity![idBase + iIdx[j]!]!;
        out[o + j] = v - v === 0 ? v : v !== v ? nan : v > 0 ? posinf : neginf;
      }
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < W; j++) {
      const k = fIdx[j]!;
      const v = k >= 0 ? features[i * stride + k]! : identity![i * idW + iIdx[j]!]!;
      out[i * W + j] = preprocessValue(v, pre, j);
    }
  }
}

/**
 * `features`: row-major [count × stride] (a FlowRows batch's features); `identity`: row-major
 * [count × identityWidth] or null when no input is an identity value.
 */
export function buildModelInput(features: Float64Array, stride: number, count: number, identity: Float64Array | null, spec: InputSpec): Float32Array {
  return new InputBuilder([spec]).build(features, stride, count, identity)[0]!;
}
