/**
 * Property tests of `decodeFrame` (fast-check):
 *  - random bytes on every supported (and some unsupported) link type, every truncation of a valid frame and
 *    randomly mutated valid frames never throw, return a known status and keep the DecodedPacket invariants;
 *  - decoding reads nothing outside `buf[off .. off+caplen)`: a guard proxy throws on any other index, and a
 *    frame embedded at a random offset in garbage decodes exactly as alone;
 *  - a randomly built valid frame (link x encapsulation x IP x extension headers x fragment x transport)
 *    decodes to exactly the fields it was built with.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, SUPPORTED_LINK_TYPES } from '../src/decode/decode.js';
import { formatIpv6 } from '../src/features/address-text.js';
import { DecodedPacket } from '../src/decode/packet.js';
import { DECODE_STATUS_COUNT, DecodeStatus, LinkType } from '../src/decode/status.js';
import {
  bsdLoop,
  bsdNull,
  bytes,
  concat,
  EtherType,
  ethernet,
  icmp,
  icmpv6,
  ipv4,
  ipv4Word,
  ipv6,
  type Ipv6Extension,
  ipv6Words,
  mpls,
  PppProto,
  pppoeSession,
  sll,
  sll2,
  tcp,
  udp,
} from './helpers/frames.js';

const S = DecodeStatus;
const UNSUPPORTED = [2, 147, 230, 263, 1000];
const ALL_LINK_TYPES = [...SUPPORTED_LINK_TYPES, ...UNSUPPORTED];
const out = new DecodedPacket();

/** Snapshot of every field (typed arrays as plain arrays). */
function snapshot(p: DecodedPacket): Record<string, unknown> {
  return { ...p, srcAddr: Array.from(p.srcAddr), dstAddr: Array.from(p.dstAddr) };
}

/** Minimum transport header the decoder requires before it reports Ok for `proto`. */
function minL4(proto: number): number {
  if (proto === 6) return 20;
  if (proto === 17) return 8;
  if (proto === 1 || proto === 58) return 4;
  return 0;
}

/** The DecodedPacket contract, checked after any decode of a `caplen`-byte frame. */
function checkInvariants(status: number, caplen: number, p: DecodedPacket): void {
  expect(Number.isInteger(status) && status >= 0 && status < DECODE_STATUS_COUNT).toBe(true);
  for (const [k, v] of Object.entries(p)) {
    if (v instanceof Uint32Array) continue;
    expect(Number.isInteger(v), `${k} = ${String(v)}`).toBe(true);
  }
  expect(p.payloadBytes).toBeGreaterThanOrEqual(0);
  expect(p.srcPort >= 0 && p.srcPort <= 0xffff && p.dstPort >= 0 && p.dstPort <= 0xffff).toBe(true);
  expect(p.tcpSeq >= 0 && p.tcpSeq <= 0xffffffff && p.tcpAck >= 0 && p.tcpAck <= 0xffffffff).toBe(true);
  expect(p.tcpFlags >= 0 && p.tcpFlags <= 0x1ff && p.tcpWindow >= 0 && p.tcpWindow <= 0xffff).toBe(true);
  if (status === S.Ok) {
    expect([4, 6]).toContain(p.ipVersion);
    expect(p.ipOffset).toBeGreaterThanOrEqual(0);
    expect(p.ipHeaderBytes).toBeGreaterThanOrEqual(p.ipVersion === 4 ? 20 : 40);
    expect(p.ipTotalBytes).toBeGreaterThanOrEqual(p.ipHeaderBytes);
    // The IP header and the fixed part of the transport header lie inside the captured bytes.
    expect(p.ipOffset + p.ipHeaderBytes + minL4(p.proto)).toBeLessThanOrEqual(caplen);
    if (p.payloadBytes > 0) expect(p.ipOffset + p.ipHeaderBytes + p.l4HeaderBytes + p.payloadBytes).toBeLessThanOrEqual(caplen);
    // Never more than the IP lengths say was sent (a header that claims less than its own size: 0).
    expect(p.payloadBytes).toBeLessThanOrEqual(Math.max(0, p.ipTotalBytes - p.ipHeaderBytes - p.l4HeaderBytes));
    if (p.proto !== 6 && p.proto !== 17) expect(p.srcPort + p.dstPort).toBe(0);
    if (p.proto !== 6) expect(p.tcpFlags + p.tcpWindow + p.tcpSeq + p.tcpAck).toBe(0);
    if (p.proto === 1 || p.proto === 58) expect(p.icmpType).toBeGreaterThanOrEqual(0);
    else expect(p.icmpType).toBe(-1);
  } else if (status === S.Fragment) {
    expect([4, 6]).toContain(p.ipVersion);
    expect(p.isFragment).toBe(1);
    expect(p.fragOffset).toBeGreaterThan(0);
    expect(p.srcPort + p.dstPort).toBe(0);
    expect(p.ipOffset + p.ipHeaderBytes).toBeLessThanOrEqual(caplen);
  } else {
    expect(p.srcPort + p.dstPort).toBe(0);
  }
}

/**
 * A proxy over `buf` that throws on any index outside `[off, off + caplen)`: decoding through it proves the
 * decoder reads only its frame. (Proxies are slow and make the decoder megamorphic: test-only.)
 */
function guarded(buf: Uint8Array, off: number, caplen: number): Uint8Array {
  return new Proxy(buf, {
    get(target, key) {
      if (typeof key === 'string' && /^-?\d+$/.test(key)) {
        const i = Number(key);
        if (i < off || i >= off + caplen) throw new Error(`read buf[${i}] outside [${off}, ${off + caplen})`);
        return target[i];
      }
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Decode `frame[0..caplen)` alone, through the guard, and embedded in garbage: all three must agree. */
function decodeEverywhere(lt: number, frame: Uint8Array, caplen: number, garbage: Uint8Array, at: number): number {
  const status = decodeFrame(lt, frame, 0, caplen, out);
  checkInvariants(status, caplen, out);
  const alone = snapshot(out);

  const big = concat(garbage.subarray(0, at), frame.subarray(0, caplen), garbage.subarray(at));
  expect(decodeFrame(lt, guarded(big, at, caplen), at, caplen, out)).toBe(status);
  expect(snapshot(out)).toEqual(alone);
  // The unguarded embedded decode too (the real, optimised path), with caplen as the only bound.
  expect(decodeFrame(lt, big, at, caplen, out)).toBe(status);
  expect(snapshot(out)).toEqual(alone);
  return status;
}

// ---------------------------------------------------------------------------------------------------------
// A model of valid frames

type Transport =
  | { kind: 'tcp'; sport: number; dport: number; seq: number; ack: number; flags: number; window: number; optWords: number; payload: number }
  | { kind: 'udp'; sport: number; dport: number; payload: number }
  | { kind: 'icmp'; type: number; code: number; payload: number }
  | { kind: 'other'; proto: number; payload: number };

interface Ip {
  v6: boolean;
  src4: string;
  dst4: string;
  src6: string;
  dst6: string;
  exts: (0 | 43 | 51 | 60 | 135)[];
  /** none, first fragment (offset 0 + MF), or a later fragment at `fragUnits` * 8 bytes. */
  frag: 'none' | 'first' | 'later';
  fragUnits: number;
}

type Link =
  | { kind: 'eth'; tpids: number[]; inner: 'ip' | 'mpls' | 'pppoe'; labels: number; pad: boolean }
  | { kind: 'sll' | 'sll2' | 'raw' | 'rawv' | 'loop' }
  | { kind: 'null'; order: 'le' | 'be'; af6: number };

interface Model {
  link: Link;
  ip: Ip;
  l4: Transport;
}

const port = fc.integer({ min: 0, max: 0xffff });
const payloadLen = fc.integer({ min: 0, max: 120 });

const arbTransport: fc.Arbitrary<Transport> = fc.oneof(
  fc.record({
    kind: fc.constant('tcp' as const),
    sport: port,
    dport: port,
    seq: fc.integer({ min: 0, max: 0xffffffff }),
    ack: fc.integer({ min: 0, max: 0xffffffff }),
    flags: fc.integer({ min: 0, max: 0x1ff }),
    window: port,
    optWords: fc.integer({ min: 0, max: 10 }),
    payload: payloadLen,
  }),
  fc.record({ kind: fc.constant('udp' as const), sport: port, dport: port, payload: payloadLen }),
  fc.record({ kind: fc.constant('icmp' as const), type: fc.integer({ min: 0, max: 255 }), code: fc.integer({ min: 0, max: 255 }), payload: payloadLen }),
  fc.record({ kind: fc.constant('other' as const), proto: fc.constantFrom(4, 41, 47, 50, 103, 132), payload: payloadLen }),
);

const arbIp: fc.Arbitrary<Ip> = fc.record({
  v6: fc.boolean(),
  src4: fc.ipV4(),
  dst4: fc.ipV4(),
  src6: fc.ipV6(),
  dst6: fc.ipV6(),
  exts: fc.array(fc.constantFrom(0 as const, 43 as const, 51 as const, 60 as const, 135 as const), { maxLength: 4 }),
  frag: fc.constantFrom('none' as const, 'first' as const, 'later' as const),
  fragUnits: fc.integer({ min: 1, max: 8000 }),
});

const arbLink: fc.Arbitrary<Link> = fc.oneof(
  fc.record({
    kind: fc.constant('eth' as const),
    tpids: fc.array(fc.constantFrom(EtherType.VLAN, EtherType.QinQ, EtherType.QinQOld), { maxLength: 3 }),
    inner: fc.constantFrom('ip' as const, 'mpls' as const, 'pppoe' as const),
    labels: fc.integer({ min: 1, max: 4 }),
    pad: fc.boolean(),
  }),
  fc.record({ kind: fc.constantFrom('sll' as const, 'sll2' as const, 'raw' as const, 'rawv' as const, 'loop' as const) }),
  fc.record({ kind: fc.constant('null' as const), order: fc.constantFrom('le' as const, 'be' as const), af6: fc.constantFrom(24, 28, 30) }),
);

const arbModel: fc.Arbitrary<Model> = fc.record({ link: arbLink, ip: arbIp, l4: arbTransport });

function protoOf(m: Model): number {
  switch (m.l4.kind) {
    case 'tcp':
      return 6;
    case 'udp':
      return 17;
    case 'icmp':
      return m.ip.v6 ? 58 : 1;
    case 'other':
      return m.l4.proto;
  }
}

function buildL4(m: Model): Uint8Array {
  const l4 = m.l4;
  switch (l4.kind) {
    case 'tcp':
      return tcp({ sport: l4.sport, dport: l4.dport, seq: l4.seq, ack: l4.ack, flags: l4.flags, window: l4.window, options: bytes(l4.optWords * 4, 1) }, bytes(l4.payload));
    case 'udp':
      return udp({ sport: l4.sport, dport: l4.dport }, bytes(l4.payload));
    case 'icmp':
      return (m.ip.v6 ? icmpv6 : icmp)({ type: l4.type, code: l4.code }, bytes(l4.payload));
    case 'other':
      return bytes(l4.payload);
  }
}

/** Build the frame a model describes; returns the link type, the frame and where the IP header starts. */
function build(m: Model): { lt: number; frame: Uint8Array; ipOffset: number; ipHeaderBytes: number } {
  const proto = protoOf(m);
  const fragOffset = m.ip.frag === 'later' ? m.ip.fragUnits * 8 : 0;
  const body = m.ip.frag === 'later' ? bytes(l4Length(m)) : buildL4(m);
  let ip: Uint8Array;
  let ipHeaderBytes: number;
  if (m.ip.v6) {
    const exts: Ipv6Extension[] = m.ip.exts.map((type) => (type === 51 ? { type, icvLength: 12 } : { type, data: bytes(type * 7 % 20) }));
    if (m.ip.frag !== 'none') exts.push({ type: 44, fragOffset, more: m.ip.frag === 'first' || fragOffset % 16 === 0 });
    ip = ipv6({ nextHeader: proto, src: m.ip.src6, dst: m.ip.dst6, extensions: exts }, body);
    ipHeaderBytes = ip.length - body.length;
  } else {
    ip = ipv4({ proto, src: m.ip.src4, dst: m.ip.dst4, mf: m.ip.frag === 'first' || (m.ip.frag === 'later' && fragOffset % 16 === 0), fragOffset }, body);
    ipHeaderBytes = 20;
  }
  const ethType = m.ip.v6 ? EtherType.IPv6 : EtherType.IPv4;
  const link = m.link;
  switch (link.kind) {
    case 'eth': {
      const vlans = link.tpids.map((tpid, i) => ({ tpid, vid: i + 1 }));
      const pad = link.pad ? 60 : 0;
      if (link.inner === 'ip') return { lt: 1, frame: ethernet(ethType, ip, { vlans, padTo: pad }), ipOffset: 14 + 4 * vlans.length, ipHeaderBytes };
      if (link.inner === 'mpls') {
        const labels = Array.from({ length: link.labels }, (_, i) => 100 + i);
        return { lt: 1, frame: ethernet(EtherType.MPLS, mpls(labels, ip), { vlans, padTo: pad }), ipOffset: 14 + 4 * vlans.length + 4 * labels.length, ipHeaderBytes };
      }
      const ppp = pppoeSession(m.ip.v6 ? PppProto.IPv6 : PppProto.IPv4, ip);
      return { lt: 1, frame: ethernet(EtherType.PPPoESession, ppp, { vlans, padTo: pad }), ipOffset: 22 + 4 * vlans.length, ipHeaderBytes };
    }
    case 'sll':
      return { lt: LinkType.LINUX_SLL, frame: sll(ethType, ip), ipOffset: 16, ipHeaderBytes };
    case 'sll2':
      return { lt: LinkType.LINUX_SLL2, frame: sll2(ethType, ip), ipOffset: 20, ipHeaderBytes };
    case 'raw':
      return { lt: LinkType.RAW, frame: ip, ipOffset: 0, ipHeaderBytes };
    case 'rawv':
      return { lt: m.ip.v6 ? LinkType.IPV6 : LinkType.IPV4, frame: ip, ipOffset: 0, ipHeaderBytes };
    case 'loop':
      return { lt: LinkType.LOOP, frame: bsdLoop(m.ip.v6 ? 24 : 2, ip), ipOffset: 4, ipHeaderBytes };
    case 'null':
      return { lt: LinkType.NULL, frame: bsdNull(m.ip.v6 ? link.af6 : 2, ip, link.order), ipOffset: 4, ipHeaderBytes };
  }
}

function l4Header(m: Model): number {
  switch (m.l4.kind) {
    case 'tcp':
      return 20 + 4 * m.l4.optWords;
    case 'udp':
    case 'icmp':
      return 8;
    case 'other':
      return 0;
  }
}

function l4Length(m: Model): number {
  return l4Header(m) + m.l4.payload;
}

const garbage = fc.uint8Array({ minLength: 0, maxLength: 64 });

describe('decodeFrame properties', () => {
  it('a built frame decodes to exactly what it was built from', () => {
    fc.assert(
      fc.property(arbModel, (m) => {
        const { lt, frame, ipOffset, ipHeaderBytes } = build(m);
        const status = decodeFrame(lt, frame, 0, frame.length, out);
        checkInvariants(status, frame.length, out);
        const later = m.ip.frag === 'later';
        expect(status).toBe(later ? S.Fragment : S.Ok);
        const ports = m.l4.kind === 'tcp' || m.l4.kind === 'udp';
        // An IPv6 packet with nothing after its header has payload length 0, which the decoder reads as a
        // jumbogram / BIG TCP capture (the captured length is the packet): Ethernet padding then counts as payload.
        const v6Zero = m.ip.v6 && ipHeaderBytes - 40 + l4Length(m) === 0;
        const padding = v6Zero ? frame.length - ipOffset - ipHeaderBytes : 0;
        expect(snapshot(out)).toMatchObject({
          ipVersion: m.ip.v6 ? 6 : 4,
          proto: protoOf(m),
          srcAddr: m.ip.v6 ? ipv6Words(m.ip.src6) : [ipv4Word(m.ip.src4), 0, 0, 0],
          dstAddr: m.ip.v6 ? ipv6Words(m.ip.dst6) : [ipv4Word(m.ip.dst4), 0, 0, 0],
          srcPort: ports && !later ? (m.l4 as { sport: number }).sport : 0,
          dstPort: ports && !later ? (m.l4 as { dport: number }).dport : 0,
          ipOffset,
          ipHeaderBytes,
          ipTotalBytes: ipHeaderBytes + l4Length(m) + padding,
          l4HeaderBytes: later ? 0 : l4Header(m),
          payloadBytes: later ? l4Length(m) : m.l4.payload + padding,
          tcpFlags: m.l4.kind === 'tcp' && !later ? m.l4.flags : 0,
          tcpWindow: m.l4.kind === 'tcp' && !later ? m.l4.window : 0,
          tcpSeq: m.l4.kind === 'tcp' && !later ? m.l4.seq : 0,
          tcpAck: m.l4.kind === 'tcp' && !later ? m.l4.ack : 0,
          icmpType: m.l4.kind === 'icmp' && !later ? m.l4.type : -1,
          icmpCode: m.l4.kind === 'icmp' && !later ? m.l4.code : -1,
          isFragment: m.ip.frag === 'none' ? 0 : 1,
          fragOffset: later ? m.ip.fragUnits * 8 : 0,
        });
      }),
      { numRuns: 500 },
    );
  });

  it('every truncation of a valid frame: no throw, known status, invariants, reads stay inside the frame', () => {
    fc.assert(
      fc.property(arbModel, garbage, fc.nat(), (m, junk, atSeed) => {
        const { lt, frame } = build(m);
        for (let len = 0; len <= frame.length; len++) {
          // Through the guard: the bytes after the cut are still in the buffer, but must not be read.
          const status = decodeFrame(lt, guarded(frame, 0, len), 0, len, out);
          checkInvariants(status, len, out);
          if (len < frame.length && status === S.Ok && out.proto === 6) {
            // A cut TCP segment still reports what the IP header says was sent.
            expect(out.ipTotalBytes - out.ipHeaderBytes - out.l4HeaderBytes).toBe(m.ip.frag === 'later' ? 0 : m.l4.payload);
          }
        }
        // Spot-check a random cut with the guard and embedded in garbage.
        const cut = atSeed % (frame.length + 1);
        decodeEverywhere(lt, frame, cut, junk, atSeed % (junk.length + 1));
      }),
      { numRuns: 150 },
    );
  });

  it('random bytes on any link type: no throw, known status, invariants, reads stay inside the frame', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL_LINK_TYPES), fc.uint8Array({ minLength: 0, maxLength: 200 }), garbage, fc.nat(), (lt, frame, junk, at) => {
        const status = decodeEverywhere(lt, frame, frame.length, junk, at % (junk.length + 1));
        if (!SUPPORTED_LINK_TYPES.includes(lt)) expect(status).toBe(S.UnsupportedLinkType);
        else expect(status).not.toBe(S.UnsupportedLinkType);
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes behind a valid link + IP prefix (reaches the deep decoders): same guarantees', () => {
    // Mutating a valid frame keeps most layers parseable, so the IPv6 chain and transports see hostile input.
    const mutation = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(arbModel, mutation, garbage, fc.nat(), (m, muts, junk, at) => {
        const { lt, frame } = build(m);
        for (const [i, v] of muts) frame[i % frame.length] = v;
        decodeEverywhere(lt, frame, frame.length, junk, at % (junk.length + 1));
      }),
      { numRuns: 1000 },
    );
  });

  it('a frame embedded at a random offset in a garbage buffer decodes as alone', () => {
    fc.assert(
      fc.property(arbModel, fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.nat(), (m, junk, atSeed) => {
        const { lt, frame } = build(m);
        const status = decodeEverywhere(lt, frame, frame.length, junk, atSeed % (junk.length + 1));
        expect(status).toBe(m.ip.frag === 'later' ? S.Fragment : S.Ok);
      }),
      { numRuns: 300 },
    );
  });

  it('formatIpv6 writes the canonical form (WHATWG URL host serialisation = RFC 5952 without dotted quads)', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const s = formatIpv6(Uint32Array.from(ipv6Words(text)));
        expect(s).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
        expect(ipv6Words(s)).toEqual(ipv6Words(text));
      }),
      { numRuns: 500 },
    );
  });
});
