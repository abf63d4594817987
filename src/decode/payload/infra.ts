/**
 * Payload-protocol rules for network infrastructure, discovery, IoT and smart home, storage and messaging
 * middleware. Reached by one line of payload-protocol.ts's matchTcp / matchUdp (infraTcp / infraUdp), after the
 * groups above it there, so none of them takes a packet an earlier rule names.
 */
import { u16, i32, i32le, ascii, port, has, hasNoCase, find, isDigit, berLength, berBody } from './bytes.js';
import { PayloadProtocol } from './protocols.js';

const P = PayloadProtocol as Record<string, number>;
const HSRP = P['HSRP']!;
const WSD = P['WSD']!;
const TEREDO = P['Teredo']!;
const CAPWAP = P['CAPWAP']!;
const LISP = P['LISP']!;
const UBNTAC2 = P['UBNTAC2']!;
const TUYALP = P['TuyaLP']!;
const TPLINK_SHP = P['TPLINK_SHP']!;
const ZEROMQ = P['ZeroMQ']!;
const COLLECTD = P['collectd']!;
const FASTCGI = P['FastCGI']!;
const BJNP = P['BJNP']!;
const JRMI = P['JRMI']!;
const CORBA = P['Corba']!;
const LDP = P['LDP']!;
const TIVOCONNECT = P['TiVoConnect']!;
const Z3950 = P['Z3950']!;
const DROPBOX = P['Dropbox']!;
const S7COMM = P['s7comm']!;
const SYNCTHING = P['Syncthing']!;
const RX = P['RX']!;
const ROUGHTIME = P['Roughtime']!;

/** The infrastructure and middleware rules over TCP, each guarding itself by its first bytes or its port. */
export function infraTcp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  let r = 0;
  if (b0 === 0xff) r = zmtpGreeting(b, p, end);
  else if (b0 === 0x4a || b0 === 0x4e) r = jrmiHandshake(b, p, end);
  else if (b0 === 0x47) r = giopMessage(b, p, end, false);
  else if (b0 === 0x01) r = fastcgiBegin(b, p, end);
  else if (b0 === 0x42 || b0 === 0x4d) r = bjnpHeader(b, p, end);
  if (r !== 0) return r;
  if (port(sp, dp, 9999)) r = tplinkShp(b, p, end, true);
  else if (port(sp, dp, 6668)) r = tuyaFrame(b, p, end);
  else if (port(sp, dp, 646)) r = ldpPdus(b, p, end);
  else if (port(sp, dp, 2190)) r = tivoBeacon(b, p, end);
  else if (port(sp, dp, 210)) r = z3950Pdu(b, p, end);
  else if (port(sp, dp, 102)) r = s7commPdu(b, p, end);
  return r;
}

/** The same over UDP. */
export function infraUdp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  let r = 0;
  if (b0 === 0x42 || b0 === 0x4d) r = bjnpHeader(b, p, end);
  else if (b0 === 0x47) r = giopMessage(b, p, end, true);
  if (r === 0 && b0 === 0x4d) r = miopPacket(b, p, end);
  if (r === 0 && b0 === 0x52) r = roughtimePacket(b, p, end);
  if (r !== 0) return r;
  if (port(sp, dp, 1985)) r = hsrp(b, p, end);
  else if (port(sp, dp, 3702)) r = wsDiscovery(b, p, end);
  else if (port(sp, dp, 3544)) r = teredo(b, p, end);
  else if (port(sp, dp, 5246)) r = capwap(b, p, end, true);
  else if (port(sp, dp, 5247)) r = capwap(b, p, end, false);
  else if (port(sp, dp, 4342)) r = lispControl(b, p, end);
  else if (port(sp, dp, 10001)) r = ubntDiscovery(b, p, end, dp === 10001);
  else if (port(sp, dp, 6666) || port(sp, dp, 6667)) r = tuyaFrame(b, p, end);
  else if (port(sp, dp, 9999)) r = tplinkShp(b, p, end, false);
  else if (port(sp, dp, 25826)) r = collectdParts(b, p, end);
  else if (port(sp, dp, 646)) r = ldpPdus(b, p, end);
  else if (port(sp, dp, 2190)) r = tivoBeacon(b, p, end);
  else if (sp === 17500 && dp === 17500) r = dropboxLanSync(b, p, end);
  else if (port(sp, dp, 21027)) r = syncthingAnnounce(b, p, end);
  else if ((sp >= 7000 && sp <= 7009) || (dp >= 7000 && dp <= 7009)) r = rxPacket(b, p, end);
  else if (port(sp, dp, 2002)) r = roughtimeMessage(b, p, end) ? ROUGHTIME : 0;
  return r;
}

/**
 * HSRP on its port 1985. Version 1 (RFC 2281 §5): 20 bytes - version 0, op code Hello, Coup or Resign (0-2), a
 * state of §5 (Initial 0, Learn 1, Listen 2, Speak 4, Standby 8, Active 16), hello and hold times, priority, group,
 * a reserved byte, 8 bytes of authentication data and the virtual address - alone, or followed by TLVs (Cisco's MD5
 * authentication) walking exactly to the datagram's end. Version 2 (Cisco, "HSRP Version 2"): TLVs walking exactly
 * to the end, the first a Group State TLV (type 1, length 40) of version 2, op code 0-2, state 0-6, IP version 4 or 6.
 */
function hsrp(b: Uint8Array, p: number, end: number): number {
  if (end - p < 20) return 0;
  if (b[p] === 0) {
    const s = b[p + 2]!;
    if (b[p + 1]! > 2 || !(s === 0 || s === 1 || s === 2 || s === 4 || s === 8 || s === 16)) return 0;
    return hsrpTlvs(b, p + 20, end) ? HSRP : 0;
  }
  if (b[p] !== 1 || b[p + 1] !== 40 || end - p < 42 || b[p + 2] !== 2 || b[p + 3]! > 2 || b[p + 4]! > 6 || (b[p + 5] !== 4 && b[p + 5] !== 6)) return 0;
  return hsrpTlvs(b, p, end) ? HSRP : 0;
}
function hsrpTlvs(b: Uint8Array, q: number, end: number): boolean {
  for (let k = 0; q < end && k < 8; k++) {
    if (end - q < 2 || b[q] === 0 || b[q]! > 4) return false;
    q += 2 + b[q + 1]!;
  }
  return q === end;
}

/**
 * WS-Discovery on its port 3702 (OASIS "Web Services Dynamic Discovery" 1.1 §2.4, SOAP over UDP): a SOAP envelope
 * (`<?xml` or the `<...Envelope` element first) naming the discovery namespace of version 1.1
 * (`docs.oasis-open.org/ws-dd/ns/discovery/2009/01`) or of the 2005 draft (`schemas.xmlsoap.org/ws/2005/04/discovery`).
 */
const WSD_NS_11 = ascii('ws-dd/ns/discovery/2009/01');
const WSD_NS_2005 = ascii('ws/2005/04/discovery');
const XML_DECL = ascii('<?xml');
const ENVELOPE = ascii('Envelope');
function wsDiscovery(b: Uint8Array, p: number, end: number): number {
  if (end - p < 64 || b[p] !== 0x3c) return 0;
  const env = find(b, p, end, 256, ENVELOPE);
  if (env < 0 || (!has(b, p, end, XML_DECL) && env > p + 32)) return 0;
  return find(b, env, end, 2048, WSD_NS_11) > 0 || find(b, env, end, 2048, WSD_NS_2005) > 0 ? WSD : 0;
}

/**
 * Teredo on its port 3544 (RFC 4380 §5.1.1): an IPv6 packet whose payload length fills the rest of the datagram,
 * after the optional authentication indicator (0x0001, ID and authentication lengths, the client ID, the
 * authentication value, an 8-byte nonce and the confirmation byte) and origin indication (0x0000, port, address).
 */
function teredo(b: Uint8Array, p: number, end: number): number {
  let q = p;
  if (end - q >= 13 && b[q] === 0 && b[q + 1] === 1) q += 13 + b[q + 2]! + b[q + 3]!;
  if (end - q >= 8 && b[q] === 0 && b[q + 1] === 0) q += 8;
  return end - q >= 40 && b[q]! >> 4 === 6 && u16(b, q + 4) === end - q - 40 ? TEREDO : 0;
}

/**
 * CAPWAP on its ports 5246 (control) and 5247 (data) (RFC 5415): a DTLS-protected packet - the preamble of version 0
 * and type 1 with 3 reserved zero bytes (§4.2), then a DTLS record header (content type 20-23, version 1.0 or 1.2) -
 * or a clear packet whose header (§4.3) has preamble 0, an HLEN of at least 2 words within the datagram, the F bit
 * and the reserved flags clear and a Wireless Binding ID of 0, 1 or 3. On the control port the T bit is clear and a
 * control message follows (§4.5): a message type of the IANA enterprise 0 (1-26, §4.5.1), the Message Element Length
 * counting what follows the sequence number, flags 0, and message elements (type, length) walking exactly to the
 * end. On the data port (§4.4): a keep-alive (the K bit, T clear) - the length of its message elements, which walk
 * exactly to the end - or an IEEE 802.11 frame in its native format (T set, binding 1; RFC 5416 §3) whose frame
 * control has protocol version 0 and a defined type.
 */
function capwap(b: Uint8Array, p: number, end: number, control: boolean): number {
  if (end - p < 12) return 0;
  if (b[p] === 0x01) {
    const t = b[p + 4]!;
    return b[p + 1] === 0 && b[p + 2] === 0 && b[p + 3] === 0 && t >= 20 && t <= 23 && b[p + 5] === 0xfe && (b[p + 6] === 0xff || b[p + 6] === 0xfd) ? CAPWAP : 0;
  }
  if (b[p] !== 0) return 0;
  const w = i32(b, p);
  const hlen = ((w >> 19) & 0x1f) * 4;
  const wbid = (w >> 9) & 0x1f;
  const native = (w & 0x100) !== 0;
  if (hlen < 8 || (w & 0x87) !== 0 || !(wbid <= 1 || wbid === 3) || end - p < hlen + 2) return 0;
  const q = p + hlen;
  if (!control) {
    if ((w & 0x08) !== 0) return !native && u16(b, q) === end - q - 2 && capwapElements(b, q + 2, end) ? CAPWAP : 0;
    return native && wbid === 1 && (b[q]! & 0x03) === 0 && (b[q]! & 0x0c) !== 0x0c ? CAPWAP : 0;
  }
  if (native || end - q < 8) return 0;
  const type = i32(b, q);
  return type >= 1 && type <= 26 && b[q + 7] === 0 && u16(b, q + 5) === end - q - 5 && capwapElements(b, q + 8, end) ? CAPWAP : 0;
}
function capwapElements(b: Uint8Array, e: number, end: number): boolean {
  for (let k = 0; e < end && k < 64; k++) {
    if (end - e < 4) return false;
    e += 4 + u16(b, e + 2);
  }
  return e === end;
}

/**
 * LISP control messages on port 4342 (RFC 9301 §5): Map-Register (type 3) and Map-Notify (4) - a record count ≥ 1,
 * the 8-byte nonce, a Key ID and an Algorithm ID (RFC 6833's 16-bit Key ID 0-2 reads the same) of none (0, no
 * authentication data), HMAC-SHA-1-96 (1: 12 or 20 bytes) or HMAC-SHA-256-128 (2: 16 or 32 bytes) with that
 * authentication data length, then EID records; Map-Reply (2) - a record count ≥ 1, the nonce,
 * EID records; each record (§5.4) a TTL, a locator count, an EID mask length within its AFI (IPv4 1: 32, IPv6 2: 128),
 * and that many locators (§5.4: priorities, weights, flags, an IPv4 or IPv6 locator), the records walking exactly to
 * the datagram's end (or to the 16-byte xTR-ID and 8-byte site-ID that end a Map-Register or Map-Notify with the I
 * bit, §5.6). An Encapsulated Control Message (type 8, §5.8): its 4-byte header, then an IPv4 header (version
 * 4, IHL 5, total length filling the datagram) carrying UDP to port 4342.
 */
function lispControl(b: Uint8Array, p: number, end: number): number {
  if (end - p < 12) return 0;
  const type = b[p]! >> 4;
  if (type === 8) {
    const q = p + 4;
    return end - q >= 28 && b[q] === 0x45 && u16(b, q + 2) === end - q && b[q + 9] === 17 && u16(b, q + 22) === 4342 ? LISP : 0;
  }
  const count = b[p + 3]!;
  if (count < 1 || count > 32) return 0;
  let q = p + 12;
  let last = end;
  if (type === 3 || type === 4) {
    if (end - q < 4) return 0;
    const alg = b[q + 1]!;
    const alen = u16(b, q + 2);
    if (!((alg === 0 && alen === 0) || (alg === 1 && (alen === 12 || alen === 20)) || (alg === 2 && (alen === 16 || alen === 32)))) return 0;
    q += 4 + alen;
    if ((b[p]! & (type === 3 ? 0x02 : 0x08)) !== 0) last = end - 24; // the I bit: the xTR-ID and site-ID end the message
  } else if (type !== 2) return 0;
  for (let k = 0; k < count; k++) {
    q = lispRecord(b, q, last);
    if (q < 0) return 0;
  }
  return q === last ? LISP : 0;
}
function lispRecord(b: Uint8Array, q: number, end: number): number {
  if (end - q < 12) return -1;
  const locators = b[q + 4]!;
  const mask = b[q + 5]!;
  const afi = u16(b, q + 10);
  if (afi === 1 ? mask > 32 : afi === 2 ? mask > 128 : true) return -1;
  q += 12 + (afi === 1 ? 4 : 16);
  for (let k = 0; k < locators; k++) {
    if (end - q < 8) return -1;
    const lafi = u16(b, q + 6);
    if (lafi !== 1 && lafi !== 2) return -1;
    q += 8 + (lafi === 1 ? 4 : 16);
  }
  return q <= end ? q : -1;
}

/**
 * Ubiquiti's device discovery on port 10001 (the UBNT discovery protocol, as Wireshark's `ubdp` dissector documents
 * it): version 1 or 2, a command, the length of what follows, then TLVs (1-byte type, 2-byte length) walking exactly
 * to the datagram's end; or the version-1 discovery request `01 00 00 00` to the port.
 */
function ubntDiscovery(b: Uint8Array, p: number, end: number, toPort: boolean): number {
  if (end - p < 4 || (b[p] !== 1 && b[p] !== 2) || u16(b, p + 2) !== end - p - 4) return 0;
  if (end - p === 4) return toPort && b[p] === 1 && b[p + 1] === 0 ? UBNTAC2 : 0;
  let q = p + 4;
  let n = 0;
  for (; q < end && n < 64; n++) {
    if (end - q < 3 || b[q] === 0) return 0;
    q += 3 + u16(b, q + 1);
  }
  return q === end && n >= 2 ? UBNTAC2 : 0;
}

/**
 * Tuya's LAN protocol (Tuya, "Local area network communication" of its device protocol; the 3.1-3.4 frames and 3.5's,
 * as the tinytuya project documents them) on UDP 6666/6667 and TCP 6668: one frame filling the datagram or segment -
 * the prefix 0x000055AA, a sequence number, a command, the length of the rest (return code, payload, CRC or HMAC,
 * suffix) and the suffix 0x0000AA55; in 3.5, prefix 0x00006699, 2 unknown bytes, sequence, command, the length and
 * the suffix 0x00009966.
 */
function tuyaFrame(b: Uint8Array, p: number, end: number): number {
  if (end - p < 24 || b[p] !== 0 || b[p + 1] !== 0) return 0;
  if (b[p + 2] === 0x55 && b[p + 3] === 0xaa) {
    return i32(b, p + 12) === end - p - 16 && i32(b, end - 4) === 0x0000aa55 ? TUYALP : 0;
  }
  if (b[p + 2] === 0x66 && b[p + 3] === 0x99) {
    return i32(b, p + 14) === end - p - 18 && i32(b, end - 4) === 0x00009966 ? TUYALP : 0;
  }
  return 0;
}

/**
 * TP-Link's smart-home protocol on port 9999 (softScheck, "Reverse Engineering the TP-Link HS110", 2016): JSON
 * enciphered with an autokey XOR (key 171, then each cipher byte is the next key), over TCP behind a 4-byte length
 * equal to the rest of the segment. The plain text must be a JSON object: `{"`, then printable text, and `}` last.
 */
function tplinkShp(b: Uint8Array, p: number, end: number, tcp: boolean): number {
  let q = p;
  if (tcp) {
    if (end - p < 8 || i32(b, p) !== end - p - 4) return 0;
    q += 4;
  }
  if (end - q < 4 || b[q] !== 0xd0 || b[q + 1] !== 0xf2) return 0; // `{"` under keys 171 and 0xd0
  let key = 171;
  let c = 0;
  for (let i = q; i < end; i++) {
    c = b[i]! ^ key;
    key = b[i]!;
    if (c < 0x20 || c > 0x7e) {
      if (c !== 0x0a && c !== 0x0d && c !== 0x09) return 0;
    }
  }
  return c === 0x7d ? TPLINK_SHP : 0;
}

/**
 * ZeroMQ's ZMTP greeting (ZMTP 3.0, rfc.zeromq.org 23; 3.1, 37; the 2.0 signature it keeps, 15): the signature 0xFF,
 * 8 padding bytes (zeros, the last one 0 or 1) and 0x7F, alone or followed by the major version (3, or 1 for ZMTP
 * 2.0); a whole ZMTP 3 greeting (64 bytes) also carries its minor version (0, 1), a mechanism name (`NULL`, `PLAIN`,
 * `CURVE`... upper-case letters, digits, `-_.+`, zero-padded to 20 bytes), as-server 0 or 1 and 31 zero bytes.
 */
function zmtpGreeting(b: Uint8Array, p: number, end: number): number {
  if (end - p < 10 || b[p + 9] !== 0x7f || b[p + 8]! > 1) return 0;
  for (let i = p + 1; i < p + 8; i++) if (b[i] !== 0) return 0;
  if (end - p === 10) return ZEROMQ;
  const major = b[p + 10]!;
  if (major !== 3 && major !== 1) return 0;
  if (end - p === 11 || major === 1) return end - p <= 14 ? ZEROMQ : 0;
  if (end - p === 12) return b[p + 11]! <= 1 ? ZEROMQ : 0;
  if (end - p < 64 || b[p + 11]! > 1) return 0;
  let i = p + 12;
  for (; i < p + 32 && b[i] !== 0; i++) {
    const c = b[i]!;
    if (!((c >= 0x41 && c <= 0x5a) || isDigit(c) || c === 0x2d || c === 0x5f || c === 0x2e || c === 0x2b)) return 0;
  }
  if (i === p + 12) return 0;
  for (; i < p + 32; i++) if (b[i] !== 0) return 0;
  if (b[p + 32]! > 1) return 0;
  for (i = p + 33; i < p + 64; i++) if (b[i] !== 0) return 0;
  return ZEROMQ;
}

/**
 * collectd's binary network protocol on its port 25826 (collectd wiki, "Binary protocol"): parts walking exactly to
 * the datagram's end, at least two, each a known type (host 0, time 1, plugin 2, plugin instance 3, type 4, type
 * instance 5, values 6, interval 7, high-resolution time 8 and interval 9, message 0x100, severity 0x101, signature
 * 0x200, encryption 0x210) and a length counting its 4-byte header: 12 for the numbers, 6 + 9 × count for values,
 * a zero-terminated string for the names.
 */
function collectdParts(b: Uint8Array, p: number, end: number): number {
  let q = p;
  let n = 0;
  for (; q < end && n < 256; n++) {
    if (end - q < 5) return 0;
    const type = u16(b, q);
    const len = u16(b, q + 2);
    if (len < 5 || len > end - q) return 0;
    if (type === 1 || type === 7 || type === 8 || type === 9 || type === 0x101) {
      if (len !== 12) return 0;
    } else if (type === 6) {
      if (len !== 6 + 9 * u16(b, q + 4)) return 0;
    } else if (type <= 5 || type === 0x100) {
      if (b[q + len - 1] !== 0) return 0;
    } else if (type !== 0x200 && type !== 0x210) return 0;
    q += len;
  }
  return q === end && n >= 2 ? COLLECTD : 0;
}

/**
 * FastCGI (Open Market, "FastCGI Specification" 1.0, §8): the web server's first record, FCGI_BEGIN_REQUEST - version
 * 1, type 1, a request id ≥ 1, content length 8, a reserved zero byte; its body a role (Responder 1, Authorizer 2,
 * Filter 3), flags 0 or 1 (FCGI_KEEP_CONN) and 5 reserved zero bytes - ending the segment or followed by the next
 * record of the request (version 1, FCGI_PARAMS 4 or FCGI_STDIN 5, the same request id).
 */
function fastcgiBegin(b: Uint8Array, p: number, end: number): number {
  if (end - p < 16 || b[p + 1] !== 1 || u16(b, p + 2) === 0 || u16(b, p + 4) !== 8 || b[p + 7] !== 0) return 0;
  const role = u16(b, p + 8);
  if (role < 1 || role > 3 || b[p + 10]! > 1) return 0;
  for (let i = p + 11; i < p + 16; i++) if (b[i] !== 0) return 0;
  const q = p + 16 + b[p + 6]!;
  if (q === end) return FASTCGI;
  return end - q >= 8 && b[q] === 1 && (b[q + 1] === 4 || b[q + 1] === 5) && u16(b, q + 2) === u16(b, p + 2) ? FASTCGI : 0;
}

/**
 * Canon's BJNP (printer and scanner discovery and commands on ports 8611-8614, as the cups-bjnp project documents
 * it): the magic `BJNP` (or `MFNP` of the multi-function devices), a device type (printer 0x01, scanner 0x02; 0x81,
 * 0x82 in replies), a command code, error, sequence and session fields, and the payload length: the rest of the
 * datagram or segment.
 */
const BJNP_MAGIC = ascii('BJNP');
const MFNP_MAGIC = ascii('MFNP');
function bjnpHeader(b: Uint8Array, p: number, end: number): number {
  if (end - p < 16 || (!has(b, p, end, BJNP_MAGIC) && !has(b, p, end, MFNP_MAGIC))) return 0;
  const t = b[p + 4]! & 0x7f;
  return (t === 1 || t === 2) && i32(b, p + 12) === end - p - 16 ? BJNP : 0;
}

/**
 * Java RMI's transport (Java RMI Specification §10.2): the client's header `JRMI`, version 1 or 2 and a protocol
 * (StreamProtocol 0x4B, SingleOpProtocol 0x4C, MultiplexProtocol 0x4D), alone or followed by a message (Call 0x50,
 * Ping 0x52, DgcAck 0x54); the server's ProtocolAck (0x4E) with the client's host as a Java UTF string (printable,
 * at most 255 bytes) and its port, filling the segment exactly. (ProtocolNotSupported, the one byte 0x4F, says too
 * little.)
 */
const JRMI_MAGIC = ascii('JRMI');
function jrmiHandshake(b: Uint8Array, p: number, end: number): number {
  if (b[p] === 0x4e) {
    if (end - p < 8) return 0;
    const n = u16(b, p + 1);
    if (n < 1 || n > 255 || end - p !== 3 + n + 4) return 0;
    for (let i = p + 3; i < p + 3 + n; i++) if (b[i]! < 0x21 || b[i]! > 0x7e) return 0;
    return JRMI;
  }
  if (end - p < 7 || !has(b, p, end, JRMI_MAGIC) || b[p + 4] !== 0 || (b[p + 5] !== 1 && b[p + 5] !== 2) || b[p + 6]! < 0x4b || b[p + 6]! > 0x4d) return 0;
  return end - p === 7 || b[p + 7] === 0x50 || b[p + 7] === 0x52 || b[p + 7] === 0x54 ? JRMI : 0;
}

/**
 * CORBA's GIOP (OMG, CORBA 3.3 Part 2, §9.4.1 "GIOP Message Header"): `GIOP`, version 1.0-1.3, flags (the byte order
 * bit; from 1.1 also the fragment bit; the rest clear), a message type of the version (Request 0 ... MessageError 6,
 * Fragment 7 from 1.1) and the message size in the flagged byte order: the rest of the segment, or more when the
 * message runs on (at most 16 MiB); over UDP (GIOP is transport-independent, §9.2), exactly the rest of the datagram.
 */
const GIOP_MAGIC = ascii('GIOP');
function giopMessage(b: Uint8Array, p: number, end: number, datagram: boolean): number {
  if (end - p < 12 || !has(b, p, end, GIOP_MAGIC) || b[p + 4] !== 1 || b[p + 5]! > 3) return 0;
  const minor = b[p + 5]!;
  const flags = b[p + 6]!;
  if (flags > (minor === 0 ? 1 : 3) || b[p + 7]! > (minor === 0 ? 6 : 7)) return 0;
  const size = flags & 1 ? i32le(b, p + 8) : i32(b, p + 8);
  return datagram ? (size === end - p - 12 ? CORBA : 0) : size >= end - p - 12 && size <= 1 << 24 ? CORBA : 0;
}

/**
 * CORBA's MIOP (OMG, "Unreliable Multicast Inter-ORB Protocol" 1.0, PacketHeader_1_0), GIOP's datagram transport:
 * `MIOP`, header version 1.0 (0x10), flags of byte order and last fragment only, then in that byte order the packet
 * length, the packet number, below the number of packets, and the unique id's length (at most 252) with its bytes,
 * all within the datagram.
 */
const MIOP_MAGIC = ascii('MIOP');
function miopPacket(b: Uint8Array, p: number, end: number): number {
  if (end - p < 20 || !has(b, p, end, MIOP_MAGIC) || b[p + 4] !== 0x10 || b[p + 5]! > 3) return 0;
  const le = (b[p + 5]! & 1) !== 0;
  const count = le ? i32le(b, p + 12) : i32(b, p + 12);
  const index = le ? i32le(b, p + 8) : i32(b, p + 8);
  const idLen = le ? i32le(b, p + 16) : i32(b, p + 16);
  return count >= 1 && index >= 0 && index < count && idLen >= 0 && idLen <= 252 && 20 + idLen <= end - p ? CORBA : 0;
}

/**
 * LDP on its port 646 (RFC 5036 §3.1, §3.5): PDUs of version 1 whose PDU length (after the version and length
 * fields) walks exactly to the end, each an LSR id and label space then messages - a type of RFC 5036 §3.7
 * (Notification 0x0001, Hello 0x0100, Initialization 0x0200, KeepAlive 0x0201, Address 0x0300/0x0301, the label
 * messages 0x0400-0x0404) with the U bit, its length (≥ 4, for the message id) - filling the PDU exactly.
 */
function ldpPdus(b: Uint8Array, p: number, end: number): number {
  let q = p;
  for (let k = 0; q < end && k < 16; k++) {
    if (end - q < 14 || u16(b, q) !== 1) return 0;
    const pduEnd = q + 4 + u16(b, q + 2);
    if (pduEnd > end) return 0;
    let m = q + 10;
    for (let j = 0; m < pduEnd && j < 64; j++) {
      if (pduEnd - m < 8) return 0;
      const t = u16(b, m) & 0x7fff;
      if (!(t === 0x0001 || t === 0x0100 || t === 0x0200 || t === 0x0201 || t === 0x0300 || t === 0x0301 || (t >= 0x0400 && t <= 0x0404))) return 0;
      const len = u16(b, m + 2);
      if (len < 4) return 0;
      m += 4 + len;
    }
    if (m !== pduEnd) return 0;
    q = pduEnd;
  }
  return q === end ? LDP : 0;
}

/**
 * TiVo Connect discovery on its port 2190 (TiVo Inc., "TiVo Connect Automatic Machine Discovery Protocol"): the
 * beacon, lines of `key=value`, the first `tivoconnect=` and a version number.
 */
const TIVOCONNECT_KEY = ascii('TIVOCONNECT=');
function tivoBeacon(b: Uint8Array, p: number, end: number): number {
  return hasNoCase(b, p, end, TIVOCONNECT_KEY) && end - p > TIVOCONNECT_KEY.length && isDigit(b[p + TIVOCONNECT_KEY.length]!) ? TIVOCONNECT : 0;
}

/**
 * Z39.50 on its port 210 (ANSI/NISO Z39.50-2003, §3.2 and its ASN.1 in Appendix 1): one BER-encoded PDU filling the
 * segment exactly, tagged as one of the protocol's APDUs (initRequest [20] ... close [48], context-specific and
 * constructed: 0xB4-0xBF, or 0xBF with the high tag numbers 31-48), whose first element is context-specific.
 */
function z3950Pdu(b: Uint8Array, p: number, end: number): number {
  if (end - p < 4) return 0;
  const t = b[p]!;
  let q = p + 1;
  if (t === 0xbf) {
    if (b[q]! < 31 || b[q]! > 48) return 0;
    q++;
  } else if (t < 0xb4 || t > 0xbe) return 0;
  if (berLength(b, q, end) !== end) return 0;
  const v = berBody(b, q);
  return v < end && (b[v]! & 0xc0) === 0x80 ? Z3950 : 0;
}

/**
 * Dropbox's LAN sync discovery (UDP broadcasts from and to port 17500, the `db-lsp-disc` announcement Wireshark
 * documents): one JSON object naming the client's `"host_int"` and the announcement's `"version"`.
 */
const DROPBOX_HOST_INT = ascii('"host_int"');
const DROPBOX_VERSION = ascii('"version"');
function dropboxLanSync(b: Uint8Array, p: number, end: number): number {
  if (end - p < 32 || b[p] !== 0x7b || b[p + 1] !== 0x22) return 0;
  let e = end - 1;
  while (e > p && (b[e] === 0x0a || b[e] === 0x0d || b[e] === 0x20)) e--;
  return b[e] === 0x7d && find(b, p, end, 1024, DROPBOX_HOST_INT) > 0 && find(b, p, end, 1024, DROPBOX_VERSION) > 0 ? DROPBOX : 0;
}

/**
 * S7 communication (Siemens S7comm) on ISO-TSAP's port 102: a TPKT (RFC 1006 §6: version 3, reserved 0, a length
 * filling the segment exactly) carrying an ISO 8073 data TPDU (length indicator 2, code 0xF0, the EOT bit with a TPDU
 * number) whose user data is an S7 PDU, as Siemens' S7 protocol is documented (the Snap7 project, Wireshark's
 * `s7comm` dissector): protocol id 0x32, a ROSCTR of Job 1, Ack 2, Ack_Data 3 or Userdata 7, a reserved zero word, the
 * PDU reference, and parameter and data lengths that, with the header (12 bytes for Ack and Ack_Data, which carry an
 * error class and code, else 10), fill the TPDU exactly.
 */
function s7commPdu(b: Uint8Array, p: number, end: number): number {
  if (end - p < 17 || b[p] !== 3 || b[p + 1] !== 0 || u16(b, p + 2) !== end - p) return 0;
  if (b[p + 4] !== 2 || b[p + 5] !== 0xf0 || b[p + 7] !== 0x32 || u16(b, p + 9) !== 0) return 0;
  const rosctr = b[p + 8]!;
  if (!(rosctr === 1 || rosctr === 2 || rosctr === 3 || rosctr === 7)) return 0;
  const header = rosctr === 2 || rosctr === 3 ? 12 : 10;
  return p + 7 + header + u16(b, p + 13) + u16(b, p + 15) === end ? S7COMM : 0;
}

/**
 * Syncthing's local discovery on its port 21027 (Syncthing documentation, "Local Discovery Protocol v4"): the magic
 * 0x2EA7D90B, then the Announce message in protocol buffers, opening with field 1, the device ID, of 32 bytes.
 */
function syncthingAnnounce(b: Uint8Array, p: number, end: number): number {
  return end - p >= 38 && i32(b, p) === 0x2ea7d90b && b[p + 4] === 0x0a && b[p + 5] === 32 ? SYNCTHING : 0;
}

/**
 * AFS's Rx RPC on the AFS ports 7000-7009 (file server, callback, protection, volume location, authentication, volume,
 * ..., as OpenAFS documents Rx's wire format, rx_packet.h): the 28-byte header - epoch (non-zero: the connection's
 * start time), connection id, call number, sequence, serial (non-zero), a packet type (data 1, ack 2, busy 3, abort 4,
 * ackall 5, challenge 6, response 7, debug 8, params 9, version 13), flags of the defined bits (client-initiated,
 * request-ack, last packet, more packets, slow start, jumbo: 0x3F), a security index of 0-3 and a service id; a data
 * packet carries a call number and sequence ≥ 1 and its payload.
 */
function rxPacket(b: Uint8Array, p: number, end: number): number {
  if (end - p < 28 || i32(b, p) === 0 || i32(b, p + 16) === 0 || b[p + 21]! > 0x3f || b[p + 23]! > 3) return 0;
  const type = b[p + 20]!;
  if (type === 1) return i32(b, p + 8) !== 0 && i32(b, p + 12) !== 0 && end - p > 28 ? RX : 0;
  return (type >= 2 && type <= 9) || type === 13 ? RX : 0;
}

/**
 * Roughtime (IETF draft-ietf-ntp-roughtime §5, and Google's original protocol, roughtime PROTOCOL.md): the IETF
 * packet - `ROUGHTIM`, then the little-endian length of the message that fills the rest of the datagram - or, on
 * the registered port 2002, the bare message of the original protocol. A message is a tag-value map, little-endian:
 * the number of tags (1-64), that many less one offsets (multiples of 4, non-decreasing, within the values), the tags
 * in strictly ascending order, then the values; its length is a multiple of 4.
 */
const ROUGHTIM = ascii('ROUGHTIM');
function roughtimePacket(b: Uint8Array, p: number, end: number): number {
  return end - p >= 20 && has(b, p, end, ROUGHTIM) && i32le(b, p + 8) === end - p - 12 && roughtimeMessage(b, p + 12, end) ? ROUGHTIME : 0;
}
function roughtimeMessage(b: Uint8Array, q: number, end: number): boolean {
  const len = end - q;
  const n = i32le(b, q);
  if (len < 8 || len % 4 !== 0 || n < 1 || n > 64 || 8 * n > len) return false;
  const values = len - 8 * n;
  let last = 0;
  for (let k = 1; k < n; k++) {
    const off = i32le(b, q + 4 * k);
    if (off < last || off % 4 !== 0 || off > values) return false;
    last = off;
  }
  const tags = q + 4 * n;
  // Tags compared as unsigned 32-bit numbers, kept in int32 range: flipping the sign bit preserves the order.
  for (let k = 1; k < n; k++) if ((i32le(b, tags + 4 * k) ^ 0x80000000) <= (i32le(b, tags + 4 * (k - 1)) ^ 0x80000000)) return false;
  return true;
}
