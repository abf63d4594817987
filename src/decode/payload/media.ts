/**
 * Payload-protocol rules for games, streaming and media, VPN and remote access. Reached by one line of
 * payload-protocol.ts's matchTcp / matchUdp (mediaTcp / mediaUdp), after the groups above it there.
 */
import { u16, i32, i32le, ascii, port, has, hasNoCase, isDigit, isVersion, isHttp1Version, lineEnd } from './bytes.js';
import { PayloadProtocol } from './protocols.js';

const P = PayloadProtocol as Record<string, number>;
const RDP = P['RDP']!;
const MPEGTS = P['MpegTS']!;
const AMONGUS = P['AmongUs']!;
const SPOTIFY = P['Spotify']!;
const ICECAST = P['IceCast']!;
const YOJIMBO = P['Yojimbo']!;

/** The media, game and remote-access rules over TCP. */
export function mediaTcp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  if (b0 === 0x53) return icecastSource(b, p, end);
  if (b0 === 0x00 && b[p + 1] === 0x04) return spotifyClientHello(b, p, end);
  return 0;
}

/** The media, game and remote-access rules over UDP. */
export function mediaUdp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  if (b0 === 0x47) return mpegTsPackets(b, p, end);
  if (b0 === 0x00) return netcodeConnectionRequest(b, p, end);
  if (b0 === 0x08 && port(sp, dp, 22023)) return hazelHello(b, p, end);
  if (b0 === 0x53 && sp === 57621 && dp === 57621) return has(b, p, end, SPOTUDP) ? SPOTIFY : 0;
  if (port(sp, dp, 3389) && end - p === 1232) return rdpUdpSyn(b, p, end);
  return 0;
}

/**
 * MPEG-2 transport stream over UDP (ISO/IEC 13818-1, ITU-T H.222.0, §2.4.3.2-2.4.3.3): the datagram is whole
 * 188-byte transport packets, each starting with the sync byte 0x47 and an adaptation_field_control other than the
 * reserved '00' (Table 2-5); 2 to 7 of them (7, the 1,316 bytes that fit an Ethernet MTU, is the usual load): a lone
 * 188-byte datagram opening 0x47 is too weak a sign (a QUIC short-header packet may open so).
 */
function mpegTsPackets(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if (n < 2 * 188 || n > 7 * 188 || n % 188 !== 0) return 0;
  for (let q = p; q < end; q += 188) if (b[q] !== 0x47 || (b[q + 3]! & 0x30) === 0) return 0;
  return MPEGTS;
}

/**
 * Among Us's connection handshake, on its server port 22023: the game speaks Hazel (InnerSloth's open-source
 * Hazel-Networking, UdpConnection: a Hello datagram is the send option 8 and a 2-byte big-endian reliable id), whose
 * Hello payload the game fills as the open server Impostor documents it (its HandshakeReader): the Hazel version 0
 * or 1, the client's version as an int32 little-endian (year * 25000 + month * 1800 + day * 50 + revision, checked
 * here for a year of 2018-2035 and a month of 1-12), then the player's name as a packed-length string inside the
 * datagram.
 */
function hazelHello(b: Uint8Array, p: number, end: number): number {
  if (end - p < 10 || b[p + 3]! > 1) return 0;
  const v = i32le(b, p + 4);
  const year = Math.floor(v / 25000);
  const month = Math.floor((v % 25000) / 1800);
  if (year < 2018 || year > 2035 || month < 1 || month > 12) return 0;
  const nameLen = b[p + 8]!;
  return nameLen < 0x80 && p + 9 + nameLen <= end ? AMONGUS : 0;
}

/**
 * Spotify's desktop clients announce themselves on the LAN from and to UDP port 57621 with datagrams opening
 * `SpotUdp0` (unpublished: the discovery as nDPI's spotify dissector knows it; both ports must be 57621).
 */
const SPOTUDP = ascii('SpotUdp0');

/**
 * Spotify's access-point handshake (the client side as the open client librespot implements it, core/src/connection/
 * handshake.rs and keyexchange.proto): the ClientHello travels as the bytes 0x00 0x04, a 4-byte big-endian length of
 * the whole message (these 6 bytes included, equal to the segment), then the protobuf ClientHello, whose first field
 * is build_info (field 10, length-delimited: tag 0x52) holding the BuildInfo message, first its product (field 10,
 * varint: tag 0x50).
 */
function spotifyClientHello(b: Uint8Array, p: number, end: number): number {
  if (end - p < 16 || i32(b, p + 2) !== end - p || b[p + 6] !== 0x52) return 0;
  const len = b[p + 7]!;
  return len >= 2 && len < 0x80 && p + 8 + len <= end && b[p + 8] === 0x50 ? SPOTIFY : 0;
}

/**
 * An Icecast source client's request (Icecast 2 documentation and libshout, the source protocol): `SOURCE /mount`
 * and the version `HTTP/1.0`, `HTTP/1.1` or `ICE/1.0` on the first line, and among the header lines one of the
 * stream's `ice-` headers (`ice-name:`, `ice-public:`, ...).
 */
const ICE_SOURCE = ascii('SOURCE /');
const V_ICE10 = ascii('ICE/1.0');
const ICE_HEADER = ascii('\nICE-');
function icecastSource(b: Uint8Array, p: number, end: number): number {
  if (!has(b, p, end, ICE_SOURCE)) return 0;
  const eol = lineEnd(b, p, end, 1024);
  if (eol < 0) return 0;
  let v = eol;
  while (v > p + 8 && b[v - 1] !== 0x20) v--;
  if (v <= p + 8 || !(isHttp1Version(b, v, eol) || isVersion(b, v, eol, V_ICE10))) return 0;
  for (let i = eol + 1; i + ICE_HEADER.length <= end && i < p + 4096; i++) if (b[i] === 0x0a && hasNoCase(b, i, end, ICE_HEADER)) return ICECAST;
  return 0;
}

/**
 * netcode.io's connection request (mas-bandwidth/netcode, STANDARD.md, "Packet Structure"; the protocol of the yojimbo
 * game-networking library, which nDPI names Yojimbo): the only unencrypted packet, a zero prefix byte, the version info
 * `NETCODE 1.0x` and its NUL (13 bytes), the protocol id, the connect token's expire timestamp, its sequence number
 * (8 bytes, versions 1.00-1.01) or nonce (24 bytes, 1.02) and the 1,024 bytes of encrypted private connect token data:
 * exactly 1,062 or 1,078 bytes, which the standard has servers check first.
 */
const NETCODE_VERSION = ascii('NETCODE 1.0');
function netcodeConnectionRequest(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if ((n !== 1062 && n !== 1078) || !has(b, p + 1, end, NETCODE_VERSION) || !isDigit(b[p + 12]!) || b[p + 13] !== 0) return 0;
  return YOJIMBO;
}

/**
 * RDP's UDP transport on port 3389 (MS-RDPEUDP §2.2.2.1, §2.2.2.5, §3.1.5.1.1-2): the connection's SYN and SYN+ACK
 * datagrams, zero-padded to exactly 1,232 bytes: the RDPUDP_FEC_HEADER - snSourceAck (-1 in the SYN), the receive
 * window size, flags with RDPUDP_FLAG_SYN (0x0001), RDPUDP_FLAG_ACK (0x0004) only in the SYN+ACK, and no flag outside
 * the specification's - then the RDPUDP_SYNDATA_PAYLOAD whose upstream and downstream MTUs are 1,132-1,232.
 */
function rdpUdpSyn(b: Uint8Array, p: number, end: number): number {
  const flags = u16(b, p + 6);
  if ((flags & 0x0001) === 0 || (flags & 0xe000) !== 0) return 0;
  const ack = (flags & 0x0004) !== 0;
  if (!ack && i32(b, p) !== -1) return 0;
  const up = u16(b, p + 12);
  const down = u16(b, p + 14);
  return up >= 1132 && up <= 1232 && down >= 1132 && down <= 1232 ? RDP : 0;
}
