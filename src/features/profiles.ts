/**
 * Feature profiles: the columns each reference CICFlowMeter version writes, and how a completed flow's
 * accumulators (features/flow-state.ts) become those cells, bugs included.
 *
 * - `cic`: CICFlowMeter master 98a5eba (84 columns).
 * - `fixed`: the corrected fork, GintsEngelen/CICFlowMeter 4dd5319 (94 columns).
 * - `cic2017`: the February 2018 build eaa853d that produced CIC-IDS2017 (85 columns, the dataset's names).
 * The per-cell kind (Java long vs double) is what lets the CSV sink print exactly what Java printed.
 */
import { S, Stat } from './flow-state.js';
import { CellKind, type FlowIdentity, type ProfileColumns } from './flow-columns.js';
import { timestampFormatter } from './time-format.js';
import { formatIpv4, formatIpv6 } from './address-text.js';
import type { FlowTable } from '../flows/flow-table.js';

export const ProfileId = { Cic: 0, Fixed: 1, Cic2017: 2 } as const;
export type ProfileId = (typeof ProfileId)[keyof typeof ProfileId];
export const PROFILE_NAMES = ['cic', 'fixed', 'cic2017'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export interface Profile {
  readonly id: ProfileId;
  readonly name: ProfileName;
  readonly columns: ProfileColumns;
  /**
   * Write the flow whose state starts at `st[b]` into `features`/`kinds` from `off`; return its identity.
   * Called once per completed flow (may allocate: strings for the identity).
   */
  writeRow(st: Float64Array, b: number, fwdAddr: Uint32Array, slot: number, table: FlowTable, features: Float64Array, kinds: Uint8Array, off: number): FlowIdentity;
}

const I = CellKind.Int;
const D = CellKind.Double;

/** Cursor over one output row: `int`/`dbl` append a cell printed as a Java long/int or double. */
class Row {
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
const row = new Row();

/** Commons-Math sample standard deviation: NaN for n = 0, 0 for n = 1. */
function std(st: Float64Array, o: number): number {
  const n = st[o + Stat.N]!;
  if (n === 0) return NaN;
  if (n === 1) return 0;
  return Math.sqrt(st[o + Stat.M2]! / (n - 1));
}
function variance(st: Float64Array, o: number): number {
  const n = st[o + Stat.N]!;
  if (n === 0) return NaN;
  if (n === 1) return 0;
  return st[o + Stat.M2]! / (n - 1);
}
/** Commons-Math getMean/getMax/getMin on an empty block. */
function meanOrNaN(st: Float64Array, o: number, k: number): number {
  return st[o + Stat.N]! === 0 ? NaN : st[o + k]!;
}

// ---------------------------------------------------------------------------------------------------------
// Identity

function endpointAddress(table: FlowTable, slot: number, a: boolean): string {
  if (table.ipVersion(slot) === 6) {
    const w = new Uint32Array(4);
    for (let i = 0; i < 4; i++) w[i] = table.addressWord(slot, a, i);
    return formatIpv6(w);
  }
  return formatIpv4(table.addressWord(slot, a, 0));
}

interface Endpoints {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  srcFirstWord: number;
  dstFirstWord: number;
}

function endpoints(st: Float64Array, b: number, slot: number, table: FlowTable): Endpoints {
  const fwdIsA = st[b + S.FWD_IS_A] === 1;
  const a = endpointAddress(table, slot, true);
  const bAddr = endpointAddress(table, slot, false);
  return {
    srcIp: fwdIsA ? a : bAddr,
    dstIp: fwdIsA ? bAddr : a,
    srcPort: table.port(slot, fwdIsA),
    dstPort: table.port(slot, !fwdIsA),
    protocol: st[b + S.PROTO]!,
    srcFirstWord: table.addressWord(slot, fwdIsA, 0),
    dstFirstWord: table.addressWord(slot, !fwdIsA, 0),
  };
}

function directionalId(e: Endpoints): string {
  return `${e.srcIp}-${e.dstIp}-${e.srcPort}-${e.dstPort}-${e.protocol}`;
}

/**
 * The 2017 build's canonical Flow ID: the endpoint whose address is smaller when its bytes are compared as
 * signed Java bytes comes first (IPv4 only in that build).
 */
function canonicalId(e: Endpoints): string {
  let forward = true;
  for (let i = 3; i >= 0; i--) {
    const s = ((e.srcFirstWord >>> (i * 8)) << 24) >> 24;
    const d = ((e.dstFirstWord >>> (i * 8)) << 24) >> 24;
    if (s !== d) {
      forward = s < d;
      break;
    }
  }
  return forward ? directionalId(e) : `${e.dstIp}-${e.srcIp}-${e.dstPort}-${e.srcPort}-${e.protocol}`;
}

// ---------------------------------------------------------------------------------------------------------
// Column sets

const CIC_IDENTITY = ['Flow ID', 'Src IP', 'Src Port', 'Dst IP', 'Dst Port', 'Protocol', 'Timestamp'];
const DATASET_IDENTITY = ['Flow ID', 'Source IP', 'Source Port', 'Destination IP', 'Destination Port', 'Protocol', 'Timestamp'];

/** Columns 8–40 of every CIC header (Flow Duration … Bwd URG Flags), in CICFlowMeter's names. */
const HEAD = [
  'Flow Duration', 'Total Fwd Packet', 'Total Bwd packets', 'Total Length of Fwd Packet', 'Total Length of Bwd Packet',
  'Fwd Packet Length Max', 'Fwd Packet Length Min', 'Fwd Packet Length Mean', 'Fwd Packet Length Std',
  'Bwd Packet Length Max', 'Bwd Packet Length Min', 'Bwd Packet Length Mean', 'Bwd Packet Length Std',
  'Flow Bytes/s', 'Flow Packets/s', 'Flow IAT Mean', 'Flow IAT Std', 'Flow IAT Max', 'Flow IAT Min',
  'Fwd IAT Total', 'Fwd IAT Mean', 'Fwd IAT Std', 'Fwd IAT Max', 'Fwd IAT Min',
  'Bwd IAT Total', 'Bwd IAT Mean', 'Bwd IAT Std', 'Bwd IAT Max', 'Bwd IAT Min',
  'Fwd PSH Flags', 'Bwd PSH Flags', 'Fwd URG Flags', 'Bwd URG Flags',
];
const MID = [
  'Fwd Header Length', 'Bwd Header Length', 'Fwd Packets/s', 'Bwd Packets/s',
  'Packet Length Min', 'Packet Length Max', 'Packet Length Mean', 'Packet Length Std', 'Packet Length Variance',
  'FIN Flag Count', 'SYN Flag Count', 'RST Flag Count', 'PSH Flag Count', 'ACK Flag Count', 'URG Flag Count',
  'CWR Flag Count', 'ECE Flag Count', 'Down/Up Ratio', 'Average Packet Size', 'Fwd Segment Size Avg', 'Bwd Segment Size Avg',
];
const BULK_SUBFLOW = [
  'Fwd Bytes/Bulk Avg', 'Fwd Packet/Bulk Avg', 'Fwd Bulk Rate Avg', 'Bwd Bytes/Bulk Avg', 'Bwd Packet/Bulk Avg', 'Bwd Bulk Rate Avg',
  'Subflow Fwd Packets', 'Subflow Fwd Bytes', 'Subflow Bwd Packets', 'Subflow Bwd Bytes',
];
const ACTIVE_IDLE = ['Active Mean', 'Active Std', 'Active Max', 'Active Min', 'Idle Mean', 'Idle Std', 'Idle Max', 'Idle Min'];

const CIC_FEATURES = [...HEAD, ...MID, ...BULK_SUBFLOW, 'FWD Init Win Bytes', 'Bwd Init Win Bytes', 'Fwd Act Data Pkts', 'Fwd Seg Size Min', ...ACTIVE_IDLE];
const FIXED_FEATURES = [
  ...HEAD, 'Fwd RST Flags', 'Bwd RST Flags', ...MID, ...BULK_SUBFLOW,
  'FWD Init Win Bytes', 'Bwd Init Win Bytes', 'Fwd Act Data Pkts', 'Bwd Act Data Pkts', 'Fwd Seg Size Min', 'Bwd Seg Size Min',
  ...ACTIVE_IDLE, 'ICMP Code', 'ICMP Type', 'Fwd TCP Retrans. Count', 'Bwd TCP Retrans. Count', 'Total TCP Retrans. Count',
  'Total Connection Flow Time',
];
/** The CIC-IDS2017 dataset's own names (the 2017 build's output, as published), `Fwd Header Length` twice. */
const CIC2017_FEATURES = [
  'Flow Duration', 'Total Fwd Packets', 'Total Backward Packets', 'Total Length of Fwd Packets', 'Total Length of Bwd Packets',
  ...HEAD.slice(5, 29), 'Fwd PSH Flags', 'Bwd PSH Flags', 'Fwd URG Flags', 'Bwd URG Flags',
  'Fwd Header Length', 'Bwd Header Length', 'Fwd Packets/s', 'Bwd Packets/s',
  'Min Packet Length', 'Max Packet Length', 'Packet Length Mean', 'Packet Length Std', 'Packet Length Variance',
  'FIN Flag Count', 'SYN Flag Count', 'RST Flag Count', 'PSH Flag Count', 'ACK Flag Count', 'URG Flag Count',
  'CWE Flag Count', 'ECE Flag Count', 'Down/Up Ratio', 'Average Packet Size', 'Avg Fwd Segment Size', 'Avg Bwd Segment Size',
  'Fwd Header Length', 'Fwd Avg Bytes/Bulk', 'Fwd Avg Packets/Bulk', 'Fwd Avg Bulk Rate', 'Bwd Avg Bytes/Bulk',
  'Bwd Avg Packets/Bulk', 'Bwd Avg Bulk Rate', 'Subflow Fwd Packets', 'Subflow Fwd Bytes', 'Subflow Bwd Packets',
  'Subflow Bwd Bytes', 'Init_Win_bytes_forward', 'Init_Win_bytes_backward', 'act_data_pkt_fwd', 'min_seg_size_forward',
  ...ACTIVE_IDLE,
];

function columns(name: ProfileName, identity: string[], features: string[], defaultLabel: string): ProfileColumns {
  return {
    name,
    identityNames: identity,
    featureNames: features,
    labelName: 'Label',
    defaultLabel,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Row writers. `r` is positioned at the row; each writes exactly its profile's feature columns.

/** Flow Duration … Flow Packets/s (columns common to all profiles up to the rates). */
function writeCounts(r: Row, st: Float64Array, b: number): void {
  r.int(st[b + S.LAST]! - st[b + S.START]!);
  r.int(st[b + S.FWD_LEN + Stat.N]!);
  r.int(st[b + S.BWD_LEN + Stat.N]!);
  r.dbl(st[b + S.FWD_LEN + Stat.SUM]!);
  r.dbl(st[b + S.BWD_LEN + Stat.SUM]!);
  r.lenStats(st, b + S.FWD_LEN);
  r.lenStats(st, b + S.BWD_LEN);
}

function payloadBytes(st: Float64Array, b: number): number {
  return st[b + S.FWD_LEN + Stat.SUM]! + st[b + S.BWD_LEN + Stat.SUM]!;
}

function writeIats(r: Row, st: Float64Array, b: number): void {
  r.iatStats(st, b + S.FWD_IAT, st[b + S.FWD_LEN + Stat.N]!);
  r.iatStats(st, b + S.BWD_IAT, st[b + S.BWD_LEN + Stat.N]!);
}

/** Fwd/Bwd Packets/s: 0 when the duration is 0, in every version. */
function writePacketRates(r: Row, st: Float64Array, b: number): void {
  const dur = st[b + S.LAST]! - st[b + S.START]!;
  const fwd = st[b + S.FWD_LEN + Stat.N]!;
  const bwd = st[b + S.BWD_LEN + Stat.N]!;
  r.dbl(dur > 0 ? fwd / (dur / 1e6) : 0);
  r.dbl(dur > 0 ? bwd / (dur / 1e6) : 0);
}

function writePacketLength(r: Row, st: Float64Array, b: number): void {
  const o = b + S.FLOW_LEN;
  r.dbl(st[o + Stat.MIN]!);
  r.dbl(st[o + Stat.MAX]!);
  r.dbl(st[o + Stat.MEAN]!);
  r.dbl(std(st, o));
  r.dbl(variance(st, o));
}

function writeFlagCounts(r: Row, st: Float64Array, b: number): void {
  for (let f = S.FLAG_FIN; f <= S.FLAG_ECE; f++) r.int(st[b + f]!);
}

/** Down/Up Ratio, Average Packet Size, Fwd/Bwd Segment Size Avg. `realRatio`: the fork's real division. */
function writeRatios(r: Row, st: Float64Array, b: number, realRatio: boolean): void {
  const fwd = st[b + S.FWD_LEN + Stat.N]!;
  const bwd = st[b + S.BWD_LEN + Stat.N]!;
  const pkts = fwd + bwd;
  r.dbl(fwd > 0 ? (realRatio ? bwd / fwd : Math.trunc(bwd / fwd)) : 0);
  r.dbl(pkts > 0 ? st[b + S.FLOW_LEN + Stat.SUM]! / pkts : 0);
  r.dbl(fwd !== 0 ? st[b + S.FWD_LEN + Stat.SUM]! / fwd : 0);
  r.dbl(bwd !== 0 ? st[b + S.BWD_LEN + Stat.SUM]! / bwd : 0);
}

/** Bulk averages of one direction block (DUR, PKTS, BYTES, COUNT at o..o+3); `integer`: master's long division. */
function writeBulk(r: Row, st: Float64Array, o: number, integer: boolean): void {
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

function writeSubflows(r: Row, st: Float64Array, b: number, integer: boolean): void {
  const sf = st[b + S.SF_COUNT]!;
  const vals = [st[b + S.FWD_LEN + Stat.N]!, st[b + S.FWD_LEN + Stat.SUM]!, st[b + S.BWD_LEN + Stat.N]!, st[b + S.BWD_LEN + Stat.SUM]!];
  for (const v of vals) {
    if (integer) r.int(sf <= 0 ? 0 : Math.trunc(v / sf));
    else r.dbl(sf <= 0 ? 0 : v / sf);
  }
}

/** Fwd/Bwd Header Length, Fwd/Bwd Packets/s and the five Packet Length columns (same in every profile). */
function writeHeadersRatesLengths(r: Row, st: Float64Array, b: number): void {
  r.ints(st, b, HEADER_BYTES);
  writePacketRates(r, st, b);
  writePacketLength(r, st, b);
}

function writeCic(r: Row, st: Float64Array, b: number): void {
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

const PSH_URG = [S.FWD_PSH, S.BWD_PSH, S.FWD_URG, S.BWD_URG];
// Runs of integer state fields written as they are (module constants: no array per written flow).
const HEADER_BYTES = [S.FWD_HDR, S.BWD_HDR];
const RST_FLAGS = [S.FWD_RST, S.BWD_RST];
const RETX = [S.FWD_RETX, S.BWD_RETX];
const CIC_TAIL = [S.INIT_WIN_FWD, S.INIT_WIN_BWD, S.FWD_ACT_DATA, S.FWD_MIN_HDR];
const FIXED_TAIL = [S.INIT_WIN_FWD, S.INIT_WIN_BWD, S.FWD_ACT_DATA, S.BWD_ACT_DATA, S.FWD_MIN_HDR, S.BWD_MIN_HDR];
/** cic2017's subflow columns: the flow's packet and byte totals per direction. */
const TOTALS = [S.FWD_LEN + Stat.N, S.FWD_LEN + Stat.SUM, S.BWD_LEN + Stat.N, S.BWD_LEN + Stat.SUM];

const cicProfile: Profile = {
  id: ProfileId.Cic,
  name: 'cic',
  columns: columns('cic', CIC_IDENTITY, CIC_FEATURES, 'NeedManualLabel'),
  writeRow(st, b, _fwdAddr, slot, table, features, kinds, off) {
    const r = row.at(features, kinds, off);
    writeCic(r, st, b);
    writeHeadersRatesLengths(r, st, b);
    writeFlagCounts(r, st, b);
    writeRatios(r, st, b, false);
    writeBulk(r, st, b + S.FBULK_DUR, true);
    writeBulk(r, st, b + S.BBULK_DUR, true);
    writeSubflows(r, st, b, true);
    r.ints(st, b, CIC_TAIL);
    r.activeStats(st, b + S.ACTIVE);
    r.activeStats(st, b + S.IDLE);
    return identity(st, b, slot, table, cicTime, false);
  },
};

const fixedProfile: Profile = {
  id: ProfileId.Fixed,
  name: 'fixed',
  columns: columns('fixed', CIC_IDENTITY, FIXED_FEATURES, 'NeedManualLabel'),
  writeRow(st, b, _fwdAddr, slot, table, features, kinds, off) {
    const r = row.at(features, kinds, off);
    writeCounts(r, st, b);
    const dur = st[b + S.LAST]! - st[b + S.START]!;
    if (dur !== 0) {
      r.dbl(payloadBytes(st, b) / (dur / 1e6));
      r.dbl(st[b + S.PKTS]! / (dur / 1e6));
    } else {
      r.int(-1);
      r.int(-1);
    }
    const iat = b + S.FLOW_IAT;
    const nanTo0 = (v: number): number => (Number.isNaN(v) ? 0 : v);
    r.dbl(nanTo0(meanOrNaN(st, iat, Stat.MEAN)));
    r.dbl(nanTo0(std(st, iat)));
    r.dbl(nanTo0(meanOrNaN(st, iat, Stat.MAX)));
    r.dbl(nanTo0(meanOrNaN(st, iat, Stat.MIN)));
    writeIats(r, st, b);
    r.ints(st, b, PSH_URG);
    r.ints(st, b, RST_FLAGS);
    writeHeadersRatesLengths(r, st, b);
    writeFlagCounts(r, st, b);
    writeRatios(r, st, b, true);
    writeBulk(r, st, b + S.FBULK_DUR, false);
    writeBulk(r, st, b + S.BBULK_DUR, false);
    writeSubflows(r, st, b, false);
    r.ints(st, b, FIXED_TAIL);
    r.activeStats(st, b + S.ACTIVE);
    r.activeStats(st, b + S.IDLE);
    const icmp = st[b + S.PROTO] === 1;
    r.int(icmp ? st[b + S.ICMP_CODE]! : -1);
    r.int(icmp ? st[b + S.ICMP_TYPE]! : -1);
    r.ints(st, b, RETX);
    r.int(st[b + S.FWD_RETX]! + st[b + S.BWD_RETX]!);
    r.int(st[b + S.CUM_DURATION]!);
    return identity(st, b, slot, table, fixedTime, false);
  },
};

/** The 2017 build prints its eight flag counters in a HashMap's order, not the header's (CIC-FEATURES.md §9). */
const CIC2017_FLAG_ORDER = [0x04 /* RST */, 0x08 /* PSH */, 0x40 /* ECE */, 0x02 /* SYN */, 0x10 /* ACK */, 0x01 /* FIN */, 0x20 /* URG */, 0x80 /* CWR */];

const cic2017Profile: Profile = {
  id: ProfileId.Cic2017,
  name: 'cic2017',
  columns: columns('cic2017', DATASET_IDENTITY, CIC2017_FEATURES, 'No Label'),
  writeRow(st, b, _fwdAddr, slot, table, features, kinds, off) {
    const r = row.at(features, kinds, off);
    writeCic(r, st, b);
    writeHeadersRatesLengths(r, st, b);
    // Flag counts come from the first packet only, in the scrambled order.
    const first = st[b + S.FIRST_FLAGS]!;
    for (const bit of CIC2017_FLAG_ORDER) r.int((first & bit) !== 0 ? 1 : 0);
    writeRatios(r, st, b, false);
    r.int(st[b + S.FWD_HDR]!); // the dataset's second "Fwd Header Length"
    for (let i = 0; i < 6; i++) r.int(0); // bulk: the state only ever saw the first packet
    // The subflow detector only sees the first packet, with the misplaced parenthesis `t - last / 1e6 > 1.0`:
    // the count is 1 (subflow columns = the totals) unless the flow starts within 1 µs of the epoch, then 0.
    const t0 = st[b + S.START]!;
    if (t0 - t0 / 1e6 > 1.0) r.ints(st, b, TOTALS);
    else for (let i = 0; i < 4; i++) r.int(0);
    r.ints(st, b, CIC_TAIL);
    r.activeStats(st, b + S.ACTIVE);
    r.activeStats(st, b + S.IDLE);
    return identity(st, b, slot, table, cic2017Time, true);
  },
};

const cicTime = timestampFormatter('cic');
const fixedTime = timestampFormatter('fixed');
const cic2017Time = timestampFormatter('cic2017');

function identity(st: Float64Array, b: number, slot: number, table: FlowTable, time: (us: number) => string, canonical: boolean): FlowIdentity {
  const e = endpoints(st, b, slot, table);
  return {
    flowId: canonical ? canonicalId(e) : directionalId(e),
    srcIp: e.srcIp,
    srcPort: e.srcPort,
    dstIp: e.dstIp,
    dstPort: e.dstPort,
    protocol: e.protocol,
    startUs: st[b + S.START]!,
    endUs: st[b + S.LAST]!,
    timestamp: time(st[b + S.START]!),
  };
}

const PROFILES: Record<ProfileName, Profile> = { cic: cicProfile, fixed: fixedProfile, cic2017: cic2017Profile };

export function getProfile(name: ProfileName): Profile {
  return PROFILES[name];
}

export function isProfileName(name: string): name is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}
