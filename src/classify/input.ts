/**
 * The model's input for a batch: row i, input j = the card's column j of flow i, preprocessed as the card says,
 * as float32 [count × inputs]. Used by the inference thread (so the packet thread does not pay for it) and by
 * Classifier.buildInput (tests, benchmarks). InputBuilder fills the inputs of every model of a run (the attack
 * model and the application model) batch after batch into arrays it reuses; models with the same inputs and
 * preprocessing share one array.
 */
import { preprocessValue, type Preprocessing } from './preprocess.js';
import { SuffixTable, type ServerNameSpec } from './server-name-class.js';

export interface InputSpec {
  /**
   * Per input: its column in the profile's feature row, -1 when it is an identity value, SERVER_NAME_INPUT when it
   * is `Server Name Class` (server-name-class.ts).
   */
  featureIndex: number[];
  /** Per input: its column in the identity matrix (ports, protocol), or -1. */
  identityIndex: number[];
  preprocessing: Preprocessing;
  /** The card's suffix table when an input is `Server Name Class`, else null. */
  serverNames: ServerNameSpec | null;
  /**
   * When an input is `Payload Protocol Class` (payload-protocol-class.ts): its value for each engine protocol id
   * (the id is that input's identity column); else null or absent.
   */
  payloadProtocols?: number[] | null;
}

/** featureIndex of the `Server Name Class` input. */
export const SERVER_NAME_INPUT = -2;
/** featureIndex of the `Payload Protocol Class` input (its identityIndex: the payload protocol id's column). */
export const PAYLOAD_PROTOCOL_INPUT = -3;

/**
 * A batch's server names, as the inference thread gets them (InferenceThread.serverNames): per row its length
 * (0 = none), and the names' bytes one after the other (row i's start where row i - 1's end).
 */
export interface ServerNameColumns {
  lengths: Uint8Array;
  bytes: Uint8Array;
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
  /** Per unique spec: its suffix table, compiled once, or null; and the batch's Server Name Class values. */
  private readonly tables: (SuffixTable | null)[];
  private readonly nameClasses: Float64Array[];
  /** Per unique spec: the Payload Protocol Class value of each payload protocol id (empty when no input is it). */
  private readonly payloadValues: Float64Array[];

  constructor(specs: readonly InputSpec[]) {
    this.which = specs.map((s) => {
      const k = this.unique.findIndex((u) => sameSpec(u, s));
      return k >= 0 ? k : this.unique.push(s) - 1;
    });
    this.fIdx = this.unique.map((s) => Int32Array.from(s.featureIndex));
    this.iIdx = this.unique.map((s) => Int32Array.from(s.identityIndex));
    this.replaceOnly = this.unique.map((s) => s.preprocessing.clip === null && s.preprocessing.scale === null);
    this.buffers = this.unique.map(() => new Float32Array(0));
    this.tables = this.unique.map((s) => (s.serverNames ? new SuffixTable(s.serverNames) : null));
    this.nameClasses = this.unique.map(() => new Float64Array(0));
    this.payloadValues = this.unique.map((s) => Float64Array.from(s.payloadProtocols ?? []));
  }

  /**
   * Same arguments as buildModelInput, and the batch's server names (null: every flow has none); one array per
   * model of `specs` (views valid until the next build).
   */
  build(features: Float64Array, stride: number, count: number, identity: Float64Array | null, names: ServerNameColumns | null = null): Float32Array[] {
    const outs = this.unique.map((s, u) => {
      const size = count * s.featureIndex.length;
      if (this.buffers[u]!.length < size) this.buffers[u] = new Float32Array(size);
      const out = this.buffers[u]!.length === size ? this.buffers[u]! : this.buffers[u]!.subarray(0, size);
      const table = this.tables[u]!;
      if (table !== null) {
        if (this.nameClasses[u]!.length < count) this.nameClasses[u] = new Float64Array(count);
        const nc = this.nameClasses[u]!;
        for (let i = 0, at = 0; i < count; i++) {
          const len = names === null ? 0 : names.lengths[i]!;
          nc[i] = len === 0 ? 0 : table.classOf(names!.bytes, at, len);
          at += len;
        }
      }
      fill(out, features, stride, count, identity, this.nameClasses[u]!, this.payloadValues[u]!, this.fIdx[u]!, this.iIdx[u]!, s.preprocessing, this.replaceOnly[u]!);
      return out;
    });
    return this.which.map((u) => outs[u]!);
  }
}

/** The input of each model in `specs` (same arguments as buildModelInput), in new arrays. */
export function buildModelInputs(features: Float64Array, stride: number, count: number, identity: Float64Array | null, specs: readonly InputSpec[], names: ServerNameColumns | null = null): Float32Array[] {
  return new InputBuilder(specs).build(features, stride, count, identity, names);
}

/**
 * Row i, input j of `out` = feature column fIdx[j] (identity column iIdx[j] when fIdx[j] is -1, the Server Name
 * Class `nameClass[i]` when it is SERVER_NAME_INPUT, the value of the payload protocol id in identity column iIdx[j]
 * when it is PAYLOAD_PROTOCOL_INPUT) of flow i, preprocessed.
 */
function fill(
  out: Float32Array,
  features: Float64Array,
  stride: number,
  count: number,
  identity: Float64Array | null,
  nameClass: Float64Array,
  payloadValues: Float64Array,
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
        const v =
          k >= 0 ? features[base + k]! : k === SERVER_NAME_INPUT ? nameClass[i]! : k === PAYLOAD_PROTOCOL_INPUT ? payloadValues[identity![idBase + iIdx[j]!]!]! : identity![idBase + iIdx[j]!]!;
        out[o + j] = v - v === 0 ? v : v !== v ? nan : v > 0 ? posinf : neginf;
      }
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < W; j++) {
      const k = fIdx[j]!;
      const v =
        k >= 0
          ? features[i * stride + k]!
          : k === SERVER_NAME_INPUT
            ? nameClass[i]!
            : k === PAYLOAD_PROTOCOL_INPUT
              ? payloadValues[identity![i * idW + iIdx[j]!]!]!
              : identity![i * idW + iIdx[j]!]!;
      out[i * W + j] = preprocessValue(v, pre, j);
    }
  }
}

/**
 * `features`: row-major [count × stride] (a FlowRows batch's features); `identity`: row-major
 * [count × identityWidth] or null when no input is an identity value.
 */
export function buildModelInput(features: Float64Array, stride: number, count: number, identity: Float64Array | null, spec: InputSpec, names: ServerNameColumns | null = null): Float32Array {
  return new InputBuilder([spec]).build(features, stride, count, identity, names)[0]!;
}

/**
 * The distinct rows of a model's input batch, so that session.run sees each row once: floods and scans end many
 * flows whose inputs are identical (bench/inference-cost.mjs: on big.pcap 34.5 % of the attack model's rows repeat
 * a row of the same 1,024-flow batch, on the lab's SYN flood 90 %), and a tree ensemble's cost is per row. Rows are
 * the same when their float32 values are bit for bit the same (a hash picks the candidates, a full comparison
 * decides), so a repeated row gets exactly the probabilities its first occurrence got. Per batch only: a cache
 * across batches would find few more on these captures (big.pcap 35.1 %) and would need a memory bound. The table
 * and the distinct rows' array are kept from batch to batch; expand() makes the array that goes back to the main
 * thread (transferred with the verdicts).
 */
export class DistinctRows {
  /** Open addressing, linear probing: distinct row number + 1 per slot, 0 = empty. */
  private slots = new Int32Array(0);
  /** Per distinct row: its hash, and its first row in the batch. */
  private hashes = new Uint32Array(0);
  private firsts = new Int32Array(0);
  /** Per row of the batch: its distinct row (valid after reduce(), for expand()). */
  private of = new Int32Array(0);
  private distinct = new Float32Array(0);
  private count = 0;
  private kept = 0;

  /**
   * The batch's distinct rows, in order of first appearance, [distinct × width] (a view that the next reduce()
   * overwrites), or `x` itself when no row repeats; and how many there are.
   */
  reduce(x: Float32Array, count: number, width: number): { rows: Float32Array; count: number } {
    this.count = count;
    let size = 16;
    while (size < 2 * count) size *= 2;
    if (this.slots.length !== size) this.slots = new Int32Array(size);
    else this.slots.fill(0);
    if (this.of.length < count) {
      this.of = new Int32Array(count);
      this.hashes = new Uint32Array(count);
      this.firsts = new Int32Array(count);
    }
    const words = new Uint32Array(x.buffer, x.byteOffset, count * width);
    const { slots, hashes, firsts, of } = this;
    const mask = size - 1;
    // The distinct rows are copied out only from the first repeat on (most batches of most captures have none).
    let out: Uint32Array | null = null;
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const o = i * width;
      let h = 0x811c9dc5;
      for (let j = 0; j < width; j++) h = Math.imul(h ^ words[o + j]!, 0x01000193);
      h = (h ^ (h >>> 15)) >>> 0;
      let s = h & mask;
      for (;;) {
        const d = slots[s]! - 1;
        if (d < 0) {
          slots[s] = kept + 1;
          hashes[kept] = h;
          firsts[kept] = i;
          if (out !== null) for (let j = 0, to = kept * width; j < width; j++) out[to + j] = words[o + j]!;
          of[i] = kept++;
          break;
        }
        if (hashes[d] === h && sameRow(words, firsts[d]! * width, o, width)) {
          if (out === null) {
            if (this.distinct.length < count * width) this.distinct = new Float32Array(count * width);
            out = new Uint32Array(this.distinct.buffer, 0, count * width);
            out.set(words.subarray(0, kept * width));
          }
          of[i] = d;
          break;
        }
        s = (s + 1) & mask;
      }
    }
    this.kept = kept;
    if (kept === count) return { rows: x, count };
    return { rows: this.distinct.subarray(0, kept * width), count: kept };
  }

  /**
   * Every row's outputs from the distinct rows' (`perDistinct`: [distinct × classes], from the last reduce()), in
   * a new array [count × classes]; `perDistinct` itself when no row repeated.
   */
  expand(perDistinct: Float32Array, classes: number): Float32Array {
    if (this.kept === this.count) return perDistinct;
    const out = new Float32Array(this.count * classes);
    const of = this.of;
    for (let i = 0; i < this.count; i++) {
      const from = of[i]! * classes;
      const to = i * classes;
      for (let c = 0; c < classes; c++) out[to + c] = perDistinct[from + c]!;
    }
    return out;
  }
}

function sameRow(words: Uint32Array, a: number, b: number, width: number): boolean {
  for (let j = 0; j < width; j++) if (words[a + j] !== words[b + j]) return false;
  return true;
}
