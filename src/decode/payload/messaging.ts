/**
 * Payload-protocol rules for messaging, VoIP, P2P and remote access (decode/payload-protocol.ts has the module's
 * rules of evidence; README "Payload protocol" lists what each rule checks). Reached through messagingTcp,
 * messagingUdpByPort and messagingUdp.
 */
import { u16, i32, i32le, ascii, port, has, isDigit } from './bytes.js';
import { PayloadProtocol } from './protocols.js';

const P = PayloadProtocol as Record<string, number>;
const TLS = P['TLS']!;

const WHATSAPP = P['WhatsApp']!;
const IAX = P['IAX']!;
const H323 = P['H323']!;
const SKINNY = P['CiscoSkinny']!;
const IRC = P['IRC']!;
const GNUTELLA = P['Gnutella']!;
const EDONKEY = P['eDonkey']!;
const XDMCP = P['XDMCP']!;
const DISCORD = P['Discord']!;
const MUMBLE = P['Mumble']!;
const TEAMVIEWER = P['TeamViewer']!;
const NOMACHINE = P['NoMachine']!;

/** The rules of this module for a TCP payload, tried after the core rules (payload-protocol.ts matchTcp). */
export function messagingTcp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  let r = 0;
  if (r === 0 && (b0 === 0x45 || b0 === 0x57)) r = whatsappHandshake(b, p, end, sp, dp);
  if (r === 0 && b0 === 0x03) r = h225Signalling(b, p, end);
  if (r === 0 && port(sp, dp, 2000)) r = skinnyMessages(b, p, end);
  if (r === 0 && (ircPort(sp) || ircPort(dp))) r = ircRegistration(b, p, end);
  if (r === 0 && b0 === 0x47) r = gnutellaHandshake(b, p, end);
  if (r === 0 && (b0 === 0xe3 || b0 === 0xc5)) r = edonkeyMessages(b, p, end);
  if (r === 0 && b0 === 0x6c && dp >= 6000 && dp <= 6005) r = x11Setup(b, p, end);
  if (r === 0 && b0 === 0x17 && port(sp, dp, 5938)) r = teamviewerTcp(b, p, end);
  if (r === 0 && b0 === 0x4e) r = nomachineHello(b, p, end);
  return r;
}

/** Those of them tied to a registered UDP port: the last branch of matchUdp's per-port rules (no port of theirs is an earlier branch's). */
export function messagingUdpByPort(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  let r = 0;
  if (port(sp, dp, 4569)) r = iaxOpening(b, p, end);
  else if (dp === 177) r = xdmcpQuery(b, p, end);
  else if (port(sp, dp, 64738)) r = mumblePing(b, p, end, sp === 64738);
  else if (port(sp, dp, 5938)) r = teamviewerUdp(b, p, end);
  return r;
}

/** Those for any UDP payload, tried after the core rules. */
export function messagingUdp(b: Uint8Array, p: number, end: number): number {
  const b0 = b[p]!;
  return b0 === 0 && end - p === 74 ? discordIpDiscovery(b, p, end) : 0;
}


/**
 * WhatsApp's chat connection (its Noise transport as published by the open clients that speak it, e.g. whatsmeow's
 * socket package and whatsapp-rust's edge routing): an optional edge-routing preamble `ED` 0 1, a 3-byte big-endian
 * length and that many bytes of routing data (a short protobuf message), then the connection header `WA`, a magic
 * value and a dictionary version (small numbers), then frames of a 3-byte big-endian length and that many bytes.
 * Clients write these pieces apart, so a segment may hold only the 4-byte preamble, or only the 4-byte header (then
 * on WhatsApp's chat ports, 443 and 5222). Otherwise: the preamble and its routing data, alone or followed by the
 * header and frames of which the last may run past the segment; or the header and whole frames filling the segment.
 */
const WA_EDGE = Uint8Array.of(0x45, 0x44, 0x00, 0x01);
function whatsappHandshake(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  let q = p;
  const edge = has(b, p, end, WA_EDGE);
  if (edge) {
    if (end - p === 4) return WHATSAPP;
    if (end - p < 8) return 0;
    const n = (b[p + 4]! << 16) | u16(b, p + 5);
    if (n < 1 || n > 255) return 0;
    q = p + 7 + n;
    if (q === end) return WHATSAPP;
  }
  if (end - q < 4 || b[q] !== 0x57 || b[q + 1] !== 0x41 || b[q + 2]! < 1 || b[q + 2]! > 15 || b[q + 3]! > 15) return 0;
  q += 4;
  if (q === end) return edge || port(sp, dp, 443) || port(sp, dp, 5222) ? WHATSAPP : 0;
  let frames = 0;
  for (; q < end && frames < 8; frames++) {
    if (end - q < 3) return 0;
    const n = (b[q]! << 16) | u16(b, q + 1);
    if (n === 0) return 0;
    q += 3 + n;
  }
  return q === end || (edge && q > end) ? WHATSAPP : 0;
}

/**
 * H.323 call signalling (ITU-T H.225.0 §7, Q.931 §4 messages over TPKT, RFC 1006 §6): TPKT version 3, reserved 0, a
 * length equal to the segment; Q.931's protocol discriminator 8, a 2-byte call reference (H.225.0's length 2), a
 * message type H.225.0 uses (alerting 1, call proceeding 2, progress 3, setup 5, connect 7, setup acknowledge 13,
 * release complete 90, facility 98, notify 110, status enquiry 117, information 123, status 125), and information
 * elements walking exactly to the end: one byte when bit 8 is set, else identifier, length and contents, the
 * length of the User-user element (126) on two bytes as H.225.0 codes it.
 */
function h225Signalling(b: Uint8Array, p: number, end: number): number {
  if (end - p < 4 + 5 + 2 || b[p + 1] !== 0 || u16(b, p + 2) !== end - p || b[p + 4] !== 0x08 || b[p + 5] !== 2) return 0;
  const t = b[p + 8]!;
  const known = (t >= 1 && t <= 3) || t === 5 || t === 7 || t === 13 || t === 90 || t === 98 || t === 110 || t === 117 || t === 123 || t === 125;
  if (!known) return 0;
  let q = p + 9;
  let k = 0;
  for (; q < end && k < 32; k++) {
    const id = b[q]!;
    if ((id & 0x80) !== 0) q += 1;
    else if (id === 0x7e) q += end - q >= 3 ? 3 + u16(b, q + 1) : end + 1;
    else q += end - q >= 2 ? 2 + b[q + 1]! : end + 1;
  }
  return q === end && k > 0 ? H323 : 0;
}

/**
 * Cisco SCCP ("Skinny"; the message layout of Wireshark's SCCP dissector, from Cisco's message definitions), on its
 * port 2000: messages of a little-endian data length (of the message after the length and version fields), a
 * header version (0 basic, 0x0A, 0x0B, 0x0F-0x16 for protocol versions 10-22) and a message id of the station's
 * (0x0000-0x009F) or the call manager's (0x0100-0x0160, 0x8000, 0x8100-0x8101), whole messages filling the segment.
 */
function skinnyMessages(b: Uint8Array, p: number, end: number): number {
  let q = p;
  let k = 0;
  for (; q < end && k < 16; k++) {
    if (end - q < 12) return 0;
    const len = i32le(b, q);
    const v = i32le(b, q + 4);
    const id = i32le(b, q + 8);
    if (len < 4 || len > 65536) return 0;
    if (!(v === 0 || v === 0x0a || v === 0x0b || (v >= 0x0f && v <= 0x16))) return 0;
    if (!(id <= 0x9f && id >= 0) && !(id >= 0x100 && id <= 0x160) && id !== 0x8000 && id !== 0x8100 && id !== 0x8101) return 0;
    q += 8 + len;
  }
  return q === end && k > 0 ? SKINNY : 0;
}

/** IRC's ports: 194 (IANA `irc`) and 6660-6669 (IANA `ircu` 6665-6669, and the range servers listen on). */
const ircPort = (x: number): boolean => x === 194 || (x >= 6660 && x <= 6669);

/**
 * IRC connection registration (RFC 2812 §3.1, RFC 1459 §4.1; IRCv3 capability negotiation): the client's first line
 * `PASS`, `NICK`, `USER` (a user, a mode, an unused parameter and a `:`-prefixed real name) or `CAP LS`; the server's
 * first line a prefixed `NOTICE` or 3-digit numeric reply (RFC 2812 §2.3.1, §5), or `NOTICE AUTH`; each a line of
 * printable characters ending in CR LF or LF (§2.3.1 allows both in practice), on IRC's ports.
 */
const IRC_CLIENT = ['PASS ', 'NICK ', 'USER ', 'CAP LS'].map(ascii);
const IRC_NOTICE = ascii('NOTICE ');
const IRC_AUTH = ascii('AUTH ');
function ircRegistration(b: Uint8Array, p: number, end: number): number {
  let eol = p;
  const last = Math.min(end, p + 512); // RFC 2812 §2.3: a message is at most 512 bytes with its CR LF
  while (eol < last && b[eol] !== 0x0a) {
    const c = b[eol]!;
    if ((c < 0x20 || c > 0x7e) && !(c === 0x0d && eol + 1 < last && b[eol + 1] === 0x0a)) return 0;
    eol++;
  }
  if (eol >= last || eol === p) return 0;
  const stop = b[eol - 1] === 0x0d ? eol - 1 : eol;
  if (b[p] === 0x3a) {
    // `:prefix SP command`: the prefix without spaces, then NOTICE, or three digits and a space.
    let q = p + 1;
    while (q < stop && b[q] !== 0x20) q++;
    if (q === p + 1 || q >= stop) return 0;
    q++;
    if (has(b, q, stop, IRC_NOTICE)) return IRC;
    return stop - q > 4 && isDigit(b[q]!) && isDigit(b[q + 1]!) && isDigit(b[q + 2]!) && b[q + 3] === 0x20 ? IRC : 0;
  }
  if (has(b, p, stop, IRC_NOTICE)) return has(b, p + IRC_NOTICE.length, stop, IRC_AUTH) ? IRC : 0;
  for (let i = 0; i < IRC_CLIENT.length; i++) {
    const cmd = IRC_CLIENT[i]!;
    if (!has(b, p, stop, cmd)) continue;
    if (i === 3) return stop === p + cmd.length || b[p + cmd.length] === 0x20 ? IRC : 0;
    const arg = p + cmd.length;
    if (arg >= stop || b[arg] === 0x20) return 0;
    if (i !== 2) return IRC;
    // USER <user> <mode> <unused> :<realname>
    let spaces = 0;
    let q = arg;
    while (q < stop && spaces < 3) if (b[q++] === 0x20) spaces++;
    return spaces === 3 && b[q] === 0x3a ? IRC : 0;
  }
  return 0;
}

/**
 * Gnutella's handshake (The Gnutella Protocol Specification v0.4 §2.1 and v0.6, RFC-Gnutella 0.6 §2.2): the
 * servent's `GNUTELLA CONNECT/x.y` line, or the answer `GNUTELLA/x.y` and a 3-digit status code, each ending in
 * CR LF (0.6) or LF (0.4).
 */
const GNUTELLA_CONNECT = ascii('GNUTELLA CONNECT/');
const GNUTELLA_REPLY = ascii('GNUTELLA/');
function gnutellaHandshake(b: Uint8Array, p: number, end: number): number {
  const connect = has(b, p, end, GNUTELLA_CONNECT);
  if (!connect && !has(b, p, end, GNUTELLA_REPLY)) return 0;
  let q = p + (connect ? GNUTELLA_CONNECT.length : GNUTELLA_REPLY.length);
  if (end - q < 4 || !isDigit(b[q]!) || b[q + 1] !== 0x2e || !isDigit(b[q + 2]!)) return 0;
  q += 3;
  if (connect) return b[q] === 0x0a || (b[q] === 0x0d && end - q >= 2 && b[q + 1] === 0x0a) ? GNUTELLA : 0;
  return end - q >= 6 && b[q] === 0x20 && isDigit(b[q + 1]!) && isDigit(b[q + 2]!) && isDigit(b[q + 3]!) && (b[q + 4] === 0x20 || b[q + 4] === 0x0d) ? GNUTELLA : 0;
}

/**
 * eDonkey / eMule over TCP (Kulbak and Bickson, "The eMule Protocol Specification", 2005, §6.1 TCP header): the
 * protocol byte 0xE3 (eDonkey) or 0xC5 (eMule extensions), a 4-byte little-endian size of the rest of the message (its
 * opcode and payload), whole messages filling the segment.
 */
function edonkeyMessages(b: Uint8Array, p: number, end: number): number {
  let q = p;
  let k = 0;
  for (; q < end && k < 16; k++) {
    if (end - q < 6 || (b[q] !== 0xe3 && b[q] !== 0xc5)) return 0;
    const size = i32le(b, q + 1);
    if (size < 1 || size > 1 << 20) return 0;
    q += 5 + size;
  }
  return q === end && k > 0 ? EDONKEY : 0;
}

/**
 * An X11 session's connection setup (X Window System Protocol, X11R7, "Connection Setup"; Xsecurity(7)) to display
 * ports 6000-6005, which nDPI names XDMCP (the X sessions a display manager runs): byte order `l` (LSB first), an
 * unused byte, protocol version 11.0, the authorization protocol name's and data's lengths, two unused bytes, then the
 * name `MIT-MAGIC-COOKIE-1` and its 16-byte cookie, each padded to 4 bytes, filling the segment (48 bytes).
 */
const MIT_COOKIE = ascii('MIT-MAGIC-COOKIE-1');
function x11Setup(b: Uint8Array, p: number, end: number): number {
  if (end - p !== 48 || b[p + 2] !== 11 || b[p + 3] !== 0 || b[p + 4] !== 0 || b[p + 5] !== 0) return 0;
  if (b[p + 6] !== 18 || b[p + 7] !== 0 || b[p + 8] !== 16 || b[p + 9] !== 0) return 0;
  return has(b, p + 12, end, MIT_COOKIE) ? XDMCP : 0;
}

/**
 * XDMCP (X Display Manager Control Protocol 1.1, "Protocol Format", "Query"), to port 177: version 1, opcode Query
 * (2), a length equal to the rest of the datagram, and the body a count of authentication names each an ARRAY8 (a
 * 2-byte length and that many bytes) walking exactly to the end. (The broadcast and indirect queries are left out:
 * nDPI, whose names ours follow, names only the direct one.)
 */
function xdmcpQuery(b: Uint8Array, p: number, end: number): number {
  if (end - p < 7 || u16(b, p) !== 1 || u16(b, p + 2) !== 2 || u16(b, p + 4) !== end - p - 6) return 0;
  const n = b[p + 6]!;
  let q = p + 7;
  for (let k = 0; k < n; k++) {
    if (end - q < 2) return 0;
    q += 2 + u16(b, q);
  }
  return q === end ? XDMCP : 0;
}

/**
 * IAX2 (RFC 5456 §8.1.1, §8.2, §8.4, §8.6), port 4569: a full frame (F bit set) opening a call or a registration:
 * outbound sequence number 0, inbound 0 or 1, frame type IAX (6), subclass 1-15 (NEW ... REGACK) without the C bit,
 * and information elements (type, length, data) walking exactly to the end of the datagram.
 */
function iaxOpening(b: Uint8Array, p: number, end: number): number {
  if (end - p < 12 || (b[p]! & 0x80) === 0 || b[p + 8] !== 0 || b[p + 9]! > 1 || b[p + 10] !== 6) return 0;
  const sub = b[p + 11]!;
  if (sub < 1 || sub > 15) return 0;
  let q = p + 12;
  for (let k = 0; q < end && k < 32; k++) {
    if (end - q < 2 || b[q] === 0) return 0;
    q += 2 + b[q + 1]!;
  }
  return q === end ? IAX : 0;
}

/**
 * Discord's voice IP discovery (Discord Developer Documentation, "Voice Connections", "IP Discovery"): exactly 74
 * bytes, type 1 (request) or 2 (response), length 70, the SSRC, a 64-byte address field holding a NUL-terminated
 * IPv4/IPv6 text address (empty in a request), and a port.
 */
function discordIpDiscovery(b: Uint8Array, p: number, end: number): number {
  const t = u16(b, p);
  if (end - p !== 74 || (t !== 1 && t !== 2) || u16(b, p + 2) !== 70) return 0;
  for (let q = p + 8; q < p + 72; q++) {
    const c = b[q]!;
    if (c === 0) return q > p + 8 || t === 1 ? DISCORD : 0;
    if (!(isDigit(c) || c === 0x2e || c === 0x3a || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66))) return 0;
  }
  return 0;
}

/**
 * Mumble's UDP ping (Mumble protocol documentation, "UDP Ping packet", the legacy format every server answers), on
 * its port 64738: to the server 12 bytes, a zero request type and an 8-byte identifier; from it 24 bytes, a version
 * (a zero byte, then major ≥ 1, minor, patch), the echoed identifier, users, slots and bandwidth.
 */
function mumblePing(b: Uint8Array, p: number, end: number, fromServer: boolean): number {
  if (!fromServer) return end - p === 12 && i32(b, p) === 0 ? MUMBLE : 0;
  return end - p === 24 && b[p] === 0 && b[p + 1]! >= 1 ? MUMBLE : 0;
}

/**
 * TeamViewer on its port 5938. Its protocol is not published; the magic 0x17 0x24 that opens its command packets
 * (over TCP at the segment's start; over UDP after an 11-byte header whose first byte, a counter, starts at 0) is the
 * one nDPI's teamviewer dissector knows, and on this port nDPI names a flow TeamViewer by it alone.
 */
function teamviewerTcp(b: Uint8Array, p: number, end: number): number {
  return end - p > 2 && b[p] === 0x17 && b[p + 1] === 0x24 ? TEAMVIEWER : 0;
}
function teamviewerUdp(b: Uint8Array, p: number, end: number): number {
  return end - p > 13 && b[p] === 0 && b[p + 11] === 0x17 && b[p + 12] === 0x24 ? TEAMVIEWER : 0;
}

/**
 * NoMachine's session handshake (its NX protocol is not published; as nDPI's nomachine dissector describes it): before
 * its TLS, the client sends `NXSH-` and the server `NXD-`, each followed by a version and nothing else, in a segment of
 * 11 to 14 bytes. Checked here: the version is dotted numbers (`8.10.1`), and only a line end or spaces follow it.
 */
const NXSH = ascii('NXSH-');
const NXD = ascii('NXD-');
function nomachineHello(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if (n < 11 || n > 14) return 0;
  let q = has(b, p, end, NXSH) ? p + NXSH.length : has(b, p, end, NXD) ? p + NXD.length : -1;
  if (q < 0 || !isDigit(b[q]!)) return 0;
  let dots = 0;
  for (; q < end && (isDigit(b[q]!) || b[q] === 0x2e); q++) if (b[q] === 0x2e) dots++;
  if (dots < 1 || b[q - 1] === 0x2e) return 0;
  for (; q < end; q++) if (b[q] !== 0x0a && b[q] !== 0x0d && b[q] !== 0x20 && b[q] !== 0) return 0;
  return NOMACHINE;
}


