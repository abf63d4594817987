/**
 * The flow generator: how a packet joins, ends or restarts the open flow of its key, by the profile's teardown rule
 * (features/profiles/profile.ts `Teardown`), and which direction it counts in. The Engine (engine.ts) extends it
 * with the batch loop, the lookup, expiry, writing rows and accounting; this part holds the per-flow state.
 */
import { DecodedPacket, TcpFlag } from '../decode/packet.js';
import { FlowTable } from '../flows/flow-table.js';
import { ServerNames } from '../flows/server-names.js';
import { PayloadProtocols } from '../flows/payload-protocols.js';
import { AddressNames } from '../flows/address-names.js';
import { SERVER_NAME_MAX } from '../decode/server-name.js';
import { S, STRIDE, TcpState } from '../features/flow-state.js';
import { Accumulators, type CurrentPacket } from '../features/accumulators.js';
import { RetransmissionSet } from '../features/retransmissions.js';
import { Teardown, type ProfileRules } from '../features/profiles.js';
import { FlowEnd } from './flow-batch.js';
import { ENGINE_COUNTER_NAMES, EngineCounter } from './counters.js';

const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_UDP = 17;

export abstract class FlowGenerator {
  /** The profile's flow-generator and packet-reading rules (features/profiles/). */
  protected readonly rules: ProfileRules;
  protected readonly flowTimeoutUs: number;
  protected readonly portAware: boolean;
  readonly table: FlowTable;
  /** Feature state, STRIDE doubles per slot. */
  protected readonly st: Float64Array;
  /** Per slot: a number no other flow had, for the retransmission memory. */
  protected readonly serial: Uint32Array;
  protected nextSerial = 1;
  /** Only a profile that counts retransmissions allocates the table. */
  protected readonly retx: RetransmissionSet | null;
  /** The one decoded packet, reused for every frame. */
  protected readonly pkt = new DecodedPacket();
  /** The feature accumulators and the current packet as the profile sees it (features/accumulators.ts). */
  protected readonly acc: Accumulators;
  protected readonly cur: CurrentPacket;
  /** After the lookup: 1 when the packet's source is endpoint A of the flow table's key. */
  protected srcIsA = 1;
  readonly engineCounters = new Float64Array(ENGINE_COUNTER_NAMES.length);
  /** Packets read so far: the current packet's ordinal in the stream (1-based). */
  abstract readonly packets: number;
  /** Sharded engines only: per slot, the ordinal of its flow's first packet (the merge's order at the end). */
  protected firstPacketOrdinal: Float64Array | null = null;
  /** Each open flow's server name, read from its first payload packets. */
  protected readonly names: ServerNames;
  /** Each open flow's payload protocol, recognised from its first payload packets each way. */
  protected readonly payloads: PayloadProtocols;
  /** Server address → the name a DNS answer gave for it (flows/address-names.ts), for flows without a name. */
  protected readonly addressNames = new AddressNames();
  /** Scratch for a lookup: the server's address words, the name found. */
  private readonly serverAddress = new Uint32Array(4);
  private readonly dnsName = new Uint8Array(SERVER_NAME_MAX);
  /** The buffer holding the current packet's frame, and where the frame starts in it. */
  protected frameBuf: Uint8Array = new Uint8Array(0);
  protected frameOff = 0;

  constructor(rules: ProfileRules, maxFlows: number, flowTimeoutUs: number, activityTimeoutUs: number, portAware: boolean) {
    this.rules = rules;
    this.flowTimeoutUs = flowTimeoutUs;
    this.portAware = portAware;
    this.table = new FlowTable(maxFlows);
    this.st = new Float64Array(maxFlows * STRIDE);
    this.acc = new Accumulators(this.st, rules, activityTimeoutUs);
    this.cur = this.acc.cur;
    this.serial = new Uint32Array(maxFlows);
    this.names = new ServerNames(maxFlows, {
      counts: this.engineCounters,
      found: EngineCounter.ServerNames,
      truncated: EngineCounter.ServerNamesTruncated,
      notPrintable: EngineCounter.ServerNamesNotPrintable,
      quic: EngineCounter.ServerNamesQuic,
    });
    this.payloads = new PayloadProtocols(maxFlows);
    this.retx = rules.countsRetransmissions
      ? new RetransmissionSet(Math.min(1 << 24, maxFlows * 64), () => this.liveSerials())
      : null;
  }

  /** Write the flow in `slot` (or count it, when the profile does not write it); the slot stays in use. */
  protected abstract emit(slot: number, reason: FlowEnd): void;
  /** Emit the flow in `slot` and free the slot. */
  protected abstract endFlow(slot: number, early: boolean, reason: FlowEnd): void;

  /** The serials of every open flow, built when the retransmission arena is full (O(open flows)). */
  private liveSerials(): Set<number> {
    const live = new Set<number>();
    const t = this.table;
    for (let s = t.oldest; s >= 0; s = t.next(s)) live.add(this.serial[s]!);
    return live;
  }

  /**
   * A packet of the open flow in `slot`. In every profile the flow timeout (counted from the flow's first packet)
   * splits the flow first, and in the fork so does a SYN after its teardown; otherwise the profile's teardown rule
   * decides what the packet does.
   */
  protected existingFlow(slot: number, pkt: DecodedPacket): void {
    const b = slot * STRIDE;
    const timedOut = this.cur.tsUs - this.st[b + S.START]! > this.flowTimeoutUs;
    if (timedOut || this.synAfterTeardown(b)) {
      this.splitFlow(slot, pkt, timedOut);
      return;
    }
    switch (this.rules.teardown) {
      case Teardown.MasterFinTypo:
        this.masterFinTypo(slot, pkt);
        break;
      case Teardown.StateMachine:
        this.stateMachine(slot, pkt);
        break;
      default:
        this.firstFin(slot);
    }
  }

  /** Is the current packet in the forward direction of the flow in `slot`? */
  protected isForward(slot: number): boolean {
    const b = slot * STRIDE;
    if (this.portAware || this.st[b + S.SAME_ADDR] === 0) return (this.srcIsA === 1) === (this.st[b + S.FWD_IS_A] === 1);
    return true; // both ends share one address: the reference's IP-only test calls every packet forward
  }

  /** Start a flow in a fresh slot, oriented by the profile's rule for a new conversation. */
  protected newFlow(slot: number, pkt: DecodedPacket): void {
    // The fork orients a flow whose first packet is a SYN-ACK the other way (the SYN was missed).
    const reversed = this.rules.synAckStartsReversed && (this.cur.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK);
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
    const addr = pkt.srcAddr;
    const other = pkt.dstAddr;
    let same = 1;
    for (let w = 0; w < 4; w++) if (addr[w] !== other[w]) same = 0;
    st[b + S.SAME_ADDR] = same;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Flow generators: when a flow ends and which packets it takes, per reference version.

  /** CICFlowMeter master (98a5eba): FIN/RST handling with the Bwd+Bwd typo, 1-packet flows dropped. */
  private masterFinTypo(slot: number, pkt: DecodedPacket): void {
    const st = this.st;
    const b = slot * STRIDE;
    const fwd = this.isForward(slot);
    if ((this.cur.flags & TcpFlag.FIN) !== 0) {
      if (fwd) {
        if (++st[b + S.GEN_FWD_FIN]! === 1) {
          // The close test adds the backward counter to itself, so a forward FIN never closes the flow.
          if (st[b + S.GEN_BWD_FIN]! + st[b + S.GEN_BWD_FIN]! === 2) {
            this.addPacket(slot, fwd);
            this.endFlow(slot, false, FlowEnd.Fin);
          } else {
            this.acc.activeIdle(b);
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
    if ((this.cur.flags & TcpFlag.RST) !== 0) {
      this.addPacket(slot, fwd);
      this.endFlow(slot, false, FlowEnd.Rst);
      return;
    }
    if ((fwd && st[b + S.GEN_FWD_FIN] === 0) || st[b + S.GEN_BWD_FIN] === 0) {
      this.acc.activeIdle(b);
      this.addPacket(slot, fwd);
    } else {
      this.engineCounters[EngineCounter.CicDroppedFin]!++;
    }
  }

  /** The corrected fork (4dd5319): TCP teardown state machine, SYN after teardown starts a new flow. */
  private stateMachine(slot: number, pkt: DecodedPacket): void {
    const st = this.st;
    const b = slot * STRIDE;
    const flags = this.cur.flags;
    const state = st[b + S.TCP_STATE]!;
    const fwd = this.isForward(slot);
    if ((flags & TcpFlag.FIN) !== 0) {
      this.acc.activeIdle(b);
      this.addPacket(slot, fwd);
      if (state === TcpState.NONE) st[b + S.TCP_STATE] = TcpState.FIRST_FIN;
      else if (state === TcpState.FIRST_FIN && st[b + S.FWD_FIN]! > 0 && st[b + S.BWD_FIN]! > 0) st[b + S.TCP_STATE] = TcpState.SECOND_FIN;
      return;
    }
    if ((flags & TcpFlag.RST) !== 0) {
      this.acc.activeIdle(b);
      this.addPacket(slot, fwd);
      st[b + S.TCP_STATE] = TcpState.READY;
      return;
    }
    if ((flags & TcpFlag.ACK) !== 0) {
      this.acc.activeIdle(b);
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
    this.acc.activeIdle(b);
    this.addPacket(slot, fwd);
  }

  /** The February 2018 build (eaa853d) that made CIC-IDS2017: the first FIN ends the flow, RST does not. */
  private firstFin(slot: number): void {
    const b = slot * STRIDE;
    const fwd = this.isForward(slot);
    if ((this.cur.flags & TcpFlag.FIN) !== 0) {
      this.addPacket(slot, fwd);
      this.endFlow(slot, false, FlowEnd.Fin);
      return;
    }
    this.acc.activeIdle(b);
    this.addPacket(slot, fwd);
  }

  /** The fork's teardown: a SYN when the connection is READY (after FIN, FIN, ACK or a RST) starts the next flow. */
  private synAfterTeardown(b: number): boolean {
    return this.rules.teardown === Teardown.StateMachine && this.st[b + S.TCP_STATE] === TcpState.READY && (this.cur.flags & TcpFlag.SYN) !== 0;
  }

  /**
   * Write the flow in `slot` and start the next one in place with the current packet: after the flow timeout
   * (`timedOut`) or, in the fork, a SYN after the teardown.
   */
  private splitFlow(slot: number, pkt: DecodedPacket, timedOut: boolean): void {
    const st = this.st;
    const b = slot * STRIDE;
    if (this.rules.teardown !== Teardown.StateMachine) {
      // CIC master, 2017: the new flow's first packet counts as forward whatever its direction (BasicFlow.firstPacket
      // sets the source from it before the constructor restores the old one); the old orientation stays.
      const fwd = this.rules.timeoutSplitFirstIsForward || this.isForward(slot);
      this.emit(slot, FlowEnd.Timeout);
      this.table.renew(slot);
      this.serial[slot] = this.nextSerial++;
      this.firstPacket(slot, fwd);
      return;
    }
    // The fork: a new connection, or the same one continuing (same orientation and retransmission memory, its
    // connection time carried).
    const ts = this.cur.tsUs;
    const flowProto = st[b + S.PROTO]!;
    if (flowProto === PROTO_TCP || flowProto === PROTO_UDP) st[b + S.CUM_DURATION] = st[b + S.CUM_DURATION]! + (st[b + S.LAST]! - st[b + S.START]!);
    const newUdp = flowProto === PROTO_UDP && ts - st[b + S.LAST]! > this.flowTimeoutUs;
    const pktTcpOrUdp = this.cur.proto === PROTO_TCP || this.cur.proto === PROTO_UDP;
    // Not timed out: a SYN after the teardown (READY comes from a RST, or from FIN, FIN, ACK).
    const reason = timedOut ? FlowEnd.Timeout : st[b + S.FLAG_RST]! > 0 ? FlowEnd.Rst : FlowEnd.Fin;
    if (this.synAfterTeardown(b) || newUdp || !pktTcpOrUdp) {
      this.emit(slot, reason);
      this.table.renew(slot);
      this.newFlow(slot, pkt);
    } else {
      const cum = st[b + S.CUM_DURATION]! + (ts - st[b + S.LAST]!);
      const fwd = this.isForward(slot);
      this.emit(slot, reason);
      this.table.renew(slot);
      this.firstPacket(slot, fwd);
      st[b + S.CUM_DURATION] = cum;
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Accumulators (features/accumulators.ts), plus the retransmission check that needs the flow's serial.

  /** Reset the slot's state and add its first packet. Orientation fields (FWD_IS_A, SAME_ADDR) are kept. */
  private firstPacket(slot: number, fwd: boolean): void {
    const b = slot * STRIDE;
    if (this.firstPacketOrdinal !== null) this.firstPacketOrdinal[slot] = this.packets;
    this.acc.first(b, fwd);
    if (this.retx !== null) this.checkRetransmission(slot, b, fwd);
    this.names.start(slot, this.table.keys, this.table.hashOf(slot), this.st[b + S.START]!);
    if (this.names.lengths[slot] === 0) this.nameFromDns(slot, b);
    this.payloads.start(slot, this.table.keys, this.table.hashOf(slot), this.st[b + S.START]!);
    if (this.cur.payload > 0) this.lookForName(slot);
  }

  /**
   * A flow that starts without a name (none carried over) takes the one a DNS answer seen before its start gave for
   * its server's address (the flow's destination), while that answer is fresh. Its own name, read later, wins.
   */
  private nameFromDns(slot: number, b: number): void {
    if (this.addressNames.held === 0) return; // no answer seen yet (a capture without DNS): no table probe per flow
    const t = this.table;
    const serverIsA = this.st[b + S.FWD_IS_A] !== 1;
    const a = this.serverAddress;
    for (let w = 0; w < 4; w++) a[w] = t.addressWord(slot, serverIsA, w);
    const n = this.addressNames.lookup(t.ipVersion(slot), a, this.st[b + S.START]!, this.dnsName, 0);
    if (n > 0) this.names.give(slot, this.dnsName, n);
  }

  /** Add a packet to an open flow. */
  private addPacket(slot: number, fwd: boolean): void {
    const b = slot * STRIDE;
    this.acc.add(b, fwd);
    if (this.retx !== null) this.checkRetransmission(slot, b, fwd);
    if (this.cur.payload > 0) this.lookForName(slot);
  }

  /**
   * A payload packet of the flow in `slot`: its server name, while the flow looks for one (flows/server-names.ts),
   * and its payload protocol, while it has none (flows/payload-protocols.ts).
   * Its direction is the packet's endpoint in the table's key, not the profile's forward: a profile that calls
   * every packet of same-host traffic forward would otherwise spend both directions' looks on one.
   */
  private lookForName(slot: number): void {
    const pkt = this.pkt;
    const start = this.frameOff + pkt.payloadOffset;
    this.names.look(slot, this.srcIsA === 1, this.frameBuf, start, this.cur.payload, pkt.proto, pkt.srcPort, pkt.dstPort);
    // The payload protocol reads the bytes the IP packet holds (pkt.payloadBytes), never a frame's trailer padding
    // that a profile may count in its payload; a flow decided or done looking costs one comparison.
    if (this.payloads.looking[slot] === 1) this.payloads.look(slot, this.srcIsA === 1, this.frameBuf, start, start + pkt.payloadBytes, pkt.proto, pkt.srcPort, pkt.dstPort);
  }

  private checkRetransmission(slot: number, b: number, fwd: boolean): void {
    if (this.st[b + S.PROTO] !== PROTO_TCP || this.cur.proto !== PROTO_TCP) return;
    const pkt = this.pkt;
    // The fork keys on the source address; when both ends share it, both directions look alike.
    const dir = this.st[b + S.SAME_ADDR] === 1 ? 0 : fwd ? 0 : 1;
    if (this.retx!.seen(slot, this.serial[slot]!, dir, pkt.tcpSeq, pkt.tcpAck, this.cur.payload, pkt.tcpWindow)) {
      if (fwd) this.st[b + S.FWD_RETX]!++;
      else this.st[b + S.BWD_RETX]!++;
    }
  }
}
