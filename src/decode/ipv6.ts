/**
 * IPv6 layer of the packet decoder (RFC 8200): the fixed header, then the extension-header chain up to the
 * transport.
 *
 * Extension headers walked: hop-by-hop (0), routing (43), fragment (44), destination options (60),
 * authentication header (51, RFC 4302: length in 4-byte units, minus 2) and mobility (135). ESP (50) ends the
 * walk: what follows is encrypted. The chain is capped at `MAX_IPV6_EXT_HEADERS` (Suricata caps layers too).
 */
import type { DecodedPacket } from './packet.js';
import { DecodeStatus } from './status.js';
import { decodeTransport, setIpPayload } from './transport.js';

/** Deepest extension-header chain accepted before `TooDeep`. Real stacks send at most 3 or 4. */
export const MAX_IPV6_EXT_HEADERS = 8;

const EXT_HOP_BY_HOP = 0;
const EXT_ROUTING = 43;
const EXT_FRAGMENT = 44;
const EXT_AH = 51;
const NO_NEXT_HEADER = 59;
const EXT_DEST_OPTS = 60;
const EXT_MOBILITY = 135;

/**
 * Decode the IPv6 packet at `buf[p]`, ending at most at `end` (frame end). `base` is the frame start, used
 * for `out.ipOffset`. `out.proto` is the protocol after the extension headers.
 */
export function decodeIpv6(
  buf: Uint8Array,
  base: number,
  p: number,
  end: number,
  out: DecodedPacket,
): DecodeStatus {
  const avail = end - p;
  if (avail < 40) return DecodeStatus.TruncatedIpv6;
  if (buf[p]! >> 4 !== 6) return DecodeStatus.BadIpVersion;
  const payloadLen = (buf[p + 4]! << 8) | buf[p + 5]!;
  let nh = buf[p + 6]!;
  // Payload length 0 is a jumbogram (RFC 2675) or a Linux BIG TCP/GSO capture: use the captured length.
  // A bare "no next header" packet has nothing after the header: it stays 40 (no Ethernet padding).
  const total = payloadLen !== 0 ? 40 + payloadLen : nh === NO_NEXT_HEADER ? 40 : avail;

  out.ipVersion = 6;
  out.ipOffset = p - base;
  out.ipTotalBytes = total;
  readAddr(buf, p + 8, out.srcAddr);
  readAddr(buf, p + 24, out.dstAddr);

  let limit = p + total;
  if (limit > end) limit = end;
  let q = p + 40;
  let depth = 0;
  for (;;) {
    let hlen: number;
    if (nh === EXT_FRAGMENT) {
      hlen = 8;
    } else if (
      nh === EXT_HOP_BY_HOP ||
      nh === EXT_ROUTING ||
      nh === EXT_DEST_OPTS ||
      nh === EXT_MOBILITY ||
      nh === EXT_AH
    ) {
      if (limit - q < 2) return DecodeStatus.TruncatedIpv6;
      hlen = nh === EXT_AH ? (buf[q + 1]! + 2) << 2 : (buf[q + 1]! + 1) << 3;
    } else {
      break;
    }
    if (depth === MAX_IPV6_EXT_HEADERS) return DecodeStatus.TooDeep;
    depth++;
    if (limit - q < hlen) return DecodeStatus.TruncatedIpv6;
    if (nh === EXT_FRAGMENT) {
      const frag = (buf[q + 2]! << 8) | buf[q + 3]!;
      const fragOffset = frag & 0xfff8; // 13-bit offset in 8-byte units, already shifted by 3
      nh = buf[q]!;
      q += 8;
      // An atomic fragment (offset 0, M clear; RFC 6946) is a whole packet: not a fragment.
      if ((frag & 0xfff9) !== 0) {
        out.isFragment = 1;
        out.fragOffset = fragOffset;
        if (fragOffset !== 0) {
          out.proto = nh;
          out.ipHeaderBytes = q - p;
          setIpPayload(q, limit, out);
          return DecodeStatus.Fragment;
        }
      }
    } else {
      nh = buf[q]!;
      q += hlen;
    }
  }
  out.proto = nh;
  out.ipHeaderBytes = q - p;
  return decodeTransport(buf, nh, q, limit, out);
}

/** Read a 16-byte address at `buf[i]` into four big-endian words. */
function readAddr(buf: Uint8Array, i: number, words: Uint32Array): void {
  words[0] = (buf[i]! << 24) | (buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!;
  words[1] = (buf[i + 4]! << 24) | (buf[i + 5]! << 16) | (buf[i + 6]! << 8) | buf[i + 7]!;
  words[2] = (buf[i + 8]! << 24) | (buf[i + 9]! << 16) | (buf[i + 10]! << 8) | buf[i + 11]!;
  words[3] = (buf[i + 12]! << 24) | (buf[i + 13]! << 16) | (buf[i + 14]! << 8) | buf[i + 15]!;
}
