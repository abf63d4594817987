/**
 * Transport layer of the packet decoder: TCP, UDP, ICMP/ICMPv6 and "anything else on IP".
 *
 * Called by the IPv4/IPv6 decoders once the IP header (and IPv6 extension chain) is walked. Every function
 * reads only `buf[q .. limit)`, where `limit` is the end of the IP packet clamped to the captured bytes, so a
 * header is never read from Ethernet trailer padding or past the frame. Payload lengths follow the
 * `DecodedPacket` contract: `payloadBytes` from the captured bytes (the IP lengths give what was sent).
 */
import type { DecodedPacket } from './packet.js';
import { DecodeStatus } from './status.js';

/** IP protocol numbers the transport decoder gives a header to (RFC 793, 768, 792, 4443). */
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

/**
 * Decode the transport header of protocol `proto` at `buf[q]`, with the IP packet ending at `limit`
 * (already clamped to the frame). `out.proto`, `out.ipTotalBytes` and `out.ipHeaderBytes` must be set.
 * Protocols without a header here (GRE, ESP, SCTP, IPIP, no-next-header...) are Ok with ports 0.
 */
export function decodeTransport(
  buf: Uint8Array,
  proto: number,
  q: number,
  limit: number,
  out: DecodedPacket,
): DecodeStatus {
  if (proto === PROTO_TCP) return decodeTcp(buf, q, limit, out);
  if (proto === PROTO_UDP) return decodeUdp(buf, q, limit, out);
  if (proto === PROTO_ICMP || proto === PROTO_ICMPV6) return decodeIcmp(buf, q, limit, out);
  setPayload(q, limit, 0, out);
  return DecodeStatus.Ok;
}

/** TCP (RFC 9293 §3.1): ports, sequence and acknowledgment numbers, data offset, flags (+ NS, RFC 3540), raw window. */
function decodeTcp(buf: Uint8Array, q: number, limit: number, out: DecodedPacket): DecodeStatus {
  if (limit - q < 20) return DecodeStatus.TruncatedTcp;
  const b12 = buf[q + 12]!;
  const hlen = (b12 >> 4) << 2;
  if (hlen < 20) return DecodeStatus.TruncatedTcp;
  out.srcPort = (buf[q]! << 8) | buf[q + 1]!;
  out.dstPort = (buf[q + 2]! << 8) | buf[q + 3]!;
  out.tcpSeq = ((buf[q + 4]! << 24) | (buf[q + 5]! << 16) | (buf[q + 6]! << 8) | buf[q + 7]!) >>> 0;
  out.tcpAck = ((buf[q + 8]! << 24) | (buf[q + 9]! << 16) | (buf[q + 10]! << 8) | buf[q + 11]!) >>> 0;
  out.tcpFlags = buf[q + 13]! | ((b12 & 1) << 8);
  out.tcpWindow = (buf[q + 14]! << 8) | buf[q + 15]!;
  // Options may run past the captured bytes (short snaplen) or even the IP packet: CICFlowMeter still
  // reports the data offset as the header length, so accept and let the payload clamp at 0.
  setPayload(q, limit, hlen, out);
  return DecodeStatus.Ok;
}

/** UDP (RFC 768): ports; the header is always 8 bytes. The UDP length field is not used. */
function decodeUdp(buf: Uint8Array, q: number, limit: number, out: DecodedPacket): DecodeStatus {
  if (limit - q < 8) return DecodeStatus.TruncatedUdp;
  out.srcPort = (buf[q]! << 8) | buf[q + 1]!;
  out.dstPort = (buf[q + 2]! << 8) | buf[q + 3]!;
  setPayload(q, limit, 8, out);
  return DecodeStatus.Ok;
}

/**
 * ICMP (RFC 792) / ICMPv6 (RFC 4443): type and code. The common header is 4 bytes (type, code, checksum);
 * the 4 "rest of header" bytes count as header when present, as jnetpcap's 8-byte ICMP header does.
 */
function decodeIcmp(buf: Uint8Array, q: number, limit: number, out: DecodedPacket): DecodeStatus {
  const avail = limit - q;
  if (avail < 4) return DecodeStatus.TruncatedIcmp;
  out.icmpType = buf[q]!;
  out.icmpCode = buf[q + 1]!;
  setPayload(q, limit, avail >= 8 ? 8 : 4, out);
  return DecodeStatus.Ok;
}

/** Fill l4HeaderBytes and payloadBytes (captured, floored at 0). */
function setPayload(q: number, limit: number, l4: number, out: DecodedPacket): void {
  out.l4HeaderBytes = l4;
  out.payloadOffset = q + l4; // in buf; decodeFrame makes it relative to the frame
  const captured = limit - q - l4;
  out.payloadBytes = captured > 0 ? captured : 0;
}

/**
 * The decoders note where the payload starts in `buf`; once the frame at `off` is decoded it is made relative to the
 * frame, as `ipOffset` is (0 without payload).
 */
export function framePayloadOffset(out: DecodedPacket, off: number): void {
  out.payloadOffset = out.payloadBytes > 0 ? out.payloadOffset - off : 0;
}

/** Payload of an IP packet whose transport header is not decoded (a non-first fragment). */
export function setIpPayload(q: number, limit: number, out: DecodedPacket): void {
  setPayload(q, limit, 0, out);
}
