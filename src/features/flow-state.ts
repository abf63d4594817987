/**
 * Per-flow feature state: one Float64Array row of STRIDE doubles per flow slot, at named offsets.
 *
 * A row holds every accumulator any profile needs (counts, Welford mean/M2, min/max, timestamps, bulk and
 * subflow helpers). Keeping one flow's state contiguous keeps a packet's updates within a few cache lines,
 * and doubles hold microsecond timestamps and byte sums exactly (below 2^53).
 */

/** A summary-statistics block: n, sum, mean, M2 (Welford), min, max. */
export const Stat = { N: 0, SUM: 1, MEAN: 2, M2: 3, MIN: 4, MAX: 5, WIDTH: 6 } as const;

let next = 0;
const field = (width = 1): number => {
  const at = next;
  next += width;
  return at;
};

export const S = {
  /** First and last packet time of the flow, µs. */
  START: field(),
  LAST: field(),
  FWD_LAST: field(),
  BWD_LAST: field(),
  /** Packets added to the flow (both directions). */
  PKTS: field(),
  /** Payload-length stats per direction, and over the flow (the "Packet Length" columns). */
  FWD_LEN: field(Stat.WIDTH),
  BWD_LEN: field(Stat.WIDTH),
  FLOW_LEN: field(Stat.WIDTH),
  /** Inter-arrival times, µs. */
  FLOW_IAT: field(Stat.WIDTH),
  FWD_IAT: field(Stat.WIDTH),
  BWD_IAT: field(Stat.WIDTH),
  /** Active and idle periods, µs. */
  ACTIVE: field(Stat.WIDTH),
  IDLE: field(Stat.WIDTH),
  START_ACTIVE: field(),
  END_ACTIVE: field(),
  /** Flag counts over both directions: FIN SYN RST PSH ACK URG CWR ECE. */
  FLAG_FIN: field(),
  FLAG_SYN: field(),
  FLAG_RST: field(),
  FLAG_PSH: field(),
  FLAG_ACK: field(),
  FLAG_URG: field(),
  FLAG_CWR: field(),
  FLAG_ECE: field(),
  /** TCP flags byte of the flow's first packet. */
  FIRST_FLAGS: field(),
  /** Per-direction flag counts. */
  FWD_PSH: field(),
  BWD_PSH: field(),
  FWD_URG: field(),
  BWD_URG: field(),
  FWD_RST: field(),
  BWD_RST: field(),
  FWD_FIN: field(),
  BWD_FIN: field(),
  /** FIN counters as CICFlowMeter master's flow generator keeps them (not the same as FWD_FIN/BWD_FIN). */
  GEN_FWD_FIN: field(),
  GEN_BWD_FIN: field(),
  /** Transport header bytes per direction, and the minimum per direction ("Seg Size Min"). */
  FWD_HDR: field(),
  BWD_HDR: field(),
  FWD_MIN_HDR: field(),
  BWD_MIN_HDR: field(),
  INIT_WIN_FWD: field(),
  INIT_WIN_BWD: field(),
  FWD_ACT_DATA: field(),
  BWD_ACT_DATA: field(),
  /** Subflow detection. */
  SF_LAST: field(),
  SF_COUNT: field(),
  /** Bulk state per direction: total duration, packets, bytes, count; the candidate's packets, start, bytes; last bulk packet time. */
  FBULK_DUR: field(),
  FBULK_PKTS: field(),
  FBULK_BYTES: field(),
  FBULK_COUNT: field(),
  FBULK_CAND_PKTS: field(),
  FBULK_CAND_START: field(),
  FBULK_CAND_BYTES: field(),
  FBULK_LAST: field(),
  BBULK_DUR: field(),
  BBULK_PKTS: field(),
  BBULK_BYTES: field(),
  BBULK_COUNT: field(),
  BBULK_CAND_PKTS: field(),
  BBULK_CAND_START: field(),
  BBULK_CAND_BYTES: field(),
  BBULK_LAST: field(),
  /** TCP retransmissions seen per direction (profile `fixed`). */
  FWD_RETX: field(),
  BWD_RETX: field(),
  /** Connection time carried over timeout splits (profile `fixed`), µs. */
  CUM_DURATION: field(),
  /** TCP teardown state (profile `fixed`), see TcpState. */
  TCP_STATE: field(),
  ICMP_CODE: field(),
  ICMP_TYPE: field(),
  /** Flow protocol as the profile keys it (0 for "other" in the CIC profiles). */
  PROTO: field(),
  /** IP protocol of the flow's first packet as on the wire (for output identity: Community ID, JSON `proto`). */
  IP_PROTO: field(),
  /** 1 when endpoint A of the canonical key is the flow's forward (source) side. */
  FWD_IS_A: field(),
  /** 1 when both endpoints have the same address (IP-only direction then counts everything as forward). */
  SAME_ADDR: field(),
} as const;

export const STRIDE = next;

export const TcpState = { NONE: 0, FIRST_FIN: 1, SECOND_FIN: 2, READY: 3 } as const;
