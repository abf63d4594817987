/**
 * The model's input for a batch: row i, input j = the card's column j of flow i, preprocessed as the card says,
 * as float32 [count × inputs]. Used by the inference thread (so the packet thread does not pay for it) and by
 * Classifier.buildInput (tests, benchmarks).
 */
import { preprocessValue, type Preprocessing } from './model-card.js';

export interface InputSpec {
  /** Per input: its column in the profile's feature row, or -1 when it is an identity value. */
  featureIndex: number[];
  /** Per input: its column in the identity matrix (ports, protocol), or -1. */
  identityIndex: number[];
  preprocessing: Preprocessing;
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
