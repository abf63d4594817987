/**
 * Payload-protocol rules, round eight: infrastructure, industrial and media-network protocols nDPI recognises whose
 * packets fix enough bytes to be certain of (a magic number, exact lengths, a fixed header): KCP, MikroTik's MNDP,
 * GE's Ethernet Global Data, CAN over UDP (CAN-ETH), Agora's SD-RTN, ZUG, and DDS's RTPS. Reached by one line at
 * the end of payload-protocol.ts's matchTcp / matchUdp (infraTwoTcp / infraTwoUdp), after every older group, so
 * none of them takes a packet an earlier rule names.
 *
 * Left out (see the round's report): IMO and NOE (nDPI knows them by 1- to 11-byte packets and lengths, too weak to
 * name a flow on their own), Threema (nDPI: port 5222 and the sizes of the first three packets, nothing in their
 * bytes), FREE_125 (an nDPI placeholder id with no dissector).
 */
import { u16, u16le, i32le, has, ascii } from './bytes.js';
import { PayloadProtocol } from './protocols.js';

const P = PayloadProtocol as Record<string, number>;
const KCP = P['KCP']!;
const MIKROTIK = P['Mikrotik']!;
const EGD = P['EthernetGlobalData']!;
const CAN = P['Controller_Area_Network']!;
const SD_RTN = P['SD-RTN']!;
const ZUG = P['ZUG']!;
const RTPS = P['RTPS']!;

/** The rules over TCP: only CAN-ETH, whose 8-byte magic is safe on any transport. */
export function infraTwoTcp(b: Uint8Array, p: number, end: number, _sp: number, _dp: number): number {
  return b[p] === 0x49 ? canEth(b, p, end, false) : 0;
}

/** The same over UDP, each rule guarding itself by its first byte or its port. */
export function infraTwoUdp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  let r = 0;
  if (b0 === 0x49) r = canEth(b, p, end, true);
  else if (b0 === 0x00) r = zug(b, p, end);
  else if (b0 === 0x0d && (sp === 18246 || dp === 18246)) r = egd(b, p, end);
  else if (b0 === 0x52) r = rtpsMessage(b, p, end);
  if (r === 0 && dp === 5678) r = mndp(b, p, end);
  if (r === 0) r = kcpSegments(b, p, end);
  if (r === 0 && end - p >= 20 && b[p + 6] === 0x21) r = sdRtn(b, p, end);
  return r;
}

/**
 * KCP (skywind3000/kcp, ikcp.c's ikcp_encode_seg / ikcp_input / ikcp_flush): a datagram is one or more segments of
 * the same conversation, each a 24-byte header - conv (32 bits), cmd, frg, wnd (16 bits), ts, sn, una, len (32 bits),
 * all little-endian - and len bytes of data. cmd is PUSH 81, ACK 82, WASK 83 or WINS 84; only PUSH carries data, the
 * three others are sent with frg and len zero. The segments fill the datagram exactly (nDPI's dissector kcp.c takes
 * one segment whose len fills the packet: behaviour learnt, not copied). UDP only, on any port.
 */
function kcpSegments(b: Uint8Array, p: number, end: number): number {
  if (end - p < 24) return 0;
  const conv = i32le(b, p);
  let q = p;
  while (q < end) {
    if (end - q < 24 || i32le(b, q) !== conv) return 0;
    const cmd = b[q + 4]!;
    const len = i32le(b, q + 20);
    if (cmd < 81 || cmd > 84 || len < 0 || len > end - q - 24) return 0;
    if (cmd !== 81 && (len !== 0 || b[q + 5] !== 0)) return 0;
    q += 24 + len;
  }
  return KCP;
}

/**
 * MikroTik Neighbor Discovery Protocol (MikroTik's manual, "IP/Neighbor discovery"; Wireshark's MNDP dissector): to
 * UDP 5678, a 4-byte header (2 bytes, then a sequence number) and TLVs - type and length, 16 bits big-endian each -
 * walking exactly to the datagram's end. Types: MAC address 1 (6 bytes), identity 5, version 7, platform 8, uptime 10
 * (4 bytes), software ID 11, board 12, unpack 14 (1 byte), IPv6 address 15 (16 bytes), interface name 16, IPv4
 * address 17 (4 bytes). An announcement carries the sender's MAC address, so one is required (nDPI's dissector
 * mikrotik.c takes any payload to 5678 sent to a broadcast address: behaviour learnt, not copied).
 */
function mndp(b: Uint8Array, p: number, end: number): number {
  if (end - p < 14) return 0;
  let q = p + 4;
  let mac = false;
  while (q < end) {
    if (end - q < 4) return 0;
    const type = u16(b, q);
    const len = u16(b, q + 2);
    q += 4;
    if (len > end - q) return 0;
    switch (type) {
      case 1: if (len !== 6) return 0; mac = true; break;
      case 10: case 17: if (len !== 4) return 0; break;
      case 14: if (len !== 1) return 0; break;
      case 15: if (len !== 16) return 0; break;
      case 5: case 7: case 8: case 11: case 12: case 16: break;
      default: return 0;
    }
    q += len;
  }
  return mac ? MIKROTIK : 0;
}

/**
 * GE's Ethernet Global Data (Wireshark's EGD dissector; nDPI's egd.c): a producer's data message to UDP 18246, a
 * 32-byte header - PDU type 13, version 1, request ID (16 bits), producer ID (the producer's IPv4 address), exchange
 * ID, timestamp (8 bytes), status, configuration signature, reserved (32 bits each, little-endian) - then the
 * exchange's data. The producer ID is not zero, the status is one of the defined codes (0-4, 6, 7, 10, 12, 16, 18,
 * 22, 26, 28, 30), the reserved word zero, and data follows (nDPI compares the producer ID with the source address,
 * which this matcher does not see: the port stands in for it).
 */
const EGD_STATUS = 0x544514df; // bit k set for each defined status code k
function egd(b: Uint8Array, p: number, end: number): number {
  if (end - p <= 32 || b[p] !== 0x0d || b[p + 1] !== 0x01) return 0;
  if ((b[p + 4]! | b[p + 5]! | b[p + 6]! | b[p + 7]!) === 0) return 0;
  const status = i32le(b, p + 20);
  if (status < 0 || status > 30 || ((EGD_STATUS >> status) & 1) === 0) return 0;
  return i32le(b, p + 28) === 0 ? EGD : 0;
}

/**
 * CAN over Ethernet (CAN-ETH: proconx's "CAN frame" format, as Wireshark's CAN-ETH dissector reads it): the magic
 * `ISO11898`, version 1, the number of CAN frames (1-16), then the frames, 15 bytes each - identifier (4 bytes), data
 * length code (0-8), 8 data bytes, extended-identifier flag and remote-request flag (0 or 1 each). The reserved
 * options after the frames should be empty, so the frames fill the packet exactly (over TCP, packets follow one
 * another to the segment's end). nDPI's dissector can.c takes the magic alone (behaviour learnt, not copied).
 */
const CAN_MAGIC = ascii('ISO11898');
function canEth(b: Uint8Array, p: number, end: number, udp: boolean): number {
  let q = p;
  while (q < end) {
    if (end - q < 25 || !has(b, q, end, CAN_MAGIC) || b[q + 8] !== 1) return 0;
    const frames = b[q + 9]!;
    const next = q + 10 + 15 * frames;
    if (frames < 1 || frames > 16 || next > end) return 0;
    for (let f = q + 10; f < next; f += 15) {
      if (b[f + 4]! > 8 || b[f + 13]! > 1 || b[f + 14]! > 1) return 0;
    }
    q = next;
    if (udp) break;
  }
  return q === end ? CAN : 0;
}

/**
 * Agora's SD-RTN (unpublished; nDPI's dissector sd_rtn.c, behaviour learnt, not copied): a UDP packet whose byte 6 is
 * 0x21 and which carries, from byte 12, the tag `\x04SNI`, a 16-bit big-endian length, a zero byte and the server
 * name. The name is taken when it lies within the packet and is a host name (letters, digits, `-`, `.`, `_`).
 */
const SNI_TAG = Uint8Array.of(0x04, 0x53, 0x4e, 0x49);
function sdRtn(b: Uint8Array, p: number, end: number): number {
  if (!has(b, p + 12, end, SNI_TAG) || b[p + 18] !== 0) return 0;
  const len = u16(b, p + 16);
  const name = p + 19;
  if (len < 1 || len > end - name) return 0;
  for (let i = name; i < name + len; i++) {
    const c = b[i]!;
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f;
    if (!ok) return 0;
  }
  return SD_RTN;
}

/**
 * ZUG (unpublished; nDPI's dissector zug.c, behaviour learnt, not copied): a UDP packet starting with the magic
 * `00 7a 55 47` (`\0zUG`) and the byte 0x10.
 */
const ZUG_MAGIC = Uint8Array.of(0x00, 0x7a, 0x55, 0x47, 0x10);
function zug(b: Uint8Array, p: number, end: number): number {
  return has(b, p, end, ZUG_MAGIC) ? ZUG : 0;
}

/**
 * RTPS, DDS's wire protocol (OMG DDSI-RTPS 2.5, §9.4.4-9.4.5), over UDP on any port (DDS computes its ports from the
 * domain and participant ids, so the registered 7400/7401 are only domain 0's multicast ones): the 20-byte header -
 * `RTPS` (or `RTPX`, which nDPI's dissector rtps.c also takes: behaviour learnt, not copied), the protocol version 2.0
 * to 2.5, a vendor id, a 12-byte GUID prefix - then a submessage header: a submessage id the specification defines
 * (PAD 0x01, ACKNACK 0x06, HEARTBEAT 0x07, GAP 0x08, INFO_TS 0x09, INFO_SRC 0x0c, INFO_REPLY_IP4 0x0d, INFO_DST 0x0e,
 * INFO_REPLY 0x0f, NACK_FRAG 0x12, HEARTBEAT_FRAG 0x13, DATA 0x15, DATA_FRAG 0x16) or a vendor's (0x80-0xff), flags,
 * and octetsToNextHeader in the byte order the flags' E bit gives, within the datagram (0: the rest of it).
 */
const RTPS_MAGIC = ascii('RTPS');
const RTPX_MAGIC = ascii('RTPX');
function rtpsMessage(b: Uint8Array, p: number, end: number): number {
  if (end - p < 24 || !(has(b, p, end, RTPS_MAGIC) || has(b, p, end, RTPX_MAGIC))) return 0;
  if (b[p + 4] !== 2 || b[p + 5]! > 5) return 0;
  const id = b[p + 20]!;
  const defined = id === 0x01 || (id >= 0x06 && id <= 0x09) || (id >= 0x0c && id <= 0x0f) || id === 0x12 || id === 0x13;
  if (!(defined || id === 0x15 || id === 0x16 || id >= 0x80)) return 0;
  const next = (b[p + 21]! & 1) !== 0 ? u16le(b, p + 22) : u16(b, p + 22);
  return next <= end - p - 24 ? RTPS : 0;
}
