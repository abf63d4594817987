/**
 * The model's input for a batch: row i, input j = the card's column j of flow i, preprocessed as the card says,
 * as float32 [count × inputs]. Used by the inference thread (so the packet thread does not pay for it) and by
 * Classifier.buildInput (tests, benchmarks). InputBuilder fills the inputs of every model of a run (the attack
 * model and the application model) batch after batch into arrays it reuses; models with the same inputs and
 * preprocessing share one array.
 */
import { preprocessValue, replaceNonFinite, type Preprocessing } from './preprocess.js';
import { ServerNameSource } from '../flows/server-names.js';
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
 * (0 = none), the names' bytes one after the other (row i's start where row i - 1's end), and per row where the name
 * came from (a ServerNameSource code; absent: every name is the flow's own).
 */
export interface ServerNameColumns {
  lengths: Uint8Array;
  bytes: Uint8Array;
  sources?: Uint8Array;
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
  /** Per unique spec: its distinct rows of the batch (distinct()). */
  private readonly distinctRows: DistinctRows[];
  private readonly columns: InputColumns[];
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
    this.distinctRows = this.unique.map(() => new DistinctRows());
    this.columns = this.unique.map(inputColumns);
  }

  /**
   * Run distinct() once on a batch of two equal rows, so that every path of it (feature, identity and name inputs,
   * new and repeated rows) has run before the first real batch: otherwise the JIT optimises it on the first spec's
   * rows and throws that code away at the next spec's first identity input (--trace-deopt: one deoptimisation and
   * one more compilation a run, on V8's helper threads).
   */
  warmUp(): void {
    const stride = 1 + Math.max(0, ...this.unique.flatMap((s) => s.featureIndex));
    const idW = 1 + Math.max(0, ...this.unique.flatMap((s) => s.identityIndex));
    this.distinct(new Float64Array(2 * stride), stride, 2, new Float64Array(2 * idW), { lengths: Uint8Array.of(1, 1), bytes: Uint8Array.of(0x61, 0x61) });
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
      fill(out, features, stride, count, identity, this.nameClassesOf(u, count, names), this.payloadValues[u]!, this.fIdx[u]!, this.iIdx[u]!, s.preprocessing, this.replaceOnly[u]!);
      return out;
    });
    return this.which.map((u) => outs[u]!);
  }

  /**
   * What the inference thread runs: each model's input for the batch (same arguments as build()) as its distinct
   * rows only, each row built once, straight into its place (DistinctRows). One DistinctRows per model of `specs`
   * (models with the same spec share one), valid until the next batch.
   */
  distinct(features: Float64Array, stride: number, count: number, identity: Float64Array | null, names: ServerNameColumns | null = null): DistinctRows[] {
    for (let u = 0; u < this.unique.length; u++) {
      const s = this.unique[u]!;
      fillDistinct(this.distinctRows[u]!, features, stride, count, identity, this.nameClassesOf(u, count, names), this.payloadValues[u]!, this.columns[u]!, s.preprocessing, this.replaceOnly[u]!);
    }
    return this.which.map((u) => this.distinctRows[u]!);
  }

  /** Spec `u`'s Server Name Class per row of the batch (an array kept for the next batch; empty when not an input). */
  private nameClassesOf(u: number, count: number, names: ServerNameColumns | null): Float64Array {
    const table = this.tables[u]!;
    if (table === null) return this.nameClasses[u]!;
    if (this.nameClasses[u]!.length < count) this.nameClasses[u] = new Float64Array(count);
    const nc = this.nameClasses[u]!;
    for (let i = 0, at = 0; i < count; i++) {
      const len = names === null ? 0 : names.lengths[i]!;
      // A name from a source the card does not read is no name to the model.
      const read = len !== 0 && table.reads[names!.sources?.[i] ?? ServerNameSource.Flow] === 1;
      nc[i] = read ? table.classOf(names!.bytes, at, len) : 0;
      at += len;
    }
    return nc;
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
        out[o + j] = replaceNonFinite(v, nan, posinf, neginf);
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
 * fill() for the distinct rows only, into `d`: rows are told apart by the values they are built from (the bits of
 * the batch's doubles: feature columns, identity columns, Server Name Class), so a repeated row is found before it
 * is built and only the first of each is converted. Equal sources build equal rows, so each row still gets exactly
 * the probabilities of its own input; two sources that differ only in what the float32 conversion or the NaN
 * replacement erases are run apart (on big.pcap and the flood, as many rows repeat either way: 34.5 % and 89.8 %).
 * The inputs are taken by source (`cols`), feature columns first, so the loops have no branch per input.
 */
function fillDistinct(
  d: DistinctRows,
  features: Float64Array,
  stride: number,
  count: number,
  identity: Float64Array | null,
  nameClass: Float64Array,
  payloadValues: Float64Array,
  cols: InputColumns,
  pre: Preprocessing,
  replaceOnly: boolean,
): void {
  const { width: W, featurePos, featureCol, identityPos, identityCol, identityPayload, namePos } = cols;
  if (identity === null && identityPos.length > 0 && count > 0) throw new Error('an input is read from the identity matrix, but the batch has none');
  const out = d.start(count, W);
  const { slots, hashes, firsts, of, mask } = d;
  // The doubles' bits: two words each (the arrays are whole rows of 8-byte values, so their views are too).
  const fw = new Uint32Array(features.buffer, features.byteOffset, features.length * 2);
  const idW = identity !== null && count > 0 ? identity.length / count : 0;
  const iw = identity !== null ? new Uint32Array(identity.buffer, identity.byteOffset, identity.length * 2) : fw;
  const nw = new Uint32Array(nameClass.buffer, nameClass.byteOffset, nameClass.length * 2);
  const nf = featurePos.length;
  const ni = identityPos.length;
  const named = namePos >= 0;
  const { nan, posinf, neginf } = pre;
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const base = 2 * i * stride;
    const idBase = 2 * i * idW;
    // FNV-1a over the source words (a double's two words folded into one step).
    let h = 0x811c9dc5;
    for (let t = 0; t < nf; t++) {
      const w = base + 2 * featureCol[t]!;
      h = Math.imul(h ^ fw[w + 1]! ^ Math.imul(fw[w]!, 0x5bd1e995), 0x01000193);
    }
    for (let t = 0; t < ni; t++) {
      const w = idBase + 2 * identityCol[t]!;
      h = Math.imul(h ^ iw[w + 1]! ^ Math.imul(iw[w]!, 0x5bd1e995), 0x01000193);
    }
    if (named) h = Math.imul(h ^ nw[2 * i + 1]! ^ Math.imul(nw[2 * i]!, 0x5bd1e995), 0x01000193);
    h = finishHash(h);
    let s = h & mask;
    for (;;) {
      const e = slots[s]! - 1;
      if (e < 0) break;
      if (hashes[e] === h && sameSource(features, fw, identity, nameClass, firsts[e]!, i, stride, idW, cols, ni)) break;
      s = (s + 1) & mask;
    }
    if (slots[s] !== 0) {
      of[i] = slots[s]! - 1;
      continue;
    }
    // A new row: kept, and built.
    slots[s] = kept + 1;
    hashes[kept] = h;
    firsts[kept] = i;
    of[i] = kept;
    const o = kept++ * W;
    const fBase = i * stride;
    const iBase = i * idW;
    if (replaceOnly) {
      // The common case (tree models): replacement of NaN/±Infinity only, inlined.
      for (let t = 0; t < nf; t++) {
        const v = features[fBase + featureCol[t]!]!;
        out[o + featurePos[t]!] = replaceNonFinite(v, nan, posinf, neginf);
      }
      for (let t = 0; t < ni; t++) {
        const id = identity![iBase + identityCol[t]!]!;
        const v = identityPayload[t] === 1 ? payloadValues[id]! : id;
        out[o + identityPos[t]!] = replaceNonFinite(v, nan, posinf, neginf);
      }
      if (named) {
        const v = nameClass[i]!;
        out[o + namePos] = replaceNonFinite(v, nan, posinf, neginf);
      }
    } else {
      for (let t = 0; t < nf; t++) out[o + featurePos[t]!] = preprocessValue(features[fBase + featureCol[t]!]!, pre, featurePos[t]!);
      for (let t = 0; t < ni; t++) {
        const id = identity![iBase + identityCol[t]!]!;
        out[o + identityPos[t]!] = preprocessValue(identityPayload[t] === 1 ? payloadValues[id]! : id, pre, identityPos[t]!);
      }
      if (named) out[o + namePos] = preprocessValue(nameClass[i]!, pre, namePos);
    }
  }
  d.kept = kept;
}

/**
 * Rows `a` and `b` of the batch have the same bits in every source of the spec's inputs: the same value, and for 0
 * the same sign, for NaN the same payload (compared as doubles first: two loads a value instead of four).
 */
function sameSource(f: Float64Array, fw: Uint32Array, id: Float64Array | null, nc: Float64Array, a: number, b: number, stride: number, idW: number, cols: InputColumns, ni: number): boolean {
  const fc = cols.featureCol;
  for (let t = 0, fa = a * stride, fb = b * stride; t < fc.length; t++) {
    const k = fc[t]!;
    const x = f[fa + k]!;
    const y = f[fb + k]!;
    if (x === y ? x === 0 && 1 / x !== 1 / y : x === x || y === y || !sameBits(fw, fa + k, fb + k)) return false;
  }
  const ic = cols.identityCol;
  for (let t = 0, ia = a * idW, ib = b * idW; t < ni; t++) {
    const x = id![ia + ic[t]!]!;
    const y = id![ib + ic[t]!]!;
    // Ports and the protocol: whole numbers.
    if (x !== y) return false;
  }
  // A Server Name Class: a whole number.
  return cols.namePos < 0 || nc[a] === nc[b];
}

/** Doubles `a` and `b` of the array whose words are `w` have the same bits. */
function sameBits(w: Uint32Array, a: number, b: number): boolean {
  return w[2 * a] === w[2 * b] && w[2 * a + 1] === w[2 * b + 1];
}

/** A spec's inputs by source: positions in the row and columns in the feature row or the identity matrix. */
interface InputColumns {
  width: number;
  featurePos: Int32Array;
  featureCol: Int32Array;
  /** The inputs read from the identity matrix: ports and the protocol, and Payload Protocol Class (its id's column). */
  identityPos: Int32Array;
  identityCol: Int32Array;
  /** Per identity input: 1 when it is Payload Protocol Class (the id's value in the card's list), else 0. */
  identityPayload: Int32Array;
  /** The Server Name Class input's position, or -1. */
  namePos: number;
}

function inputColumns(s: InputSpec): InputColumns {
  const at = (pick: (k: number) => boolean): Int32Array => Int32Array.from(s.featureIndex.flatMap((k, j) => (pick(k) ? [j] : [])));
  const featurePos = at((k) => k >= 0);
  const identityPos = at((k) => k !== SERVER_NAME_INPUT && k < 0);
  return {
    width: s.featureIndex.length,
    featurePos,
    featureCol: featurePos.map((j) => s.featureIndex[j]!),
    identityPos,
    identityCol: identityPos.map((j) => s.identityIndex[j]!),
    identityPayload: identityPos.map((j) => (s.featureIndex[j] === PAYLOAD_PROTOCOL_INPUT ? 1 : 0)),
    namePos: s.featureIndex.indexOf(SERVER_NAME_INPUT),
  };
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
 * a row of the same 1,024-flow batch, on the lab's SYN flood 90 %), and a tree ensemble's cost is per row. A hash
 * picks the candidates, a full comparison decides, so a repeated row gets exactly the probabilities its first
 * occurrence got. Per batch only: a cache across batches would find few more on these captures (big.pcap 35.1 %)
 * and would need a memory bound. InputBuilder.distinct fills it from the batch's own values (each distinct row built
 * once). Every array is kept from batch to batch.
 */
export class DistinctRows {
  /** Open addressing, linear probing: distinct row number + 1 per slot, 0 = empty. */
  slots = new Int32Array(0);
  mask = 0;
  /** Per distinct row: its hash, and its first row in the batch. */
  hashes = new Uint32Array(0);
  firsts = new Int32Array(0);
  /** Per row of the batch: its distinct row. */
  of = new Int32Array(0);
  /** The distinct rows, [kept × width]. */
  private buffer = new Float32Array(0);
  private width = 0;
  /** Rows of the batch, and its distinct rows. */
  count = 0;
  kept = 0;

  /** A new batch of `count` rows of `width` inputs: clears the table; returns the array the distinct rows go into. */
  start(count: number, width: number): Float32Array {
    this.count = count;
    this.kept = 0;
    this.width = width;
    let size = 16;
    while (size < 2 * count) size *= 2;
    if (this.slots.length !== size) this.slots = new Int32Array(size);
    else this.slots.fill(0);
    this.mask = size - 1;
    if (this.of.length < count) {
      this.of = new Int32Array(count);
      this.hashes = new Uint32Array(count);
      this.firsts = new Int32Array(count);
    }
    if (this.buffer.length < count * width) this.buffer = new Float32Array(count * width);
    return this.buffer;
  }

  /** The distinct rows, in order of first appearance, [kept × width] (a view that the next batch overwrites). */
  get rows(): Float32Array {
    return this.buffer.subarray(0, this.kept * this.width);
  }

  /**
   * Every row's outputs from the distinct rows' (`perDistinct`: [kept × classes], from this batch), into `out`
   * ([count × classes], a new array when not given).
   */
  expand(perDistinct: Float32Array, classes: number, out: Float32Array = new Float32Array(this.count * classes)): Float32Array {
    if (this.kept === this.count) {
      out.set(perDistinct.subarray(0, this.count * classes));
      return out;
    }
    const of = this.of;
    for (let i = 0, to = 0; i < this.count; i++) {
      for (let c = 0, from = of[i]! * classes; c < classes; c++) out[to++] = perDistinct[from + c]!;
    }
    return out;
  }
}

function finishHash(h: number): number {
  return (h ^ (h >>> 15)) >>> 0;
}

