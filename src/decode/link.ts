/**
 * Link layer of the packet decoder: Ethernet II with VLAN / QinQ tags, MPLS and PPPoE session; Linux cooked
 * captures (SLL, SLL2); BSD NULL / OpenBSD LOOP; raw IP. Each function finds where the IP header starts and
 * hands over to the IPv4/IPv6 decoder; anything that is not IP is `NonIp`.
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
    out.vlanDepth = depth;
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
  let pppProto = buf[pos + 6]!;
  let ip = pos + 7;
  if ((pppProto & 1) === 0) {
    if (end - pos < 8) return DecodeStatus.TruncatedLink;
    pppProto = (pppProto << 8) | buf[pos + 7]!;
    ip = pos + 8;
  }
  if (pppProto === PPP_IPV4) return decodeIpv4(buf, base, ip, end, out);
  if (pppProto === PPP_IPV6) return decodeIpv6(buf, base, ip, end, out);
  return DecodeStatus.NonIp;
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
export function decodeRawIp(buf: Uint8Array, base: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - base < 1) return DecodeStatus.TruncatedIpv4;
  const version = buf[base]! >> 4;
  if (version === 4) return decodeIpv4(buf, base, base, end, out);
  if (version === 6) return decodeIpv6(buf, base, base, end, out);
  return DecodeStatus.BadIpVersion;
}
