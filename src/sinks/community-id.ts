/**
 * Community ID v1 (corelight/community-id-spec): a flow's 5-tuple hashed so that Zeek, Suricata, Wireshark and
 * this sensor name the same conversation with the same string, whichever side sent first.
 *
 *   "1:" + base64(SHA1(seed (2 bytes, big-endian) | src addr | dst addr | proto | 0 | src port | dst port))
 *
 * with the endpoints ordered so the smaller (address, port) comes first, ports only for TCP, UDP, SCTP, ICMP and
 * ICMPv6, and ICMP types/codes standing in for ports (a request and its reply map to the same pair). Computed in
 * the sinks, per flow, off the packet path.
 */
import * as crypto from 'node:crypto';
import { isIPv4 } from 'node:net';

const TCP = 6;
const UDP = 17;
const SCTP = 132;
const ICMP = 1;
const ICMP6 = 58;

/** ICMP types that have a counterpart (request ↔ reply): the pair is two-way and orders like ports. */
const ICMP4_COUNTERPART = new Map<number, number>([
  [8, 0], [0, 8], // echo
  [13, 14], [14, 13], // timestamp
  [15, 16], [16, 15], // information
  [10, 9], [9, 10], // router solicitation / advertisement
  [17, 18], [18, 17], // address mask
]);
const ICMP6_COUNTERPART = new Map<number, number>([
  [128, 129], [129, 128], // echo
  [133, 134], [134, 133], // router solicitation / advertisement
  [135, 136], [136, 135], // neighbour solicitation / advertisement
  [130, 131], [131, 130], // multicast listener query / report
  [139, 140], [140, 139], // node information query / response
  [144, 145], [145, 144], // home agent address discovery
]);

/** The bytes of an IPv4 or IPv6 address in text form (as the flow identity holds it), in network order. */
function addressBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  // IPv6: expand "::" and an embedded dotted quad, then 8 groups of 16 bits.
  let text = ip;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const b = dotted[1]!.split('.').map(Number);
    text = text.slice(0, dotted.index) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new RangeError(`not an IP address: ${ip}`);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export interface CommunityTuple {
  srcIp: string;
  dstIp: string;
  /** IP protocol number on the wire. */
  proto: number;
  /** TCP/UDP/SCTP ports; ignored for ICMP (use icmpType/icmpCode) and other protocols. */
  srcPort: number;
  dstPort: number;
  icmpType?: number;
  icmpCode?: number;
}

/** One scratch buffer for the hashed bytes: seed 2, addresses 2 × 16, proto and pad 2, ports 4. */
const scratch = Buffer.alloc(40);
const SRC = 2;
const DST = 18;

/** Writes a dotted quad at `off` (fast path: no allocation); false when `ip` is not one. */
function writeIpv4(ip: string, buf: Buffer, off: number): boolean {
  let part = 0;
  let digits = 0;
  let n = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46;
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3) return false;
    } else if (c === 46 && digits > 0 && part <= 255 && n < 4) {
      buf[off + n++] = part;
      part = 0;
      digits = 0;
    } else return false;
  }
  return n === 4;
}

/** Writes the address at `off`; returns its length (4 or 16). */
function writeAddress(ip: string, buf: Buffer, off: number): number {
  if (writeIpv4(ip, buf, off)) return 4;
  addressBytes(ip).copy(buf, off);
  return 16;
}

// One-shot hashing where this Node has it (20.12+): a third of createHash's cost per flow.
const oneShot = (crypto as { hash?: (alg: string, data: Buffer, enc: 'base64') => string }).hash;

/** The Community ID v1 string of a flow, e.g. `1:wCb3OG7yAFWelaUydu0D+125CLM=`. */
export function communityId(t: CommunityTuple, seed = 0): string {
  const buf = scratch;
  const alen = writeAddress(t.srcIp, buf, SRC);
  if (writeAddress(t.dstIp, buf, DST) !== alen) throw new RangeError(`address families differ: ${t.srcIp}, ${t.dstIp}`);
  let sport = -1;
  let dport = -1;
  let oneWay = false;
  if (t.proto === TCP || t.proto === UDP || t.proto === SCTP) {
    sport = t.srcPort;
    dport = t.dstPort;
  } else if (t.proto === ICMP || t.proto === ICMP6) {
    const type = t.icmpType ?? 0;
    const counterpart = (t.proto === ICMP ? ICMP4_COUNTERPART : ICMP6_COUNTERPART).get(type);
    sport = type;
    if (counterpart !== undefined) dport = counterpart;
    else {
      dport = t.icmpCode ?? 0;
      oneWay = true;
    }
  }
  // Smaller endpoint first, so both directions hash alike; a one-way ICMP message keeps its direction.
  // buf.compare(target, tStart, tEnd, sStart, sEnd) compares the source range with the target's: src vs dst.
  const order = buf.compare(buf, DST, DST + alen, SRC, SRC + alen);
  const swap = !oneWay && (order > 0 || (order === 0 && sport > dport));
  // Laid out as hashed: seed | first address | second address | proto | 0 | first port | second port.
  const out = Buffer.allocUnsafe(2 + 2 * alen + 2 + (sport >= 0 ? 4 : 0));
  out.writeUInt16BE(seed & 0xffff, 0);
  buf.copy(out, 2, swap ? DST : SRC, (swap ? DST : SRC) + alen);
  buf.copy(out, 2 + alen, swap ? SRC : DST, (swap ? SRC : DST) + alen);
  let o = 2 + 2 * alen;
  out[o++] = t.proto & 0xff;
  out[o++] = 0;
  if (sport >= 0) {
    out.writeUInt16BE((swap ? dport : sport) & 0xffff, o);
    out.writeUInt16BE((swap ? sport : dport) & 0xffff, o + 2);
  }
  const digest = oneShot ? oneShot('sha1', out, 'base64') : crypto.createHash('sha1').update(out).digest('base64');
  return `1:${digest}`;
}
