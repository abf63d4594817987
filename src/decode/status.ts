/**
 * Why a frame could not be placed in a flow. `decodeFrame` returns one of these codes and the engine bumps
 * the counter of the same index, so every packet read ends up either in a flow or in exactly one counter.
 *
 * Codes are plain numbers (`as const`, not `const enum`, so vitest/esbuild's isolated modules see them).
 */
export const DecodeStatus = {
  /** An IPv4/IPv6 packet whose addresses (and ports, when the transport has them) were decoded. */
  Ok: 0,
  /** The link type is not one the decoder knows. */
  UnsupportedLinkType: 1,
  /** The frame ended inside the link-layer header (Ethernet, VLAN tag, SLL, NULL...). */
  TruncatedLink: 2,
  /** A valid link layer carrying something that is not IP (ARP, LLDP, STP, ...). */
  NonIp: 3,
  /** The frame ended inside the IPv4 header, or IHL < 5, or total length < IHL. */
  TruncatedIpv4: 4,
  /** The frame ended inside the IPv6 header or one of its extension headers. */
  TruncatedIpv6: 5,
  /** The IP version nibble does not match the link layer's ethertype/protocol. */
  BadIpVersion: 6,
  /** A non-first IP fragment: no transport header, so no ports to place it in a flow. */
  Fragment: 7,
  /** The frame ended inside the TCP header, or the data offset is < 5. */
  TruncatedTcp: 8,
  /** The frame ended inside the UDP header. */
  TruncatedUdp: 9,
  /** The frame ended inside the ICMP/ICMPv6 header. */
  TruncatedIcmp: 10,
  /** Too many nested encapsulations (VLAN/MPLS/IPv6 extension headers) to be legitimate. */
  TooDeep: 11,
} as const;
export type DecodeStatus = (typeof DecodeStatus)[keyof typeof DecodeStatus];

/** Dotted counter names, indexed by status code (Suricata-style `decode.<layer>.<reason>`). */
export const DECODE_STATUS_NAMES: readonly string[] = [
  'decode.ok',
  'decode.link.unsupported',
  'decode.link.truncated',
  'decode.non_ip',
  'decode.ipv4.truncated',
  'decode.ipv6.truncated',
  'decode.ip.bad_version',
  'decode.ip.fragment',
  'decode.tcp.truncated',
  'decode.udp.truncated',
  'decode.icmp.truncated',
  'decode.too_deep',
];

export const DECODE_STATUS_COUNT = DECODE_STATUS_NAMES.length;

/** libpcap DLT_* link types the decoder understands. */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte host-order address family
  EN10MB: 1, // Ethernet
  RAW: 101, // raw IP (LINKTYPE_RAW in files; version nibble decides)
  DLT_RAW: 12, // what pcap_datalink() reports for LINKTYPE_RAW on Linux (14 on OpenBSD: also accepted)
  LOOP: 108, // OpenBSD loopback: 4-byte network-order address family
  LINUX_SLL: 113, // Linux cooked v1
  IPV4: 228, // raw IPv4
  IPV6: 229, // raw IPv6
  LINUX_SLL2: 276, // Linux cooked v2
  PPP: 9, // PPP (RFC 1661), with or without HDLC-like framing ff 03 (RFC 1662)
  FDDI: 10, // FDDI: frame control, two MACs, then 802.2 LLC/SNAP
  PPP_SERIAL: 50, // PPP in HDLC-like framing, or Cisco PPP with HDLC framing (RFC 1547 §4.3.1)
  PPP_ETHER: 51, // PPPoE session header, then PPP (RFC 2516) without the Ethernet header
  C_HDLC: 104, // Cisco HDLC: address, control, 2-byte ethertype
  IEEE802_11: 105, // 802.11 without radio header: data frames with LLC/SNAP
  IEEE802_11_RADIO: 127, // radiotap header, then 802.11
  PPI: 192, // Per-Packet Information header, then a frame of the link type it names
  NFLOG: 239, // Linux netfilter log: 4-byte header, TLVs; TLV type 9 holds the IP packet
} as const;
