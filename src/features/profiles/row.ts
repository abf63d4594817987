/**
 * The row writer shared by the profiles: a cursor that appends cells (each with the kind Java printed it as) and
 * the column groups every profile writes the same way. (The flow's identity is numbers in the batch, written by
 * the engine; features/identity-text.ts prints it.)
 */
import { S, Stat } from '../flow-state.js';
import { CellKind } from '../flow-columns.js';

const I = CellKind.Int;
const D = CellKind.Double;

/** Cursor over one output row: `int`/`dbl` append a cell printed as a Java long/int or double. */
export class Row {
  f!: Float64Array;
  k!: Uint8Array;
  o = 0;
  /** Position the cursor at `off` in a batch's feature and kind arrays. */
  at(features: Float64Array, kinds: Uint8Array, off: number): Row {
    this.f = features;
    this.k = kinds;
    this.o = off;
    return this;
  }
  /** Append the state fields at `fields` (offsets into the flow's state row at `b`) as integers. */
  ints(st: Float64Array, b: number, fields: readonly number[]): void {
    for (const f of fields) this.int(st[b + f]!);
  }
  int(v: number): void {
    this.f[this.o] = v;
    this.k[this.o++] = I;
  }
  dbl(v: number): void {
    this.f[this.o] = v;
    this.k[this.o++] = D;
  }
  /** max, min, mean, std of a stat block; Java prints integer zeros when the block is empty. */
  lenStats(st: Float64Array, o: number): void {
    if (st[o + Stat.N]! > 0) {
      this.dbl(st[o + Stat.MAX]!);
      this.dbl(st[o + Stat.MIN]!);
      this.dbl(st[o + Stat.MEAN]!);
      this.dbl(std(st, o));
    } else {
      for (let i = 0; i < 4; i++) this.int(0);
    }
  }
  /** IAT total/mean/std/max/min when the direction has more than one packet, else integer zeros. */
  iatStats(st: Float64Array, o: number, packets: number): void {
    if (packets > 1) {
      this.dbl(st[o + Stat.SUM]!);
      this.dbl(st[o + Stat.MEAN]!);
      this.dbl(std(st, o));
      this.dbl(st[o + Stat.MAX]!);
      this.dbl(st[o + Stat.MIN]!);
    } else {
      for (let i = 0; i < 5; i++) this.int(0);
    }
  }
  /** mean, std, max, min of Active or Idle, integer zeros when empty. */
  activeStats(st: Float64Array, o: number): void {
    if (st[o + Stat.N]! > 0) {
      this.dbl(st[o + Stat.MEAN]!);
      this.dbl(std(st, o));
      this.dbl(st[o + Stat.MAX]!);
      this.dbl(st[o + Stat.MIN]!);
    } else {
      for (let i = 0; i < 4; i++) this.int(0);
    }
  }
}
export const row = new Row();

/** Commons-Math sample standard deviation: NaN for n = 0, 0 for n = 1. */
export function std(st: Float64Array, o: number): number {
  const n = st[o + Stat.N]!;
  if (n === 0) return NaN;
  if (n === 1) return 0;
  return Math.sqrt(st[o + Stat.M2]! / (n - 1));
}
export function variance(st: Float64Array, o: number): number {
  const n = st[o + Stat.N]!;
  if (n === 0) return NaN;
  if (n === 1) return 0;
  return st[o + Stat.M2]! / (n - 1);
}
/** Commons-Math getMean/getMax/getMin on an empty block. */
export function meanOrNaN(st: Float64Array, o: number, k: number): number {
  return st[o + Stat.N]! === 0 ? NaN : st[o + k]!;
}

// ---------------------------------------------------------------------------------------------------------
// Column groups. `r` is positioned at the row.

/** Flow Duration … Flow Packets/s (columns common to all profiles up to the rates). */
export function writeCounts(r: Row, st: Float64Array, b: number): void {
  r.int(st[b + S.LAST]! - st[b + S.START]!);
  r.int(st[b + S.FWD_LEN + Stat.N]!);
  r.int(st[b + S.BWD_LEN + Stat.N]!);
  r.dbl(st[b + S.FWD_LEN + Stat.SUM]!);
  r.dbl(st[b + S.BWD_LEN + Stat.SUM]!);
  r.lenStats(st, b + S.FWD_LEN);
  r.lenStats(st, b + S.BWD_LEN);
}

export function payloadBytes(st: Float64Array, b: number): number {
  return st[b + S.FWD_LEN + Stat.SUM]! + st[b + S.BWD_LEN + Stat.SUM]!;
}

export function writeIats(r: Row, st: Float64Array, b: number): void {
  r.iatStats(st, b + S.FWD_IAT, st[b + S.FWD_LEN + Stat.N]!);
  r.iatStats(st, b + S.BWD_IAT, st[b + S.BWD_LEN + Stat.N]!);
}

/** Fwd/Bwd Packets/s: 0 when the duration is 0, in every version. */
export function writePacketRates(r: Row, st: Float64Array, b: number): void {
  const dur = st[b + S.LAST]! - st[b + S.START]!;
  const fwd = st[b + S.FWD_LEN + Stat.N]!;
  const bwd = st[b + S.BWD_LEN + Stat.N]!;
  r.dbl(dur > 0 ? fwd / (dur / 1e6) : 0);
  r.dbl(dur > 0 ? bwd / (dur / 1e6) : 0);
}

export function writePacketLength(r: Row, st: Float64Array, b: number): void {
  const o = b + S.FLOW_LEN;
  r.dbl(st[o + Stat.MIN]!);
  r.dbl(st[o + Stat.MAX]!);
  r.dbl(st[o + Stat.MEAN]!);
  r.dbl(std(st, o));
  r.dbl(variance(st, o));
}

export function writeFlagCounts(r: Row, st: Float64Array, b: number): void {
  for (let f = S.FLAG_FIN; f <= S.FLAG_ECE; f++) r.int(st[b + f]!);
}

/** Down/Up Ratio, Average Packet Size, Fwd/Bwd Segment Size Avg. `realRatio`: the fork's real division. */
export function writeRatios(r: Row, st: Float64Array, b: number, realRatio: boolean): void {
  const fwd = st[b + S.FWD_LEN + Stat.N]!;
  const bwd = st[b + S.BWD_LEN + Stat.N]!;
  const pkts = fwd + bwd;
  r.dbl(fwd > 0 ? (realRatio ? bwd / fwd : Math.trunc(bwd / fwd)) : 0);
  r.dbl(pkts > 0 ? st[b + S.FLOW_LEN + Stat.SUM]! / pkts : 0);
  r.dbl(fwd !== 0 ? st[b + S.FWD_LEN + Stat.SUM]! / fwd : 0);
  r.dbl(bwd !== 0 ? st[b + S.BWD_LEN + Stat.SUM]! / bwd : 0);
}

/** Bulk averages of one direction block (DUR, PKTS, BYTES, COUNT at o..o+3); `integer`: master's long division. */
export function writeBulk(r: Row, st: Float64Array, o: number, integer: boolean): void {
  const dur = st[o]!;
  const pkts = st[o + 1]!;
  const bytes = st[o + 2]!;
  const count = st[o + 3]!;
  if (integer) {
    r.int(count !== 0 ? Math.trunc(bytes / count) : 0);
    r.int(count !== 0 ? Math.trunc(pkts / count) : 0);
    r.int(dur !== 0 ? Math.trunc(bytes / (dur / 1e6)) : 0);
  } else {
    r.dbl(count !== 0 ? bytes / count : 0);
    r.dbl(count !== 0 ? pkts / count : 0);
    r.dbl(dur !== 0 ? bytes / (dur / 1e6) : 0);
  }
}

export function writeSubflows(r: Row, st: Float64Array, b: number, integer: boolean): void {
  const sf = st[b + S.SF_COUNT]!;
  for (const field of TOTALS) {
    const v = st[b + field]!;
    if (integer) r.int(sf <= 0 ? 0 : Math.trunc(v / sf));
    else r.dbl(sf <= 0 ? 0 : v / sf);
  }
}

/** Fwd/Bwd Header Length, Fwd/Bwd Packets/s and the five Packet Length columns (same in every profile). */
export function writeHeadersRatesLengths(r: Row, st: Float64Array, b: number): void {
  r.ints(st, b, HEADER_BYTES);
  writePacketRates(r, st, b);
  writePacketLength(r, st, b);
}

export function writeMasterRatesAndIats(r: Row, st: Float64Array, b: number): void {
  writeCounts(r, st, b);
  const dur = st[b + S.LAST]! - st[b + S.START]!;
  r.dbl(payloadBytes(st, b) / (dur / 1e6)); // Infinity/NaN at duration 0, as Java prints
  r.dbl(st[b + S.PKTS]! / (dur / 1e6));
  const iat = b + S.FLOW_IAT;
  r.dbl(meanOrNaN(st, iat, Stat.MEAN));
  r.dbl(std(st, iat));
  r.dbl(meanOrNaN(st, iat, Stat.MAX));
  r.dbl(meanOrNaN(st, iat, Stat.MIN));
  writeIats(r, st, b);
  r.ints(st, b, PSH_URG);
}

export const PSH_URG = [S.FWD_PSH, S.BWD_PSH, S.FWD_URG, S.BWD_URG];
// Runs of integer state fields written as they are (module constants: no array per written flow).
export const HEADER_BYTES = [S.FWD_HDR, S.BWD_HDR];
export const RST_FLAGS = [S.FWD_RST, S.BWD_RST];
export const RETX = [S.FWD_RETX, S.BWD_RETX];
export const CIC_TAIL = [S.INIT_WIN_FWD, S.INIT_WIN_BWD, S.FWD_ACT_DATA, S.FWD_MIN_HDR];
export const FIXED_TAIL = [S.INIT_WIN_FWD, S.INIT_WIN_BWD, S.FWD_ACT_DATA, S.BWD_ACT_DATA, S.FWD_MIN_HDR, S.BWD_MIN_HDR];
/** cic2017's subflow columns: the flow's packet and byte totals per direction. */
export const TOTALS = [S.FWD_LEN + Stat.N, S.FWD_LEN + Stat.SUM, S.BWD_LEN + Stat.N, S.BWD_LEN + Stat.SUM];
