/**
 * The payload protocol of each open flow (decode/payload-protocol.ts recognises it), in typed arrays indexed by flow
 * slot: the protocol id (0 = none yet), and per direction the payload packets already looked at. The engine asks
 * while the flow has no protocol and has sent fewer than LOOK_PACKETS payload packets that way; the first answer is
 * kept and ends the looking (HTTP's excepted, below), so a long flow costs one comparison a packet. Reset when a flow
 * starts in the slot; nothing allocated after construction.
 *
 * RTP has no signature of its own in one packet (a version field and a payload type): as RFC 3550 Appendix A.1 has a
 * receiver do before it trusts a source, a direction is RTP when two of its payload packets in a row are valid RTP
 * headers of the same SSRC and payload type with consecutive sequence numbers. Per direction the last header seen
 * is kept for that. Two more answers need what the flow has seen: TFTP's transfer, between two ports no table knows,
 * is one endpoint's DATA of block 1 answered by the other's ACK (per slot, which endpoint sent the DATA); and a TCP
 * flow whose first payload packet is a file or a directory listing, when no rule named it, is FTP_DATA (a data
 * connection, as nDPI names it: payload/transfer.ts).
 *
 * An HTTP flow goes on being looked at: what its server answers may refine it (httpResponseKind: a file download, audio
 * or video), as nDPI's category for the flow follows the response's Content-Type. Once a request has made a flow HTTP,
 * each direction gets PAYLOAD_LOOK_PACKETS more payload packets, and the first response with a Content-Type ends
 * the looking; the flow stays HTTP when none comes (a capture cut before the answer, a response without a body).
 *
 * A connection the profile cuts into several flows (the 2017 build's first FIN, the flow timeout) keeps its protocol
 * in each, as its server name does (flows/server-names.ts): an ended flow's protocol is remembered per 5-tuple
 * (direct-mapped by the key's hash, RECENT entries), and a flow that starts with the same key within RECENT_US of
 * that end takes it and looks no further (the later part of a TLS connection, an RTP stream past 120 s).
 */
import { httpResponseKind, matchPayload, PayloadProtocol, rtpHeader, rtpPayloadType, rtpSequence, rtpSsrc, RTP_ID } from '../decode/payload-protocol.js';
import { rawFileStart, tftpFirstAck, tftpFirstData } from '../decode/payload/transfer.js';
import { PROTO_TCP, PROTO_UDP } from '../decode/transport.js';
import { KEY_WORDS } from './flow-table.js';
import { RECENT, RECENT_US } from './server-names.js';

/** Payload packets looked at in each direction before giving up (RTP needs two of them): as many as for names. */
export const PAYLOAD_LOOK_PACKETS = 4;

/** The previous packet of a direction was no RTP header. */
const NO_RTP = 0xff;

const HTTP_ID = PayloadProtocol['HTTP']!;

export class PayloadProtocols {
  /** Per slot: the protocol id, 0 = none. */
  readonly ids: Uint8Array;
  /**
   * Per slot: 1 while the flow still looks (no protocol, a direction with looks left), else 0: the engine's one test
   * per payload packet, so a long flow that gave up costs no call.
   */
  readonly looking: Uint8Array;
  /** Per slot and endpoint (2 × slot + 0 from endpoint A, + 1 from B): payload packets looked at; 0xff = done. */
  private readonly looked: Uint8Array;
  /** Per slot and endpoint: the last packet's RTP payload type (NO_RTP when it was no RTP header), SSRC, sequence. */
  private readonly rtpType: Uint8Array;
  private readonly rtpSsrc: Int32Array;
  private readonly rtpSeq: Uint16Array;
  /** Per slot: which endpoint sent TFTP's DATA of block 1 (1 = A, 2 = B; 0 = none yet), whose ACK would decide. */
  private readonly tftpData: Uint8Array;
  /** The memory of recent conversations: per entry its key, its protocol (0 = empty) and when its flow ended (µs). */
  private readonly recentKeys = new Uint32Array(RECENT * KEY_WORDS);
  private readonly recentIds = new Uint8Array(RECENT);
  private readonly recentEnds = new Float64Array(RECENT);

  constructor(capacity: number) {
    this.ids = new Uint8Array(capacity);
    this.looking = new Uint8Array(capacity);
    this.looked = new Uint8Array(capacity * 2);
    this.rtpType = new Uint8Array(capacity * 2);
    this.rtpSsrc = new Int32Array(capacity * 2); // rtpSsrc() reads it as an int32
    this.rtpSeq = new Uint16Array(capacity * 2);
    this.tftpData = new Uint8Array(capacity);
  }

  /** A new flow in `slot`: no protocol, nothing looked at. */
  reset(slot: number): void {
    this.ids[slot] = 0;
    this.looking[slot] = 1;
    this.looked[2 * slot] = 0;
    this.looked[2 * slot + 1] = 0;
    this.rtpType[2 * slot] = NO_RTP;
    this.rtpType[2 * slot + 1] = NO_RTP;
    this.tftpData[slot] = 0;
  }

  /**
   * A new flow in `slot` whose key (`keys`, FlowTable's, with its `hash`) starts at `startUs`: reset, then the
   * protocol of the same conversation's flow that ended within RECENT_US, if it is remembered.
   */
  start(slot: number, keys: Uint32Array, hash: number, startUs: number): void {
    this.reset(slot);
    const e = hash & (RECENT - 1);
    const id = this.recentIds[e]!;
    if (id === 0 || startUs - this.recentEnds[e]! > RECENT_US) return;
    for (let w = 0; w < KEY_WORDS; w++) if (this.recentKeys[e * KEY_WORDS + w] !== keys[slot * KEY_WORDS + w]) return;
    this.decided(slot, id);
  }

  /** The flow in `slot` (key and hash as in `start`) ends at `endUs`: remember its protocol, if it has one. */
  remember(slot: number, keys: Uint32Array, hash: number, endUs: number): void {
    const id = this.ids[slot]!;
    if (id === 0) return;
    const e = hash & (RECENT - 1);
    for (let w = 0; w < KEY_WORDS; w++) this.recentKeys[e * KEY_WORDS + w] = keys[slot * KEY_WORDS + w]!;
    this.recentIds[e] = id;
    this.recentEnds[e] = endUs;
  }

  /**
   * A packet of the flow in `slot`, sent by endpoint A (`fromA`) or B, with its payload at `buf[start .. end)`:
   * read it while the flow has no protocol. Returns true when this packet decided it.
   */
  look(slot: number, fromA: boolean, buf: Uint8Array, start: number, end: number, proto: number, srcPort: number, dstPort: number): boolean {
    const k = 2 * slot + (fromA ? 0 : 1);
    if (this.looked[k]! >= PAYLOAD_LOOK_PACKETS) return false;
    this.looked[k]!++;
    let id: number;
    if (this.ids[slot] === HTTP_ID) {
      // HTTP already: only the server's answer can say more.
      id = httpResponseKind(buf, start, end);
    } else {
      id = matchPayload(buf, start, end, proto, srcPort, dstPort);
      if (id === 0 && proto === PROTO_UDP) id = this.rtp(k, buf, start, end) || this.tftp(slot, fromA, buf, start, end);
      // The flow's first payload packet (this one counted above), when no rule named it: a file or a listing?
      if (id === 0 && proto === PROTO_TCP && this.looked[2 * slot]! + this.looked[2 * slot + 1]! === 1) id = rawFileStart(buf, start, end);
      if (id === HTTP_ID) {
        // A capture may start with the response; else the answer is still to come: keep looking each way.
        const kind = httpResponseKind(buf, start, end);
        if (kind === 0) {
          this.ids[slot] = HTTP_ID;
          this.looked[2 * slot] = 0;
          this.looked[2 * slot + 1] = 0;
          return true;
        }
        id = kind;
      }
    }
    if (id === 0) {
      if (this.looked[2 * slot]! >= PAYLOAD_LOOK_PACKETS && this.looked[2 * slot + 1]! >= PAYLOAD_LOOK_PACKETS) this.looking[slot] = 0;
      return false;
    }
    this.decided(slot, id);
    return true;
  }

  /** The flow in `slot` is protocol `id` from now on: no more looking. */
  private decided(slot: number, id: number): void {
    this.ids[slot] = id;
    this.looking[slot] = 0;
    this.looked[2 * slot] = 0xff;
    this.looked[2 * slot + 1] = 0xff;
  }

  /** TFTP when this packet is the ACK of block 1 answering the other endpoint's DATA of block 1 (tftpFirstData). */
  private tftp(slot: number, fromA: boolean, buf: Uint8Array, start: number, end: number): number {
    const me = fromA ? 1 : 2;
    const sent = this.tftpData[slot]!;
    if (sent !== 0 && sent !== me) return tftpFirstAck(buf, start, end);
    if (sent === 0 && tftpFirstData(buf, start, end)) this.tftpData[slot] = me;
    return 0;
  }

  /** RTP when this packet's header continues the previous one's of the same direction (k). */
  private rtp(k: number, buf: Uint8Array, start: number, end: number): number {
    if (!rtpHeader(buf, start, end)) {
      this.rtpType[k] = NO_RTP;
      return 0;
    }
    const type = rtpPayloadType(buf, start);
    const ssrc = rtpSsrc(buf, start);
    const seq = rtpSequence(buf, start);
    const follows = this.rtpType[k] === type && this.rtpSsrc[k] === ssrc && ((this.rtpSeq[k]! + 1) & 0xffff) === seq;
    this.rtpType[k] = type;
    this.rtpSsrc[k] = ssrc;
    this.rtpSeq[k] = seq;
    return follows ? RTP_ID : 0;
  }
}
