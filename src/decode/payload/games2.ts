/**
 * Payload-protocol rules of round eight for games the older modules leave out: Valve's Steam Datagram Relay and the
 * Source engine's connection handshake (nDPI's HalfLife2), Dofus 2, Guild Wars, Heroes of the Storm, World of Kung
 * Fu, Tencent's games, League of Legends: Wild Rift and Crossfire; and RakNet's datagrams once connected. Reached by
 * one line of payload-protocol.ts's matchTcp / matchUdp (gamesTwoTcp / gamesTwoUdp), after every older group, so
 * none of them takes a packet an earlier rule names. Names as nDPI spells them.
 *
 * Most of these games publish nothing about their wire formats: the byte patterns below are the facts nDPI's
 * dissectors key on (behaviour learnt, not copied), kept only where they are exact (a magic number, fixed bytes at
 * fixed places, an exact length). Left out, because they would take other traffic: nDPI's two-packet Dofus 1.x text
 * handshake (a packet of 3 or more bytes ending in NUL), Tencent's 4-byte length + zlib header framing (any
 * application may frame zlib so), Wild Rift's 69-byte / 359-byte pair (4 fixed bytes each), and Crossfire's HTTP
 * request (the HTTP rule answers every HTTP/1.x request first).
 */
import { u16, i32, ascii, port, has } from './bytes.js';
import { PayloadProtocol } from './protocols.js';

const P = PayloadProtocol as Record<string, number>;
const SDR = P['SteamDatagramRelay']!;
const HALFLIFE2 = P['HalfLife2']!;
const DOFUS = P['Dofus']!;
const GUILDWARS = P['Guildwars']!;
const HOTS = P['Heroes_of_the_Storm']!;
const WOKF = P['WorldOfKungFu']!;
const TENCENT_GAMES = P['TencentGames']!;
const WILD_RIFT = P['LoLWildRift']!;
const CROSSFIRE = P['Crossfire']!;
const RAKNET = P['RakNet']!;

/** The rules over TCP, each guarding itself by its first byte or its exact length. */
export function gamesTwoTcp(b: Uint8Array, p: number, end: number, _sp: number, _dp: number): number {
  const b0 = b[p]!;
  let r = 0;
  if (b0 === 0x00) r = dofusProtocolRequired(b, p, end);
  else if (b0 === 0x0c) r = worldOfKungFu(b, p, end);
  else if (b0 === 0x33 || b0 === 0x43 || b0 === 0xaa) r = tencentGames(b, p, end);
  if (r === 0) r = guildWars(b, p, end);
  return r;
}

/** The same over UDP. */
export function gamesTwoUdp(b: Uint8Array, p: number, end: number, sp: number, dp: number): number {
  const b0 = b[p]!;
  let r = 0;
  if (b0 === 0xff) r = sourceHandshake(b, p, end);
  else if (b0 === 0xc7) r = crossfire(b, p, end);
  else if (b0 === 0x01) r = wildRift(b, p, end);
  else if (b0 >= 0x80 && b0 <= 0x8d) r = raknetFrameSet(b, p, end);
  else if (b0 === 0xc0 || b0 === 0xa0) r = raknetAcks(b, p, end);
  if (r === 0) r = sdrPing(b, p, end);
  if (r === 0 && hotsPort(sp, dp)) r = hots(b, p, end);
  return r;
}

// ---------------------------------------------------------------------------------------------------------------
// Valve

/**
 * Steam Datagram Relay's ping to a relay (nDPI's dissector steam_datagram_relay.c, behaviour learnt: the ASCII
 * `sdping` at offset 2, in a datagram of at least 100 bytes, the client padding its short ping with zeros). Valve
 * does not publish the relay protocol; the magic at its fixed place and the padded size are the rule.
 */
const SDPING = ascii('sdping');
function sdrPing(b: Uint8Array, p: number, end: number): number {
  return end - p >= 100 && has(b, p + 2, end, SDPING) ? SDR : 0;
}

/**
 * The Source engine's connection handshake, which nDPI names HalfLife2 (its dissector halflife2_and_mods.c keys on
 * a connectionless packet, header 0xFFFFFFFF, ending in `000` NUL both ways; behaviour learnt). The packets as the
 * engine writes them (bf_write: little-endian fields, NUL-terminated strings): the client's challenge request
 * A2S_GETCHALLENGE `q`, a 4-byte client challenge and the padding string `0000000000`, 20 bytes in all; the server's
 * answer S2C_CHALLENGE `A` with the magic version S2C_MAGICVERSION 0x5A4F4933 (`ZOI3`), the two challenges, the
 * authentication protocol, for Steam the key size, game-server SteamID and secure flag, then the padding `000000`
 * (28-40 bytes); and its S2C_CONNECTION `B`, the client challenge and `0000000000` (20 bytes). A2S_INFO's `T` is
 * Source_Engine's rule, tried before this one; its 9-byte challenge answer `A` is too short for this one.
 */
const PAD10 = ascii('0000000000\x00');
const PAD6 = ascii('000000\x00');
const ZOI3_LE = 0x33494f5a; // 0x5A4F4933 as bf_write puts it on the wire, read big-endian
const ZOI3_BE = 0x5a4f4933;
function sourceHandshake(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if (n < 20 || i32(b, p) !== -1) return 0;
  const t = b[p + 4]!;
  if (t === 0x71 || t === 0x42) return n === 20 && has(b, p + 9, end, PAD10) ? HALFLIFE2 : 0;
  if (t !== 0x41 || n < 28 || n > 40) return 0;
  const magic = i32(b, p + 5);
  return (magic === ZOI3_LE || magic === ZOI3_BE) && has(b, end - 7, end, PAD6) ? HALFLIFE2 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Other games over TCP

/**
 * Dofus 2's first message from the server, ProtocolRequired, on the game's framing (each message a 2-byte header
 * of the message id << 2 and the size of its length field, 0-3 bytes, then that big-endian length and the body):
 * header 0x0005 (id 1, a 1-byte length), length 8, the required and the current protocol version as big-endian
 * int32s. nDPI's dissector dofus.c (behaviour learnt) takes it alone (11 bytes) or followed by a 2-byte message or a
 * HelloConnect; here the versions are 1-65535 with required ≤ current, and the segment is whole messages to its end.
 */
function dofusProtocolRequired(b: Uint8Array, p: number, end: number): number {
  if (end - p < 11 || b[p + 1] !== 0x05 || b[p + 2] !== 0x08) return 0;
  const required = i32(b, p + 3);
  const current = i32(b, p + 7);
  if (required < 1 || required > 0xffff || current < required || current > 0xffff) return 0;
  let q = p + 11;
  for (let k = 0; k < 64 && q < end; k++) {
    if (end - q < 2) return 0;
    const sizeOfLength = b[q + 1]! & 3;
    q += 2;
    if (end - q < sizeOfLength) return 0;
    let len = 0;
    for (let i = 0; i < sizeOfLength; i++) len = len * 256 + b[q + i]!;
    q += sizeOfLength + len;
  }
  return q === end ? DOFUS : 0;
}

/**
 * World of Kung Fu's 16-byte message (nDPI's dissector world_of_kung_fu.c, behaviour learnt): 0C 00 00 00 (a
 * little-endian 12, the bytes after it), D2 00 0C 00, then byte 9 = 0x16, bytes 10-11 and 14-15 zero; exactly 16.
 */
const WOKF_OPCODE = 0xd2000c00 | 0; // as int32 (bytes.ts)
function worldOfKungFu(b: Uint8Array, p: number, end: number): number {
  return end - p === 16 && i32(b, p) === 0x0c000000 && i32(b, p + 4) === WOKF_OPCODE && b[p + 9] === 0x16 &&
    u16(b, p + 10) === 0 && u16(b, p + 14) === 0
    ? WOKF
    : 0;
}

/**
 * Tencent's games (nDPI's dissector tencent_games.c, behaviour learnt), a segment of more than 50 bytes opening with
 * 33 66 00 0B 00 0B, or 43 66 AA 00 with 10 E6 86 01 at offset 12, or AA 00 00 00 with 10 E6 86 01 at offset 10.
 */
const TG_A = Uint8Array.of(0x33, 0x66, 0x00, 0x0b, 0x00, 0x0b);
const TG_MARK = 0x10e68601;
const TG_C = 0xaa000000 | 0; // as int32 (bytes.ts)
function tencentGames(b: Uint8Array, p: number, end: number): number {
  if (end - p <= 50) return 0;
  const head = i32(b, p);
  if (has(b, p, end, TG_A)) return TENCENT_GAMES;
  if (head === 0x4366aa00) return i32(b, p + 12) === TG_MARK ? TENCENT_GAMES : 0;
  if (head === TG_C) return i32(b, p + 10) === TG_MARK ? TENCENT_GAMES : 0;
  return 0;
}

/**
 * Guild Wars (nDPI's dissector guildwars.c, behaviour learnt): three of the client's messages by exact length and
 * fixed bytes: 64 bytes with 05 0C at offset 1 and `@2&P` at 50; 16 bytes with 04 0C at 1, A6 72 at 4, 01 at 8 and
 * 04 at 12; 21 bytes opening 01 00, with F1 00 10 00 at 5 and 01 at 9.
 */
const GW_MARK = ascii('@2&P');
const GW_21 = 0xf1001000 | 0; // as int32 (bytes.ts)
function guildWars(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if (n === 64) return u16(b, p + 1) === 0x050c && has(b, p + 50, end, GW_MARK) ? GUILDWARS : 0;
  if (n === 16) return u16(b, p + 1) === 0x040c && u16(b, p + 4) === 0xa672 && b[p + 8] === 0x01 && b[p + 12] === 0x04 ? GUILDWARS : 0;
  if (n === 21) return u16(b, p) === 0x0100 && i32(b, p + 5) === GW_21 && b[p + 9] === 0x01 ? GUILDWARS : 0;
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Other games over UDP

/**
 * Heroes of the Storm's game traffic on Blizzard's ports 1119, 1120, 3724 and 6113 (nDPI's dissector hots.c,
 * behaviour learnt): 20-122 bytes, 40 00 at offset 14, and either 03 00 or 34 00 at offset 2, or the first 14 bytes
 * zero. Tied to the ports, as nDPI's rule is.
 */
function hotsPort(sp: number, dp: number): boolean {
  return port(sp, dp, 1119) || port(sp, dp, 1120) || port(sp, dp, 3724) || port(sp, dp, 6113);
}
function hots(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if (n < 20 || n > 122 || b[p + 14] !== 0x40 || b[p + 15] !== 0x00) return 0;
  const at2 = u16(b, p + 2);
  if (at2 === 0x0300 || at2 === 0x3400) return HOTS;
  for (let k = 0; k < 14; k++) if (b[p + k] !== 0) return 0;
  return HOTS;
}

/**
 * League of Legends: Wild Rift (nDPI's dissector lol_wild_rift.c, behaviour learnt): a 22-byte datagram opening
 * 01 02 C8 41 and ending with the ASCII `A0B1`.
 */
const WR_TAIL = ascii('A0B1');
function wildRift(b: Uint8Array, p: number, end: number): number {
  return end - p === 22 && i32(b, p) === 0x0102c841 && has(b, end - 4, end, WR_TAIL) ? WILD_RIFT : 0;
}

/**
 * Crossfire's UDP packet (nDPI's dissector crossfire.c, behaviour learnt): exactly 25 bytes, C7 D9 19 99 02 00 at
 * the start and 7D 00 at offset 22.
 */
const CF_HEAD = Uint8Array.of(0xc7, 0xd9, 0x19, 0x99, 0x02, 0x00);
function crossfire(b: Uint8Array, p: number, end: number): number {
  return end - p === 25 && has(b, p, end, CF_HEAD) && u16(b, p + 22) === 0x7d00 ? CROSSFIRE : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// RakNet, connected

/**
 * RakNet's datagrams once connected (the RakNet library's ReliabilityLayer, as wiki.vg's "Raknet Protocol" documents
 * it; nDPI names a flow RakNet by one of them too): the offline handshake, the older rule in payload-protocol.ts,
 * is often not in a capture that starts mid-game, so a flow met later is named by these. RTP's first byte is in the
 * frame sets' range too; checked against nDPI's captures, no RTP flow is taken (the frames must walk exactly to the
 * end, with zero low flag bits and whole-byte lengths).
 * - A frame set (ids 0x80-0x8D): a 24-bit little-endian sequence number, then frames walking exactly to the
 *   datagram's end, each: flags (reliability in the top 3 bits, `split` in bit 4, the low 4 bits zero), the body's
 *   length in bits (16-bit big-endian, not 0; whole bytes, as RakNet writes every message), a reliable index (24
 *   bits) for the reliable kinds 2, 3, 4, 6, 7, a sequenced index for 1 and 4, an order index and channel for 1, 3,
 *   4, 7, the split's count, id and index (10 bytes) when split, then the body.
 * - An ACK (0xC0) or NACK (0xA0): a 16-bit big-endian record count, then exactly that many records to the end, each
 *   a range (0x00 and two 24-bit numbers) or one number (0x01 and a 24-bit number).
 */
function raknetFrameSet(b: Uint8Array, p: number, end: number): number {
  if (end - p < 4 + 4) return 0;
  let q = p + 4;
  while (q < end) {
    if (end - q < 3) return 0;
    const flags = b[q]!;
    if ((flags & 0x0f) !== 0) return 0;
    const bits = u16(b, q + 1);
    if (bits === 0 || (bits & 7) !== 0) return 0;
    const kind = flags >> 5;
    q += 3;
    if (kind === 2 || kind === 3 || kind === 4 || kind === 6 || kind === 7) q += 3;
    if (kind === 1 || kind === 4) q += 3;
    if (kind === 1 || kind === 3 || kind === 4 || kind === 7) q += 4;
    if ((flags & 0x10) !== 0) q += 10;
    q += bits >> 3;
    if (q > end) return 0;
  }
  return RAKNET;
}

function raknetAcks(b: Uint8Array, p: number, end: number): number {
  if (end - p < 7) return 0;
  const count = u16(b, p + 1);
  if (count === 0) return 0;
  let q = p + 3;
  for (let k = 0; k < count; k++) {
    if (q >= end) return 0;
    const t = b[q]!;
    if (t === 0x00) q += 7;
    else if (t === 0x01) q += 4;
    else return 0;
    if (q > end) return 0;
  }
  return q === end ? RAKNET : 0;
}
