/**
 * The flow engine: decoded packets → bidirectional flows → completed flow rows. Pure: no I/O, no clock.
 *
 * Time comes only from packet timestamps, so replaying a capture and sniffing the same traffic live give the
 * same flows. Per packet nothing is allocated: one reused DecodedPacket, a typed-array flow table, and one
 * Float64Array row of accumulators per flow (features/flow-state.ts). Objects appear only when a flow
 * completes and is written into the current output batch.
 *
 * The three profiles share every accumulator; they differ in the flow generator's rules (when a flow ends,
 * which packets count where) and in a handful of per-feature rules. Those differences are the `if (this.p...)`
 * branches below, each named after what the reference CICFlowMeter version does (docs: CIC-FEATURES.md §4-6, §9).
 */
import { DecodedPacket, TcpFlag } from '../decode/packet.js';
import { DecodeStatus, DECODE_STATUS_COUNT, DECODE_STATUS_NAMES, LinkType } from '../decode/status.js';
import { JnetpcapRead, needsJnetpcapRead, readEthernetAsJnetpcap } from '../decode/jnetpcap.js';
import { decodeFrame } from '../decode/decode.js';
import { FlowTable } from '../flows/flow-table.js';
import { S, Stat, STRIDE, TcpState } from '../features/flow-state.js';
import { RetransmissionSet } from '../features/retransmissions.js';
import { ProfileId, type Profile } from '../features/profiles.js';
import { FlowEnd, type FlowRows } from '../sinks/flow-rows.js';

export interface EngineConfig {
  profile: Profile;
  /** Flow timeout, µs, measured from the flow's first packet (CICFlowMeter's, default 120 s). */
  flowTimeoutUs: number;
  /** Activity timeout for Active/Idle, µs (default 5 s). */
  activityTimeoutUs: number;
  /** Flow table capacity (the memory bound). */
  maxFlows: number;
  /** Completed flows per output batch. */
  batchSize: number;
  /** Count direction by (address, port) instead of the reference's address only (same-host traffic). */
  portAwareDirection: boolean;
  /** Accept IPv6 flows (the reference tools discard IPv6). */
  ipv6: boolean;
  /** End a flow after this long without packets, µs; 0 = never (the reference behaviour). */
  idleTimeoutUs: number;
  /** Receives each full batch of completed flows. The engine does not reuse a batch once handed over. */
  onFlows: (rows: FlowRows) => void;
}

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
const ENGINE_PACKET_REASONS: ReadonlySet<number> = new Set<number>([
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

/** Numbers per packet in a source batch's `meta` (sources/pcap-source.ts): tsSec, tsNsec, caplen, wirelen, offset, linktype. */
const BATCH_META_STRIDE = 6;
const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_SCTP = 132;

export class Engine {
  readonly profile: Profile;
  private readonly p: number;
  private readonly flowTimeoutUs: number;
  private readonly activityTimeoutUs: number;
  private readonly idleTimeoutUs: number;
  private readonly portAware: boolean;
  private readonly ipv6: boolean;
  private readonly onFlows: (rows: FlowRows) => void;

  readonly table: FlowTable;
  /** Feature state, STRIDE doubles per slot. */
  private readonly st: Float64Array;
  /** Forward endpoint's address per slot (4 words), for the IP-only direction test. */
  private readonly fwdAddr: Uint32Array;
  private readonly serial: Uint32Array;
  private nextSerial = 1;
  /** Only the `fixed` profile counts retransmissions; the others never allocate the table. */
  private readonly retx: RetransmissionSet | null;
  private readonly pkt = new DecodedPacket();

  /** Packets seen by `ingest`, per decode status. */
  readonly decodeCounters = new Float64Array(DECODE_STATUS_COUNT);
  readonly engineCounters = new Float64Array(ENGINE_COUNTER_NAMES.length);
  packets = 0;
  /** Packets inside written flows, and the flows written. */
  packetsInFlows = 0;
  flowsWritten = 0;
  /** Latest packet time seen, µs. */
  nowUs = 0;

  // The current packet as the profile sees it.
  private tsUs = 0;
  private payload = 0;
  private hdr = 0;
  private flags = 0;
  private window = 0;
  private proto = 0;
  private srcIsA = 1;

  // The output batch being filled.
  private rows: FlowRows;
  private readonly featureCount: number;

  constructor(cfg: EngineConfig) {
    this.profile = cfg.profile;
    this.p = cfg.profile.id;
    this.flowTimeoutUs = cfg.flowTimeoutUs;
    this.activityTimeoutUs = cfg.activityTimeoutUs;
    this.idleTimeoutUs = cfg.idleTimeoutUs;
    this.portAware = cfg.portAwareDirection;
    this.ipv6 = cfg.ipv6;
    this.onFlows = cfg.onFlows;
    this.table = new FlowTable(cfg.maxFlows);
    this.st = new Float64Array(cfg.maxFlows * STRIDE);
    this.fwdAddr = new Uint32Array(cfg.maxFlows * 4);
    this.serial = new Uint32Array(cfg.maxFlows);
    this.featureCount = cfg.profile.columns.featureNames.length;
    this.batchSize = cfg.batchSize;
    this.rows = this.newRows();
    this.retx =
      this.p === ProfileId.Fixed
        ? new RetransmissionSet(Math.min(1 << 24, cfg.maxFlows * 64), () => this.liveSerials())
        : null;
  }
  private readonly batchSize: number;

  private newRows(): FlowRows {
    return {
      count: 0,
      ids: [],
      features: new Float64Array(this.batchSize * this.featureCount),
      kinds: new Uint8Array(this.batchSize * this.featureCount),
      endReasons: new Uint8Array(this.batchSize),
      ipProtos: new Uint8Array(this.batchSize),
      icmpTypes: new Uint8Array(this.batchSize),
      icmpCodes: new Uint8Array(this.batchSize),
    };
  }

  /** The serials of every open flow, built when the retransmission arena is full (O(open flows)). */
  private liveSerials(): Set<number> {
    const live = new Set<number>();
    const t = this.table;
    for (let s = t.oldest; s >= 0; s = t.next(s)) live.add(this.serial[s]!);
    return live;
  }

  /**
   * Feed one batch from a packet source: `meta` holds META_STRIDE numbers per packet (sources/pcap-source.ts
   * `Meta`), `data` the frame bytes. The loop lives here so per-packet values stay unboxed doubles.
   */
  ingestBatch(linkType: number, data: Uint8Array, meta: Float64Array, n: number): void {
    for (let i = 0; i < n; i++) {
      const m = i * BATCH_META_STRIDE;
      this.tsUs = meta[m]! * 1e6 + Math.floor(meta[m + 1]! / 1000);
      this.frame(linkType, data, meta[m + 4]!, meta[m + 2]!);
    }
  }

  /** Decode the frame `buf[off .. off+caplen)`, stamped `this.tsUs`, and account it to a flow or a counter. */
  private frame(linkType: number, buf: Uint8Array, off: number, caplen: number): void {
    this.packets++;
    const pkt = this.pkt;
    let status: DecodeStatus = decodeFrame(linkType, buf, off, caplen, pkt);
    if (this.tsUs > this.nowUs) this.nowUs = this.tsUs;
    if (linkType === LinkType.EN10MB && !(this.ipv6 && pkt.ipVersion === 6) && needsJnetpcapRead(status, pkt, buf, off)) {
      // Not a plain IPv4 packet on Ethernet: read it as the references' packet library does (decode/jnetpcap.ts).
      const wasIpv6 = pkt.ipVersion === 6;
      const decoded = status === DecodeStatus.Ok || status === DecodeStatus.Fragment;
      const read = readEthernetAsJnetpcap(buf, off, caplen, pkt, this.p !== ProfileId.Fixed);
      if (read === JnetpcapRead.None) {
        if (wasIpv6) this.engineCounters[EngineCounter.Ipv6Disabled]!++;
        else if (decoded) this.engineCounters[EngineCounter.NotIpv4ForReference]!++;
        else this.decodeCounters[status]!++;
        return;
      }
      if (read === JnetpcapRead.FrameStartAsIpv4) {
        this.engineCounters[EngineCounter.FrameStartAsIpv4]!++;
        this.decodeCounters[DecodeStatus.Ok]!++;
        this.packet(pkt, pkt.fragOffset !== 0);
        return;
      }
      status = read === JnetpcapRead.Fragment ? DecodeStatus.Fragment : DecodeStatus.Ok;
    }
    this.decodeCounters[status]!++;
    if (status !== DecodeStatus.Ok && status !== DecodeStatus.Fragment) return;
    if (pkt.ipVersion === 6 && !this.ipv6) {
      // One reason per packet: an IPv6 fragment is counted as IPv6, not also as a fragment.
      if (status === DecodeStatus.Fragment) this.decodeCounters[status]!--;
      this.engineCounters[EngineCounter.Ipv6Disabled]!++;
      return;
    }
    if (status === DecodeStatus.Fragment) {
      // The fork keeps a non-first fragment only when MF is clear (the last one); measured on 5 fuzzed packets.
      if (this.p === ProfileId.Fixed && (buf[off + pkt.ipOffset + 6]! & 0x20) !== 0) return; // stays decode.ip.fragment
      // Placed in a protocol-0 flow: not a reason any more, only information.
      this.decodeCounters[status]!--;
      this.engineCounters[EngineCounter.FragmentsInFlows]!++;
    }
    if (pkt.proto === PROTO_ICMP && pkt.ipVersion === 4 && this.p !== ProfileId.Fixed && icmpQuoteAsTransport(buf, off, caplen, pkt)) {
      this.engineCounters[EngineCounter.IcmpQuoteAsTransport]!++;
    }
    this.packet(pkt, status === DecodeStatus.Fragment);
  }

  /** Place a decoded IP packet into its flow. */
  private packet(pkt: DecodedPacket, fragment: boolean): void {
    // What the profile's packet reader would report for this packet.
    let proto = pkt.proto;
    let srcPort = pkt.srcPort;
    let dstPort = pkt.dstPort;
    const isTcp = proto === PROTO_TCP && !fragment;
    const isUdp = proto === PROTO_UDP && !fragment;
    // The fork reads SCTP's ports and 12-byte common header (the others key SCTP as protocol 0).
    const isSctp = proto === PROTO_SCTP && !fragment && this.p === ProfileId.Fixed;
    if (isTcp || isUdp || isSctp) {
      this.payload = pkt.payloadBytes;
      this.hdr = pkt.l4HeaderBytes;
    } else {
      // Not TCP/UDP: no ports, no payload, no header in every reference.
      this.payload = 0;
      this.hdr = 0;
      srcPort = 0;
      dstPort = 0;
      // CIC master and the 2017 build key every other IPv4 protocol as 0; the fork knows ICMP, IGMP, SCTP.
      if (this.p !== ProfileId.Fixed || fragment) proto = 0;
      else if (proto !== PROTO_ICMP && proto !== 2 && proto !== 132) proto = 0;
    }
    this.proto = proto;
    this.flags = isTcp ? pkt.tcpFlags & 0xff : 0;
    this.window = isTcp ? pkt.tcpWindow : this.p === ProfileId.Cic2017 ? -1 : 0;

    const table = this.table;
    table.setKey(pkt.srcAddr, srcPort, pkt.dstAddr, dstPort, proto, pkt.ipVersion, this.p === ProfileId.Cic2017);
    this.srcIsA = table.srcIsA;
    let slot = table.find();
    // A packet stamped earlier than its flow's last one (merged captures, a bad clock) keeps its time, as in the
    // references: the flow's inter-arrival times (and perhaps its duration) come out negative. Counted.
    if (slot >= 0 && this.tsUs < this.st[slot * STRIDE + S.LAST]!) this.engineCounters[EngineCounter.TimeBackwards]!++;
    const tsUs = this.tsUs;
    if (slot >= 0 && this.idleTimeoutUs > 0 && tsUs - this.st[slot * STRIDE + S.LAST]! > this.idleTimeoutUs) {
      this.engineCounters[EngineCounter.IdleExpiredFlows]!++;
      this.endFlow(slot, true, FlowEnd.Idle);
      slot = -1;
    }
    if (slot < 0) {
      slot = table.insert();
      if (slot < 0) {
        // Full: end the oldest flow early (counted) and reuse its place.
        this.engineCounters[EngineCounter.EvictedFlows]!++;
        this.endFlow(table.oldest, true, FlowEnd.Evicted);
        slot = table.insert();
      }
      this.newFlow(slot, pkt);
      return;
    }
    switch (this.p) {
      case ProfileId.Cic:
        this.generatorCic(slot, pkt);
        break;
      case ProfileId.Fixed:
        this.generatorFixed(slot, pkt);
        break;
      default:
        this.generator2017(slot, pkt);
    }
  }

  /** Is the current packet in the forward direction of the flow in `slot`? */
  private isForward(slot: number): boolean {
    const b = slot * STRIDE;
    if (this.portAware || this.st[b + S.SAME_ADDR] === 0) return (this.srcIsA === 1) === (this.st[b + S.FWD_IS_A] === 1);
    return true; // both ends share one address: the reference's IP-only test calls every packet forward
  }

  /** Start a flow in a fresh slot, oriented by the profile's rule for a new conversation. */
  private newFlow(slot: number, pkt: DecodedPacket): void {
    // The fork orients a flow whose first packet is a SYN-ACK the other way (the SYN was missed).
    const reversed = this.p === ProfileId.Fixed && (this.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK);
    this.serial[slot] = this.nextSerial++;
    this.orient(slot, pkt, reversed);
    this.firstPacket(slot, !reversed);
  }

  /** Set the flow's forward endpoint: the packet's source, or its destination when `reversed`. */
  private orient(slot: number, pkt: DecodedPacket, reversed: boolean): void {
    const b = slot * STRIDE;
    const st = this.st;
    const fwdIsA = reversed ? 1 - this.srcIsA : this.srcIsA;
    st[b + S.FWD_IS_A] = fwdIsA;
    const fa = slot * 4;
    const addr = reversed ? pkt.dstAddr : pkt.srcAddr;
    const other = reversed ? pkt.srcAddr : pkt.dstAddr;
    let same = 1;
    for (let w = 0; w < 4; w++) {
      this.fwdAddr[fa + w] = addr[w]!;
      if (addr[w] !== other[w]) same = 0;
    }
    st[b + S.SAME_ADDR] = same;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Flow generators: when a flow ends and which packets it takes, per reference version.

  /** CICFlowMeter master (98a5eba): FIN/RST handling with the Bwd+Bwd typo, 1-packet flows dropped. */
  private generatorCic(slot: number, pkt: DecodedPacket): void {
    const st = this.st;
    const b = slot * STRIDE;
    const ts = this.tsUs;
    const fwd = this.isForward(slot);
    if (ts - st[b + S.START]! > this.flowTimeoutUs) {
      // The new flow's first packet counts as forward whatever its direction (BasicFlow.firstPacket sets the
      // source from it before the constructor restores the old one); the old orientation stays.
      this.restartFlow(slot, true);
      return;
    }
    if ((this.flags & TcpFlag.FIN) !== 0) {
      if (fwd) {
        if (++st[b + S.GEN_FWD_FIN]! === 1) {
          // The close test adds the backward counter to itself, so a forward FIN never closes the flow.
          if (st[b + S.GEN_BWD_FIN]! + st[b + S.GEN_BWD_FIN]! === 2) {
            this.addPacket(slot, fwd);
            this.endFlow(slot, false, FlowEnd.Fin);
          } else {
            this.updateActiveIdle(b);
            this.addPacket(slot, fwd);
          }
        } else {
          this.engineCounters[EngineCounter.CicDroppedFin]!++; // a second forward FIN is not added anywhere
        }
      } else if (++st[b + S.GEN_BWD_FIN]! === 1) {
        // 1 + 1 == 2: the first backward FIN closes the flow at once.
        this.addPacket(slot, fwd);
        this.endFlow(slot, false, FlowEnd.Fin);
      } else {
        this.engineCounters[EngineCounter.CicDroppedFin]!++;
      }
      return;
    }
    if ((this.flags & TcpFlag.RST) !== 0) {
      this.addPacket(slot, fwd);
      this.endFlow(slot, false, FlowEnd.Rst);
      return;
    }
    if ((fwd && st[b + S.GEN_FWD_FIN] === 0) || st[b + S.GEN_BWD_FIN] === 0) {
      this.updateActiveIdle(b);
      this.addPacket(slot, fwd);
    } else {
      this.engineCounters[EngineCounter.CicDroppedFin]!++;
    }
  }

  /** The corrected fork (4dd5319): TCP teardown state machine, SYN after teardown starts a new flow. */
  private generatorFixed(slot: number, pkt: DecodedPacket): void {
    const st = this.st;
    const b = slot * STRIDE;
    const ts = this.tsUs;
    const flags = this.flags;
    const syn = (flags & TcpFlag.SYN) !== 0;
    const state = st[b + S.TCP_STATE]!;
    if (ts - st[b + S.START]! > this.flowTimeoutUs || (state === TcpState.READY && syn)) {
      const flowProto = st[b + S.PROTO]!;
      const tcpOrUdp = flowProto === PROTO_TCP || flowProto === PROTO_UDP;
      if (tcpOrUdp) st[b + S.CUM_DURATION] = st[b + S.CUM_DURATION]! + (st[b + S.LAST]! - st[b + S.START]!);
      const newUdp = flowProto === PROTO_UDP && ts - st[b + S.LAST]! > this.flowTimeoutUs;
      const pktTcpOrUdp = this.proto === PROTO_TCP || this.proto === PROTO_UDP;
      // Not timed out: a SYN after the teardown (READY comes from a RST, or from FIN, FIN, ACK).
      const reason = ts - st[b + S.START]! > this.flowTimeoutUs ? FlowEnd.Timeout : st[b + S.FLAG_RST]! > 0 ? FlowEnd.Rst : FlowEnd.Fin;
      if ((state === TcpState.READY && syn) || newUdp || !pktTcpOrUdp) {
        this.emit(slot, reason);
        this.table.renew(slot);
        this.newFlow(slot, pkt);
      } else {
        // A continuing connection: same orientation, same retransmission memory, connection time carried.
        const cum = st[b + S.CUM_DURATION]! + (ts - st[b + S.LAST]!);
        const fwd = this.isForward(slot);
        this.emit(slot, reason);
        this.table.renew(slot);
        this.firstPacket(slot, fwd);
        st[b + S.CUM_DURATION] = cum;
      }
      return;
    }
    const fwd = this.isForward(slot);
    if ((flags & TcpFlag.FIN) !== 0) {
      this.updateActiveIdle(b);
      this.addPacket(slot, fwd);
      if (state === TcpState.NONE) st[b + S.TCP_STATE] = TcpState.FIRST_FIN;
      else if (state === TcpState.FIRST_FIN && st[b + S.FWD_FIN]! > 0 && st[b + S.BWD_FIN]! > 0) st[b + S.TCP_STATE] = TcpState.SECOND_FIN;
      return;
    }
    if ((flags & TcpFlag.RST) !== 0) {
      this.updateActiveIdle(b);
      this.addPacket(slot, fwd);
      st[b + S.TCP_STATE] = TcpState.READY;
      return;
    }
    if ((flags & TcpFlag.ACK) !== 0) {
      this.updateActiveIdle(b);
      this.addPacket(slot, fwd);
      if (state === TcpState.SECOND_FIN) st[b + S.TCP_STATE] = TcpState.READY;
      return;
    }
    if (st[b + S.PROTO] === PROTO_ICMP && st[b + S.ICMP_CODE] !== pkt.icmpCode && st[b + S.ICMP_TYPE] !== pkt.icmpType) {
      // A different ICMP exchange under the same addresses: a new flow, oriented by this packet.
      this.emit(slot, FlowEnd.NewExchange);
      this.table.renew(slot);
      this.serial[slot] = this.nextSerial++;
      this.orient(slot, pkt, false);
      this.firstPacket(slot, true);
      return;
    }
    this.updateActiveIdle(b);
    this.addPacket(slot, fwd);
  }

  /** The February 2018 build (eaa853d) that made CIC-IDS2017: the first FIN ends the flow, RST does not. */
  private generator2017(slot: number, _pkt: DecodedPacket): void {
    const st = this.st;
    const b = slot * STRIDE;
    const ts = this.tsUs;
    const fwd = this.isForward(slot);
    if (ts - st[b + S.START]! > this.flowTimeoutUs) {
      // The new flow's first packet counts as forward whatever its direction; the old orientation stays.
      this.restartFlow(slot, true);
      return;
    }
    if ((this.flags & TcpFlag.FIN) !== 0) {
      this.addPacket(slot, fwd);
      this.endFlow(slot, false, FlowEnd.Fin);
      return;
    }
    this.updateActiveIdle(b);
    this.addPacket(slot, fwd);
  }

  /** Timeout split keeping the flow's orientation (CIC master, 2017): write the old flow, start anew in place. */
  private restartFlow(slot: number, firstIsForward: boolean): void {
    this.emit(slot, FlowEnd.Timeout);
    this.table.renew(slot);
    this.serial[slot] = this.nextSerial++;
    this.firstPacket(slot, firstIsForward);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Accumulators.

  /** Reset the slot's state and add its first packet. Orientation fields (FWD_IS_A, SAME_ADDR) are kept. */
  private firstPacket(slot: number, fwd: boolean): void {
    const st = this.st;
    const b = slot * STRIDE;
    const fwdIsA = st[b + S.FWD_IS_A]!;
    const same = st[b + S.SAME_ADDR]!;
    st.fill(0, b, b + STRIDE);
    st[b + S.FWD_IS_A] = fwdIsA;
    st[b + S.SAME_ADDR] = same;
    const ts = this.tsUs;
    const p = this.p;
    const payload = this.payload;
    const hdr = this.hdr;
    const flags = this.flags;
    st[b + S.START] = ts;
    st[b + S.LAST] = ts;
    st[b + S.START_ACTIVE] = ts;
    st[b + S.END_ACTIVE] = ts;
    st[b + S.SF_LAST] = ts;
    st[b + S.PROTO] = this.proto;
    st[b + S.IP_PROTO] = this.pkt.proto;
    st[b + S.FIRST_FLAGS] = flags;
    st[b + S.ICMP_CODE] = this.pkt.icmpCode;
    st[b + S.ICMP_TYPE] = this.pkt.icmpType;
    const noWindow = p === ProfileId.Cic2017 ? -1 : 0;
    st[b + S.INIT_WIN_FWD] = noWindow;
    st[b + S.INIT_WIN_BWD] = noWindow;
    st[b + S.PKTS] = 1;

    if (p === ProfileId.Cic) this.bulkCic(b);
    else if (p === ProfileId.Fixed) this.bulkDirectional(b, fwd);
    if (p !== ProfileId.Cic2017) this.countFlags(b, flags);

    // CIC master and the 2017 build add the first packet's payload to "Packet Length" twice (bug 5).
    statAdd(st, b + S.FLOW_LEN, payload);
    if (p !== ProfileId.Fixed) statAdd(st, b + S.FLOW_LEN, payload);
    if (fwd) {
      statAdd(st, b + S.FWD_LEN, payload);
      st[b + S.FWD_HDR] = hdr;
      st[b + S.FWD_MIN_HDR] = hdr;
      st[b + S.FWD_LAST] = ts;
      st[b + S.INIT_WIN_FWD] = this.window;
      if ((flags & TcpFlag.PSH) !== 0) st[b + S.FWD_PSH] = 1;
      if ((flags & TcpFlag.URG) !== 0) st[b + S.FWD_URG] = 1;
      if ((flags & TcpFlag.RST) !== 0) st[b + S.FWD_RST] = 1;
      if ((flags & TcpFlag.FIN) !== 0) st[b + S.FWD_FIN] = 1;
      if (p === ProfileId.Fixed && payload >= 1) st[b + S.FWD_ACT_DATA] = 1;
    } else {
      statAdd(st, b + S.BWD_LEN, payload);
      st[b + S.BWD_HDR] = hdr;
      st[b + S.BWD_MIN_HDR] = hdr;
      st[b + S.BWD_LAST] = ts;
      st[b + S.INIT_WIN_BWD] = this.window;
      if ((flags & TcpFlag.PSH) !== 0) st[b + S.BWD_PSH] = 1;
      if ((flags & TcpFlag.URG) !== 0) st[b + S.BWD_URG] = 1;
      if ((flags & TcpFlag.RST) !== 0) st[b + S.BWD_RST] = 1;
      if ((flags & TcpFlag.FIN) !== 0) st[b + S.BWD_FIN] = 1;
      if (p === ProfileId.Fixed && payload >= 1) st[b + S.BWD_ACT_DATA] = 1;
    }
    if (p === ProfileId.Fixed) this.checkRetransmission(slot, b, fwd);
  }

  /** Add a packet to an open flow. */
  private addPacket(slot: number, fwd: boolean): void {
    const st = this.st;
    const b = slot * STRIDE;
    const ts = this.tsUs;
    const p = this.p;
    const payload = this.payload;
    const hdr = this.hdr;
    const flags = this.flags;
    st[b + S.PKTS]!++;

    if (p === ProfileId.Cic) this.bulkCic(b);
    else if (p === ProfileId.Fixed) this.bulkDirectional(b, fwd);
    if (p !== ProfileId.Cic2017) {
      // Subflows: a gap of more than 1 s starts one, and also runs the Active/Idle update.
      if ((ts - st[b + S.SF_LAST]!) / 1e6 > 1.0) {
        st[b + S.SF_COUNT]!++;
        this.updateActiveIdle(b);
      }
      st[b + S.SF_LAST] = ts;
      this.countFlags(b, flags);
    }
    if (p === ProfileId.Fixed) this.checkRetransmission(slot, b, fwd);

    statAdd(st, b + S.FLOW_LEN, payload);
    // CIC master and 2017 count PSH/URG per direction from the first packet only (bug 3); the fork counts all.
    const perPacketFlags = p === ProfileId.Fixed;
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
      if (p === ProfileId.Fixed) {
        if (payload >= 1) st[b + S.BWD_ACT_DATA]!++;
        // The fork keeps the first non-zero backward window; master keeps the last one (bug 8).
        if (st[b + S.INIT_WIN_BWD] === 0) st[b + S.INIT_WIN_BWD] = this.window;
        if (hdr < st[b + S.BWD_MIN_HDR]!) st[b + S.BWD_MIN_HDR] = hdr;
      } else {
        st[b + S.INIT_WIN_BWD] = this.window;
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
  private updateActiveIdle(b: number): void {
    const st = this.st;
    const ts = this.tsUs;
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

  /**
   * CIC master's bulk: its direction test compares arrays by reference, so every packet takes the backward
   * path, with the forward side's last bulk time (always 0) as "the other direction" (bug 7).
   */
  private bulkCic(b: number): void {
    this.bulkUpdate(b + S.BBULK_DUR, 0);
  }

  private bulkDirectional(b: number, fwd: boolean): void {
    if (fwd) this.bulkUpdate(b + S.FBULK_DUR, this.st[b + S.BBULK_LAST]!);
    else this.bulkUpdate(b + S.BBULK_DUR, this.st[b + S.FBULK_LAST]!);
  }

  /**
   * One direction's bulk state machine. `o` is the offset of that direction's block (DUR, PKTS, BYTES, COUNT,
   * CAND_PKTS, CAND_START, CAND_BYTES, LAST); `otherLast` the other direction's last bulk packet time.
   */
  private bulkUpdate(o: number, otherLast: number): void {
    const st = this.st;
    const size = this.payload;
    const ts = this.tsUs;
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

  private checkRetransmission(slot: number, b: number, fwd: boolean): void {
    if (this.st[b + S.PROTO] !== PROTO_TCP || this.proto !== PROTO_TCP) return;
    const pkt = this.pkt;
    // The fork keys on the source address; when both ends share it, both directions look alike.
    const dir = this.st[b + S.SAME_ADDR] === 1 ? 0 : fwd ? 0 : 1;
    if (this.retx!.seen(slot, this.serial[slot]!, dir, pkt.tcpSeq, pkt.tcpAck, this.payload, pkt.tcpWindow)) {
      if (fwd) this.st[b + S.FWD_RETX]!++;
      else this.st[b + S.BWD_RETX]!++;
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Flow completion.

  /** End the flow in `slot` and free the slot. `early`: ended by the engine (eviction/idle/EOF), not by a packet. */
  private endFlow(slot: number, early: boolean, reason: FlowEnd): void {
    const b = slot * STRIDE;
    if (early && this.p === ProfileId.Fixed) {
      const proto = this.st[b + S.PROTO];
      if (proto === PROTO_TCP || proto === PROTO_UDP) this.st[b + S.CUM_DURATION]! += this.st[b + S.LAST]! - this.st[b + S.START]!;
    }
    this.emit(slot, reason);
    this.table.remove(slot);
  }

  /** Write the flow in `slot` to the output batch if the profile writes it; count it otherwise. */
  private emit(slot: number, reason: FlowEnd): void {
    const b = slot * STRIDE;
    const pkts = this.st[b + S.PKTS]!;
    // CIC master and the 2017 build never write a flow of one packet (bug 10); the fork does.
    if (pkts <= 1 && this.p !== ProfileId.Fixed) {
      this.engineCounters[EngineCounter.UnwrittenFlows]!++;
      this.engineCounters[EngineCounter.UnwrittenFlowPackets]! += pkts;
      return;
    }
    const rows = this.rows;
    const i = rows.count;
    const id = this.profile.writeRow(this.st, b, this.fwdAddr, slot, this.table, rows.features, rows.kinds, i * this.featureCount);
    rows.ids.push(id);
    rows.endReasons![i] = reason;
    rows.ipProtos![i] = this.st[b + S.IP_PROTO]!;
    rows.icmpTypes![i] = this.st[b + S.ICMP_TYPE]!;
    rows.icmpCodes![i] = this.st[b + S.ICMP_CODE]!;
    rows.count = i + 1;
    this.packetsInFlows += pkts;
    this.flowsWritten++;
    if (rows.count === this.batchSize) this.flushRows();
  }

  /** Hand the current (partial) batch to `onFlows`. */
  flushRows(): void {
    if (this.rows.count === 0) return;
    const full = this.rows;
    this.rows = this.newRows();
    this.onFlows(full);
  }

  /**
   * End flows that have been silent longer than the idle timeout, relative to `nowUs` (a packet time, or the
   * live source's clock when the link is quiet). Bounded: examines at most `budget` flows, oldest first.
   */
  expireIdle(nowUs: number, budget = 1000): number {
    if (this.idleTimeoutUs <= 0) return 0;
    const t = this.table;
    let s = t.oldest;
    let ended = 0;
    while (s >= 0 && budget-- > 0) {
      const n = t.next(s);
      if (nowUs - this.st[s * STRIDE + S.LAST]! > this.idleTimeoutUs) {
        this.engineCounters[EngineCounter.IdleExpiredFlows]!++;
        this.endFlow(s, true, FlowEnd.Idle);
        ended++;
      }
      s = n;
    }
    return ended;
  }

  /** End of input (or the daemon's shutdown): write every open flow (by the profile's rule), then flush the batch. */
  finish(reason: FlowEnd = FlowEnd.EndOfCapture): void {
    const t = this.table;
    while (t.oldest >= 0) this.endFlow(t.oldest, true, reason);
    this.retxUntracked();
    this.flushRows();
  }

  private retxUntracked(): void {
    this.engineCounters[EngineCounter.RetxUntracked] = this.retx?.untracked ?? 0;
  }

  /** Packets in flows that are still open (not yet written or counted). O(open flows): not for the packet path. */
  openPackets(): number {
    const t = this.table;
    let n = 0;
    for (let s = t.oldest; s >= 0; s = t.next(s)) n += this.st[s * STRIDE + S.PKTS]!;
    return n;
  }

  /**
   * Counters grouped by what they mean (see EngineAccounting): the packet reasons, whose sum with the packets in
   * written flows is the packets read, and the informational counts. `flow.open_packets` is the packets of flows
   * still open (0 after `finish`).
   */
  accounting(): EngineAccounting {
    this.retxUntracked();
    const reasons: Record<string, number> = {};
    const info: Record<string, number> = { 'flows.active': this.table.size };
    DECODE_STATUS_NAMES.forEach((name, i) => {
      if (i !== DecodeStatus.Ok) reasons[name] = this.decodeCounters[i]!;
    });
    ENGINE_COUNTER_NAMES.forEach((name, i) => {
      (ENGINE_PACKET_REASONS.has(i) ? reasons : info)[name] = this.engineCounters[i]!;
    });
    reasons['flow.open_packets'] = this.openPackets();
    return {
      packets: this.packets,
      flows: this.flowsWritten,
      packetsInWrittenFlows: this.packetsInFlows,
      packetsNotInWrittenFlows: reasons,
      info,
    };
  }
}

/**
 * The same packet library decodes the datagram quoted inside an ICMP destination unreachable or parameter problem
 * (not inside the other errors: a redirect stays a protocol-0 packet in the nDPI references) and reports its
 * TCP/UDP header as the packet's own: the reference CSVs of CICFlowMeter master and the 2017 build then show a UDP/TCP flow with the OUTER addresses
 * and the INNER ports, payload = the bytes after the inner transport header up to the end of the outer packet.
 * Rewrites `pkt` that way and returns true when the ICMP packet quotes a complete IPv4 TCP/UDP header.
 */
function icmpQuoteAsTransport(buf: Uint8Array, off: number, caplen: number, pkt: DecodedPacket): boolean {
  const t = pkt.icmpType;
  if (t !== 3 && t !== 12) return false; // jnetpcap follows the quoted header of these two types only
  const end = off + Math.min(caplen, pkt.ipOffset + pkt.ipTotalBytes);
  const inner = off + pkt.ipOffset + pkt.ipHeaderBytes + 8;
  if (inner + 20 > end || buf[inner]! >> 4 !== 4) return false;
  const ihl = (buf[inner]! & 0x0f) * 4;
  if (ihl < 20) return false;
  const proto = buf[inner + 9]!;
  const l4 = inner + ihl;
  let hdr: number;
  if (proto === PROTO_UDP) hdr = 8;
  else if (proto === PROTO_TCP) hdr = l4 + 13 <= end ? (buf[l4 + 12]! >> 4) * 4 : 0;
  else return false;
  if (hdr < 8 || l4 + (proto === PROTO_TCP ? 20 : 8) > end) return false;
  pkt.proto = proto;
  pkt.srcPort = (buf[l4]! << 8) | buf[l4 + 1]!;
  pkt.dstPort = (buf[l4 + 2]! << 8) | buf[l4 + 3]!;
  pkt.l4HeaderBytes = hdr;
  pkt.payloadBytes = Math.max(0, end - (l4 + hdr));
  if (proto === PROTO_TCP) {
    pkt.tcpFlags = buf[l4 + 13]!;
    pkt.tcpWindow = (buf[l4 + 14]! << 8) | buf[l4 + 15]!;
  }
  return true;
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
