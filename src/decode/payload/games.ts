/**
 * Payload-protocol rules for games, media, chat and VoIP signalling that the older modules leave out: Megaco,
 * OICQ, Telegram's MTProto transports, Steam, World of Warcraft's login, Warcraft III, Zoom's media encapsulation and
 * Nintendo's Pia. Reached by one line of payload-protocol.ts's matchTcp / matchUdp (gamesTcp / gamesUdp), after the
 * groups above it there, so none of them can take a packet an older rule names. Names as nDPI spells them.
 */
import { u16, u16le, i32le, ascii, port, has, hasNoCase, isDigit } from './bytes.js';
import { PayloadProtocol } from './protocols.js';

const P = PayloadProtocol as Record<string, number>;
const MEGACO = P['Megaco']!;
const OICQ = P['OICQ']!;
const TELEGRAM = P['Telegram']!;
const STEAM = P['Steam']!;
const WOW = P['WorldOfWarcraft']!;
const WARCRAFT3 = P['Warcraft3']!;
const ZOOM = P['Zoom']!;
const NINTENDO = P['Nintendo']!;

/** The game, media, chat and VoIP rules of this module over TCP. */
export function gamesTcp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  let r = 0;
  if (b0 === 0x4d || b0 === 0x6d || b0 === 0x21) r = megacoText(b, p, end, sp, dp);
  else if (b0 === 0x03) r = megacoTpkt(b, p, end, sp, dp);
  else if (b0 === 0x00 || b0 === 0x02) r = wowLogonChallenge(b, p, end);
  else if (b0 === 0xf7 && port(sp, dp, 6112)) r = w3gsMessages(b, p, end);
  if (r === 0 && (b0 === 0xef || b0 === 0xee || b0 === 0xdd) && telegramPort(sp, dp)) r = mtprotoTransport(b, p, end);
  if (r === 0) r = steamCmPacket(b, p, end);
  return r;
}

/** The game, media, chat and VoIP rules of this module over UDP. */
export function gamesUdp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  if (b0 === 0x4d || b0 === 0x6d || b0 === 0x21) return megacoText(b, p, end, sp, dp);
  if (b0 === 0x02 && port(sp, dp, 8000)) return oicqPacket(b, p, end);
  if (b0 === 0xff && port(sp, dp, 27036)) return steamDiscovery(b, p, end);
  if (b0 === 0xf7 && port(sp, dp, 6112)) return w3gsMessages(b, p, end);
  if (b0 === 0x05 && (zoomPort(sp) || zoomPort(dp))) return zoomSfuMedia(b, p, end);
  if (b0 === 0x32) return piaPacket(b, p, end);
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// VoIP signalling

/**
 * Megaco / H.248 in its text encoding (RFC 3525 Annex B.2, ITU-T H.248.1 Annex B): a message is `MEGACO` (or its
 * compact form `!`, both case-blind) `/`, a version of 1-2 digits, a separator (white space or a line end), then the
 * sender's mId: `[address]`, `<domain name>`, or a name (MTP{...} or a device name). The leading white space the syntax
 * allows is not looked past (senders start with the token). The compact `!` is 3 bytes only, so it counts on Megaco's
 * registered ports 2944-2945 (RFC 3525 Annex D.1-D.2) alone.
 */
const MEGACO_ = ascii('MEGACO/');
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
function megacoText(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  let q = p;
  if (hasNoCase(b, q, end, MEGACO_)) q += 7;
  else if (b[q] === 0x21 && b[q + 1] === 0x2f && (port(sp, dp, 2944) || port(sp, dp, 2945))) q += 2;
  else return 0;
  if (q >= end || !isDigit(b[q]!)) return 0;
  q += q + 1 < end && isDigit(b[q + 1]!) ? 2 : 1;
  if (q >= end || !isSpace(b[q]!)) return 0;
  while (q < end && isSpace(b[q]!)) q++;
  if (q >= end) return 0;
  const m = b[q]!;
  return m === 0x5b || m === 0x3c || (m >= 0x41 && m <= 0x5a) || (m >= 0x61 && m <= 0x7a) ? MEGACO : 0;
}

/** Megaco text over TCP (H.248.1 Annex D.2; RFC 3525 Annex D.2): each message in a TPKT (RFC 1006 §6) of the segment's length. */
function megacoTpkt(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  return end - p > 12 && b[p + 1] === 0 && u16(b, p + 2) === end - p ? megacoText(b, p + 4, end, sp, dp) : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Media

/**
 * Zoom's own UDP media transport to its servers (multimedia routers on UDP 8801-8810), as reverse-engineered in
 * Michel et al., "Enabling Passive Measurement of Zoom Performance in Production Networks" (ACM IMC 2022) and its
 * Wireshark dissector (Princeton-Cabernet/zoom-analysis, wireshark/zoom.lua): an 8-byte "SFU encapsulation" of type 5
 * (media), whose byte 7 is the direction (0 to Zoom, 4 from Zoom), then the media encapsulation whose first byte is the
 * media type and which carries, at the type's fixed offset, an RTP header (RFC 3550 §5.1: version 2, a payload type
 * outside RTCP's 72-76) or for types 33-35 an RTCP packet (version 2, packet type 200-207).
 */
function zoomPort(x: number): boolean {
  return x >= 8801 && x <= 8810;
}
function zoomSfuMedia(b: Uint8Array, p: number, end: number): number {
  if (end - p < 8 + 28 || (b[p + 7] !== 0 && b[p + 7] !== 4)) return 0;
  const m = p + 8;
  const t = b[m]!;
  let at = -1;
  if (t === 15) at = 19; // audio
  else if (t === 16) at = b[m + 20] === 0x02 ? 24 : 20; // video, with or without its frame header
  else if (t === 30) at = 20; // peer-to-peer screen sharing
  else if (t === 13 && b[m + 7] === 0x1e) at = 27; // screen sharing through the server
  else if (t === 1) at = 26;
  else if (t === 33 || t === 34 || t === 35) {
    const r = m + 16;
    return r + 8 <= end && (b[r]! & 0xc0) === 0x80 && b[r + 1]! >= 200 && b[r + 1]! <= 207 ? ZOOM : 0;
  }
  if (at < 0 || m + at + 12 > end) return 0;
  const v = b[m + at]!;
  const pt = b[m + at + 1]! & 0x7f;
  return (v & 0xc0) === 0x80 && (pt < 72 || pt > 76) ? ZOOM : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Chat

/**
 * OICQ, the UDP protocol of Tencent QQ's classic clients to their servers on UDP 8000 (as documented by the open
 * Net::OICQ client and by Wireshark's OICQ dissector, packet-oicq.c, from observation): the start flag 0x02, a 2-byte
 * client version, a 2-byte command, a 2-byte sequence number, the 4-byte QQ number, the (encrypted) body and the end
 * flag 0x03 as the datagram's last byte. The command must be one of the documented ones (0x0001-0x00b5: log out,
 * keep-alive, ..., 0x0022 log in, ..., 0x00b5 friends' status), and the version nonzero.
 */
function oicqPacket(b: Uint8Array, p: number, end: number): number {
  if (end - p < 12 || b[end - 1] !== 0x03 || u16(b, p + 1) === 0) return 0;
  const cmd = u16(b, p + 3);
  return cmd >= 0x0001 && cmd <= 0x00b5 ? OICQ : 0;
}

/**
 * Telegram's MTProto transports (core.telegram.org/mtproto/mtproto-transports), whose client opens the TCP connection
 * with the transport's marker, on Telegram's data-centre ports (443, 80, 5222): abridged 0xef, then packets of a length
 * byte (the payload's length / 4, or 0x7f and 3 bytes little-endian); intermediate 0xeeeeeeee, then packets of a
 * 4-byte little-endian length; padded intermediate 0xdddddddd, the same with 0-15 bytes of padding counted in the
 * length. The first packet must fill the segment exactly and be an MTProto message (core.telegram.org/mtproto/
 * description): unencrypted (auth_key_id 0, 8-byte message_id, a message_data_length of the rest) or encrypted
 * (auth_key_id, 16-byte msg_key, then AES-IGE blocks of 16 bytes). The marker alone (4 bytes) counts for the two
 * 4-byte markers; a lone 0xef is too weak a sign. Telegram's apps mostly use the obfuscated transport, whose random
 * first 64 bytes no rule can name.
 */
function telegramPort(sp: number, dp: number): boolean {
  return port(sp, dp, 443) || port(sp, dp, 80) || port(sp, dp, 5222);
}
function mtprotoTransport(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  const b0 = b[p]!;
  if (b0 === 0xef) {
    if (n < 2) return 0;
    const l = b[p + 1]!;
    if (l === 0x7f) return n >= 5 && 5 + 4 * (b[p + 2]! | (b[p + 3]! << 8) | (b[p + 4]! << 16)) === n && mtprotoMessage(b, p + 5, end, false) ? TELEGRAM : 0;
    return l < 0x7f && 2 + 4 * l === n && mtprotoMessage(b, p + 2, end, false) ? TELEGRAM : 0;
  }
  if (n < 4) return 0;
  const marker = i32le(b, p);
  if (marker !== -0x11111112 && marker !== -0x22222223) return 0; // 0xeeeeeeee, 0xdddddddd as int32
  if (n === 4) return TELEGRAM;
  if (n < 8) return 0;
  const len = i32le(b, p + 4);
  if (len !== n - 8) return 0;
  return mtprotoMessage(b, p + 8, end, marker === -0x22222223) ? TELEGRAM : 0;
}

/** An MTProto message filling `b[q .. end)` (padded: 0-15 bytes of padding after it). */
function mtprotoMessage(b: Uint8Array, q: number, end: number, padded: boolean): boolean {
  const n = end - q;
  if (n < 24) return false;
  if (i32le(b, q) === 0 && i32le(b, q + 4) === 0) {
    // Unencrypted: message_id (8), message_data_length (4), the data (a TL object: at least its 4-byte constructor).
    const len = i32le(b, q + 16);
    return len >= 4 && (padded ? len <= n - 20 && n - 20 - len < 16 : len === n - 20);
  }
  const data = n - 24;
  return padded || (data > 0 && data % 16 === 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Games

/**
 * Steam's client-to-server ("CM") protocol over TCP (as SteamKit, the open Steam client library, implements it,
 * TcpConnection; and Coding Range, "Decoded: Steam In-Home Streaming Control Protocol", 2014): every packet is a
 * 4-byte little-endian payload length and the magic `VT01`, then the payload, which opens with its 4-byte EMsg. The
 * length is at least that EMsg and at most 64 MiB, the limit this rule allows for a message cut by the segment.
 */
const VT01 = ascii('VT01');
function steamCmPacket(b: Uint8Array, p: number, end: number): number {
  if (end - p < 12 || !has(b, p + 4, end, VT01)) return 0;
  const len = i32le(b, p);
  return len >= 4 && len <= 0x4000000 ? STEAM : 0;
}

/**
 * Steam's LAN discovery for Remote Play / In-Home Streaming on UDP 27036 (Coding Range, "Decoded: Steam In-Home
 * Streaming Discovery Protocol", 2014, after Valve's steammessages_remoteclient_discovery.proto): the 8-byte
 * signature FF FF FF FF 21 4C 5F A0, a 4-byte little-endian header length and the CMsgRemoteClientBroadcastHeader,
 * a 4-byte little-endian body length and the body, which end the datagram.
 */
const STEAM_DISCOVERY = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x21, 0x4c, 0x5f, 0xa0);
function steamDiscovery(b: Uint8Array, p: number, end: number): number {
  if (end - p < 16 || !has(b, p, end, STEAM_DISCOVERY)) return 0;
  const h = i32le(b, p + 8);
  if (h < 0 || h > end - p - 16) return 0;
  const q = p + 12 + h;
  return i32le(b, q) === end - q - 4 ? STEAM : 0;
}

/**
 * World of Warcraft's login (authentication server, TCP 3724), the client's first message as the open emulators'
 * documentation gives it (wowdev.wiki "CMD_AUTH_LOGON_CHALLENGE_Client"; gtker.com wow_messages): opcode 0x00
 * (logon challenge) or 0x02 (reconnect challenge), the protocol version, a 2-byte little-endian size of the rest
 * (30 + the account name's length), the game name `WoW` NUL, version, build, platform, OS, locale, time zone, IP,
 * then the account name's length (1-64 here; clients send at most 16 characters) and the name, ending the segment.
 */
const WOW_ = ascii('WoW\x00');
function wowLogonChallenge(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if (n < 35 || !has(b, p + 4, end, WOW_) || u16le(b, p + 2) !== n - 4) return 0;
  const name = b[p + 33]!;
  return name >= 1 && name <= 64 && name === n - 34 ? WOW : 0;
}

/**
 * Warcraft III's game protocol (W3GS, as BNETDocs documents it: the protocol of games hosted on TCP 6112, and of LAN
 * game search on UDP 6112): messages of the class byte 0xF7, a message id, and a 2-byte little-endian length of the
 * whole message (header included); the segment or datagram is whole messages, the first of a known id
 * (0x01-0x4a, BNETDocs' range of W3GS ids).
 */
function w3gsMessages(b: Uint8Array, p: number, end: number): number {
  if (end - p < 4) return 0;
  const id = b[p + 1]!;
  if (id < 0x01 || id > 0x4a) return 0;
  let q = p;
  for (let k = 0; k < 64 && q < end; k++) {
    if (end - q < 4 || b[q] !== 0xf7) return 0;
    const len = u16le(b, q + 2);
    if (len < 4 || q + len > end) return 0;
    q += len;
  }
  return q === end ? WARCRAFT3 : 0;
}

/**
 * Nintendo's Pia, the peer-to-peer game networking library of Wii U and Switch games (the packet format as the open
 * NintendoClients project documents it, kinnay/NintendoClients wiki "Pia Protocol", mirrored by Pretendo's
 * nintendo-wiki "PIA Packet Format"): every UDP packet opens with the magic 32 AB 98 64, then up to Pia 5.10 the byte
 * 1 (plain) or 2 (encrypted), and from 5.11 on a byte whose low 7 bits are the header version (3, 4, 5, 9, 11, 12 or
 * 13) and whose high bit says encrypted; then more than the header's fixed part (12 bytes for the oldest, 24-32 with the
 * AES-GCM nonce and tag of the later ones): a message follows.
 */
const PIA_MAGIC = Uint8Array.of(0x32, 0xab, 0x98, 0x64);
function piaPacket(b: Uint8Array, p: number, end: number): number {
  if (end - p < 13 || !has(b, p, end, PIA_MAGIC)) return 0;
  const v = b[p + 4]!;
  if (v === 1 || v === 2) return NINTENDO; // a 12-byte header and at least a byte of message
  // The header's fixed size by version: 32 bytes for 3, 4 and 9; 24 for 5; at least 24 for 11-13 (28 up to Pia 6.30,
  // later layouts only partly documented).
  const version = v & 0x7f;
  const header = version === 3 || version === 4 || version === 9 ? 32 : version === 5 || version === 11 || version === 12 || version === 13 ? 24 : 0;
  return header > 0 && end - p > header ? NINTENDO : 0;
}
