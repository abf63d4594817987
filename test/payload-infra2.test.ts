/**
 * The eighth round of payload rules (src/decode/payload/infra2.ts): KCP, MikroTik's MNDP, GE's Ethernet Global Data,
 * CAN over UDP (CAN-ETH), Agora's SD-RTN, ZUG and DDS's RTPS. Messages built here from each format (KCP's segment header as
 * ikcp.c encodes it; MNDP's header and TLVs; EGD's 32-byte header; CAN-ETH's magic, count and 15-byte frames; the
 * SD-RTN and ZUG bytes nDPI's dissectors look for; RTPS's header and submessage header, OMG DDSI-RTPS 2.5), each with near misses that break one rule of the signature and
 * must not match; random bytes and every truncation never throw; nothing is allocated per call.
 */
import { describe, expect, it } from 'vitest';
import { matchPayload, PAYLOAD_PROTOCOLS, payloadProtocolName } from '../src/decode/payload-protocol.js';
import { collectionsDuringCalls, expectNothingReadPastEnd, expectRandomBytesTakeNone, expectRandomTailsTakeNone, expectTruncationsNameNoOther, TCP, UDP, ascii, u16, le16, le32, fill, rtps, type PayloadCase } from './helpers/payload-cases.js';

function match(bytes: number[], proto: number, srcPort: number, dstPort: number): string | null {
  return payloadProtocolName(matchPayload(Uint8Array.from(bytes), 0, bytes.length, proto, srcPort, dstPort));
}

// ---- KCP (ikcp.c: conv, cmd, frg, wnd, ts, sn, una, len; little-endian) ----

const PUSH = 81;
const ACK = 82;
const WASK = 83;
const WINS = 84;
interface Seg { conv?: number; cmd: number; frg?: number; sn?: number; data?: number[]; len?: number }
const seg = (s: Seg): number[] => {
  const data = s.data ?? [];
  return [...le32(s.conv ?? 0x11223344), s.cmd, s.frg ?? 0, ...le16(128), ...le32(0x0001e240), ...le32(s.sn ?? 7), ...le32(5), ...le32(s.len ?? data.length), ...data];
};
const KCP_PUSH = seg({ cmd: PUSH, data: ascii('hello, kcp') });

// ---- MNDP (TLVs: type and length, 16 bits big-endian) ----

const tlv = (type: number, value: number[]): number[] => [...u16(type), ...u16(value.length), ...value];
const MAC = tlv(1, [0x4c, 0x5e, 0x0c, 0x12, 0x34, 0x56]);
const MNDP_BODY = [
  ...MAC, ...tlv(5, ascii('MikroTik')), ...tlv(7, ascii('6.49.10 (long-term)')), ...tlv(8, ascii('MikroTik')),
  ...tlv(10, le32(86400)), ...tlv(11, ascii('ABCD-1234')), ...tlv(12, ascii('RB951Ui-2HnD')), ...tlv(14, [1]),
  ...tlv(16, ascii('ether1')), ...tlv(17, [192, 168, 88, 1]),
];
const mndp = (body: number[]): number[] => [0, 0, ...u16(3), ...body];

// ---- EGD (32-byte header, then data) ----

interface Egd { type?: number; version?: number; producer?: number[]; status?: number; reserved?: number; data?: number[] }
const egd = (o: Egd = {}): number[] => [
  o.type ?? 13, o.version ?? 1, ...le16(42), ...(o.producer ?? [10, 0, 0, 5]), ...le32(0x0102), ...le32(1700000000), ...le32(5000),
  ...le32(o.status ?? 1), ...le32(0), ...le32(o.reserved ?? 0), ...(o.data ?? fill(16, 0x33)),
];
const EGD_PORTS: [number, number] = [18246, 18246];

// ---- CAN-ETH (magic, version, count, 15-byte frames) ----

const canFrame = (id: number, data: number[], ext = 0, rtr = 0): number[] => [...le32(id), data.length, ...data, ...fill(8 - data.length, 0), ext, rtr];
const caneth = (frames: number[][], version = 1, count = frames.length): number[] => [...ascii('ISO11898'), version, count, ...frames.flat()];
const CAN_ONE = caneth([canFrame(0x123, [1, 2, 3, 4])]);

// ---- SD-RTN (nDPI's sd_rtn.c: byte 6 0x21, `\x04SNI` at 12, length, zero, name) ----

const sdRtn = (name: string, o: { b6?: number; tag?: number[]; zero?: number; len?: number } = {}): number[] => [
  0x00, 0x5c, 0x01, 0x00, 0x00, 0x00, o.b6 ?? 0x21, 0x00, 0x10, 0x27, 0x00, 0x00, ...(o.tag ?? [0x04, 0x53, 0x4e, 0x49]),
  ...u16(o.len ?? name.length), o.zero ?? 0, ...ascii(name), ...fill(12, 0x7f),
];

// ---- ZUG (nDPI's zug.c: 00 7a 55 47, then 0x10) ----

const ZUG_MSG = [0x00, 0x7a, 0x55, 0x47, 0x10, ...fill(40, 0x21)];

type Case = PayloadCase;

const CASES: Case[] = [
  // KCP
  { what: 'KCP PUSH with data', bytes: KCP_PUSH, proto: UDP, ports: [50000, 4000], want: 'KCP' },
  { what: 'KCP ACK (no data)', bytes: seg({ cmd: ACK }), proto: UDP, want: 'KCP' },
  { what: 'KCP WASK', bytes: seg({ cmd: WASK }), proto: UDP, want: 'KCP' },
  { what: 'KCP WINS', bytes: seg({ cmd: WINS }), proto: UDP, want: 'KCP' },
  { what: 'KCP: two ACKs and a PUSH fragment in one datagram', bytes: [...seg({ cmd: ACK, sn: 3 }), ...seg({ cmd: ACK, sn: 4 }), ...seg({ cmd: PUSH, frg: 2, data: fill(100, 0xab) })], proto: UDP, want: 'KCP' },
  { what: 'KCP over TCP: not this rule', bytes: KCP_PUSH, proto: TCP, want: null },
  { what: 'KCP: command 80', bytes: seg({ cmd: 80 }), proto: UDP, want: null },
  { what: 'KCP: command 85', bytes: seg({ cmd: 85 }), proto: UDP, want: null },
  { what: 'KCP: len one byte past the datagram', bytes: seg({ cmd: PUSH, data: fill(10), len: 11 }), proto: UDP, want: null },
  { what: 'KCP: len one byte short of the datagram', bytes: seg({ cmd: PUSH, data: fill(10), len: 9 }), proto: UDP, want: null },
  { what: 'KCP: an ACK carrying data', bytes: seg({ cmd: ACK, data: fill(4) }), proto: UDP, want: null },
  { what: 'KCP: an ACK with a fragment count', bytes: seg({ cmd: ACK, frg: 1 }), proto: UDP, want: null },
  { what: 'KCP: second segment of another conversation', bytes: [...seg({ cmd: ACK }), ...seg({ cmd: ACK, conv: 0x11223345 })], proto: UDP, want: null },
  { what: 'KCP: a segment then a cut header', bytes: [...seg({ cmd: ACK }), ...seg({ cmd: ACK }).slice(0, 20)], proto: UDP, want: null },
  { what: 'KCP: len with the high bit set', bytes: seg({ cmd: PUSH, len: 0x80000010 }), proto: UDP, want: null },

  // MNDP
  { what: 'MNDP announcement to 5678', bytes: mndp(MNDP_BODY), proto: UDP, ports: [5678, 5678], want: 'Mikrotik' },
  { what: 'MNDP with the MAC address alone', bytes: mndp(MAC), proto: UDP, ports: [5678, 5678], want: 'Mikrotik' },
  { what: 'MNDP with an IPv6 address', bytes: mndp([...MAC, ...tlv(15, fill(16, 0xfe))]), proto: UDP, ports: [5678, 5678], want: 'Mikrotik' },
  { what: 'MNDP from 5678 to another port', bytes: mndp(MNDP_BODY), proto: UDP, ports: [5678, 40000], want: null },
  { what: 'MNDP over TCP', bytes: mndp(MNDP_BODY), proto: TCP, ports: [5678, 5678], want: null },
  { what: 'MNDP without a MAC address', bytes: mndp(MNDP_BODY.slice(MAC.length)), proto: UDP, ports: [5678, 5678], want: null },
  { what: 'MNDP: a MAC address of 5 bytes', bytes: mndp(tlv(1, [1, 2, 3, 4, 5])), proto: UDP, ports: [5678, 5678], want: null },
  { what: 'MNDP: uptime of 8 bytes', bytes: mndp([...MAC, ...tlv(10, fill(8, 0))]), proto: UDP, ports: [5678, 5678], want: null },
  { what: 'MNDP: an unknown TLV type 2', bytes: mndp([...MAC, ...tlv(2, [1])]), proto: UDP, ports: [5678, 5678], want: null },
  { what: 'MNDP: last TLV longer than the datagram', bytes: mndp([...MAC, ...u16(5), ...u16(9), ...ascii('Mikro')]), proto: UDP, ports: [5678, 5678], want: null },
  { what: 'MNDP: a byte after the last TLV', bytes: mndp([...MAC, 0]), proto: UDP, ports: [5678, 5678], want: null },
  { what: 'MNDP: the 4-byte discovery request (too little to name)', bytes: [0, 0, 0, 0], proto: UDP, ports: [5678, 5678], want: null },

  // EGD
  { what: 'EGD data message to 18246', bytes: egd(), proto: UDP, ports: EGD_PORTS, want: 'EthernetGlobalData' },
  { what: 'EGD status 30 (exchange deleted)', bytes: egd({ status: 30 }), proto: UDP, ports: [40000, 18246], want: 'EthernetGlobalData' },
  { what: 'EGD on another port', bytes: egd(), proto: UDP, ports: [40000, 40001], want: null },
  { what: 'EGD: header alone, no data', bytes: egd({ data: [] }), proto: UDP, ports: EGD_PORTS, want: null },
  { what: 'EGD: PDU type 12', bytes: egd({ type: 12 }), proto: UDP, ports: EGD_PORTS, want: null },
  { what: 'EGD: version 2', bytes: egd({ version: 2 }), proto: UDP, ports: EGD_PORTS, want: null },
  { what: 'EGD: producer ID 0.0.0.0', bytes: egd({ producer: [0, 0, 0, 0] }), proto: UDP, ports: EGD_PORTS, want: null },
  { what: 'EGD: status 5 (undefined)', bytes: egd({ status: 5 }), proto: UDP, ports: EGD_PORTS, want: null },
  { what: 'EGD: status 31', bytes: egd({ status: 31 }), proto: UDP, ports: EGD_PORTS, want: null },
  { what: 'EGD: reserved word not zero', bytes: egd({ reserved: 1 }), proto: UDP, ports: EGD_PORTS, want: null },

  // CAN-ETH
  { what: 'CAN-ETH: one frame over UDP 11898', bytes: CAN_ONE, proto: UDP, ports: [11898, 11898], want: 'Controller_Area_Network' },
  { what: 'CAN-ETH: 16 frames, extended and remote-request flags', bytes: caneth(Array.from({ length: 16 }, (_, i) => canFrame(0x18fef100 + i, fill(i % 9, i), 1, i & 1))), proto: UDP, want: 'Controller_Area_Network' },
  { what: 'CAN-ETH over TCP: two packets in a segment', bytes: [...CAN_ONE, ...caneth([canFrame(0x7ff, fill(8, 9)), canFrame(0x100, [])])], proto: TCP, want: 'Controller_Area_Network' },
  { what: 'CAN-ETH: version 2', bytes: caneth([canFrame(0x123, [1])], 2), proto: UDP, want: null },
  { what: 'CAN-ETH: no frames', bytes: caneth([]), proto: UDP, want: null },
  { what: 'CAN-ETH: 17 frames', bytes: caneth(Array.from({ length: 17 }, () => canFrame(1, [1]))), proto: UDP, want: null },
  { what: 'CAN-ETH: count says 2, one frame present', bytes: caneth([canFrame(0x123, [1])], 1, 2), proto: UDP, want: null },
  { what: 'CAN-ETH: trailing options after the frames', bytes: [...CAN_ONE, 0, 0], proto: UDP, want: null },
  { what: 'CAN-ETH: data length code 9', bytes: caneth([[...le32(0x123), 9, ...fill(8, 0), 0, 0]]), proto: UDP, want: null },
  { what: 'CAN-ETH: extended flag 2', bytes: caneth([canFrame(0x123, [1], 2)]), proto: UDP, want: null },
  { what: 'CAN-ETH: magic in lower case', bytes: [...ascii('iso11898'), ...CAN_ONE.slice(8)], proto: UDP, want: null },

  // SD-RTN
  { what: 'SD-RTN: server name', bytes: sdRtn('ap1.agora.io'), proto: UDP, ports: [50000, 4700], want: 'SD-RTN' },
  { what: 'SD-RTN: name ending the packet', bytes: sdRtn('webrtc-1.agoraio.cn').slice(0, -12), proto: UDP, want: 'SD-RTN' },
  { what: 'SD-RTN over TCP', bytes: sdRtn('ap1.agora.io'), proto: TCP, want: null },
  { what: 'SD-RTN: byte 6 is 0x20', bytes: sdRtn('ap1.agora.io', { b6: 0x20 }), proto: UDP, want: null },
  { what: 'SD-RTN: tag `\\x04SNJ`', bytes: sdRtn('ap1.agora.io', { tag: [0x04, 0x53, 0x4e, 0x4a] }), proto: UDP, want: null },
  { what: 'SD-RTN: nonzero byte before the name', bytes: sdRtn('ap1.agora.io', { zero: 1 }), proto: UDP, want: null },
  { what: 'SD-RTN: name length past the packet', bytes: sdRtn('ap1.agora.io', { len: 40 }), proto: UDP, want: null },
  { what: 'SD-RTN: empty name', bytes: sdRtn('', { len: 0 }), proto: UDP, want: null },
  { what: 'SD-RTN: name with a space', bytes: sdRtn('ap1 agora.io'), proto: UDP, want: null },

  // ZUG
  { what: 'ZUG message', bytes: ZUG_MSG, proto: UDP, ports: [50000, 40000], want: 'ZUG' },
  { what: 'ZUG: magic and type byte alone', bytes: ZUG_MSG.slice(0, 5), proto: UDP, want: 'ZUG' },
  { what: 'ZUG over TCP', bytes: ZUG_MSG, proto: TCP, want: null },
  { what: 'ZUG: upper-case Z (00 5a 55 47)', bytes: [0x00, 0x5a, ...ZUG_MSG.slice(2)], proto: UDP, want: null },
  { what: 'ZUG: type byte 0x11', bytes: [...ZUG_MSG.slice(0, 4), 0x11, ...ZUG_MSG.slice(5)], proto: UDP, want: null },

  // RTPS
  { what: 'RTPS 2.3 DATA (little-endian) to a unicast port of domain 0', bytes: rtps(), proto: UDP, ports: [50000, 7411], want: 'RTPS' },
  { what: 'RTPS 2.1 HEARTBEAT, big-endian, to the discovery port 7400', bytes: rtps({ minor: 1, id: 0x07, little: false, body: fill(28, 0) }), proto: UDP, ports: [50000, 7400], want: 'RTPS' },
  { what: 'RTPS 2.5 INFO_TS then more (length 0: the rest of the message)', bytes: rtps({ minor: 5, id: 0x09, length: 0 }), proto: UDP, want: 'RTPS' },
  { what: 'RTPX (as nDPI takes it), a vendor submessage', bytes: rtps({ magic: 'RTPX', id: 0x80 }), proto: UDP, want: 'RTPS' },
  { what: 'not RTPS: version 1.0', bytes: rtps({ major: 1, minor: 0 }), proto: UDP, want: null },
  { what: 'not RTPS: version 2.6', bytes: rtps({ minor: 6 }), proto: UDP, want: null },
  { what: 'not RTPS: submessage id 0x02 (undefined)', bytes: rtps({ id: 0x02 }), proto: UDP, want: null },
  { what: 'not RTPS: a submessage longer than the datagram', bytes: rtps({ length: 45 }), proto: UDP, want: null },
  { what: 'not RTPS: the header alone', bytes: rtps().slice(0, 20), proto: UDP, want: null },
  { what: 'not RTPS: rtps in lower case', bytes: rtps({ magic: 'rtps' }), proto: UDP, want: null },
  { what: 'not RTPS: over TCP', bytes: rtps(), proto: TCP, want: null },
];

const ADDED = ['KCP', 'Mikrotik', 'EthernetGlobalData', 'Controller_Area_Network', 'SD-RTN', 'ZUG'];

describe('KCP, Mikrotik, EthernetGlobalData, Controller_Area_Network, SD-RTN and ZUG payload rules', () => {
  for (const c of CASES) {
    it(`${c.what}: ${c.want ?? 'nothing'}`, () => {
      const [sp, dp] = c.ports ?? [50000, 40000];
      expect(match(c.bytes, c.proto, sp, dp)).toBe(c.want);
    });
  }

  it('every message and truncation gets the same answer with any bytes after its range (nothing past `end` is read)', () => {
    expectNothingReadPastEnd(CASES, [[0x00, 0x00, 0x00, 0x00], fill(64, 0xff), [0x51, 0, 0, 0], ascii('ISO11898'), [0x00, 0x01, 0x00, 0x06, 1, 2, 3, 4, 5, 6], fill(24, 0)]);
  });

  it('the new names are appended after the earlier ones, each once, in this order', () => {
    expect(ADDED.every((n) => PAYLOAD_PROTOCOLS.filter((x) => x === n).length === 1)).toBe(true);
    const first = PAYLOAD_PROTOCOLS.indexOf(ADDED[0]!);
    expect(PAYLOAD_PROTOCOLS.slice(first, first + ADDED.length)).toEqual(ADDED);
    expect(first).toBeGreaterThan(PAYLOAD_PROTOCOLS.indexOf('HTTP_Media'));
    expect(PAYLOAD_PROTOCOLS.length).toBeLessThanOrEqual(255); // one byte a row in FlowRows.payloadProtocol
  });

  it('every truncation of every matching message is never a throw, and a cut message is never another protocol of these', () => {
    expectTruncationsNameNoOther(CASES, [...ADDED, 'RTPS']);
  });

  it('random bytes never throw and are taken by none of these rules', () => {
    expectRandomBytesTakeNone([...ADDED, 'RTPS'], [4000, 5678, 7400, 11898, 18246, 40000]);
  });

  // (ZUG's rule is its five fixed bytes alone, so it has no head here: anything behind them is ZUG.)
  it('random bytes behind each rule\'s fixed first bytes are not taken either', () => {
    const heads: [number[], number, number][] = [
      [ascii('ISO11898'), UDP, 11898],
      [[...ascii('ISO11898'), 1, 1], UDP, 11898],
      [[0x0d, 0x01], UDP, 18246],
      [[0, 0, 0, 1], UDP, 5678],
      [[0, 0, 0, 1, 0, 5], UDP, 5678],
      [[1, 2, 3, 4, PUSH], UDP, 40000],
      [[1, 2, 3, 4, ACK, 0], UDP, 40000],
    ];
    expectRandomTailsTakeNone(ADDED, heads);
  });

  it('allocates nothing once warm: no garbage collection over half a million calls', async () => {
    expect(await collectionsDuringCalls(CASES, 5e5)).toEqual([]);
  });
});
