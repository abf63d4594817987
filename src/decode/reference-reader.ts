/**
 * A frame read as a profile's reference tool read it: our decoder (decode.ts), then the reference packet
 * library's own readings (jnetpcap.ts) where they differ, and what the tool does with IPv6 and fragments. Each
 * frame gets exactly one `ReadStatus`, and each status is one counter: the engine counts a frame once and never
 * takes a count back.
 *
 * The first codes are the decoder's own (`DecodeStatus`, counted under their `decode.*` names); the rest name the
 * reference readings. Statuses up to `LAST_IN_FLOW` put the packet in a flow; the others are why it is not in one.
 * Pure, allocation-free.
 */
import type { DecodedPacket } from './packet.js';
import { DecodeStatus, DECODE_STATUS_NAMES, LinkType } from './status.js';
import { decodeFrame } from './decode.js';
import { JnetpcapRead, needsJnetpcapRead, readEthernetAsJnetpcap, readIcmpQuoteAsJnetpcap } from './jnetpcap.js';

export const ReadStatus = {
  ...DecodeStatus,
  /** A non-first IP fragment placed in a protocol-0 flow, as the references' packet library did. */
  FragmentInFlow: 12,
  /** A non-IPv4 Ethernet frame whose first bytes were read as an IPv4 header (CIC master's packet library). */
  FrameStartAsIpv4: 13,
  /** An ICMP error placed in the TCP/UDP flow it quotes (the CIC profiles' packet library). */
  IcmpQuoteAsTransport: 14,
  /** An IPv6 packet while IPv6 flows are off (the references discard them). */
  Ipv6Disabled: 15,
  /** A frame our decoder reads as IP but the references' packet library does not (IPv4 behind MPLS or PPPoE). */
  NotIpv4ForReference: 16,
} as const;
export type ReadStatus = (typeof ReadStatus)[keyof typeof ReadStatus];

/** Counter names by status: the decoder's, then the names these counts always had in the summary and `runs`. */
export const READ_STATUS_NAMES: readonly string[] = [
  ...DECODE_STATUS_NAMES,
  'flow.fragments_in_flows',
  'flow.frame_start_as_ipv4',
  'flow.icmp_quote_as_transport',
  'flow.ipv6_disabled',
  'flow.not_ipv4_for_reference',
];
export const READ_STATUS_COUNT = READ_STATUS_NAMES.length;

/** Is a packet of this status placed in a flow? (Ok and the three reference readings that keep the packet.) */
export function readIntoFlow(status: ReadStatus): boolean {
  return status === ReadStatus.Ok || status === ReadStatus.FragmentInFlow || status === ReadStatus.FrameStartAsIpv4 || status === ReadStatus.IcmpQuoteAsTransport;
}

/** How a profile's tool reads frames (features/profiles/profile.ts `ProfileRules`, and the run's IPv6 setting). */
export interface ReadingRules {
  /** A non-IPv4 Ethernet frame is read as an IPv4 header from its first byte (jnetpcap r1425: master, 2017). */
  readonly readsFrameStartAsIpv4: boolean;
  /** An ICMP unreachable or parameter problem joins the TCP/UDP flow it quotes (master, 2017). */
  readonly icmpErrorsJoinQuotedFlow: boolean;
  /** A non-first fragment with MF set is not placed in a flow (the fork keeps only the last fragment). */
  readonly dropsMiddleFragments: boolean;
  /** IPv6 packets make flows (read by our decoder); otherwise they are counted and discarded. */
  readonly ipv6: boolean;
}

/**
 * Read the frame `buf[off .. off+caplen)` into `pkt` as the profile's tool did. For a status that puts the packet
 * in a flow, `readAsFragment` says whether it has no transport header (a protocol-0 packet between the addresses).
 */
export function readFrame(linkType: number, buf: Uint8Array, off: number, caplen: number, pkt: DecodedPacket, rules: ReadingRules): ReadStatus {
  let status: DecodeStatus = decodeFrame(linkType, buf, off, caplen, pkt);
  if (linkType === LinkType.EN10MB && !(rules.ipv6 && pkt.ipVersion === 6) && needsJnetpcapRead(status, pkt, buf, off)) {
    // Not a plain IPv4 packet on Ethernet: read it as the references' packet library does (jnetpcap.ts).
    const wasIpv6 = pkt.ipVersion === 6;
    const decoded = status === DecodeStatus.Ok || status === DecodeStatus.Fragment;
    const read = readEthernetAsJnetpcap(buf, off, caplen, pkt, rules.readsFrameStartAsIpv4);
    if (read === JnetpcapRead.None) return wasIpv6 ? ReadStatus.Ipv6Disabled : decoded ? ReadStatus.NotIpv4ForReference : status;
    if (read === JnetpcapRead.FrameStartAsIpv4) return ReadStatus.FrameStartAsIpv4;
    status = read === JnetpcapRead.Fragment ? DecodeStatus.Fragment : DecodeStatus.Ok;
  }
  if (status !== DecodeStatus.Ok && status !== DecodeStatus.Fragment) return status;
  // One reason per packet: an IPv6 fragment is counted as IPv6, not as a fragment.
  if (pkt.ipVersion === 6 && !rules.ipv6) return ReadStatus.Ipv6Disabled;
  if (status === DecodeStatus.Fragment) {
    // The fork keeps a non-first fragment only when MF is clear (the last one); measured on 5 fuzzed packets.
    if (rules.dropsMiddleFragments && (buf[off + pkt.ipOffset + 6]! & 0x20) !== 0) return ReadStatus.Fragment;
    return ReadStatus.FragmentInFlow;
  }
  if (pkt.proto === 1 && pkt.ipVersion === 4 && rules.icmpErrorsJoinQuotedFlow && readIcmpQuoteAsJnetpcap(buf, off, caplen, pkt) === JnetpcapRead.IcmpQuoteAsTransport) {
    return ReadStatus.IcmpQuoteAsTransport;
  }
  return ReadStatus.Ok;
}

/** For a packet placed in a flow: has it no transport header (a fragment, or a frame start read as one)? */
export function readAsFragment(status: ReadStatus, pkt: DecodedPacket): boolean {
  return status === ReadStatus.FragmentInFlow || (status === ReadStatus.FrameStartAsIpv4 && pkt.fragOffset !== 0);
}
