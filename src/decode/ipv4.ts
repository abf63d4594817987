/**
 * IPv4 layer of the packet decoder (RFC 791).
 *
 * Checks run in Suricata's `DecodeIPV4Packet` order: captured length, version, header length, total length,
 * captured bytes vs header length. Unlike Suricata, a packet whose total length exceeds the captured bytes is
 * accepted (a sensor on a small snaplen still gets flows); the transport then sees the captured part only.
 */
import type { DecodedPacket } from './packet.js';
import { DecodeStatus } from './status.js';
import { decodeTransport, setIpPayload } from './transport.js';

/**
 * Decode the IPv4 packet at `buf[p]`, ending at most at `end` (frame end). `base` is the frame start, used
 * for `out.ipOffset`. Non-first fragments get addresses and protocol, then return `Fragment`.
 */
export function decodeIpv4(
  buf: Uint8Array,
  base: number,
  p: number,
  end: number,
  out: DecodedPacket,
): DecodeStatus {
  const avail = end - p;
  if (avail < 20) return DecodeStatus.TruncatedIpv4;
  const b0 = buf[p]!;
  if (b0 >> 4 !== 4) return DecodeStatus.BadIpVersion;
  const hlen = (b0 & 0x0f) << 2;
  if (hlen < 20) return DecodeStatus.TruncatedIpv4;
  let total = (buf[p + 2]! << 8) | buf[p + 3]!;
  if (total === 0) {
    // Linux captures of TSO/GSO super-packets show total length 0: the captured length is the packet.
    total = avail;
  } else if (total < hlen) {
    return DecodeStatus.TruncatedIpv4;
  }
  if (avail < hlen) return DecodeStatus.TruncatedIpv4;

  const proto = buf[p + 9]!;
  out.ipVersion = 4;
  out.proto = proto;
  out.ipOffset = p - base;
  out.ipHeaderBytes = hlen;
  out.ipTotalBytes = total;
  out.srcAddr[0] = ((buf[p + 12]! << 24) | (buf[p + 13]! << 16) | (buf[p + 14]! << 8) | buf[p + 15]!) >>> 0;
  out.dstAddr[0] = ((buf[p + 16]! << 24) | (buf[p + 17]! << 16) | (buf[p + 18]! << 8) | buf[p + 19]!) >>> 0;

  let limit = p + total;
  if (limit > end) limit = end;
  const q = p + hlen;

  const frag = (buf[p + 6]! << 8) | buf[p + 7]!;
  if ((frag & 0x3fff) !== 0) {
    // MF (0x2000) or a non-zero offset (13 bits, 8-byte units).
    const fragOffset = (frag & 0x1fff) << 3;
    out.isFragment = 1;
    out.fragOffset = fragOffset;
    if (fragOffset !== 0) {
      setIpPayload(q, limit, out);
      return DecodeStatus.Fragment;
    }
  }
  return decodeTransport(buf, proto, q, limit, out);
}
