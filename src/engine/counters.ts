/**
 * The engine's counters beside the read statuses: why a packet is not in a written flow (each such packet counted
 * in exactly one reason) and what happened to flows. Names are the ones the summary, the runs table and /metrics print.
 */

import { ReadStatus, READ_STATUS_NAMES } from '../decode/reference-reader.js';

/** The engine's own counts (the reading of each frame is counted by read status: decode/reference-reader.ts). */
export const EngineCounter = {
  /** CIC master drops a second forward FIN of a flow (not added to any flow). */
  CicDroppedFin: 0,
  /** Packets of flows the profile does not write (CIC: flows of one packet). */
  UnwrittenFlowPackets: 1,
  /** Flows ended early because the flow table was full. */
  EvictedFlows: 2,
  /** Flows not written because they had a single packet. */
  UnwrittenFlows: 3,
  /** Flows ended by the idle timeout. */
  IdleExpiredFlows: 4,
  /** Retransmission checks skipped because the tracking table was full. */
  RetxUntracked: 5,
  /** Packets earlier than their flow's last packet (negative inter-arrival times, as in the references). */
  TimeBackwards: 6,
  /** Server names read from flows' first payload packets (flows/server-names.ts), truncated ones included. */
  ServerNames: 7,
  /** Server names longer than 253 bytes, kept cut to 253. */
  ServerNamesTruncated: 8,
  /** Server names with a byte outside printable ASCII, dropped. */
  ServerNamesNotPrintable: 9,
  /** Of the server names, those read from QUIC (an Initial packet's ClientHello, Google QUIC's CHLO). */
  ServerNamesQuic: 10,
  /** DNS responses read that named at least one address (decode/dns-answers.ts). */
  DnsAnswers: 11,
  /** Addresses held in the table of DNS-given names (flows/address-names.ts), at the time of the accounting. */
  DnsAddresses: 12,
  /** Flows written with a name from a DNS answer for their server's address (carried over ones included). */
  ServerNamesFromDns: 13,
  /** Flows written with a payload protocol recognised from their first payload packets (flows/payload-protocols.ts). */
  PayloadProtocols: 14,
} as const;
export const ENGINE_COUNTER_NAMES: readonly string[] = [
  'flow.cic_dropped_fin',
  'flow.unwritten_packets',
  'flow.table_full_evictions',
  'flow.unwritten_single_packet_flows',
  'flow.idle_expired',
  'flow.retx_untracked',
  'flow.time_backwards',
  'flow.server_names',
  'flow.server_names_truncated',
  'flow.server_names_not_printable',
  'flow.server_names_quic',
  'flow.dns_answers',
  'flow.dns_addresses',
  'flow.server_names_from_dns',
  'flow.payload_protocols',
];

/** One printed counter: from the read statuses (`read`) or the engine's own, a packet reason or information. */
interface CounterSource {
  name: string;
  read: boolean;
  index: number;
  reason: boolean;
}

const read = (status: ReadStatus, reason: boolean): CounterSource => ({ name: READ_STATUS_NAMES[status]!, read: true, index: status, reason });
const own = (c: number, reason: boolean): CounterSource => ({ name: ENGINE_COUNTER_NAMES[c]!, read: false, index: c, reason });

/**
 * Every counter in the order the summary, the runs table and /metrics print them (kept as it always was): the
 * decoder's reasons, then the engine's. A reason is a packet not in a written flow (each such packet counted in
 * exactly one); the rest is information about flows, or about packets that are inside a flow.
 */
export const COUNTERS: readonly CounterSource[] = [
  ...READ_STATUS_NAMES.slice(0, ReadStatus.FragmentInFlow).map((_, s) => read(s as ReadStatus, true)).filter((c) => c.index !== ReadStatus.Ok),
  read(ReadStatus.Ipv6Disabled, true),
  own(EngineCounter.CicDroppedFin, true),
  own(EngineCounter.UnwrittenFlowPackets, true),
  own(EngineCounter.EvictedFlows, false),
  own(EngineCounter.UnwrittenFlows, false),
  own(EngineCounter.IdleExpiredFlows, false),
  own(EngineCounter.RetxUntracked, false),
  read(ReadStatus.FrameStartAsIpv4, false),
  read(ReadStatus.IcmpQuoteAsTransport, false),
  read(ReadStatus.FragmentInFlow, false),
  own(EngineCounter.TimeBackwards, false),
  read(ReadStatus.NotIpv4ForReference, true),
  own(EngineCounter.ServerNames, false),
  own(EngineCounter.ServerNamesTruncated, false),
  own(EngineCounter.ServerNamesNotPrintable, false),
  own(EngineCounter.ServerNamesQuic, false),
  own(EngineCounter.DnsAnswers, false),
  own(EngineCounter.DnsAddresses, false),
  own(EngineCounter.ServerNamesFromDns, false),
  own(EngineCounter.PayloadProtocols, false),
];

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
