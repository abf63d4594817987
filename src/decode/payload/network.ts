/**
 * Payload-protocol rules for further network services, middleware, VPN and remote-access protocols, and a few
 * industrial and health protocols whose messages fix enough bytes to be certain of (a magic number and lengths that
 * add up, or a checksum). Reached by one line of payload-protocol.ts's matchTcp / matchUdp (networkTcp / networkUdp),
 * after the groups above it there, so none of them takes a packet an earlier rule names.
 */
import { u16, u16le, i32, i32le, ascii, port, has, isDigit } from './bytes.js';
import { PayloadProtocol } from './protocols.js';

const P = PayloadProtocol as Record<string, number>;
const STOMP = P['STOMP']!;
const THRIFT = P['Thrift']!;
const CITRIX = P['Citrix']!;
const CHECKMK = P['CHECKMK']!;
const DNSCRYPT = P['DNScrypt']!;
const TAILSCALE = P['Tailscale']!;
const PFCP = P['PFCP']!;
const KISMET = P['Kismet']!;
const HL7 = P['HL7']!;
const DICOM = P['DICOM']!;
const C37118 = P['IEEE-C37118']!;
const BECKHOFF_ADS = P['BeckhoffADS']!;
const CPHA = P['CPHA']!;
const HISLIP = P['HiSLIP']!;
const OPENFLOW = P['OpenFlow']!;
const AYIYA = P['Ayiya']!;
const FIX = P['FIX']!;

/** The rules over TCP, each guarding itself by its first bytes or its port. */
export function networkTcp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  let r = 0;
  if (b0 === 0x43 || b0 === 0x53) r = stompConnect(b, p, end);
  else if (b0 === 0x80 || b0 === 0x82) r = thriftMessage(b, p, end);
  else if (b0 === 0x7f) r = citrixIca(b, p, end);
  else if (b0 === 0x1a) r = has(b, p, end, CGP_MAGIC) ? CITRIX : 0;
  else if (b0 === 0x3c) r = checkmkOutput(b, p, end);
  else if (b0 === 0x72) r = dnscryptResponse(b, p, end) ? DNSCRYPT : 0;
  else if (b0 === 0x2a) r = kismetGreeting(b, p, end);
  else if (b0 === 0x0b || b0 === 0x4d) r = hl7Message(b, p, end);
  else if (b0 === 0x01 || b0 === 0x02) r = dicomAssociate(b, p, end);
  else if (b0 === 0xaa) r = c37118Frames(b, p, end, false);
  else if (b0 === 0x38) r = fixMessage(b, p, end);
  if (r !== 0) return r;
  // Framed Thrift: a 4-byte frame length, then the message.
  if (end - p >= 17 && (b[p + 4] === 0x80 || b[p + 4] === 0x82) && i32(b, p) >= 5 && i32(b, p) <= 1 << 24) {
    r = thriftMessage(b, p + 4, end);
  }
  // DNSCrypt over TCP: each message behind a 2-byte length (DNSCrypt v2 §"Transport").
  if (r === 0 && end - p >= 2 && b[p + 2] === 0x72 && u16(b, p) >= end - p - 2) r = dnscryptResponse(b, p + 2, end) ? DNSCRYPT : 0;
  if (r === 0 && port(sp, dp, 48898)) r = amsTcp(b, p, end);
  if (r === 0 && port(sp, dp, 4880)) r = hislipMessage(b, p, end);
  if (r === 0 && (port(sp, dp, 6653) || port(sp, dp, 6633))) r = openflowMessages(b, p, end);
  return r;
}

/** The same over UDP. */
export function networkUdp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  if (b0 === 0x72) return dnscryptResponse(b, p, end) ? DNSCRYPT : 0;
  if (b0 === 0x54) return tailscaleDisco(b, p, end);
  if (b0 === 0xaa) return c37118Frames(b, p, end, true);
  if (port(sp, dp, 8805)) return pfcpMessages(b, p, end);
  if (port(sp, dp, 8116)) return cphaHeader(b, p, end);
  if (port(sp, dp, 5072)) return ayiyaPacket(b, p, end);
  return 0;
}

/**
 * STOMP 1.1 and 1.2 (stomp.github.io, "STOMP Protocol Specification, Version 1.2", §Connecting): the client's first
 * frame, CONNECT or STOMP, and the server's CONNECTED - the command on a line of its own (LF or CR LF), header lines
 * `name:value` (the name not empty), an empty line and, these frames having no body, the NUL that ends the frame.
 * A 1.1+ CONNECT or STOMP frame must carry `accept-version`, and CONNECTED `version`, whose value is a 1.x version.
 * (STOMP 1.0 frames carry no version and are left out.)
 */
const STOMP_CONNECT = ascii('CONNECT');
const STOMP_CONNECTED = ascii('CONNECTED');
const STOMP_STOMP = ascii('STOMP');
const ACCEPT_VERSION = ascii('accept-version:');
const VERSION = ascii('version:');
function stompConnect(b: Uint8Array, p: number, end: number): number {
  let q: number;
  let want: Uint8Array;
  if (has(b, p, end, STOMP_CONNECTED)) { q = p + STOMP_CONNECTED.length; want = VERSION; }
  else if (has(b, p, end, STOMP_CONNECT)) { q = p + STOMP_CONNECT.length; want = ACCEPT_VERSION; }
  else if (has(b, p, end, STOMP_STOMP)) { q = p + STOMP_STOMP.length; want = ACCEPT_VERSION; }
  else return 0;
  q = stompEol(b, q, end);
  if (q < 0) return 0;
  let version = false;
  for (let n = 0; n < 64; n++) {
    const e = stompEol(b, q, end);
    if (e >= 0) return version && e < end && b[e] === 0 ? STOMP : 0; // the empty line, then NUL
    let colon = -1;
    let i = q;
    for (; i < end && i - q < 1024; i++) {
      const c = b[i]!;
      if (c === 0x0a || c === 0x0d) break;
      if (c < 0x20 && c !== 0x09) return 0;
      if (c === 0x3a && colon < 0) colon = i;
    }
    if (colon <= q) return 0;
    if (has(b, q, colon + 1, want) && colon + 1 === q + want.length && b[colon + 1] === 0x31 && b[colon + 2] === 0x2e && isDigit(b[colon + 3]!)) version = true;
    q = stompEol(b, i, end);
    if (q < 0) return 0;
  }
  return 0;
}
/** After an LF or CR LF at `q`, or -1. */
function stompEol(b: Uint8Array, q: number, end: number): number {
  if (q < end && b[q] === 0x0a) return q + 1;
  if (q + 1 < end && b[q] === 0x0d && b[q + 1] === 0x0a) return q + 2;
  return -1;
}

/**
 * Apache Thrift's message header. Binary protocol (Thrift, "Thrift Binary protocol encoding", doc/specs/
 * thrift-binary-protocol.md; strict encoding): 0x8001, a zero byte and the message type (call 1, reply 2, exception
 * 3, oneway 4), the name as a 4-byte length (1-255) and bytes, a 4-byte sequence id, then the first field's type
 * (stop 0, or bool 2 ... list 15, uuid 16). Compact protocol (doc/specs/thrift-compact-protocol.md): 0x82, the type
 * in the top 3 bits and version 1 in the low 5, a varint sequence id, a varint name length (1-255) and the name, then
 * the first field header (stop 0, or a compact type 1-12). The name is an identifier (letters, digits, `_`, `.`,
 * and `:` of the multiplexed protocol). Only a header that the segment holds whole is taken.
 */
function thriftMessage(b: Uint8Array, p: number, end: number): number {
  let q: number;
  let n: number;
  if (b[p] === 0x80) {
    if (end - p < 13 || b[p + 1] !== 0x01 || b[p + 2] !== 0 || b[p + 3]! < 1 || b[p + 3]! > 4) return 0;
    n = i32(b, p + 4);
    q = p + 8;
    if (n < 1 || n > 255 || !thriftName(b, q, q + n, end)) return 0;
    q += n + 4;
    if (q >= end) return 0;
    const t = b[q]!;
    return t === 0 || t === 2 || t === 3 || t === 4 || t === 6 || t === 8 || (t >= 10 && t <= 16) ? THRIFT : 0;
  }
  if (end - p < 5 || b[p] !== 0x82) return 0;
  const tv = b[p + 1]!;
  if ((tv & 0x1f) !== 1 || tv >> 5 < 1 || tv >> 5 > 4) return 0;
  q = p + 2;
  let k = 0;
  while (q < end && (b[q]! & 0x80) !== 0 && k < 4) { q++; k++; }
  if (q >= end || (b[q]! & 0x80) !== 0) return 0;
  q++;
  if (q >= end) return 0;
  n = b[q]!;
  if (n & 0x80) {
    if (q + 1 >= end || b[q + 1]! > 1) return 0;
    n = (n & 0x7f) | (b[q + 1]! << 7);
    q++;
  }
  q++;
  if (n < 1 || n > 255 || !thriftName(b, q, q + n, end)) return 0;
  q += n;
  if (q >= end) return 0;
  const f = b[q]!;
  return f === 0 || ((f & 0x0f) >= 1 && (f & 0x0f) <= 12) ? THRIFT : 0;
}
function thriftName(b: Uint8Array, q: number, e: number, end: number): boolean {
  if (e > end) return false;
  const c0 = b[q]!;
  if (!((c0 >= 0x41 && c0 <= 0x5a) || (c0 >= 0x61 && c0 <= 0x7a) || c0 === 0x5f)) return false;
  for (let i = q + 1; i < e; i++) {
    const c = b[i]!;
    if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || isDigit(c) || c === 0x5f || c === 0x2e || c === 0x3a)) return false;
  }
  return true;
}

/**
 * Citrix ICA on its port 1494: the server's probe, `\x7F\x7FICA\0` repeated, filling the segment (nmap's
 * nmap-service-probes, `citrix-ica`); Common Gateway Protocol (session reliability, port 2598): the 0x1A byte and
 * `CGP/01` opening its connection.
 */
const ICA_PROBE = Uint8Array.of(0x7f, 0x7f, 0x49, 0x43, 0x41, 0x00);
const CGP_MAGIC = Uint8Array.of(0x1a, 0x43, 0x47, 0x50, 0x2f, 0x30, 0x31);
function citrixIca(b: Uint8Array, p: number, end: number): number {
  if (end - p < 6 || (end - p) % 6 !== 0) return 0;
  for (let q = p; q < end; q += 6) if (!has(b, q, end, ICA_PROBE)) return 0;
  return CITRIX;
}

/**
 * Checkmk's agent (Checkmk documentation, "The Checkmk agent", agent output): the agent answers the connection to
 * port 6556 with its sections, the first the header line `<<<check_mk>>>`.
 */
const CHECKMK_HEADER = ascii('<<<check_mk>>>');
function checkmkOutput(b: Uint8Array, p: number, end: number): number {
  const q = p + CHECKMK_HEADER.length;
  return end > q && has(b, p, end, CHECKMK_HEADER) && (b[q] === 0x0a || b[q] === 0x0d) ? CHECKMK : 0;
}

/**
 * DNSCrypt version 2 (DNSCrypt/dnscrypt-protocol, DNSCRYPT-V2-PROTOCOL.txt §"Resolver responses"): a resolver's
 * response - the resolver magic `r6fnvWj8`, the 24-byte nonce (the client's half and the resolver's), then the
 * encrypted response, which carries a 16-byte authenticator and at least a DNS header. (Queries open with a
 * client magic the resolver chooses, and certificates travel in ordinary DNS TXT answers.)
 */
const DNSCRYPT_RESOLVER_MAGIC = ascii('r6fnvWj8');
function dnscryptResponse(b: Uint8Array, p: number, end: number): boolean {
  return end - p >= 8 + 24 + 16 + 12 && has(b, p, end, DNSCRYPT_RESOLVER_MAGIC);
}

/**
 * Tailscale's disco messages (tailscale, disco/disco.go): the magic `TS💬` (`TS` and the UTF-8 of U+1F4AC), the
 * sender's 32-byte disco public key, a 24-byte nonce, then the NaCl box of the message - a 16-byte authenticator, a
 * type and a version at least.
 */
const TAILSCALE_MAGIC = Uint8Array.of(0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac);
function tailscaleDisco(b: Uint8Array, p: number, end: number): number {
  return end - p >= 6 + 32 + 24 + 16 + 2 && has(b, p, end, TAILSCALE_MAGIC) ? TAILSCALE : 0;
}

/**
 * PFCP on its port 8805 (3GPP TS 29.244 §7.2.2): version 1, the spare bits clear, the S flag set exactly for the
 * session messages (types 50-57; node messages 1-17 carry no SEID), a length counting what follows the first 4
 * bytes - the header's rest (SEID, sequence number, priority: 12 bytes, or 4 without the SEID) and information
 * elements (type, length) walking exactly to the message's end - and either the datagram's end, or with the FO flag
 * another message of the same form after it.
 */
function pfcpMessages(b: Uint8Array, p: number, end: number): number {
  let q = p;
  for (let k = 0; k < 4; k++) {
    if (end - q < 8) return 0;
    const f = b[q]!;
    const type = b[q + 1]!;
    const s = (f & 1) !== 0;
    if (f >> 5 !== 1 || (f & 0x18) !== 0 || (s ? type < 50 || type > 57 : type < 1 || type > 17)) return 0;
    const mEnd = q + 4 + u16(b, q + 2);
    let e = q + (s ? 16 : 8);
    if (mEnd > end || e > mEnd) return 0;
    for (let j = 0; e < mEnd && j < 256; j++) {
      if (mEnd - e < 4) return 0;
      e += 4 + u16(b, e + 2);
    }
    if (e !== mEnd) return 0;
    if ((f & 0x04) === 0) return mEnd === end ? PFCP : 0;
    q = mEnd;
  }
  return 0;
}

/**
 * Kismet's client/server protocol (Kismet documentation, "Kismet client/server protocol"): the server's greeting,
 * the `*KISMET: ` line, whose first field is the server's version number.
 */
const KISMET_GREETING = ascii('*KISMET: ');
function kismetGreeting(b: Uint8Array, p: number, end: number): number {
  return has(b, p, end, KISMET_GREETING) && end - p > KISMET_GREETING.length && isDigit(b[p + KISMET_GREETING.length]!) ? KISMET : 0;
}

/**
 * HL7 version 2 (HL7 v2.5, chapter 2, §2.5 message construction and §2.14.9 MSH; Appendix C's Minimal Lower Layer
 * Protocol frames a message between 0x0B and 0x1C 0x0D): the message header segment - `MSH`, the field separator,
 * the encoding characters (component, repetition, escape, subcomponent and from v2.7 truncation: 4 or 5 distinct
 * punctuation characters) and the field separator again - first in the block, or first in the segment without the
 * framing.
 */
const MSH = ascii('MSH');
function hl7Message(b: Uint8Array, p: number, end: number): number {
  const q = b[p] === 0x0b ? p + 1 : p;
  if (end - q < 10 || !has(b, q, end, MSH)) return 0;
  const sep = b[q + 3]!;
  if (!hl7Punct(sep)) return 0;
  let i = q + 4;
  for (; i < q + 9 && b[i] !== sep; i++) {
    const c = b[i]!;
    if (!hl7Punct(c)) return 0;
    for (let j = q + 4; j < i; j++) if (b[j] === c) return 0;
  }
  return i - q - 4 >= 4 && b[i] === sep ? HL7 : 0;
}
const hl7Punct = (c: number): boolean => c > 0x20 && c < 0x7f && !isDigit(c) && !((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);

/**
 * DICOM's upper layer (DICOM PS3.8 §9.3.2-9.3.3): an A-ASSOCIATE-RQ (1) or -AC (2) PDU - a reserved zero byte, the
 * PDU length (what follows it: the whole segment, or more when the PDU runs on), protocol version 1, two reserved
 * bytes, the called and calling AE titles (16 bytes each), 32 reserved bytes, then the Application Context item
 * (0x10) whose name is a DICOM UID (`1.2.840.10008.`...).
 */
const DICOM_UID_ROOT = ascii('1.2.840.10008.');
function dicomAssociate(b: Uint8Array, p: number, end: number): number {
  if (end - p < 78 + DICOM_UID_ROOT.length || b[p + 1] !== 0 || b[p + 2] !== 0 || u16(b, p + 6) !== 1) return 0;
  const len = i32(b, p + 2);
  if (len < 72 + DICOM_UID_ROOT.length || len < end - p - 6) return 0;
  const q = p + 74;
  if (b[q] !== 0x10 || b[q + 1] !== 0 || u16(b, q + 2) < DICOM_UID_ROOT.length || u16(b, q + 2) > 64) return 0;
  return has(b, q + 4, end, DICOM_UID_ROOT) ? DICOM : 0;
}

/**
 * IEEE C37.118.2-2011 synchrophasor frames (§6.2, Table 2; the CRC of Annex B): SYNC - 0xAA, then a reserved bit,
 * the frame type (data 0, header 1, configuration 1-3: 2, 3, 5, command 4) and the version (1: 2005, 2: 2011);
 * FRAMESIZE, the whole frame's length (at least 16 for the header fields and CHK); and CHK, the CRC-CCITT
 * (polynomial 0x1021, initial 0xFFFF) of everything before it. The frames walk exactly to the datagram's or the
 * segment's end.
 */
function c37118Frames(b: Uint8Array, p: number, end: number, datagram: boolean): number {
  let q = p;
  for (let k = 0; q < end && k < 8; k++) {
    if (end - q < 16 || b[q] !== 0xaa) return 0;
    const t = b[q + 1]!;
    const v = t & 0x0f;
    if ((t & 0x80) !== 0 || (t >> 4) > 5 || v < 1 || v > 2) return 0;
    const size = u16(b, q + 2);
    if (size < 16 || q + size > end || crcCcitt(b, q, q + size - 2) !== u16(b, q + size - 2)) return 0;
    q += size;
    if (datagram) break;
  }
  return q === end ? C37118 : 0;
}
function crcCcitt(b: Uint8Array, q: number, e: number): number {
  let crc = 0xffff;
  for (let i = q; i < e; i++) {
    crc ^= b[i]! << 8;
    for (let k = 0; k < 8; k++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/**
 * Beckhoff ADS over AMS/TCP on its port 48898 (Beckhoff Information System, "ADS-Intro": AMS/TCP Packet, AMS Header):
 * two reserved zero bytes and the little-endian length of the rest of the segment, then the 32-byte AMS header - the
 * target and source AMSNetId and ports, a command id of ADS (1-9), state flags with the ADS command bit (0x0004) and
 * only defined bits, the data length (the rest, after the header), an error code and an invoke id.
 */
function amsTcp(b: Uint8Array, p: number, end: number): number {
  if (end - p < 38 || b[p] !== 0 || b[p + 1] !== 0) return 0;
  const len = i32le(b, p + 2);
  if (len !== end - p - 6) return 0;
  const h = p + 6;
  const cmd = u16le(b, h + 16);
  const flags = u16le(b, h + 18);
  const dlen = i32le(b, h + 20);
  return cmd >= 1 && cmd <= 9 && (flags & 0x0004) !== 0 && (flags & ~0x00ff) === 0 && dlen === len - 32 ? BECKHOFF_ADS : 0;
}

/**
 * Check Point's cluster protocol (CPHA / CCP) on its port 8116 (Check Point's "ClusterXL" documentation names the
 * port; the header as Wireshark's `cpha` dissector documents it): the magic 0x1A90, a protocol version, the cluster
 * number, an opcode of the protocol (FWHA_MY_STATE 1 ... FWHAP_SYNC 10), then the source interface, a random id, the
 * source and destination machine ids (and from version 6 a policy id and filler): at least 16 bytes.
 */
function cphaHeader(b: Uint8Array, p: number, end: number): number {
  if (end - p < 16 || b[p] !== 0x1a || b[p + 1] !== 0x90) return 0;
  const op = u16(b, p + 6);
  return u16(b, p + 2) !== 0 && op >= 1 && op <= 10 ? CPHA : 0;
}

/**
 * HiSLIP on its port 4880 (IVI Foundation, IVI-6.1 "High-Speed LAN Instrument Protocol" 2.0, §2.5 message format):
 * the prologue `HS`, a message type (Initialize 0 ... the 2.0 security messages, at most 37), a control code, the
 * 4-byte message parameter and the 8-byte payload length, which fills the rest of the segment (a Data or DataEnd
 * message, 6 and 7, may run on past it).
 */
function hislipMessage(b: Uint8Array, p: number, end: number): number {
  if (end - p < 16 || b[p] !== 0x48 || b[p + 1] !== 0x53 || b[p + 2]! > 37 || i32(b, p + 8) !== 0) return 0;
  const len = i32(b, p + 12);
  if (len < 0) return 0;
  const rest = end - p - 16;
  return len === rest || (len > rest && (b[p + 2] === 6 || b[p + 2] === 7)) ? HISLIP : 0;
}

/**
 * OpenFlow on its ports 6653 (IANA) and 6633 (before it) (Open Networking Foundation, "OpenFlow Switch
 * Specification" 1.0-1.5, ofp_header): messages of one wire version (0x01-0x06), a type the specification defines
 * (HELLO 0 ... at most 35 in 1.5), a length of at least the 8-byte header, and a transaction id, walking exactly to
 * the segment's end.
 */
function openflowMessages(b: Uint8Array, p: number, end: number): number {
  const v = b[p]!;
  if (v < 1 || v > 6) return 0;
  let q = p;
  for (let k = 0; q < end && k < 64; k++) {
    if (end - q < 8 || b[q] !== v || b[q + 1]! > 35) return 0;
    const len = u16(b, q + 2);
    if (len < 8) return 0;
    q += len;
  }
  return q === end ? OPENFLOW : 0;
}

/**
 * AYIYA on its port 5072 (draft-massar-v6ops-ayiya-02 §5, "Anything In Anything"): the identity's length (2^IDLen
 * bytes, at most 256 here) and type (none 0 with no identity, integer 1, string 2), the signature's length in words
 * matching its hash (none 0, MD5 1: 4 words, SHA-1 2: 5 words), the authentication method (0-2) and opcode (NOOP 0 ...
 * Query Response 7), the next header (IPv6 41, or none 59), the epoch time, the identity and the signature within
 * the datagram; an IPv6 payload's length fills the datagram.
 */
function ayiyaPacket(b: Uint8Array, p: number, end: number): number {
  if (end - p < 8) return 0;
  const idLen = b[p]! >> 4;
  const idType = b[p]! & 0x0f;
  const sigLen = b[p + 1]! >> 4;
  const hash = b[p + 1]! & 0x0f;
  const auth = b[p + 2]! >> 4;
  const nh = b[p + 3]!;
  if (idLen > 8 || idType > 2 || (idType === 0 && idLen !== 0) || auth > 2 || (b[p + 2]! & 0x0f) > 7) return 0;
  if (!((hash === 0 && sigLen === 0) || (hash === 1 && sigLen === 4) || (hash === 2 && sigLen === 5))) return 0;
  const q = p + 8 + (idType === 0 ? 0 : 1 << idLen) + 4 * sigLen;
  if (q > end) return 0;
  if (nh === 59) return AYIYA;
  return nh === 41 && end - q >= 40 && b[q]! >> 4 === 6 && u16(b, q + 4) === end - q - 40 ? AYIYA : 0;
}

const FIX_BEGIN = ascii('8=FIX');

/**
 * A FIX message (FIX Trading Community, FIX 4.x and FIXT 1.1 session layer, "Standard Message Header"): the first
 * three fields are always BeginString (tag 8: `FIX.4.0`-`FIX.4.4` or `FIXT.1.1`), BodyLength (tag 9, digits) and
 * MsgType (tag 35, one or two characters), each `tag=value` ending in SOH (0x01).
 */
function fixMessage(b: Uint8Array, p: number, end: number): number {
  if (end - p < 24 || !has(b, p, end, FIX_BEGIN)) return 0;
  let q = p + 5;
  if (b[q] === 0x2e && isDigit(b[q + 1]!) && b[q + 2] === 0x2e && isDigit(b[q + 3]!)) q += 4; // FIX.4.x
  else if (b[q] === 0x54 && b[q + 1] === 0x2e && isDigit(b[q + 2]!) && b[q + 3] === 0x2e && isDigit(b[q + 4]!)) q += 5; // FIXT.1.1
  else return 0;
  if (b[q] !== 0x01 || b[q + 1] !== 0x39 || b[q + 2] !== 0x3d) return 0; // SOH 9=
  q += 3;
  const digits = q;
  while (q < end && q - digits < 7 && isDigit(b[q]!)) q++;
  if (q === digits || b[q] !== 0x01) return 0;
  if (b[q + 1] !== 0x33 || b[q + 2] !== 0x35 || b[q + 3] !== 0x3d) return 0; // 35=
  q += 4;
  const type = q;
  while (q < end && q - type < 3 && b[q] !== 0x01) {
    const c = b[q]!;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) return 0;
    q++;
  }
  return q > type && q < end && q - type <= 2 && b[q] === 0x01 ? FIX : 0;
}
