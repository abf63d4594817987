/**
 * The row writer shared by the profiles: the column groups every profile writes the same way. (The flow's identity
 * is numbers in the batch, written by the engine; features/identity-text.ts prints it.)
 *
 * Every writer stores cells at `o` in a batch's feature array `f` and kind array `k` (the kind Java printed the cell
 * as) and returns the offset after its last cell. The offset lives in a local of the profile's writeRow, not in a
 * cursor object: once V8 inlines these small functions, a row is a run of stores at constant distances from one
 * register (a shared cursor's field was loaded and stored again at every cell).
 */
import { S, Stat } from '../flow-state.js';
import { CellKind } from '../flow-columns.js';

const I = CellKind.Int;
const D = CellKind.Double;

/** An integer cell (Java long/int) at `o`; returns o + 1. */
export function int(f: Float64Array, k: Uint8Array, o: number, v: number): number {
  f[o] = v;
  k[o] = I;
  return o + 1;
}

/** A double cell (Java double) at `o`; returns o + 1. */
export function dbl(f: Float64Array, k: Uint8Array, o: number, v: number): number {
  f[o] = v;
  k[o] = D;
  return o + 1;
}

/** `n` integer zeros from `o`. */
export function zeros(f: Float64Array, k: Uint8Array, o: number, n: number): number {
  for (let i = 0; i < n; i++) {
    f[o + i] = 0;
    k[o + i] = I;
  }
  return o + n;
}

/** The state fields at `fields` (offsets into the flow's state row at `b`) as integers. */
export function ints(f: Float64Array, k: Uint8Array, o: number, st: Float64Array, b: number, fields: readonly number[]): number {
  for (let i = 0; i < fields.length; i++) {
    f[o + i] = st[b + fields[i]!]!;
    k[o + i] = I;
  }
  return o + fields.length;
}

/** max, min, mean, std of a stat block at `s`; Java prints integer zeros when the block is empty. */
export function lenStats(f: Float64Array, k: Uint8Array, o: number, st: Float64Array, s: number): number {
  if (st[s + Stat.N]! <= 0) return zeros(f, k, o, 4);
  o = dbl(f, k, o, st[s + Stat.MAX]!);
  o = dbl(f, k, o, st[s + Stat.MIN]!);
  o = dbl(f, k, o, st[s + Stat.MEAN]!);
  return dbl(f, k, o, std(st, s));
}

/** IAT total/mean/std/max/min when the direction has more than one packet, else integer zeros. */
export function iatStats(f: Float64Array, k: Uint8Array, o: number, st: Float64Array, s: number, packets: number): number {
  if (packets <= 1) return zeros(f, k, o, 5);
  o = dbl(f, k, o, st[s + Stat.SUM]!);
  o = dbl(f, k, o, st[s + Stat.MEAN]!);
  o = dbl(f, k, o, std(st, s));
  o = dbl(f, k, o, st[s + Stat.MAX]!);
  return dbl(f, k, o, st[s + Stat.MIN]!);
}

/** mean, std, max, min of Active or Idle, integer zeros when empty. */
export function activeStats(f: Float64Array, k: Uint8Array, o: number, st: Float64Array, s: number): number {
  if (st[s + Stat.N]! <= 0) return zeros(f, k, o, 4);
  o = dbl(f, k, o, st[s + Stat.MEAN]!);
  o = dbl(f, k, o, std(st, s));
  o = dbl(f, k, o, st[s + Stat.MAX]!);
  return dbl(f, k, o, st[s + Stat.MIN]!);
}

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
// Column groups: each writes at `o` and returns the offset after it.

/** Flow Duration … Bwd Packet Length Std (columns common to all profiles up to the rates). */
export function writeCounts(f: Float64Array, k: Uint8Array, o: number, st: Float64Array, b: number): number {
  o = int(f, k, o, st[b + S.LAST]! - st[b + S.START]!);
  o = int(f, k, o, st[b + S.FWD_LEN + Stat.N]!);
  o = int(f, k, o, st[b + S.BWD_LEN + Stat.N]!);
  o = dbl(f, k, o, st[b + S.FWD_LEN + Stat.SUM]!);
  o = dbl(f, k, o, st[b + S.BWD_LEN + Stat.SUM]!);
  o = lenStats(f, k, o, st, b + S.FWD_LEN);
  return lenStats(f, k, o, st, b + S.BWD_LEN);
}

export function payloadBytes(st: Float64Array, b: number): number {
  return st[b + S.FWD_LEN + Stat.SUM]! + st[b + S.BWD_LEN + Stat.SUM]!;
}

export function writeIats(f: Float64Array, k: Uint8Array, o: number, st: Float64Array, b: number): number {
  o = iatStats(f, k, o, st, b + S.FWD_IAT, st[b + S.FWD_LEN + Stat.N]!);
  return iatStats(f, k, o, st, b + S.BWD_IAT, st[b + S.BWD_LEN + Stat.N]!);
}

/** Fwd/Bwd Packets/s: 0 when the duration is 0, in every version. */
export function writePacketRates(f: Float64Array, k: Uint8Array, o: number, st: Float64Array, b: number): number {
  const dur = st[b + S.LAST]! - st[b + S.START]!;
  const fwd = st[b + S.FWD_LEN + Stat.N]!;
  const bwd = st[b + S.BWD_LEN + Stat.N]!;
  o = dbl(f, k, o, dur > 0 ? fwd / (dur / 1e6) : 0);
  return dbl(f, k, o, dur > 0 ? bwd / (dur / 1e6) : 0);
}

export function writePacketLength(f: Float64Array, k: Uint8Array, o: number, st: Float64Array, b: number): number {
  const s = b + S.FLOW_LEN;
  o = dbl(f, k, o, st[s + Stat.MIN]!);
  o = dbl(f, k, o, st[s + Stat.MAX]!);
  o = dbl(f, k, o, st[s + Stat.MEAN]!);
  o = dbl(f, k, o, std(st, s));
  return dbl(f, k, o, variance(st, s));
}

export function writeFlagCounts(f: Float64Array, k: Uint8Array, o: number, st: Float64Array, b: number): number {
  for (let fl = S.FLAG_FIN; fl <= S.FLAG_ECE; fl++) o = int(f, k, o, st[b + fl]!);
  return o;
}

/** Down/Up Ratio, Average Packet Size, Fwd/Bwd Segment Size Avg. `realRatio`: the fork's real division. */
export function writeRatios(f: Float64Array, k: Uint8Array, o: number, st: Float64Array, b: number, realRatio: boolean): number {
  const fwd = st[b + S.FWD_LEN + Stat.N]!;
  const bwd = st[b + S.BWD_LEN + Stat.N]!;
  const pkts = fwd + bwd;
  o = dbl(f, k, o, fwd > 0 ? (realRatio ? bwd / fwd : Math.trunc(bwd / fwd)) : 0);
  o = dbl(f, k, o, pkts > 0 ? st[b + S.FLOW_LEN + Stat.SUM]! / pkts : 0);
  o = dbl(f, k, o, fwd !== 0 ? st[b + S.FWD_LEN + Stat.SUM]! / fwd : 0);
  return dbl(f, k, o, bwd !== 0 ? st[b + S.BWD_LEN + Stat.SUM]! / bwd : 0);
}

/** Bulk averages of one direction block (DUR, PKTS, BYTES, COUNT at s..s+3); `integer`: master's long division. */
export function writeBulk(f: Float64Array, k: Uint8Array, o: number, st: Float64Array, s: number, integer: boolean): number {
  const dur = st[s]!;
  const pkts = st[s + 1]!;
  const bytes = st[s + 2]!;
  const count = st[s + 3]!;
  if (integer) {
    o = int(f, k, o, count !== 0 ? Math.trunc(bytes / count) : 0);
    o = int(f, k, o, count !== 0 ? Math.trunc(pkts / count) : 0);
    return int(f, k, o, dur !== 0 ? Math.trunc(bytes / (dur / 1e6)) : 0);
  }
  o = dbl(f, k, o, count !== 0 ? bytes / count : 0);
  o = dbl(f, k, o, count !== 0 ? pkts / count : 0);
  return dbl(f, k, o, dur !== 0 ? bytes / (dur / 1e6) : 0);
}

export function writeSubflows(f: Float64Array, k: Uint8Array, o: number, st: Float64Array, b: number, integer: boolean): number {
  const sf = st[b + S.SF_COUNT]!;
  for (let i = 0; i < TOTALS.length; i++) {
    const v = st[b + TOTALS[i]!]!;
    o = integer ? int(f, k, o, sf <= 0 ? 0 : Math.trunc(v / sf)) : dbl(f, k, o, sf <= 0 ? 0 : v / sf);
  }
  return o;
}

/** Fwd/Bwd Header Length, Fwd/Bwd Packets/s and the five Packet Length columns (same in every profile). */
export function writeHeadersRatesLengths(f: Float64Array, k: Uint8Array, o: number, st: Float64Array, b: number): number {
  o = ints(f, k, o, st, b, HEADER_BYTES);
  o = writePacketRates(f, k, o, st, b);
  return writePacketLength(f, k, o, st, b);
}

export function writeMasterRatesAndIats(f: Float64Array, k: Uint8Array, o: number, st: Float64Array, b: number): number {
  o = writeCounts(f, k, o, st, b);
  const dur = st[b + S.LAST]! - st[b + S.START]!;
  o = dbl(f, k, o, payloadBytes(st, b) / (dur / 1e6)); // Infinity/NaN at duration 0, as Java prints
  o = dbl(f, k, o, st[b + S.PKTS]! / (dur / 1e6));
  const iat = b + S.FLOW_IAT;
  o = dbl(f, k, o, meanOrNaN(st, iat, Stat.MEAN));
  o = dbl(f, k, o, std(st, iat));
  o = dbl(f, k, o, meanOrNaN(st, iat, Stat.MAX));
  o = dbl(f, k, o, meanOrNaN(st, iat, Stat.MIN));
  o = writeIats(f, k, o, st, b);
  return ints(f, k, o, st, b, PSH_URG);
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
