/**
 * The packet decoder's entry point: one captured frame in, one `DecodedPacket` view and one `DecodeStatus`
 * out. Pure, never throws, allocates nothing per packet: it reads `buf` by index within
 * `[off, off + caplen)` and writes numbers into the caller's reused `out`.
 *
 * Layers live in `link.ts` (Ethernet/VLAN/MPLS/PPPoE, SLL, SLL2, NULL, LOOP, raw, PPP, Cisco HDLC, FDDI, 802.11,
 * radiotap, NFLOG; PPI is here because it names another link type), `ipv4.ts`, `ipv6.ts` and
 * `transport.ts`. Tunnels (GRE, IPIP, VXLAN...) are not decapsulated here; `jnetpcap.ts` reads Ethernet frames
 * the way the reference CICFlowMeters' packet library does where that differs (IP in IP among others).
 */
import type { DecodedPacket } from './packet.js';
import { DecodeStatus, LinkType } from './status.js';
import { decodeIpv4 } from './ipv4.js';
import { framePayloadOffset } from './transport.js';
import { decodeIpv6 } from './ipv6.js';
import {
  decode80211,
  decodeChdlc,
  decodeEthernet,
  decodeFddi,
  decodeLoop,
  decodeNflog,
  decodeNull,
  decodePpp,
  decodePppEther,
  decodePppSerial,
  decodeRadiotap,
  decodeRawIp,
  decodeSll,
  decodeSll2,
} from './link.js';

/** OpenBSD's DLT_RAW value, which `pcap_datalink()` reports there for LINKTYPE_RAW captures. */
const DLT_RAW_OPENBSD = 14;

/**
 * Decode one captured frame. Never throws, never allocates. `out` is reset and overwritten.
 *
 * @param linkType libpcap link type of the capture (`LinkType`); unknown ones give `UnsupportedLinkType`.
 * @param buf shared batch buffer holding many frames.
 * @param off start of this frame in `buf` (a non-negative integer).
 * @param caplen captured bytes of this frame; nothing outside `buf[off .. off + caplen)` is read (and nothing
 *   past `buf.length`, whatever caplen claims).
 * @param out the reused view to fill; on a non-Ok status it holds whatever was decoded before the failure.
 * @returns `DecodeStatus.Ok` when addresses (and ports, when the transport has them) were decoded.
 */
export function decodeFrame(
  linkType: number,
  buf: Uint8Array,
  off: number,
  caplen: number,
  out: DecodedPacket,
): DecodeStatus {
  out.reset();
  let end = off + caplen;
  if (end > buf.length) end = buf.length;
  if (off < 0) end = off; // a bad offset decodes as an empty frame rather than reading buf[-1]
  const status = linkType === LinkType.EN10MB ? decodeEthernet(buf, off, end, out) : decodeLink(linkType, buf, off, end, out);
  framePayloadOffset(out, off);
  return status;
}

/** Dispatch on the link type for the frame `buf[off .. end)` (bounds already checked). */
function decodeLink(linkType: number, buf: Uint8Array, off: number, end: number, out: DecodedPacket): DecodeStatus {
  switch (linkType) {
    case LinkType.EN10MB:
      return decodeEthernet(buf, off, end, out);
    case LinkType.LINUX_SLL:
      return decodeSll(buf, off, end, out);
    case LinkType.LINUX_SLL2:
      return decodeSll2(buf, off, end, out);
    case LinkType.RAW:
    case LinkType.DLT_RAW:
    case DLT_RAW_OPENBSD:
      return decodeRawIp(buf, off, end, out);
    case LinkType.IPV4:
      return decodeIpv4(buf, off, off, end, out);
    case LinkType.IPV6:
      return decodeIpv6(buf, off, off, end, out);
    case LinkType.NULL:
      return decodeNull(buf, off, end, out);
    case LinkType.LOOP:
      return decodeLoop(buf, off, end, out);
    case LinkType.PPP:
      return decodePpp(buf, off, end, out);
    case LinkType.PPP_SERIAL:
      return decodePppSerial(buf, off, end, out);
    case LinkType.PPP_ETHER:
      return decodePppEther(buf, off, end, out);
    case LinkType.C_HDLC:
      return decodeChdlc(buf, off, end, out);
    case LinkType.FDDI:
      return decodeFddi(buf, off, end, out);
    case LinkType.IEEE802_11:
      return decode80211(buf, off, off, end, out);
    case LinkType.IEEE802_11_RADIO:
      return decodeRadiotap(buf, off, end, out);
    case LinkType.NFLOG:
      return decodeNflog(buf, off, end, out);
    case LinkType.PPI:
      return decodePpi(buf, off, end, out);
    default:
      return DecodeStatus.UnsupportedLinkType;
  }
}

/**
 * PPI (192): version, flags, little-endian header length and inner link type (DLT), then the frame. The inner
 * frame is decoded by its own link type (not PPI again: `TooDeep`); offsets stay relative to the outer frame.
 */
function decodePpi(buf: Uint8Array, off: number, end: number, out: DecodedPacket): DecodeStatus {
  if (end - off < 8) return DecodeStatus.TruncatedLink;
  const len = buf[off + 2]! | (buf[off + 3]! << 8);
  const dlt = (buf[off + 4]! | (buf[off + 5]! << 8) | (buf[off + 6]! << 16) | (buf[off + 7]! << 24)) >>> 0;
  if (len < 8 || end - off < len) return DecodeStatus.TruncatedLink;
  if (dlt === LinkType.PPI) return DecodeStatus.TooDeep;
  const status = decodeLink(dlt, buf, off + len, end, out);
  if (out.ipVersion !== 0) out.ipOffset += len;
  return status;
}

/** Link types `decodeFrame` understands (for a source to check a capture up front). */
export const SUPPORTED_LINK_TYPES: readonly number[] = [
  LinkType.NULL,
  LinkType.EN10MB,
  LinkType.DLT_RAW,
  DLT_RAW_OPENBSD,
  LinkType.RAW,
  LinkType.LOOP,
  LinkType.LINUX_SLL,
  LinkType.IPV4,
  LinkType.IPV6,
  LinkType.LINUX_SLL2,
  LinkType.PPP,
  LinkType.FDDI,
  LinkType.PPP_SERIAL,
  LinkType.PPP_ETHER,
  LinkType.C_HDLC,
  LinkType.IEEE802_11,
  LinkType.IEEE802_11_RADIO,
  LinkType.PPI,
  LinkType.NFLOG,
];

/** The supported link layers in words, for the message that refuses another one. */
export const SUPPORTED_LINK_TYPES_TEXT =
  'Ethernet, Linux cooked (SLL, SLL2), raw IP, BSD loopback, PPP, PPPoE, Cisco HDLC, FDDI, 802.11 (radiotap, PPI), NFLOG';
