/**
 * The flow engine: decoded packets → bidirectional flows → completed flow rows. Pure: no I/O, no clock.
 *
 * Time comes only from packet timestamps, so replaying a capture and sniffing the same traffic live give the
 * same flows. Per packet nothing is allocated: one reused DecodedPacket, a typed-array flow table, and one
 * Float64Array row of accumulators per flow (features/flow-state.ts). A completed flow allocates nothing either:
 * its features and its identity (addresses, ports, protocol, times) are numbers written into the output batch's
 * typed arrays; only a full batch is a new object.
 *
 * The three profiles share every accumulator (features/accumulators.ts); they differ in the flow generator's rules
 * (when a flow ends, which packets count where: flow-generator.ts) and in a handful of per-feature rules. Both read
 * the profile's named rules (features/profiles/profile.ts `ProfileRules`), each set in the profile's own file. This
 * file keeps the batch loop, the reading of each frame as the profile's packet library did (one status per frame:
 * decode/reference-reader.ts), the flow lookup, expiry, the output batch and the accounting.
 */
import type { DecodedPacket } from '../decode/packet.js';
import { readAsFragment, readFrame, readIntoFlow, READ_STATUS_COUNT, type ReadingRules } from '../decode/reference-reader.js';
import { S, STRIDE } from '../features/flow-state.js';
import { SERVER_NAME_MAX } from '../decode/server-name.js';
import { DnsAnswerReader } from '../decode/dns-answers.js';
import { ServerNameSource } from '../flows/server-names.js';
import type { Profile } from '../features/profiles.js';
import { FlowEnd, newFlowRows, type FlowRows } from './flow-batch.js';
import { FlowGenerator } from './flow-generator.js';
import { META_STRIDE, Meta } from './packet-batch.js';
import { COUNTERS, EngineCounter, type EngineAccounting } from './counters.js';

export { ENGINE_COUNTER_NAMES, EngineCounter, type EngineAccounting } from './counters.js';

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
  /**
   * Keep only the flows whose canonical key falls in shard `index` of `count` (pipeline/sharded-engine.ts runs one
   * engine per shard). Every packet is still decoded and counted, so each shard's clock and its counters of packets
   * without a flow are those of the whole stream; each written row gets its `order` (flow-batch.ts).
   */
  shard?: { index: number; count: number };
}

/** Recycled batches kept for reuse (a replay has at most about this many in flight: pipeline/pipeline.ts). */
const MAX_SPARE_BATCHES = 16;

const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_SCTP = 132;

export class Engine extends FlowGenerator {
  readonly profile: Profile;
  private readonly idleTimeoutUs: number;
  private readonly onFlows: (rows: FlowRows) => void;
  private readonly shard: { index: number; count: number } | undefined;

  /** Packets read, per read status (decode/reference-reader.ts): each packet counted once. */
  readonly readCounters = new Float64Array(READ_STATUS_COUNT);
  /** How the profile's tool reads frames. */
  private readonly reading: ReadingRules;
  packets = 0;
  /** Packets inside written flows, and the flows written. */
  packetsInFlows = 0;
  flowsWritten = 0;
  /** Latest packet time seen, µs. */
  nowUs = 0;
  /** Reads the DNS responses whose addresses name later flows (flows/address-names.ts). */
  private readonly dnsAnswers = new DnsAnswerReader();


  // The output batch being filled.
  private rows: FlowRows;
  private readonly featureCount: number;

  constructor(cfg: EngineConfig) {
    super(cfg.profile.rules, cfg.maxFlows, cfg.flowTimeoutUs, cfg.activityTimeoutUs, cfg.portAwareDirection);
    this.profile = cfg.profile;
    this.idleTimeoutUs = cfg.idleTimeoutUs;
    const r = cfg.profile.rules;
    this.reading = { readsFrameStartAsIpv4: r.readsFrameStartAsIpv4, icmpErrorsJoinQuotedFlow: r.icmpErrorsJoinQuotedFlow, dropsMiddleFragments: r.dropsMiddleFragments, ipv6: cfg.ipv6 };
    this.onFlows = cfg.onFlows;
    this.shard = cfg.shard;
    if (cfg.shard !== undefined) this.firstPacketOrdinal = new Float64Array(cfg.maxFlows);
    this.featureCount = cfg.profile.columns.featureNames.length;
    this.batchSize = cfg.batchSize;
    this.rows = this.newRows();
  }
  private readonly batchSize: number;

  /**
   * Batches given back by their consumer (recycle()), reused by newRows(). A batch that waits for its verdicts
   * outlives several young-generation collections and is promoted with its ~1 MB of buffers, to be freed only by a
   * full collection. Reusing the buffers keeps that memory flat (big.pcap with the models: 37 → 25 scavenges on the
   * main thread, V8's helper threads ~0.84 → ~0.65 s of CPU).
   */
  private readonly spare: FlowRows[] = [];

  /** The per-row arrays of this engine's batches and their lengths (newRows' layout): what recycle() keeps. */
  private layout: { key: keyof FlowRows; length: number }[] | undefined;

  /**
   * The consumer is done with `rows` (every output has copied what it needs: sinks/*.ts `write()`), so the engine
   * may fill it again. Only a batch of this engine's layout, its features not lent elsewhere, is kept, zeroed as new.
   */
  recycle(rows: FlowRows): void {
    if (this.spare.length >= MAX_SPARE_BATCHES || this.layout === undefined) return;
    const arrays = rows as unknown as Record<string, unknown>;
    for (const { key, length } of this.layout) if ((arrays[key] as ArrayLike<number> | undefined)?.length !== length) return;
    const fresh: Record<string, unknown> = { count: 0 };
    for (const { key } of this.layout) fresh[key] = (arrays[key] as Uint8Array).fill(0);
    this.spare.push(fresh as unknown as FlowRows);
  }

  private newRows(): FlowRows {
    const reused = this.spare.pop();
    if (reused !== undefined) return reused;
    const rows = newFlowRows(this.batchSize, this.featureCount);
    rows.endReasons = new Uint8Array(this.batchSize);
    rows.ipProtos = new Uint8Array(this.batchSize);
    rows.icmpTypes = new Uint8Array(this.batchSize);
    rows.icmpCodes = new Uint8Array(this.batchSize);
    rows.serverNameLengths = new Uint8Array(this.batchSize);
    rows.serverNames = new Uint8Array(this.batchSize * SERVER_NAME_MAX);
    rows.serverNameSources = new Uint8Array(this.batchSize);
    rows.payloadProtocol = new Uint8Array(this.batchSize);
    if (this.shard !== undefined) rows.order = new Float64Array(this.batchSize * 2);
    this.layout ??= Object.entries(rows).flatMap(([key, v]) => (ArrayBuffer.isView(v) ? [{ key: key as keyof FlowRows, length: (v as Uint8Array).length }] : []));
    return rows;
  }

  /**
   * Feed one batch from a packet source: `meta` holds META_STRIDE numbers per packet (packet-batch.ts
   * `Meta`), `data` the frame bytes. The loop lives here so per-packet values stay unboxed doubles.
   */
  ingestBatch(linkType: number, data: Uint8Array, meta: Float64Array, n: number): void {
    for (let i = 0; i < n; i++) {
      const m = i * META_STRIDE;
      this.cur.tsUs = meta[m + Meta.TsSec]! * 1e6 + Math.floor(meta[m + Meta.TsNsec]! / 1000);
      this.frame(linkType, data, meta[m + Meta.Offset]!, meta[m + Meta.CapLen]!);
    }
  }

  /** Read the frame `buf[off .. off+caplen)`, stamped `this.cur.tsUs`, as the profile's tool did; count it once. */
  private frame(linkType: number, buf: Uint8Array, off: number, caplen: number): void {
    this.packets++;
    if (this.cur.tsUs > this.nowUs) this.nowUs = this.cur.tsUs;
    const pkt = this.pkt;
    this.frameBuf = buf;
    this.frameOff = off;
    const status = readFrame(linkType, buf, off, caplen, pkt, this.reading);
    this.readCounters[status]!++;
    if (readIntoFlow(status)) this.packet(pkt, readAsFragment(status, pkt));
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
    const isSctp = proto === PROTO_SCTP && !fragment && this.rules.knowsIcmpIgmpSctp;
    if (isTcp || isUdp || isSctp) {
      this.cur.payload = pkt.payloadBytes;
      this.cur.hdr = pkt.l4HeaderBytes;
    } else {
      // Not TCP/UDP: no ports, no payload, no header in every reference.
      this.cur.payload = 0;
      this.cur.hdr = 0;
      srcPort = 0;
      dstPort = 0;
      // CIC master and the 2017 build key every other IPv4 protocol as 0; the fork knows ICMP, IGMP, SCTP.
      if (!this.rules.knowsIcmpIgmpSctp || fragment) proto = 0;
      else if (proto !== PROTO_ICMP && proto !== 2 && proto !== 132) proto = 0;
    }
    this.cur.proto = proto;
    this.cur.ipProto = pkt.proto;
    this.cur.icmpType = pkt.icmpType;
    this.cur.icmpCode = pkt.icmpCode;
    this.cur.flags = isTcp ? pkt.tcpFlags & 0xff : 0;
    this.cur.window = isTcp ? pkt.tcpWindow : this.rules.noWindow;

    // A DNS response names its addresses for every shard (each reads every packet), before the shard's filter.
    if (isUdp && (pkt.srcPort === 53 || pkt.srcPort === 5353) && pkt.payloadBytes > 0) this.readDnsAnswer(pkt);

    const table = this.table;
    table.setKey(pkt.srcAddr, srcPort, pkt.dstAddr, dstPort, proto, pkt.ipVersion, this.rules.keysByCanonicalFlowId);
    // The key is known here (and the clock already moved, in frame()): a shard returns for another shard's flows.
    if (this.shard !== undefined && table.shardOfKey(this.shard.count) !== this.shard.index) return;
    this.srcIsA = table.srcIsA;
    let slot = table.find();
    // A packet stamped earlier than its flow's last one (merged captures, a bad clock) keeps its time, as in the
    // references: the flow's inter-arrival times (and perhaps its duration) come out negative. Counted.
    if (slot >= 0 && this.cur.tsUs < this.st[slot * STRIDE + S.LAST]!) this.engineCounters[EngineCounter.TimeBackwards]!++;
    const tsUs = this.cur.tsUs;
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
    this.existingFlow(slot, pkt);
  }

  /** The addresses a DNS response names, into the table later flows take their server's name from. */
  private readDnsAnswer(pkt: DecodedPacket): void {
    this.addressNames.nowUs = this.cur.tsUs;
    const start = this.frameOff + pkt.payloadOffset;
    if (this.dnsAnswers.read(this.frameBuf, start, start + pkt.payloadBytes, pkt.srcPort === 5353, this.reading.ipv6, this.addressNames) > 0) {
      this.engineCounters[EngineCounter.DnsAnswers]!++;
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Flow completion.

  /** End the flow in `slot` and free the slot. `early`: ended by the engine (eviction/idle/EOF), not by a packet. */
  protected endFlow(slot: number, early: boolean, reason: FlowEnd): void {
    const b = slot * STRIDE;
    if (early && this.rules.carriesConnectionTime) {
      const proto = this.st[b + S.PROTO];
      if (proto === PROTO_TCP || proto === PROTO_UDP) this.st[b + S.CUM_DURATION]! += this.st[b + S.LAST]! - this.st[b + S.START]!;
    }
    this.emit(slot, reason);
    this.table.remove(slot);
  }

  /** Write the flow in `slot` to the output batch if the profile writes it; count it otherwise. */
  protected emit(slot: number, reason: FlowEnd): void {
    const b = slot * STRIDE;
    const pkts = this.st[b + S.PKTS]!;
    this.names.remember(slot, this.table.keys, this.table.hashOf(slot), this.st[b + S.LAST]!);
    this.payloads.remember(slot, this.table.keys, this.table.hashOf(slot), this.st[b + S.LAST]!);
    // CIC master and the 2017 build never write a flow of one packet (bug 10); the fork does.
    if (pkts <= 1 && !this.rules.writesSinglePacketFlows) {
      this.engineCounters[EngineCounter.UnwrittenFlows]!++;
      this.engineCounters[EngineCounter.UnwrittenFlowPackets]! += pkts;
      return;
    }
    const rows = this.rows;
    const i = rows.count;
    this.profile.writeRow(this.st, b, rows.features, rows.kinds, i * this.featureCount);
    this.writeIdentity(rows, i, slot, b);
    rows.endReasons![i] = reason;
    rows.ipProtos![i] = this.st[b + S.IP_PROTO]!;
    rows.icmpTypes![i] = this.st[b + S.ICMP_TYPE]!;
    rows.icmpCodes![i] = this.st[b + S.ICMP_CODE]!;
    this.names.copyTo(slot, rows.serverNameLengths!, rows.serverNames!, rows.serverNameSources!, i);
    if (rows.serverNameSources![i] === ServerNameSource.Dns) this.engineCounters[EngineCounter.ServerNamesFromDns]!++;
    const payloadProtocol = this.payloads.ids[slot]!;
    rows.payloadProtocol![i] = payloadProtocol;
    if (payloadProtocol !== 0) this.engineCounters[EngineCounter.PayloadProtocols]!++;
    if (rows.order !== undefined) {
      rows.order[2 * i] = this.packets;
      rows.order[2 * i + 1] = this.firstPacketOrdinal![slot]!;
    }
    rows.count = i + 1;
    this.packetsInFlows += pkts;
    this.flowsWritten++;
    if (rows.count === this.batchSize) this.flushRows();
  }

  /** Row `i`'s identity, as numbers: source = the flow's forward endpoint (A or B of the table's key). */
  private writeIdentity(rows: FlowRows, i: number, slot: number, b: number): void {
    const t = this.table;
    const fwdIsA = this.st[b + S.FWD_IS_A] === 1;
    for (let w = 0; w < 4; w++) {
      rows.srcAddrs[i * 4 + w] = t.addressWord(slot, fwdIsA, w);
      rows.dstAddrs[i * 4 + w] = t.addressWord(slot, !fwdIsA, w);
    }
    rows.srcPorts[i] = t.port(slot, fwdIsA);
    rows.dstPorts[i] = t.port(slot, !fwdIsA);
    rows.protocols[i] = this.st[b + S.PROTO]!;
    rows.ipVersions[i] = t.ipVersion(slot);
    rows.startUs[i] = this.st[b + S.START]!;
    rows.endUs[i] = this.st[b + S.LAST]!;
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

  /**
   * expireIdle at the live clock: the latest packet's time plus `quietUs`, the wall time since its batch arrived,
   * so a quiet link still ends its idle flows.
   */
  expireIdleAfterQuiet(quietUs: number): number {
    return this.table.size === 0 ? 0 : this.expireIdle(this.nowUs + quietUs, this.table.size + 1);
  }

  /** Flows open in the table. */
  get activeFlows(): number {
    return this.table.size;
  }

  /** End of input (or the daemon's shutdown): write every open flow (by the profile's rule), then flush the batch. */
  finish(reason: FlowEnd = FlowEnd.EndOfCapture): void {
    this.finishSome(Infinity, reason);
  }

  /**
   * finish() in slices: ends at most `budget` open flows, oldest first, handing each full batch on as usual, and
   * returns true once none is left (the last partial batch handed over too). A caller that awaits between slices
   * lets the model and the outputs work on the first batches while the rest are still being ended: in a flood
   * every flow is still open at the end of the capture and ends here.
   */
  finishSome(budget: number, reason: FlowEnd = FlowEnd.EndOfCapture): boolean {
    const t = this.table;
    for (let n = 0; t.oldest >= 0 && n < budget; n++) this.endFlow(t.oldest, true, reason);
    if (t.oldest >= 0) return false;
    this.retxUntracked();
    this.flushRows();
    return true;
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
    this.engineCounters[EngineCounter.DnsAddresses] = this.addressNames.held;
    const reasons: Record<string, number> = {};
    const info: Record<string, number> = { 'flows.active': this.table.size };
    for (const c of COUNTERS) (c.reason ? reasons : info)[c.name] = (c.read ? this.readCounters : this.engineCounters)[c.index]!;
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
