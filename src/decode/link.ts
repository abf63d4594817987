/**
 * Link layer of the packet decoder: Ethernet II with VLAN / QinQ tags, MPLS and PPPoE session; Linux cooked
 * captures (SLL, SLL2); BSD NULL / OpenBSD LOOP; raw IP; PPP (bare, HDLC-framed, over Ethernet), Cisco HDLC;
 * FDDI and 802.11 (with or without radiotap) through LLC/SNAP; Linux NFLOG. Each function finds where the IP
 * header starts and hands over to the IPv4/IPv6 decoder; anything that is not IP is `NonIp`.
 *
 * Every read is bounded by `end` (the frame end): an incomplete link header is `TruncatedLink`.
 */
import type { DecodedPacket } from './packet.js';
import { DecodeStatus } from './status.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';

/** Deepest stack of 802.1Q/802.1ad tags accepted before `TooDeep`. */
export const MAX_VLAN_TAGS = 8;
/** Deepest MPLS label stack accepted before `TooDeep` (RFC 3032 stacks are short in practice). */
export const MAX_MPLS_LABELS = 8;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100; // 802.1Q
const ETH_QINQ = 0x88a8; // 802.1ad service tag
const ETH_QINQ_OLD = 0x9100; // pre-standard QinQ
const ETH_MPLS_UC = 0x8847;
const ETH_MPLS_MC = 0x8848;
const ETH_PPPOE_SESSION = 0x8864;
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;

/** Ethernet II (DLT_EN10MB): 6+6 byte MACs, then the type/length field. */
export function decodeEthernet(buf: Uint8Array, base: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - base < 14) return DecodeStatus.TruncatedLink;
  const type = (buf[base + 12]! << 8) | buf[base + 13]!;
  if (type === ETH_IPV4) return decodeIpv4(buf, base, base + 14, end, out); // the common case first
  return decodeEthertype(buf, base, base + 14, end, type, out);
}

/**
 * Dispatch on an ethertype whose payload starts at `buf[pos]`: VLAN tags (any depth up to the cap), then
 * IPv4, IPv6, MPLS or PPPoE session. Values below 0x0600 are IEEE 802.3 lengths (LLC frames) and, like ARP,
 * LLDP or anything unknown, are `NonIp`.
 */
export function decodeEthertype(
  buf: Uint8Array,
  base: number,
  pos: number,
  end: number,
  type: number,
  out: DecodedPacket,
): DecodeStatus {
  let depth = 0;
  while (type === ETH_VLAN || type === ETH_QINQ || type === ETH_QINQ_OLD) {
    if (depth === MAX_VLAN_TAGS) return DecodeStatus.TooDeep;
    if (end - pos < 4) return DecodeStatus.TruncatedLink;
    depth++;
    type = (buf[pos + 2]! << 8) | buf[pos + 3]!; // after the 2-byte TCI
    pos += 4;
  }
  if (type === ETH_IPV4) return decodeIpv4(buf, base, pos, end, out);
  if (type === ETH_IPV6) return decodeIpv6(buf, base, pos, end, out);
  if (type === ETH_MPLS_UC || type === ETH_MPLS_MC) return decodeMpls(buf, base, pos, end, out);
  if (type === ETH_PPPOE_SESSION) return decodePppoe(buf, base, pos, end, out);
  return DecodeStatus.NonIp;
}

/**
 * MPLS (RFC 3032): skip 4-byte label entries until the bottom-of-stack bit, then the first nibble of the
 * payload says IPv4 or IPv6. Anything else (a pseudowire control word, Ethernet over MPLS) is `NonIp`.
 */
function decodeMpls(buf: Uint8Array, base: number, pos: number, end: number, out: DecodedPacket): DecodeStatus {
  for (let labels = 0; ; ) {
    if (labels === MAX_MPLS_LABELS) return DecodeStatus.TooDeep;
    if (end - pos < 4) return DecodeStatus.TruncatedLink;
    labels++;
    const bottom = buf[pos + 2]! & 1;
    pos += 4;
    if (bottom !== 0) break;
  }
  if (end - pos < 1) return DecodeStatus.TruncatedLink;
  const version = buf[pos]! >> 4;
  if (version === 4) return decodeIpv4(buf, base, pos, end, out);
  if (version === 6) return decodeIpv6(buf, base, pos, end, out);
  return DecodeStatus.NonIp;
}

/**
 * PPPoE session stage (RFC 2516): 6-byte PPPoE header, then the PPP protocol (RFC 1661 §2), 2 bytes, or 1
 * byte when protocol-field compression is negotiated (an odd first byte, RFC 1661 §6.5). The PPPoE length
 * field is not used to bound the IP packet: the IP total length is (as Suricata does; some CPEs send a wrong
 * PPPoE length).
 */
function decodePppoe(buf: Uint8Array, base: number, pos: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - pos < 7) return DecodeStatus.TruncatedLink;
  return decodePppProtocol(buf, base, pos + 6, end, out);
}

/**
 * A PPP protocol field at `buf[pos]` (RFC 1661 §2): 2 bytes, or 1 when protocol-field compression is in use
 * (the first byte is odd, RFC 1661 §6.5); IPv4 (0x0021) and IPv6 (0x0057) are decoded, LCP, IPCP, compressed
 * TCP/IP and the rest are `NonIp`.
 */
function decodePppProtocol(buf: Uint8Array, base: number, pos: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - pos < 1) return DecodeStatus.TruncatedLink;
  let pppProto = buf[pos]!;
  let ip = pos + 1;
  if ((pppProto & 1) === 0) {
    if (end - pos < 2) return DecodeStatus.TruncatedLink;
    pppProto = (pppProto << 8) | buf[pos + 1]!;
    ip = pos + 2;
  }
  if (pppProto === PPP_IPV4) return decodeIpv4(buf, base, ip, end, out);
  if (pppProto === PPP_IPV6) return decodeIpv6(buf, base, ip, end, out);
  return DecodeStatus.NonIp;
}

/**
 * DLT_PPP (9): the PPP protocol field, preceded by the HDLC-like address and control bytes ff 03 when the
 * capture kept them (RFC 1662 §3.1; libpcap's LINKTYPE_PPP allows both). A bare protocol never starts with ff
 * (its first byte is even, or odd only when compressed, and 0xff is not a compressed protocol).
 */
export function decodePpp(buf: Uint8Array, base: number, end: number, out: DecodedPacket): DecodeStatus {
  let pos = base;
  if (end - pos >= 1 && buf[pos] === 0xff) {
    if (end - pos < 2) return DecodeStatus.TruncatedLink;
    if (buf[pos + 1] === 0x03) pos += 2;
  }
  return decodePppProtocol(buf, base, pos, end, out);
}

/** DLT_PPP_SERIAL (50): PPP in HDLC-like framing (ff 03), or Cisco PPP with HDLC framing (0x0f / 0x8f first). */
export function decodePppSerial(buf: Uint8Array, base: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - base >= 1 && (buf[base] === 0x0f || buf[base] === 0x8f)) return decodeChdlc(buf, base, end, out);
  return decodePpp(buf, base, end, out);
}

/** DLT_PPP_ETHER (51): a PPPoE session header and PPP, without the Ethernet header (RFC 2516). */
export function decodePppEther(buf: Uint8Array, base: number, end: number, out: DecodedPacket): DecodeStatus {
  return decodePppoe(buf, base, base, end, out);
}

/** DLT_C_HDLC (104): Cisco HDLC, 1-byte address (0x0f unicast, 0x8f broadcast), 1-byte control, an ethertype. */
export function decodeChdlc(buf: Uint8Array, base: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - base < 4) return DecodeStatus.TruncatedLink;
  const type = (buf[base + 2]! << 8) | buf[base + 3]!;
  return decodeEthertype(buf, base, base + 4, end, type, out);
}

/**
 * IEEE 802.2 LLC at `buf[pos]`: only SNAP (AA AA 03, a 3-byte OUI, an ethertype) can carry IP in practice;
 * other SAPs (STP, NetBIOS, IPX...) are `NonIp`.
 */
function decodeLlc(buf: Uint8Array, base: number, pos: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - pos < 3) return DecodeStatus.TruncatedLink;
  if (buf[pos] !== 0xaa || buf[pos + 1] !== 0xaa || buf[pos + 2] !== 0x03) return DecodeStatus.NonIp;
  if (end - pos < 8) return DecodeStatus.TruncatedLink;
  const type = (buf[pos + 6]! << 8) | buf[pos + 7]!;
  return decodeEthertype(buf, base, pos + 8, end, type, out);
}

/** DLT_FDDI (10): frame control (1 byte), destination and source MACs (6 + 6), then LLC. */
export function decodeFddi(buf: Uint8Array, base: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - base < 13) return DecodeStatus.TruncatedLink;
  return decodeLlc(buf, base, base + 13, end, out);
}

/**
 * An IEEE 802.11 MAC frame at `buf[pos]` (DLT_IEEE802_11, or after a radiotap header). Only unprotected data
 * frames with a body carry IP (through LLC/SNAP): management, control, null-function, encrypted and A-MSDU
 * frames are `NonIp`. Header: 24 bytes, +6 with four addresses (to-DS and from-DS), +2 QoS control, +4 HT
 * control when a QoS frame has the order bit. `dataPad`: radiotap's flag for padding to 4 bytes after the header.
 */
export function decode80211(
  buf: Uint8Array,
  base: number,
  pos: number,
  end: number,
  out: DecodedPacket,
  dataPad = false,
): DecodeStatus {
  if (end - pos < 2) return DecodeStatus.TruncatedLink;
  const fc0 = buf[pos]!;
  const fc1 = buf[pos + 1]!;
  if (((fc0 >> 2) & 3) !== 2) return DecodeStatus.NonIp; // not a data frame
  const subtype = fc0 >> 4;
  if ((subtype & 0x4) !== 0 || (fc1 & 0x40) !== 0) return DecodeStatus.NonIp; // no body, or encrypted
  let hdr = 24;
  if ((fc1 & 0x03) === 0x03) hdr += 6;
  if ((subtype & 0x8) !== 0) {
    hdr += 2;
    if (end - pos < hdr) return DecodeStatus.TruncatedLink;
    if ((buf[pos + hdr - 2]! & 0x80) !== 0) return DecodeStatus.NonIp; // A-MSDU: several subframes
    if ((fc1 & 0x80) !== 0) hdr += 4;
  }
  if (dataPad) hdr = (hdr + 3) & ~3;
  if (end - pos < hdr) return DecodeStatus.TruncatedLink;
  return decodeLlc(buf, base, pos + hdr, end, out);
}

/**
 * DLT_IEEE802_11_RADIO (127): a radiotap header (version 0; little-endian length at bytes 2-3), then 802.11.
 * The radiotap flags field (present bit 1, after the 8-byte TSFT when bit 0 is present) says whether the
 * driver padded the 802.11 header.
 */
export function decodeRadiotap(buf: Uint8Array, base: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - base < 8) return DecodeStatus.TruncatedLink;
  if (buf[base] !== 0) return DecodeStatus.NonIp; // unknown radiotap version
  const len = buf[base + 2]! | (buf[base + 3]! << 8);
  if (len < 8 || end - base < len) return DecodeStatus.TruncatedLink;
  // Skip the chain of present words (bit 31 = another follows), bounded by the header length.
  let p = base + 4;
  const present = buf[p]!;
  while (p + 4 <= base + len && (buf[p + 3]! & 0x80) !== 0) p += 4;
  p += 4;
  let dataPad = false;
  if ((present & 0x02) !== 0) {
    if ((present & 0x01) !== 0) p = base + ((p - base + 7) & ~7) + 8; // TSFT: 8 bytes, 8-aligned
    if (p < base + len) dataPad = (buf[p]! & 0x20) !== 0;
  }
  return decode80211(buf, base, base + len, end, out, dataPad);
}

/** NFLOG TLV type that holds the logged packet (NFULA_PAYLOAD). */
const NFULA_PAYLOAD = 9;
/** NFLOG TLV lengths and types are in the capturing host's byte order; libpcap converts them to the reader's. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * DLT_NFLOG (239): address family (AF_INET 2, AF_INET6 10), version, resource id (4 bytes), then TLVs of
 * 2-byte length (header included) and 2-byte type, each padded to 4 bytes. The payload TLV holds the IP packet;
 * a TLV that claims more bytes than the frame has, or fewer than its own header, is `TruncatedLink`.
 */
export function decodeNflog(buf: Uint8Array, base: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - base < 4) return DecodeStatus.TruncatedLink;
  const family = buf[base]!;
  let pos = base + 4;
  while (end - pos >= 4) {
    const len = HOST_LITTLE_ENDIAN ? buf[pos]! | (buf[pos + 1]! << 8) : (buf[pos]! << 8) | buf[pos + 1]!;
    const type = HOST_LITTLE_ENDIAN ? buf[pos + 2]! | (buf[pos + 3]! << 8) : (buf[pos + 2]! << 8) | buf[pos + 3]!;
    if (len < 4) return DecodeStatus.TruncatedLink;
    if (type === NFULA_PAYLOAD) {
      // A snaplen may have cut the payload TLV: decode what is there (the IP decoder reports truncation).
      const stop = end - pos < len ? end : pos + len;
      if (family === 2) return decodeIpv4(buf, base, pos + 4, stop, out);
      if (family === 10) return decodeIpv6(buf, base, pos + 4, stop, out);
      return decodeRawIp(buf, pos + 4, stop, out, base);
    }
    if (end - pos < len) return DecodeStatus.TruncatedLink;
    pos += (len + 3) & ~3;
  }
  return end - pos > 0 ? DecodeStatus.TruncatedLink : DecodeStatus.NonIp; // no payload TLV
}

/** Linux cooked capture v1 (DLT_LINUX_SLL): 16-byte header, protocol (an ethertype) at bytes 14-15. */
export function decodeSll(buf: Uint8Array, base: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - base < 16) return DecodeStatus.TruncatedLink;
  const type = (buf[base + 14]! << 8) | buf[base + 15]!;
  return decodeEthertype(buf, base, base + 16, end, type, out);
}

/** Linux cooked capture v2 (DLT_LINUX_SLL2): 20-byte header, protocol (an ethertype) at bytes 0-1. */
export function decodeSll2(buf: Uint8Array, base: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - base < 20) return DecodeStatus.TruncatedLink;
  const type = (buf[base]! << 8) | buf[base + 1]!;
  return decodeEthertype(buf, base, base + 20, end, type, out);
}

/**
 * BSD loopback (DLT_NULL): a 4-byte address family in the *capturing host's* byte order, so both orders are
 * accepted. AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD) or 30 (macOS).
 */
export function decodeNull(buf: Uint8Array, base: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - base < 4) return DecodeStatus.TruncatedLink;
  const b0 = buf[base]!;
  const b1 = buf[base + 1]!;
  const b2 = buf[base + 2]!;
  const b3 = buf[base + 3]!;
  // The family is < 256, so one end of the word is zero; the non-zero byte tells the order.
  let af: number;
  if ((b1 | b2 | b3) === 0) af = b0; // little-endian host
  else if ((b0 | b1 | b2) === 0) af = b3; // big-endian host
  else return DecodeStatus.NonIp;
  return decodeAddressFamily(buf, base, base + 4, end, af, out);
}

/** OpenBSD loopback (DLT_LOOP): like NULL but the address family is in network byte order. */
export function decodeLoop(buf: Uint8Array, base: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - base < 4) return DecodeStatus.TruncatedLink;
  const af = ((buf[base]! << 24) | (buf[base + 1]! << 16) | (buf[base + 2]! << 8) | buf[base + 3]!) >>> 0;
  return decodeAddressFamily(buf, base, base + 4, end, af, out);
}

function decodeAddressFamily(
  buf: Uint8Array,
  base: number,
  pos: number,
  end: number,
  af: number,
  out: DecodedPacket,
): DecodeStatus {
  if (af === 2) return decodeIpv4(buf, base, pos, end, out);
  if (af === 24 || af === 28 || af === 30) return decodeIpv6(buf, base, pos, end, out);
  return DecodeStatus.NonIp;
}

/**
 * Raw IP (LINKTYPE_RAW 101, DLT_RAW 12/14): no link header; the version nibble decides. An empty frame is
 * `TruncatedIpv4` (as Suricata's DecodeRaw reports it); any other version is `BadIpVersion`.
 */
export function decodeRawIp(buf: Uint8Array, pos: number, end: number, out: DecodedPacket, base = pos): DecodeStatus {
  if (end - pos < 1) return DecodeStatus.TruncatedIpv4;
  const version = buf[pos]! >> 4;
  if (version === 4) return decodeIpv4(buf, base, pos, end, out);
  if (version === 6) return decodeIpv6(buf, base, pos, end, out);
  return DecodeStatus.BadIpVersion;
}
