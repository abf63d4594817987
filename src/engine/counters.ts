/**
 * The engine's counters beside the decoder's: why a packet is not in a written flow (each such packet counted in
 * exactly one reason) and what happened to flows. Names are the ones the summary, the runs table and /metrics print.
 */

/** Why packets were not placed in a written flow, beyond the decoder's reasons. */
export const EngineCounter = {
  /** IPv6 packets while IPv6 flows are off (the references discard them). */
  Ipv6Disabled: 0,
  /** CIC master drops a second forward FIN of a flow (not added to any flow). */
  CicDroppedFin: 1,
  /** Packets of flows the profile does not write (CIC: flows of one packet). */
  UnwrittenFlowPackets: 2,
  /** Flows ended early because the flow table was full. */
  EvictedFlows: 3,
  /** Flows not written because they had a single packet. */
  UnwrittenFlows: 4,
  /** Flows ended by the idle timeout. */
  IdleExpiredFlows: 5,
  /** Retransmission checks skipped because the tracking table was full. */
  RetxUntracked: 6,
  /** Non-IPv4 Ethernet frames whose first bytes were read as an IPv4 header, as CIC master's packet library did. */
  FrameStartAsIpv4: 7,
  /** ICMP errors placed in the TCP/UDP flow they quote, as the CIC profiles' packet library did. */
  IcmpQuoteAsTransport: 8,
  /** Non-first IP fragments placed in a protocol-0 flow, as the references' packet library did. */
  FragmentsInFlows: 9,
  /** Packets earlier than their flow's last packet (negative inter-arrival times, as in the references). */
  TimeBackwards: 10,
  /** Frames our decoder reads as IP but the references' packet library does not (IPv4 behind MPLS or PPPoE). */
  NotIpv4ForReference: 11,
} as const;
export const ENGINE_COUNTER_NAMES: readonly string[] = [
  'flow.ipv6_disabled',
  'flow.cic_dropped_fin',
  'flow.unwritten_packets',
  'flow.table_full_evictions',
  'flow.unwritten_single_packet_flows',
  'flow.idle_expired',
  'flow.retx_untracked',
  'flow.frame_start_as_ipv4',
  'flow.icmp_quote_as_transport',
  'flow.fragments_in_flows',
  'flow.time_backwards',
  'flow.not_ipv4_for_reference',
];

/**
 * Engine counters that are reasons a packet is not in a written flow (each such packet is counted in exactly one
 * reason); the others are information about flows or about packets that are inside a flow.
 */
export const ENGINE_PACKET_REASONS: ReadonlySet<number> = new Set<number>([
  EngineCounter.Ipv6Disabled,
  EngineCounter.CicDroppedFin,
  EngineCounter.UnwrittenFlowPackets,
  EngineCounter.NotIpv4ForReference,
]);

/**
 * Where every packet read went, for the runs table and the summary line. Invariant (tested on every capture):
 * `packets === packetsInWrittenFlows + Σ packetsNotInWrittenFlows`.
 */
export interface EngineAccounting {
  /** Packets read. */
  packets: number;
  /** Flows written. */
  flows: number;
  /** Packets inside written flows. */
  packetsInWrittenFlows: number;
  /** Packets not in a written flow, by reason: every decode.* reason and the engine's packet reasons. */
  packetsNotInWrittenFlows: Record<string, number>;
  /** Counts that are not packet reasons: about flows (evictions, idle expiry, ...) or packets already in a flow. */
  info: Record<string, number>;
}

/**
 * Engine counters counted before a packet's flow key is looked up. An engine that keeps one shard of the flows
 * (EngineConfig.shard) still counts these, as every decode.* reason, for every packet of the stream; the others
 * only for its own flows. Merging shards takes one shard's value of these and the sum of the rest.
 */
export const ENGINE_COUNTED_BEFORE_KEY: ReadonlySet<number> = new Set<number>([
  EngineCounter.Ipv6Disabled,
  EngineCounter.FrameStartAsIpv4,
  EngineCounter.IcmpQuoteAsTransport,
  EngineCounter.FragmentsInFlows,
  EngineCounter.NotIpv4ForReference,
]);
