/**
 * The eighth round of payload rules (src/decode/payload/games2.ts): Steam Datagram Relay, the Source engine's
 * connection handshake (HalfLife2), Dofus 2, Guild Wars, Heroes of the Storm, World of Kung Fu, Tencent's games,
 * Wild Rift and Crossfire, and RakNet's datagrams once connected (frame sets, ACK/NACK; wiki.vg's RakNet page).
 * Messages built here from the facts each rule cites (the Source engine's packet layouts;
 * Dofus 2's message framing; the fixed bytes and lengths nDPI's dissectors key on), each with near misses that break
 * one part of the signature and must not match; random bytes and every truncation never throw; nothing is allocated
 * per call.
 */
import { describe, expect, it } from 'vitest';
import { matchPayload, PAYLOAD_PROTOCOLS, payloadProtocolName } from '../src/decode/payload-protocol.js';
import { collectionsDuringCalls, expectNothingReadPastEnd, expectRandomBytesTakeNone, expectRandomTailsTakeNone, expectTruncationsNameNoOther, TCP, UDP, ascii, u16, u32, le32, fill, type PayloadCase } from './helpers/payload-cases.js';

function match(bytes: number[], proto: number, srcPort: number, dstPort: number): string | null {
  return payloadProtocolName(matchPayload(Uint8Array.from(bytes), 0, bytes.length, proto, srcPort, dstPort));
}

const with_ = (bytes: number[], at: number, v: number): number[] => bytes.map((x, i) => (i === at ? v : x));

// ---- Steam Datagram Relay: `sdping` at offset 2, padded to at least 100 bytes ----
const sdping = (size = 100, magic = 'sdping'): number[] => [0x01, 0x1e, ...ascii(magic), ...fill(22, 0x3c), ...fill(size - 30, 0)].slice(0, size);

// ---- Source engine handshake (connectionless header -1; bf_write little-endian fields) ----
const CONNECTIONLESS = [0xff, 0xff, 0xff, 0xff];
const getChallenge = (pad = '0000000000\x00', id = 0x71): number[] => [...CONNECTIONLESS, id, ...le32(0x0abc1234), ...ascii(pad)];
function challengeReply(steam = true, magic = le32(0x5a4f4933), pad = '000000\x00'): number[] {
  const auth = steam ? [...le32(3), 0, 0, ...le32(0x01100001), ...le32(0x00b00000), 1] : le32(2);
  return [...CONNECTIONLESS, 0x41, ...magic, ...le32(0x7e5e1a2b), ...le32(0x0abc1234), ...auth, ...ascii(pad)];
}

// ---- Dofus 2: header (id << 2 | size of the length field), length, body ----
function dofusMsg(id: number, body: number[]): number[] {
  const n = body.length;
  const lenBytes = n === 0 ? [] : n < 256 ? [n] : n < 65536 ? u16(n) : [n >> 16, (n >> 8) & 0xff, n & 0xff];
  return [...u16((id << 2) | lenBytes.length), ...lenBytes, ...body];
}
const protocolRequired = (required = 1375, current = 1375): number[] => dofusMsg(1, [...u32(required), ...u32(current)]);
const helloConnect = dofusMsg(3, [...u16(32), ...ascii('abcdefghijklmnopqrstuvwxyzabcdef'), ...fill(300, 0x5b)]);

// ---- Guild Wars ----
function gw64(at1 = 0x050c, mark = '@2&P'): number[] {
  const b = [0x3f, ...u16(at1), ...fill(47, 0x21), ...ascii(mark), ...fill(10, 0x11)];
  return b;
}
const gw16 = (at4 = 0xa672): number[] => [0x10, ...u16(0x040c), 0x00, ...u16(at4), 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00];
const gw21 = (last = 0x01): number[] => [...u16(0x0100), 0x00, 0x00, 0x00, 0xf1, 0x00, 0x10, 0x00, last, ...fill(11, 0x00)];

// ---- Heroes of the Storm ----
const hots = (at2 = [0x03, 0x00], size = 40, at14 = [0x40, 0x00]): number[] => [0x12, 0x34, ...at2, ...fill(10, 0x77), ...at14, ...fill(size - 16, 0x05)];
const hotsZero = (size = 20): number[] => [...fill(14, 0), 0x40, 0x00, ...fill(size - 16, 0x09)];

// ---- World of Kung Fu ----
const wokf = (at9 = 0x16): number[] => [0x0c, 0, 0, 0, 0xd2, 0x00, 0x0c, 0x00, 0x2a, at9, 0, 0, 0x01, 0x02, 0, 0];

// ---- Tencent games ----
const tencentA = (size = 64): number[] => [0x33, 0x66, 0x00, 0x0b, 0x00, 0x0b, ...fill(size - 6, 0x4e)];
const tencentB = (mark = 0x10e68601): number[] => [0x43, 0x66, 0xaa, 0x00, ...fill(8, 0x02), ...u32(mark), ...fill(48, 0x4e)];
const tencentC = (mark = 0x10e68601): number[] => [0xaa, 0x00, 0x00, 0x00, ...fill(6, 0x02), ...u32(mark), ...fill(50, 0x4e)];

// ---- Wild Rift, Crossfire ----
const wildRift = (tail = 'A0B1'): number[] => [0x01, 0x02, 0xc8, 0x41, ...fill(14, 0x66), ...ascii(tail)];
const crossfire = (size = 25): number[] => [0xc7, 0xd9, 0x19, 0x99, 0x02, 0x00, ...fill(16, 0x31), 0x7d, 0x00, 0x08].concat(fill(Math.max(0, size - 25), 0)).slice(0, size);

// RakNet once connected (wiki.vg "Raknet Protocol"): a frame set's frames, an ACK/NACK's records.
const le24 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff];
/** A frame of reliability `kind` (0-7) carrying `body`; `split` adds the split fields; `bits` overrides the length. */
function rakFrame(kind: number, body: number[], opts: { split?: boolean; bits?: number; lowFlags?: number } = {}): number[] {
  const out = [(kind << 5) | (opts.split ? 0x10 : 0) | (opts.lowFlags ?? 0), ...u16(opts.bits ?? body.length * 8)];
  if ([2, 3, 4, 6, 7].includes(kind)) out.push(...le24(7));
  if (kind === 1 || kind === 4) out.push(...le24(3));
  if ([1, 3, 4, 7].includes(kind)) out.push(...le24(5), 0);
  if (opts.split) out.push(...u32(2), ...u16(9), ...u32(0));
  return [...out, ...body];
}
const rakSet = (id: number, ...frames: number[][]): number[] => [id, ...le24(2), ...frames.flat()];
const RAK_BODY = [0x13, ...fill(16, 0x41)];
const rakAcks = (id: number, count: number, records: number[][]): number[] => [id, ...u16(count), ...records.flat()];
const RANGE = [0x00, ...le24(1), ...le24(2)];
const SINGLE = [0x01, ...le24(3)];

const CASES: PayloadCase[] = [
  // RakNet, connected
  { what: 'RakNet frame set: one unreliable frame', bytes: rakSet(0x84, rakFrame(0, RAK_BODY)), proto: UDP, ports: [60022, 32951], want: 'RakNet' },
  { what: 'RakNet frame set: a reliable frame', bytes: rakSet(0x80, rakFrame(2, RAK_BODY)), proto: UDP, want: 'RakNet' },
  { what: 'RakNet frame set: two reliable ordered frames', bytes: rakSet(0x8d, rakFrame(3, RAK_BODY), rakFrame(3, [0x00, ...fill(7, 1)])), proto: UDP, want: 'RakNet' },
  { what: 'RakNet frame set: unreliable sequenced, reliable sequenced, with ack receipt', bytes: rakSet(0x84, rakFrame(1, RAK_BODY), rakFrame(4, RAK_BODY), rakFrame(7, RAK_BODY)), proto: UDP, want: 'RakNet' },
  { what: 'RakNet frame set: a split frame', bytes: rakSet(0x8c, rakFrame(3, fill(400, 0x22), { split: true })), proto: UDP, want: 'RakNet' },
  { what: 'RakNet ACK: one range', bytes: rakAcks(0xc0, 1, [RANGE]), proto: UDP, ports: [60005, 32951], want: 'RakNet' },
  { what: 'RakNet NACK: two single numbers and a range', bytes: rakAcks(0xa0, 3, [SINGLE, SINGLE, RANGE]), proto: UDP, want: 'RakNet' },
  { what: 'not RakNet: a frame\'s low flag bits set', bytes: rakSet(0x84, rakFrame(0, RAK_BODY, { lowFlags: 1 })), proto: UDP, want: null },
  { what: 'not RakNet: a frame of 0 bits', bytes: rakSet(0x84, rakFrame(0, RAK_BODY), rakFrame(0, [0x41], { bits: 0 })), proto: UDP, want: null },
  { what: 'not RakNet: a length not in whole bytes', bytes: rakSet(0x84, rakFrame(0, RAK_BODY, { bits: 17 * 8 - 3 })), proto: UDP, want: null },
  { what: 'not RakNet: a byte after the last frame', bytes: [...rakSet(0x84, rakFrame(0, RAK_BODY)), 0], proto: UDP, want: null },
  { what: 'not RakNet: a frame longer than the datagram', bytes: rakSet(0x84, rakFrame(0, RAK_BODY, { bits: 18 * 8 })), proto: UDP, want: null },
  { what: 'not RakNet: id 0x8e', bytes: rakSet(0x8e, rakFrame(0, RAK_BODY)), proto: UDP, want: null },
  { what: 'not RakNet: over TCP', bytes: rakSet(0x84, rakFrame(0, RAK_BODY)), proto: TCP, want: null },
  { what: 'not RakNet: an ACK counting 2 records, with 1', bytes: rakAcks(0xc0, 2, [RANGE]), proto: UDP, want: null },
  { what: 'not RakNet: an ACK record of type 2', bytes: rakAcks(0xc0, 1, [[0x02, ...le24(1)]]), proto: UDP, want: null },
  { what: 'not RakNet: an ACK with a byte after its records', bytes: [...rakAcks(0xc0, 1, [SINGLE]), 0], proto: UDP, want: null },
  { what: 'not RakNet: an ACK of 0 records', bytes: [...rakAcks(0xc0, 0, []), ...SINGLE], proto: UDP, want: null },
  // RTP shares the frame sets' first byte (version 2): a G.711 packet is no frame set.
  { what: 'not RakNet: an RTP packet (PCMU, 160 bytes of audio)', bytes: [0x80, 0x00, ...u16(7), ...u32(0x0000a000), ...u32(0x1234abcd), ...fill(160, 0xd5)], proto: UDP, want: null },

  // Steam Datagram Relay
  { what: 'SDR ping, 100 bytes', bytes: sdping(), proto: UDP, ports: [50000, 27015], want: 'SteamDatagramRelay' },
  { what: 'SDR ping, 1,200 bytes', bytes: sdping(1200), proto: UDP, ports: [50000, 27035], want: 'SteamDatagramRelay' },
  { what: 'not SDR: 99 bytes', bytes: sdping(99), proto: UDP, want: null },
  { what: 'not SDR: sdpong', bytes: sdping(100, 'sdpong'), proto: UDP, want: null },
  { what: 'not SDR: the magic at offset 0', bytes: [...ascii('sdping'), ...fill(94, 0)], proto: UDP, want: null },
  { what: 'not SDR: over TCP', bytes: sdping(), proto: TCP, want: null },

  // HalfLife2 (Source engine handshake)
  { what: 'Source A2S_GETCHALLENGE q, 20 bytes', bytes: getChallenge(), proto: UDP, ports: [27005, 27015], want: 'HalfLife2' },
  { what: 'Source S2C_CHALLENGE A, Steam (39 bytes)', bytes: challengeReply(), proto: UDP, ports: [27015, 27005], want: 'HalfLife2' },
  { what: 'Source S2C_CHALLENGE A, hashed CD key (28 bytes)', bytes: challengeReply(false), proto: UDP, ports: [27015, 27005], want: 'HalfLife2' },
  { what: 'Source S2C_CONNECTION B', bytes: getChallenge('0000000000\x00', 0x42), proto: UDP, ports: [27015, 27005], want: 'HalfLife2' },
  { what: 'not HalfLife2: q without its NUL', bytes: getChallenge('00000000000'), proto: UDP, want: null },
  { what: 'not HalfLife2: q with a longer padding', bytes: getChallenge('00000000000\x00'), proto: UDP, want: null },
  { what: 'not HalfLife2: another message id (k)', bytes: getChallenge('0000000000\x00', 0x6b), proto: UDP, want: null },
  { what: 'not HalfLife2: A with another magic', bytes: challengeReply(true, ascii('ZOI4')), proto: UDP, want: null },
  { what: 'not HalfLife2: A without its padding', bytes: challengeReply(true, le32(0x5a4f4933), '00000\x00'), proto: UDP, want: null },
  { what: 'not HalfLife2: header 0xFFFFFFFE', bytes: with_(getChallenge(), 3, 0xfe), proto: UDP, want: null },
  { what: 'A2S_INFO stays Source_Engine', bytes: [...CONNECTIONLESS, ...ascii('TSource Engine Query\x00')], proto: UDP, ports: [27005, 27015], want: 'Source_Engine' },
  { what: 'not HalfLife2: over TCP', bytes: getChallenge(), proto: TCP, want: null },

  // Dofus 2
  { what: 'Dofus ProtocolRequired alone (11 bytes)', bytes: protocolRequired(), proto: TCP, ports: [5555, 50000], want: 'Dofus' },
  { what: 'Dofus ProtocolRequired and HelloConnect', bytes: [...protocolRequired(1966, 1966), ...helloConnect], proto: TCP, ports: [5555, 50000], want: 'Dofus' },
  { what: 'Dofus ProtocolRequired and an empty message', bytes: [...protocolRequired(1184, 1304), ...dofusMsg(101, [])], proto: TCP, ports: [443, 50000], want: 'Dofus' },
  { what: 'not Dofus: required above current', bytes: protocolRequired(1400, 1300), proto: TCP, want: null },
  { what: 'not Dofus: version 0', bytes: protocolRequired(0, 1300), proto: TCP, want: null },
  { what: 'not Dofus: version above 65535', bytes: protocolRequired(1300, 0x10000), proto: TCP, want: null },
  { what: 'not Dofus: message id 2', bytes: dofusMsg(2, [...u32(1375), ...u32(1375)]), proto: TCP, want: null },
  { what: 'not Dofus: length 9', bytes: [0x00, 0x05, 0x09, ...u32(1375), ...u32(1375), 0], proto: TCP, want: null },
  { what: 'not Dofus: a following message cut short', bytes: [...protocolRequired(), ...helloConnect.slice(0, 40)], proto: TCP, want: null },
  { what: 'not Dofus: one byte after the message', bytes: [...protocolRequired(), 0x00], proto: TCP, want: null },

  // Guild Wars
  { what: 'Guild Wars 64-byte message', bytes: gw64(), proto: TCP, ports: [50000, 6112], want: 'Guildwars' },
  { what: 'Guild Wars 16-byte message', bytes: gw16(), proto: TCP, ports: [50000, 6112], want: 'Guildwars' },
  { what: 'Guild Wars 21-byte message', bytes: gw21(), proto: TCP, ports: [50000, 6112], want: 'Guildwars' },
  { what: 'not Guild Wars: 64 bytes, another mark', bytes: gw64(0x050c, '@2&Q'), proto: TCP, want: null },
  { what: 'not Guild Wars: 64 bytes, 05 0D', bytes: gw64(0x050d), proto: TCP, want: null },
  { what: 'not Guild Wars: 65 bytes', bytes: [...gw64(), 0], proto: TCP, want: null },
  { what: 'not Guild Wars: 16 bytes, A6 73', bytes: gw16(0xa673), proto: TCP, want: null },
  { what: 'not Guild Wars: 21 bytes, byte 9 = 2', bytes: gw21(0x02), proto: TCP, want: null },
  { what: 'not Guild Wars: over UDP', bytes: gw16(), proto: UDP, want: null },

  // Heroes of the Storm
  { what: 'HotS 03 00 at 2 on 3724', bytes: hots(), proto: UDP, ports: [50000, 3724], want: 'Heroes_of_the_Storm' },
  { what: 'HotS 34 00 at 2 on 1119, 122 bytes', bytes: hots([0x34, 0x00], 122), proto: UDP, ports: [1119, 50000], want: 'Heroes_of_the_Storm' },
  { what: 'HotS zero prefix on 6113, 20 bytes', bytes: hotsZero(), proto: UDP, ports: [50000, 6113], want: 'Heroes_of_the_Storm' },
  { what: 'not HotS: elsewhere', bytes: hots(), proto: UDP, ports: [50000, 3725], want: null },
  { what: 'not HotS: 123 bytes', bytes: hots([0x03, 0x00], 123), proto: UDP, ports: [50000, 3724], want: null },
  { what: 'not HotS: 41 00 at 14', bytes: hots([0x03, 0x00], 40, [0x41, 0x00]), proto: UDP, ports: [50000, 3724], want: null },
  { what: 'not HotS: 04 00 at 2', bytes: hots([0x04, 0x00]), proto: UDP, ports: [50000, 1120], want: null },
  { what: 'not HotS: over TCP', bytes: hots(), proto: TCP, ports: [50000, 3724], want: null },

  // World of Kung Fu
  { what: 'World of Kung Fu 16-byte message', bytes: wokf(), proto: TCP, ports: [50000, 9001], want: 'WorldOfKungFu' },
  { what: 'not World of Kung Fu: byte 9 = 0x17', bytes: wokf(0x17), proto: TCP, want: null },
  { what: 'not World of Kung Fu: 17 bytes', bytes: [...wokf(), 0], proto: TCP, want: null },
  { what: 'not World of Kung Fu: byte 15 set', bytes: with_(wokf(), 15, 1), proto: TCP, want: null },
  { what: 'not World of Kung Fu: over UDP', bytes: wokf(), proto: UDP, want: null },

  // Tencent games
  { what: 'TencentGames 33 66 00 0B 00 0B', bytes: tencentA(), proto: TCP, ports: [50000, 17500], want: 'TencentGames' },
  { what: 'TencentGames 43 66 AA 00 with its mark', bytes: tencentB(), proto: TCP, want: 'TencentGames' },
  { what: 'TencentGames AA 00 00 00 with its mark', bytes: tencentC(), proto: TCP, want: 'TencentGames' },
  { what: 'not TencentGames: 50 bytes', bytes: tencentA(50), proto: TCP, want: null },
  { what: 'not TencentGames: 43 66 AA 00, mark wrong', bytes: tencentB(0x10e68602), proto: TCP, want: null },
  { what: 'not TencentGames: AA 00 00 00, mark wrong', bytes: tencentC(0x11e68601), proto: TCP, want: null },
  { what: 'not TencentGames: a 4-byte length and a zlib header (left out)', bytes: [0, 0, ...u16(60), 0x78, 0x01, ...fill(58, 0x63)], proto: TCP, want: null },
  { what: 'not TencentGames: over UDP', bytes: tencentA(), proto: UDP, want: null },

  // Wild Rift
  { what: 'Wild Rift 22-byte datagram', bytes: wildRift(), proto: UDP, ports: [50000, 5100], want: 'LoLWildRift' },
  { what: 'not Wild Rift: tail A0B2', bytes: wildRift('A0B2'), proto: UDP, want: null },
  { what: 'not Wild Rift: 23 bytes', bytes: [...wildRift().slice(0, 18), 0, ...ascii('A0B1')], proto: UDP, want: null },
  { what: 'not Wild Rift: over TCP', bytes: wildRift(), proto: TCP, want: null },
  { what: 'not Wild Rift: the 69-byte packet alone (left out)', bytes: [0x04, 0, 0, 0, ...fill(65, 0x20)], proto: UDP, want: null },

  // Crossfire
  { what: 'Crossfire 25-byte datagram', bytes: crossfire(), proto: UDP, ports: [50000, 12020], want: 'Crossfire' },
  { what: 'not Crossfire: 26 bytes', bytes: crossfire(26), proto: UDP, want: null },
  { what: 'not Crossfire: 7E 00 at 22', bytes: with_(crossfire(), 22, 0x7e), proto: UDP, want: null },
  { what: 'not Crossfire: 03 00 at 4', bytes: with_(crossfire(), 4, 0x03), proto: UDP, want: null },
  { what: 'not Crossfire: over TCP', bytes: crossfire(), proto: TCP, want: null },
  { what: 'Crossfire\'s HTTP notice request stays HTTP', bytes: ascii('GET /notice/login_big/index.asp HTTP/1.1\r\nHost: crossfire.example\r\n\r\n'), proto: TCP, ports: [50000, 80], want: 'HTTP' },
];

const ADDED = ['SteamDatagramRelay', 'HalfLife2', 'Dofus', 'Guildwars', 'Heroes_of_the_Storm', 'WorldOfKungFu', 'TencentGames', 'LoLWildRift', 'Crossfire'];

describe('round-eight game payload rules (payload/games2.ts)', () => {
  for (const c of CASES) {
    it(`${c.what}: ${c.want ?? 'nothing'}`, () => {
      const [sp, dp] = c.ports ?? [50000, 40000];
      expect(match(c.bytes, c.proto, sp, dp)).toBe(c.want);
    });
  }

  it('the new names are appended after HTTP_Media, each once, in this order', () => {
    expect(ADDED.every((n) => PAYLOAD_PROTOCOLS.filter((x) => x === n).length === 1)).toBe(true);
    const first = PAYLOAD_PROTOCOLS.indexOf(ADDED[0]!);
    expect(PAYLOAD_PROTOCOLS.slice(first, first + ADDED.length)).toEqual(ADDED);
    expect(first).toBeGreaterThan(PAYLOAD_PROTOCOLS.indexOf('HTTP_Media'));
  });

  it('every message and truncation gets the same answer with any bytes after its range (nothing past `end` is read)', () => {
    expectNothingReadPastEnd(CASES, [[0x00, 0x00, 0x00, 0x00], fill(64, 0xff), ascii('000000\x00'), ascii('A0B1'), [0x40, 0x00, 0x7d, 0x00]]);
  });

  it('every truncation of every matching message is never a throw, and a cut message is never another protocol of these', () => {
    expectTruncationsNameNoOther(CASES, ADDED);
  });

  it('random bytes never throw and are taken by none of these rules', () => {
    expectRandomBytesTakeNone(ADDED, [3724, 1119, 6113, 27015, 5555, 6112, 40000]);
  });

  it('random bytes behind each rule\'s fixed first bytes are not taken either', () => {
    const heads: [number[], number, number][] = [
      [[0x00, 0x05, 0x08], TCP, 5555],
      [[0x0c, 0, 0, 0, 0xd2, 0x00, 0x0c, 0x00], TCP, 40000],
      [[0x33, 0x66, 0x00, 0x0b], TCP, 40000],
      [[0x43, 0x66, 0xaa, 0x00], TCP, 40000],
      [[0xaa, 0x00, 0x00, 0x00], TCP, 40000],
      [[0x01, 0x00], TCP, 6112],
      [[0xff, 0xff, 0xff, 0xff, 0x41], UDP, 27015],
      [[0xff, 0xff, 0xff, 0xff, 0x71], UDP, 27015],
      [[0xc7, 0xd9, 0x19, 0x99], UDP, 40000],
      [[0x01, 0x02, 0xc8, 0x41], UDP, 40000],
      [[0x01, 0x1e, ...ascii('sd')], UDP, 40000],
      [[0x12, 0x34], UDP, 3724],
    ];
    expectRandomTailsTakeNone(ADDED, heads);
  });

  it('allocates nothing once warm: no garbage collection over half a million calls', async () => {
    expect(await collectionsDuringCalls(CASES, 5e5)).toEqual([]);
  });
});
