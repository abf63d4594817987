/**
 * The model's input for a batch: row i, input j = the card's column j of flow i, preprocessed as the card says,
 * as float32 [count × inputs]. Used by the inference thread (so the packet thread does not pay for it) and by
 * Classifier.buildInput (tests, benchmarks). buildModelInputs() fills the inputs of every model of a run (the
 * attack model and the application model) in one pass over the batch's rows; models with the same inputs and
 * preprocessing share one array.
 */
import { preprocessValue, type Preprocessing } from './model-card.js';

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

/** The input of each model in `specs` (same arguments as buildModelInput), reading each row of `features` once. */
export function buildModelInputs(features: Float64Array, stride: number, count: number, identity: Float64Array | null, specs: readonly InputSpec[]): Float32Array[] {
  if (specs.length === 1) return [buildModelInput(features, stride, count, identity, specs[0]!)];
  const unique: InputSpec[] = [];
  const which = specs.map((s) => {
    const k = unique.findIndex((u) => sameSpec(u, s));
    return k >= 0 ? k : unique.push(s) - 1;
  });
  if (unique.length === 1) {
    const one = buildModelInput(features, stride, count, identity, unique[0]!);
    return which.map(() => one);
  }
  const outs = unique.map((s) => new Float32Array(count * s.featureIndex.length));
  const fIdx = unique.map((s) => Int32Array.from(s.featureIndex));
  const iIdx = unique.map((s) => Int32Array.from(s.identityIndex));
  // A model with neither clipping nor scaling and no identity input takes the inlined NaN/±Infinity replacement.
  const plain = unique.map((s) => s.preprocessing.clip === null && s.preprocessing.scale === null && !s.identityIndex.some((k) => k >= 0));
  const idW = identity !== null && count > 0 ? identity.length / count : 0;
  for (let i = 0; i < count; i++) {
    const base = i * stride;
    for (let m = 0; m < unique.length; m++) {
      const out = outs[m]!;
      const f = fIdx[m]!;
      const W = f.length;
      const o = i * W;
      const pre = unique[m]!.preprocessing;
      if (plain[m]) {
        const { nan, posinf, neginf } = pre;
        for (let j = 0; j < W; j++) {
          const v = features[base + f[j]!]!;
          out[o + j] = v - v === 0 ? v : v !== v ? nan : v > 0 ? posinf : neginf;
        }
      } else {
        const id = iIdx[m]!;
        for (let j = 0; j < W; j++) {
          const k = f[j]!;
          const v = k >= 0 ? features[base + k]! : identity![i * idW + id[j]!]!;
          out[o + j] = preprocessValue(v, pre, j);
        }
      }
    }
  }
  return which.map((k) => outs[k]!);
}

/**
 * `features`: row-major [count × stride] (a FlowRows batch's features); `identity`: row-major
 * [count × identityWidth] or null when no input is an identity value.
 */
export function buildModelInput(features: Float64Array, stride: number, count: number, identity: Float64Array | null, spec: InputSpec): Float32Array {
  const W = spec.featureIndex.length;
  const out = new Float32Array(count * W);
  const pre = spec.preprocessing;
  const fIdx = Int32Array.from(spec.featureIndex);
  const iIdx = Int32Array.from(spec.identityIndex);
  const idW = identity !== null && count > 0 ? identity.length / count : 0;
  if (pre.clip === null && pre.scale === null && identity === null) {
    // The common case (tree models on features only): replacement of NaN/±Infinity, inlined.
    const { nan, posinf, neginf } = pre;
    for (let i = 0; i < count; i++) {
      const base = i * stride;
      const o = i * W;
      for (let j = 0; j < W; j++) {
        const v = features[base + fIdx[j]!]!;
        out[o + j] = v - v === 0 ? v : v !== v ? nan : v > 0 ? posinf : neginf;
      }
    }
    return out;
  }
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < W; j++) {
      const k = fIdx[j]!;
      const v = k >= 0 ? features[i * stride + k]! : identity![i * idW + iIdx[j]!]!;
      out[i * W + j] = preprocessValue(v, pre, j);
    }
  }
  return out;
}
