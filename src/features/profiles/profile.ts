/**
 * What a feature profile is: a name, the rules its flow generator follows, its columns and its row writer. Each
 * profile fills these in its own file (cic.ts, fixed.ts, cic2017.ts), so what one reference CICFlowMeter does
 * differently is read in one place; the engine and the accumulators read the rules, never the profile's name.
 */
import type { ProfileColumns } from '../flow-columns.js';

export const PROFILE_NAMES = ['cic', 'fixed', 'cic2017'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** When a flow ends on TCP flags (CIC-FEATURES.md §4, §9). The 120 s timeout applies in every profile. */
export const Teardown = {
  /**
   * CICFlowMeter master: a RST is added and ends the flow; the first backward FIN is added and ends it (the close
   * test adds the backward counter to itself); a second forward FIN is dropped, and so is any packet of a flow
   * with FINs both ways.
   */
  MasterFinTypo: 0,
  /** The fork: FIN both ways then an ACK, or a RST, make the flow ready; the next SYN starts a new one. */
  StateMachine: 1,
  /** The 2017 build: the first FIN in either direction is added and ends the flow; RST does nothing. */
  FirstFin: 2,
} as const;
export type Teardown = (typeof Teardown)[keyof typeof Teardown];

/** Which packets feed the bulk state machines (CIC-FEATURES.md §5 "Bulk"). */
export const BulkRule = {
  /** Master: every packet takes the backward path, against a forward side that never moves (bug 7). */
  AllBackward: 0,
  /** The fork: each direction its own bulk, reset by the other's. */
  Directional: 1,
  /** The 2017 build: the bulk state only ever saw the first packet, so every bulk column is 0. */
  None: 2,
} as const;
export type BulkRule = (typeof BulkRule)[keyof typeof BulkRule];

/** A profile's flow-generator and packet-reading rules, each named after what the reference does. */
export interface ProfileRules {
  readonly teardown: Teardown;
  /** Flows of a single packet are written (the fork); master and the 2017 build drop them (bug 10). */
  readonly writesSinglePacketFlows: boolean;
  /** The timeout's new flow takes its first packet as forward whatever its direction (master, 2017). */
  readonly timeoutSplitFirstIsForward: boolean;
  /** A flow whose first packet is a SYN-ACK is oriented from its destination (the fork: the SYN was missed). */
  readonly synAckStartsReversed: boolean;
  /** FIN … ECE Flag Count from the flow's first packet only (2017 build); otherwise over every packet. */
  readonly flagCountsFromFirstPacketOnly: boolean;
  /** Fwd/Bwd PSH, URG (and RST) Flags count every packet (the fork); otherwise the first packet only (bug 3). */
  readonly directionFlagsPerPacket: boolean;
  /** The first packet's payload enters the Packet Length statistics twice (bug 5). */
  readonly firstPayloadTwice: boolean;
  /** Fwd Act Data Pkts counts the first packet too (the fork; bug 12). */
  readonly actDataCountsFirstPacket: boolean;
  /**
   * The fork's backward columns: Bwd Init Win Bytes is the first non-zero backward window (master keeps the last
   * one, bug 8), and Bwd Act Data Pkts and Bwd Seg Size Min are counted.
   */
  readonly fixedBackwardColumns: boolean;
  /** Subflows are detected per packet, a gap over 1 s also running the Active/Idle update; not in the 2017 build. */
  readonly tracksSubflows: boolean;
  readonly bulk: BulkRule;
  /** TCP retransmissions are counted (the fork's three columns). */
  readonly countsRetransmissions: boolean;
  /** "Total Connection Flow Time" carries a connection's time over timeout splits (the fork). */
  readonly carriesConnectionTime: boolean;
  /** The window columns' value when no packet set them: -1 in the 2017 build, 0 elsewhere. */
  readonly noWindow: number;
  /** Flows keyed by the 2017 build's canonical Flow ID: a same-host conversation's two directions are two flows. */
  readonly keysByCanonicalFlowId: boolean;
  // How the profile's packet library read packets (decode/jnetpcap.ts).
  /** A non-IPv4 Ethernet frame is read as an IPv4 header from its first byte (jnetpcap r1425: master, 2017). */
  readonly readsFrameStartAsIpv4: boolean;
  /** An ICMP unreachable or parameter problem joins the TCP/UDP flow it quotes (master, 2017). */
  readonly icmpErrorsJoinQuotedFlow: boolean;
  /** ICMP, IGMP and SCTP are keyed by their protocol number and SCTP by its ports (the fork); otherwise protocol 0. */
  readonly knowsIcmpIgmpSctp: boolean;
  /** A non-first fragment with MF set is not placed in a flow (the fork keeps only the last fragment). */
  readonly dropsMiddleFragments: boolean;
}

export interface Profile {
  readonly name: ProfileName;
  readonly rules: ProfileRules;
  readonly columns: ProfileColumns;
  /**
   * Write the features of the flow whose state starts at `st[b]` into `features`/`kinds` from `off`. Called once
   * per completed flow; allocates nothing.
   */
  writeRow(st: Float64Array, b: number, features: Float64Array, kinds: Uint8Array, off: number): void;
}
