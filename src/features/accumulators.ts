/**
 * The feature accumulators: how one packet updates its flow's state row (features/flow-state.ts). They work on
 * one small record of the current packet as the profile's packet library reads it (`CurrentPacket`, filled by the
 * engine) and follow the profile's rules where the references differ. Allocation-free: per packet they only
 * write numbers into the state row.
 */
import { TcpFlag } from '../decode/packet.js';
import { S, Stat, STRIDE } from './flow-state.js';
import { BulkRule, type ProfileRules } from './profiles/profile.js';

/** The current packet, as the profile sees it (ports and protocol already mapped by its packet-reading rules). */
export class CurrentPacket {
  /** Capture time, µs since the epoch. */
  tsUs = 0;
  /** Transport payload and header bytes (0 for packets the profile keys as "another protocol"). */
  payload = 0;
  hdr = 0;
  /** TCP flags byte (0 when not TCP). */
  flags = 0;
  /** Raw TCP window, or the profile's `noWindow` when not TCP. */
  window = 0;
  /** Protocol as the profile keys the flow (0 for "other" in the CIC profiles). */
  proto = 0;
  /** IP protocol as on the wire, and the ICMP type and code (-1 when not ICMP). */
  ipProto = 0;
  icmpType = -1;
  icmpCode = -1;
}

export class Accumulators {
  /** The record the engine fills before calling `first`/`add`. */
  readonly cur = new CurrentPacket();

  // The rules read per packet, as own fields (one load from `this`, like the engine's other per-packet state).
  private readonly noWindow: number;
  private readonly flagCountsFromFirstPacketOnly: boolean;
  private readonly firstPayloadTwice: boolean;
  private readonly actDataCountsFirstPacket: boolean;
  private readonly fixedBackwardColumns: boolean;
  private readonly tracksSubflows: boolean;
  private readonly directionFlagsPerPacket: boolean;
  private readonly bulkRule: BulkRule;

  constructor(
    private readonly st: Float64Array,
    rules: ProfileRules,
    private readonly activityTimeoutUs: number,
  ) {
    this.noWindow = rules.noWindow;
    this.flagCountsFromFirstPacketOnly = rules.flagCountsFromFirstPacketOnly;
    this.firstPayloadTwice = rules.firstPayloadTwice;
    this.actDataCountsFirstPacket = rules.actDataCountsFirstPacket;
    this.fixedBackwardColumns = rules.fixedBackwardColumns;
    this.tracksSubflows = rules.tracksSubflows;
    this.directionFlagsPerPacket = rules.directionFlagsPerPacket;
    this.bulkRule = rules.bulk;
  }

  /** Reset the flow state at `st[b]` and add its first packet. Orientation fields (FWD_IS_A, SAME_ADDR) are kept. */
  first(b: number, fwd: boolean): void {
    const st = this.st;
    const cur = this.cur;
    const fwdIsA = st[b + S.FWD_IS_A]!;
    const same = st[b + S.SAME_ADDR]!;
    st.fill(0, b, b + STRIDE);
    st[b + S.FWD_IS_A] = fwdIsA;
    st[b + S.SAME_ADDR] = same;
    const ts = cur.tsUs;
    const payload = cur.payload;
    const hdr = cur.hdr;
    const flags = cur.flags;
    st[b + S.START] = ts;
    st[b + S.LAST] = ts;
    st[b + S.START_ACTIVE] = ts;
    st[b + S.END_ACTIVE] = ts;
    st[b + S.SF_LAST] = ts;
    st[b + S.PROTO] = cur.proto;
    st[b + S.IP_PROTO] = cur.ipProto;
    st[b + S.FIRST_FLAGS] = flags;
    st[b + S.ICMP_CODE] = cur.icmpCode;
    st[b + S.ICMP_TYPE] = cur.icmpType;
    st[b + S.INIT_WIN_FWD] = this.noWindow;
    st[b + S.INIT_WIN_BWD] = this.noWindow;
    st[b + S.PKTS] = 1;

    this.bulk(b, fwd);
    if (!this.flagCountsFromFirstPacketOnly) this.countFlags(b, flags);

    // CIC master and the 2017 build add the first packet's payload to "Packet Length" twice (bug 5).
    statAdd(st, b + S.FLOW_LEN, payload);
    if (this.firstPayloadTwice) statAdd(st, b + S.FLOW_LEN, payload);
    if (fwd) {
      statAdd(st, b + S.FWD_LEN, payload);
      st[b + S.FWD_HDR] = hdr;
      st[b + S.FWD_MIN_HDR] = hdr;
      st[b + S.FWD_LAST] = ts;
      st[b + S.INIT_WIN_FWD] = cur.window;
      if ((flags & TcpFlag.PSH) !== 0) st[b + S.FWD_PSH] = 1;
      if ((flags & TcpFlag.URG) !== 0) st[b + S.FWD_URG] = 1;
      if ((flags & TcpFlag.RST) !== 0) st[b + S.FWD_RST] = 1;
      if ((flags & TcpFlag.FIN) !== 0) st[b + S.FWD_FIN] = 1;
      if (this.actDataCountsFirstPacket && payload >= 1) st[b + S.FWD_ACT_DATA] = 1;
    } else {
      statAdd(st, b + S.BWD_LEN, payload);
      st[b + S.BWD_HDR] = hdr;
      st[b + S.BWD_MIN_HDR] = hdr;
      st[b + S.BWD_LAST] = ts;
      st[b + S.INIT_WIN_BWD] = cur.window;
      if ((flags & TcpFlag.PSH) !== 0) st[b + S.BWD_PSH] = 1;
      if ((flags & TcpFlag.URG) !== 0) st[b + S.BWD_URG] = 1;
      if ((flags & TcpFlag.RST) !== 0) st[b + S.BWD_RST] = 1;
      if ((flags & TcpFlag.FIN) !== 0) st[b + S.BWD_FIN] = 1;
      if (this.fixedBackwardColumns && payload >= 1) st[b + S.BWD_ACT_DATA] = 1;
    }
  }

  /** Add a packet to the open flow whose state starts at `st[b]`. */
  add(b: number, fwd: boolean): void {
    const st = this.st;
    const cur = this.cur;
    const ts = cur.tsUs;
    const payload = cur.payload;
    const hdr = cur.hdr;
    const flags = cur.flags;
    st[b + S.PKTS]!++;

    this.bulk(b, fwd);
    if (this.tracksSubflows) {
      // Subflows: a gap of more than 1 s starts one, and also runs the Active/Idle update.
      if ((ts - st[b + S.SF_LAST]!) / 1e6 > 1.0) {
        st[b + S.SF_COUNT]!++;
        this.activeIdle(b);
      }
      st[b + S.SF_LAST] = ts;
    }
    if (!this.flagCountsFromFirstPacketOnly) this.countFlags(b, flags);

    statAdd(st, b + S.FLOW_LEN, payload);
    // CIC master and 2017 count PSH/URG per direction from the first packet only (bug 3); the fork counts all.
    const perPacketFlags = this.directionFlagsPerPacket;
    if (fwd) {
      if (payload >= 1) st[b + S.FWD_ACT_DATA]!++;
      statAdd(st, b + S.FWD_LEN, payload);
      st[b + S.FWD_HDR]! += hdr;
      if (st[b + S.FWD_LEN + Stat.N]! > 1) statAdd(st, b + S.FWD_IAT, ts - st[b + S.FWD_LAST]!);
      st[b + S.FWD_LAST] = ts;
      if (hdr < st[b + S.FWD_MIN_HDR]!) st[b + S.FWD_MIN_HDR] = hdr;
      if (perPacketFlags) {
        if ((flags & TcpFlag.PSH) !== 0) st[b + S.FWD_PSH]!++;
        if ((flags & TcpFlag.URG) !== 0) st[b + S.FWD_URG]!++;
        if ((flags & TcpFlag.RST) !== 0) st[b + S.FWD_RST]!++;
      }
      if ((flags & TcpFlag.FIN) !== 0) st[b + S.FWD_FIN]!++;
    } else {
      if (this.fixedBackwardColumns) {
        if (payload >= 1) st[b + S.BWD_ACT_DATA]!++;
        // The fork keeps the first non-zero backward window; master keeps the last one (bug 8).
        if (st[b + S.INIT_WIN_BWD] === 0) st[b + S.INIT_WIN_BWD] = cur.window;
        if (hdr < st[b + S.BWD_MIN_HDR]!) st[b + S.BWD_MIN_HDR] = hdr;
      } else {
        st[b + S.INIT_WIN_BWD] = cur.window;
      }
      statAdd(st, b + S.BWD_LEN, payload);
      st[b + S.BWD_HDR]! += hdr;
      if (st[b + S.BWD_LEN + Stat.N]! > 1) statAdd(st, b + S.BWD_IAT, ts - st[b + S.BWD_LAST]!);
      st[b + S.BWD_LAST] = ts;
      if (perPacketFlags) {
        if ((flags & TcpFlag.PSH) !== 0) st[b + S.BWD_PSH]!++;
        if ((flags & TcpFlag.URG) !== 0) st[b + S.BWD_URG]!++;
        if ((flags & TcpFlag.RST) !== 0) st[b + S.BWD_RST]!++;
      }
      if ((flags & TcpFlag.FIN) !== 0) st[b + S.BWD_FIN]!++;
    }
    statAdd(st, b + S.FLOW_IAT, ts - st[b + S.LAST]!);
    st[b + S.LAST] = ts;
  }

  private countFlags(b: number, flags: number): void {
    if (flags === 0) return;
    const st = this.st;
    if ((flags & TcpFlag.FIN) !== 0) st[b + S.FLAG_FIN]!++;
    if ((flags & TcpFlag.SYN) !== 0) st[b + S.FLAG_SYN]!++;
    if ((flags & TcpFlag.RST) !== 0) st[b + S.FLAG_RST]!++;
    if ((flags & TcpFlag.PSH) !== 0) st[b + S.FLAG_PSH]!++;
    if ((flags & TcpFlag.ACK) !== 0) st[b + S.FLAG_ACK]!++;
    if ((flags & TcpFlag.URG) !== 0) st[b + S.FLAG_URG]!++;
    if ((flags & TcpFlag.CWR) !== 0) st[b + S.FLAG_CWR]!++;
    if ((flags & TcpFlag.ECE) !== 0) st[b + S.FLAG_ECE]!++;
  }

  /** Active/Idle: a silence longer than the activity timeout closes an active period and records an idle one. */
  activeIdle(b: number): void {
    const st = this.st;
    const ts = this.cur.tsUs;
    const end = st[b + S.END_ACTIVE]!;
    if (ts - end > this.activityTimeoutUs) {
      const active = end - st[b + S.START_ACTIVE]!;
      if (active > 0) statAdd(st, b + S.ACTIVE, active);
      statAdd(st, b + S.IDLE, ts - end);
      st[b + S.START_ACTIVE] = ts;
      st[b + S.END_ACTIVE] = ts;
    } else {
      st[b + S.END_ACTIVE] = ts;
    }
  }

  /** Feed the current packet to the bulk state machines, by the profile's rule. */
  private bulk(b: number, fwd: boolean): void {
    switch (this.bulkRule) {
      case BulkRule.AllBackward:
        // CIC master's direction test compares arrays by reference, so every packet takes the backward path,
        // with the forward side's last bulk time (always 0) as "the other direction" (bug 7).
        this.bulkUpdate(b + S.BBULK_DUR, 0);
        break;
      case BulkRule.Directional:
        if (fwd) this.bulkUpdate(b + S.FBULK_DUR, this.st[b + S.BBULK_LAST]!);
        else this.bulkUpdate(b + S.BBULK_DUR, this.st[b + S.FBULK_LAST]!);
        break;
      default:
    }
  }

  /**
   * One direction's bulk state machine. `o` is the offset of that direction's block (DUR, PKTS, BYTES, COUNT,
   * CAND_PKTS, CAND_START, CAND_BYTES, LAST); `otherLast` the other direction's last bulk packet time.
   */
  private bulkUpdate(o: number, otherLast: number): void {
    const st = this.st;
    const size = this.cur.payload;
    const ts = this.cur.tsUs;
    if (otherLast > st[o + 5]!) st[o + 5] = 0;
    if (size <= 0) return;
    if (st[o + 5] === 0) {
      st[o + 5] = ts;
      st[o + 4] = 1;
      st[o + 6] = size;
      st[o + 7] = ts;
    } else if ((ts - st[o + 7]!) / 1e6 > 1.0) {
      st[o + 5] = ts;
      st[o + 7] = ts;
      st[o + 4] = 1;
      st[o + 6] = size;
    } else {
      const n = ++st[o + 4]!;
      st[o + 6]! += size;
      if (n === 4) {
        st[o + 3]!++;
        st[o + 1]! += n;
        st[o + 2]! += st[o + 6]!;
        st[o + 0]! += ts - st[o + 5]!;
      } else if (n > 4) {
        st[o + 1]!++;
        st[o + 2]! += size;
        st[o + 0]! += ts - st[o + 7]!;
      }
      st[o + 7] = ts;
    }
  }
}

/** Add a sample to a summary-statistics block (Welford's update, as Commons-Math's moments do it). */
export function statAdd(st: Float64Array, o: number, x: number): void {
  const n = st[o + Stat.N]! + 1;
  st[o + Stat.N] = n;
  st[o + Stat.SUM]! += x;
  // The same operations in the same order as Commons-Math's FirstMoment/SecondMoment, so means and standard
  // deviations come out bit-identical to the Java references (and print the same digits).
  const dev = x - st[o + Stat.MEAN]!;
  const nDev = dev / n;
  st[o + Stat.MEAN]! += nDev;
  st[o + Stat.M2]! += (n - 1) * dev * nDev;
  if (n === 1) {
    st[o + Stat.MIN] = x;
    st[o + Stat.MAX] = x;
  } else {
    if (x < st[o + Stat.MIN]!) st[o + Stat.MIN] = x;
    if (x > st[o + Stat.MAX]!) st[o + Stat.MAX] = x;
  }
}
