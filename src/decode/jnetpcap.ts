/**
 * How the packet library of the Java CICFlowMeters (jnetpcap 1.4, native scanner + CICFlowMeter's PacketReader)
 * reads an Ethernet frame, where that differs from `decodeFrame`. The profiles reproduce those tools, so the
 * engine reads Ethernet frames this way whenever the frame is not a plain IPv4 packet directly on Ethernet
 * (`needsJnetpcapRead`); the plain case, nearly every packet, gives the same result from both readers.
 *
 * Behaviours reproduced (each inferred from the nDPI reference CSVs and the jnetpcap scanner's logic):
 * - **Version nibble.** An Ethernet type 0x0800 frame is IPv4 whatever its version field says.
 * - **Malformed headers.** An IPv4 header length under 20, or a TCP data offset longer than the IP total length
 *   allows, makes the Java side throw: no IPv4 packet (then the frame-start reading below may apply).
 * - **Ethernet trailer.** The IP total length trims the frame only when IPv4 directly follows the Ethernet header.
 *   Behind a VLAN tag the payload runs to the end of the captured frame, padding included; a total length of 0
 *   (a TSO/GRO super-packet) trims the frame to the IPv4 header, so there is no TCP/UDP header: protocol 0.
 * - **Known link layers.** Only Ethernet II and 802.1Q/802.1ad tags lead to IP; MPLS, PPPoE and the rest do not.
 * - **Tunnels.** IPv4 in IPv4 (protocol 4): the outer addresses with the inner TCP/UDP header. IPv4 in IPv6: the
 *   inner IPv4 packet, addresses and all (IPv6 itself is never read).
 * - **The frame start read as IPv4.** When no IPv4 header was found, CICFlowMeter's PacketReader re-scans the
 *   frame as L2TP and then as an IPv4 header at byte 0 (`getVPNInfo`), so ARP, IPv6, 802.3 and other frames
 *   become packets from "ethertype + 2 bytes" (bytes 12-15) to bytes 16-19, protocol byte 9. jnetpcap 1.4.r1425
 *   (master, the 2017 build) accepts that header when IHL >= 5 and, with the MF bit set, the header fits in the
 *   frame; the fork's jnetpcap 1.4.r1500 does not make these packets (`misread` false).
 *
 * Pure, allocation-free, bounded by the captured bytes like the decoder.
 */
import type { DecodedPacket } from './packet.js';
import { framePayloadOffset } from './transport.js';

/** What the reference's packet library reports for a frame. */
export const JnetpcapRead = {
  /** No IPv4 packet: the reference discards the frame. */
  None: 0,
  /** An IPv4 packet (TCP/UDP/ICMP transport filled in when readable). */
  Ipv4: 1,
  /** A non-first IPv4 fragment: addresses only. */
  Fragment: 2,
  /** The frame's first bytes read as an IPv4 header (see the module comment). */
  FrameStartAsIpv4: 3,
  /** An ICMP error read as the TCP/UDP packet it quotes (`readIcmpQuoteAsJnetpcap`). */
  IcmpQuoteAsTransport: 4,
} as const;
export type JnetpcapRead = (typeof JnetpcapRead)[keyof typeof JnetpcapRead];

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const PROTO_IPIP = 4;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_ICMP = 1;
const PROTO_SCTP = 132;
/** Nested IP-in-IP headers followed before giving up (jnetpcap follows them as long as the frame lasts). */
const MAX_IPIP = 4;

/**
 * Does this frame need the jnetpcap reading? False for the common case: `decodeFrame` found an IPv4 packet right
 * after the Ethernet header, with a non-zero total length and a complete transport header, not IP-in-IP or SCTP.
 */
export function needsJnetpcapRead(status: number, pkt: DecodedPacket, buf: Uint8Array, off: number): boolean {
  if (status !== 0 || pkt.ipVersion !== 4 || pkt.ipOffset !== 14 || pkt.proto === PROTO_IPIP || pkt.proto === PROTO_SCTP) return true;
  if (buf[off + 16] === 0 && buf[off + 17] === 0) return true; // total length 0
  return pkt.proto === PROTO_TCP && pkt.l4HeaderBytes > pkt.ipTotalBytes - pkt.ipHeaderBytes; // offset past the packet
}

/**
 * Read the Ethernet frame `buf[off .. off+caplen)` as jnetpcap does; `out` is reset and filled. `misread`: fall
 * back to reading the frame start as IPv4 (CICFlowMeter master and the 2017 build). Allocates nothing.
 */
export function readEthernetAsJnetpcap(buf: Uint8Array, off: number, caplen: number, out: DecodedPacket, misread: boolean): JnetpcapRead {
  const r = readEthernet(buf, off, caplen, out, misread);
  framePayloadOffset(out, off);
  return r;
}

function readEthernet(buf: Uint8Array, off: number, caplen: number, out: DecodedPacket, misread: boolean): JnetpcapRead {
  out.reset();
  let end = off + caplen;
  if (end > buf.length) end = buf.length;
  if (end - off >= 14) {
    let type = (buf[off + 12]! << 8) | buf[off + 13]!;
    let p = off + 14;
    let tags = 0;
    while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
      if (end - p < 4) {
        type = -1;
        break;
      }
      type = (buf[p + 2]! << 8) | buf[p + 3]!;
      p += 4;
      tags++;
    }
    let r: JnetpcapRead = JnetpcapRead.None;
    if (type === ETH_IPV4) {
      r = readIpv4(buf, off, p, end, out, tags === 0, true);
    } else if (type === ETH_IPV6) {
      const inner = ipv6InnerIpv4(buf, p, end);
      if (inner >= 0) r = readIpv4(buf, off, inner, end, out, false, true);
    }
    if (r !== JnetpcapRead.None) return r;
    out.reset();
  }
  if (!misread) return JnetpcapRead.None;
  return readIpv4(buf, off, off, end, out, false, true) === JnetpcapRead.None ? JnetpcapRead.None : JnetpcapRead.FrameStartAsIpv4;
}

/**
 * jnetpcap's IPv4 header at `buf[p]` (frame start `base`, frame end `end`). `afterEthernet`: trim the Ethernet
 * trailer by the total length. `addresses`: fill the addresses (false for the inner header of IP-in-IP).
 */
function readIpv4(
  buf: Uint8Array,
  base: number,
  p: number,
  end: number,
  out: DecodedPacket,
  afterEthernet: boolean,
  addresses: boolean,
): JnetpcapRead {
  if (end - p < 20) return JnetpcapRead.None;
  const hlen = (buf[p]! & 0x0f) << 2;
  const mf = buf[p + 6]! & 0x20;
  // A header shorter than 20 bytes, or (with MF) running past the frame, makes the Java side throw: no packet.
  if (hlen < 20 || (mf !== 0 && p + hlen > end)) return JnetpcapRead.None;
  const total = (buf[p + 2]! << 8) | buf[p + 3]!;
  if (afterEthernet && total <= end - base && end - p > total) end = p + total;
  const proto = buf[p + 9]!;
  if (addresses) {
    out.ipVersion = 4;
    out.proto = proto;
    out.ipOffset = p - base;
    out.ipHeaderBytes = hlen;
    out.ipTotalBytes = total;
    out.srcAddr[0] = ((buf[p + 12]! << 24) | (buf[p + 13]! << 16) | (buf[p + 14]! << 8) | buf[p + 15]!) >>> 0;
    out.dstAddr[0] = ((buf[p + 16]! << 24) | (buf[p + 17]! << 16) | (buf[p + 18]! << 8) | buf[p + 19]!) >>> 0;
  }
  const frag = ((buf[p + 6]! & 0x1f) << 8) | buf[p + 7]!;
  if (frag !== 0) {
    if (!addresses) return JnetpcapRead.Ipv4; // an inner fragment: the outer packet, no transport
    out.isFragment = 1;
    out.fragOffset = frag << 3;
    return JnetpcapRead.Fragment;
  }
  if (mf !== 0) out.isFragment = 1;
  if (proto === PROTO_TCP && total !== 0 && end - (p + hlen) >= 20 && (buf[p + hlen + 12]! >> 4) << 2 > total - hlen) {
    // A TCP data offset longer than the IP total length allows: the Java side throws on it, no packet.
    return JnetpcapRead.None;
  }
  readTransport(buf, proto, p + hlen, end, out, 0);
  return JnetpcapRead.Ipv4;
}

/**
 * The transport header after an IPv4 header; `out.proto` becomes 0 when jnetpcap finds no header for it (too
 * short to hold one), so the packet counts as "another protocol" in every profile.
 */
function readTransport(buf: Uint8Array, proto: number, q: number, end: number, out: DecodedPacket, depth: number): void {
  const avail = end - q;
  if (proto === PROTO_TCP) {
    const hdr = (buf[q + 12]! >> 4) << 2;
    if (avail < 20 || hdr === 0) {
      out.proto = 0;
      return;
    }
    out.proto = PROTO_TCP;
    out.srcPort = (buf[q]! << 8) | buf[q + 1]!;
    out.dstPort = (buf[q + 2]! << 8) | buf[q + 3]!;
    out.tcpSeq = ((buf[q + 4]! << 24) | (buf[q + 5]! << 16) | (buf[q + 6]! << 8) | buf[q + 7]!) >>> 0;
    out.tcpAck = ((buf[q + 8]! << 24) | (buf[q + 9]! << 16) | (buf[q + 10]! << 8) | buf[q + 11]!) >>> 0;
    out.tcpFlags = buf[q + 13]! | ((buf[q + 12]! & 1) << 8);
    out.tcpWindow = (buf[q + 14]! << 8) | buf[q + 15]!;
    setLengths(out, q, hdr, avail - hdr);
  } else if (proto === PROTO_UDP) {
    if (avail < 8) {
      out.proto = 0;
      return;
    }
    out.proto = PROTO_UDP;
    out.srcPort = (buf[q]! << 8) | buf[q + 1]!;
    out.dstPort = (buf[q + 2]! << 8) | buf[q + 3]!;
    setLengths(out, q, 8, avail - 8);
  } else if (proto === PROTO_IPIP) {
    // IP in IP: the first TCP/UDP header of the packet is the inner one; the addresses stay the outer ones.
    if (depth >= MAX_IPIP || avail < 20) return;
    const hlen = (buf[q]! & 0x0f) << 2;
    const frag = ((buf[q + 6]! & 0x1f) << 8) | buf[q + 7]!;
    if (hlen < 20 || frag !== 0) return;
    readTransport(buf, buf[q + 9]!, q + hlen, end, out, depth + 1);
  } else if (proto === PROTO_ICMP) {
    if (avail < 4) return;
    out.icmpType = buf[q]!;
    out.icmpCode = buf[q + 1]!;
    setLengths(out, q, avail >= 8 ? 8 : 4, avail - 8);
  } else if (proto === PROTO_SCTP) {
    if (avail < 12) return;
    out.srcPort = (buf[q]! << 8) | buf[q + 1]!;
    out.dstPort = (buf[q + 2]! << 8) | buf[q + 3]!;
    setLengths(out, q, 12, avail - 12);
  }
}

function setLengths(out: DecodedPacket, q: number, hdr: number, payload: number): void {
  out.l4HeaderBytes = hdr;
  out.payloadOffset = q + hdr;
  out.payloadBytes = payload > 0 ? payload : 0;
}

/**
 * Where an IPv4 header carried by the IPv6 packet at `buf[p]` starts (IPv4 in IPv6), or -1. Extension headers are
 * skipped as jnetpcap skips them: (length + 1) × 8 bytes each.
 */
function ipv6InnerIpv4(buf: Uint8Array, p: number, end: number): number {
  if (end - p < 40) return -1;
  let next = buf[p + 6]!;
  let q = p + 40;
  for (let hops = 0; hops < 16; hops++) {
    if (next === PROTO_IPIP) return q;
    if (next !== 0 && next !== 60 && next !== 43 && next !== 44 && next !== 51 && next !== 50 && next !== 135) return -1;
    if (end - q < 2) return -1;
    next = buf[q]!;
    q += (buf[q + 1]! + 1) * 8;
  }
  return -1;
}

/**
 * The same packet library decodes the datagram quoted inside an ICMP destination unreachable or parameter problem
 * (not inside the other errors: a redirect stays a protocol-0 packet in the nDPI references) and reports its
 * TCP/UDP header as the packet's own: the reference CSVs of CICFlowMeter master and the 2017 build then show a
 * UDP/TCP flow with the OUTER addresses and the INNER ports, payload = the bytes after the inner transport header up to the end of the outer packet.
 * Rewrites `pkt` that way and returns `IcmpQuoteAsTransport` when the ICMP packet (already decoded in `pkt`) quotes a
 * complete IPv4 TCP/UDP header; otherwise `Ipv4` and `pkt` is unchanged.
 */
export function readIcmpQuoteAsJnetpcap(buf: Uint8Array, off: number, caplen: number, pkt: DecodedPacket): JnetpcapRead {
  const t = pkt.icmpType;
  if (t !== 3 && t !== 12) return JnetpcapRead.Ipv4; // jnetpcap follows the quoted header of these two types only
  const end = off + Math.min(caplen, pkt.ipOffset + pkt.ipTotalBytes);
  const inner = off + pkt.ipOffset + pkt.ipHeaderBytes + 8;
  if (inner + 20 > end || buf[inner]! >> 4 !== 4) return JnetpcapRead.Ipv4;
  const ihl = (buf[inner]! & 0x0f) * 4;
  if (ihl < 20) return JnetpcapRead.Ipv4;
  const proto = buf[inner + 9]!;
  const l4 = inner + ihl;
  let hdr: number;
  if (proto === PROTO_UDP) hdr = 8;
  else if (proto === PROTO_TCP) hdr = l4 + 13 <= end ? (buf[l4 + 12]! >> 4) * 4 : 0;
  else return JnetpcapRead.Ipv4;
  if (hdr < 8 || l4 + (proto === PROTO_TCP ? 20 : 8) > end) return JnetpcapRead.Ipv4;
  pkt.proto = proto;
  pkt.srcPort = (buf[l4]! << 8) | buf[l4 + 1]!;
  pkt.dstPort = (buf[l4 + 2]! << 8) | buf[l4 + 3]!;
  pkt.l4HeaderBytes = hdr;
  pkt.payloadOffset = l4 + hdr - off;
  pkt.payloadBytes = Math.max(0, end - (l4 + hdr));
  if (proto === PROTO_TCP) {
    pkt.tcpFlags = buf[l4 + 13]!;
    pkt.tcpWindow = (buf[l4 + 14]! << 8) | buf[l4 + 15]!;
  }
  return JnetpcapRead.IcmpQuoteAsTransport;
}
