/**
 * The game, media, chat and VoIP rules (src/decode/payload/games.ts) through the payload-protocol matcher: messages
 * built here from each protocol's documentation, each with near misses (a wrong version, length, port or marker, a
 * truncated message) that must not match, and random bytes and every truncation: never a throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchPayload, PAYLOAD_PROTOCOLS, payloadProtocolName } from '../src/decode/payload-protocol.js';
import { collectionsDuringCalls, expectTruncationsNameNoOther, TCP, UDP, ascii, u16, le16, le32, fill, type PayloadCase } from './helpers/payload-cases.js';


function match(bytes: number[], proto: number, sp: number, dp: number): string | null {
  return payloadProtocolName(matchPayload(Uint8Array.from(bytes), 0, bytes.length, proto, sp, dp));
}

/** Each case names its ports (the rules of this module are tried on them). */
type Case = PayloadCase & { ports: [number, number] };

// ---- Megaco (RFC 3525 Annex B) ----
const MEGACO_SC = 'MEGACO/1 [123.123.123.4]:55555\r\nTransaction = 9998 {\r\n  Context = - {\r\n    ServiceChange = ROOT {Services {Method=Restart, ServiceChangeAddress=55555, Profile=ResGW/1}}\r\n  }\r\n}\r\n';
const MEGACO_COMPACT = '!/1 [124.124.124.222]:55555 P=9998{C=-{SC=ROOT{SV{AD=55555}}}}';
const tpkt = (body: number[], delta = 0): number[] => [3, 0, ...u16(body.length + 4 + delta), ...body];

// ---- Zoom (IMC 2022; zoom.lua) ----
const rtpHdr = (pt = 112, v = 0x90): number[] => [v, pt, ...u16(4711), ...le32(0x01020304), ...le32(0x11223344)];
/** The 8-byte SFU encapsulation (type 5, direction `dir`) around a media encapsulation of type `t`. */
function zoom(t: number, dir = 0, outer = 5): number[] {
  const sfu = [outer, ...u16(33), 0, 0, 0, 0, dir];
  let media: number[];
  if (t === 15) media = [15, ...fill(18, 0), ...rtpHdr(112), ...fill(60, 0x33)];
  else if (t === 16) media = [16, ...fill(19, 0), 0x02, ...u16(7), 1, ...rtpHdr(98), ...fill(200, 0x44)];
  else if (t === 33) media = [33, ...fill(15, 0), 0x80, 200, ...u16(6), ...fill(24, 0)];
  else media = [t, ...fill(18, 0), ...rtpHdr(), ...fill(40)];
  return [...sfu, ...media];
}

// ---- OICQ ----
const oicq = (cmd = 0x0022, version = 0x3b0b, last = 0x03, body = 16): number[] => [0x02, ...u16(version), ...u16(cmd), ...u16(0x0017), ...u16(0x561f), ...u16(0x0c7b), ...fill(body, 0x00), last];

// ---- Telegram (core.telegram.org/mtproto/mtproto-transports, /description) ----
/** An unencrypted req_pq_multi (constructor 0xbe7e8ef1) with its 16-byte nonce. */
const reqPq = (lengthDelta = 0): number[] => [...fill(8, 0), ...le32(0x5f3a1c00), ...le32(0x65a0b1c2), ...le32(20 + lengthDelta), ...le32(0xbe7e8ef1), ...fill(16, 0x9c)];
const encrypted = (blocks: number): number[] => [...fill(8, 0x71), ...fill(16, 0x2b), ...fill(16 * blocks, 0xc3)];
const abridged = (msg: number[]): number[] => [0xef, msg.length / 4, ...msg];
const intermediate = (msg: number[], marker = 0xee, delta = 0): number[] => [marker, marker, marker, marker, ...le32(msg.length + delta), ...msg];

// ---- Steam ----
const vt01 = (payload: number[], lenDelta = 0, magic = 'VT01'): number[] => [...le32(payload.length + lenDelta), ...ascii(magic), ...payload];
const CHANNEL_ENCRYPT_REQUEST = [...le32(1303), ...fill(8, 0xff), ...le32(1), ...le32(1), ...fill(16, 0xab)];
function steamDiscovery(headerDelta = 0, bodyDelta = 0, sig = [0xff, 0xff, 0xff, 0xff, 0x21, 0x4c, 0x5f, 0xa0]): number[] {
  const header = [0x08, 0x9d, 0x8a, 0xc3, 0x91, 0x0c, 0x10, 0x00]; // client_id, msg_type 0 (discovery)
  const body = [0x08, 0x01, 0x10, 0x00];
  return [...sig, ...le32(header.length + headerDelta), ...header, ...le32(body.length + bodyDelta), ...body];
}

// ---- World of Warcraft (wowdev.wiki CMD_AUTH_LOGON_CHALLENGE_Client) ----
function wowChallenge(name = 'ALICE', opcode = 0, sizeDelta = 0, game = 'WoW\x00'): number[] {
  const rest = [...ascii(game), 1, 12, 1, ...le16(5875), ...ascii('\x0068x'), ...ascii('\x00niW'), ...ascii('SUne'), ...le32(60), 192, 168, 1, 10, name.length, ...ascii(name)];
  return [opcode, 3, ...le16(rest.length + sizeDelta), ...rest];
}

// ---- Warcraft III (W3GS) ----
const w3gs = (id: number, body: number[], delta = 0): number[] => [0xf7, id, ...le16(body.length + 4 + delta), ...body];
const SEARCHGAME = w3gs(0x2f, [...ascii('PX3W'), ...le32(0x14), ...le32(0)]);

// ---- Nintendo Pia (NintendoClients wiki, "Pia Protocol") ----
const PIA = [0x32, 0xab, 0x98, 0x64];
const piaOld = (enc = 2): number[] => [...PIA, enc, 0x05, ...u16(0x0102), ...u16(0x1234), ...u16(0x0040), ...fill(40, 0x7e)];
const piaNew = (v = 0x80 | 11, n = 60): number[] => [...PIA, v, ...u16(0x0011), ...u16(0x0022), ...u16(9), 0, ...fill(8, 0x10), ...fill(8, 0x20), ...fill(n, 0x66)];

const CASES: Case[] = [
  // Megaco
  { what: 'Megaco ServiceChange (text, UDP 2944)', bytes: ascii(MEGACO_SC), proto: UDP, ports: [55555, 2944], want: 'Megaco' },
  { what: 'Megaco reply from a domain name, lower case, elsewhere', bytes: ascii('megaco/1 <mgc.example.net>\nReply = 9998 {}'), proto: UDP, ports: [2944, 40000], want: 'Megaco' },
  { what: 'Megaco compact form on 2944', bytes: ascii(MEGACO_COMPACT), proto: UDP, ports: [55555, 2944], want: 'Megaco' },
  { what: 'Megaco in TPKT over TCP', bytes: tpkt(ascii(MEGACO_SC)), proto: TCP, ports: [40000, 2944], want: 'Megaco' },
  { what: 'not Megaco: compact form elsewhere', bytes: ascii(MEGACO_COMPACT), proto: UDP, ports: [55555, 2950], want: null },
  { what: 'not Megaco: no version', bytes: ascii('MEGACO/ [1.2.3.4]:2944\r\n'), proto: UDP, ports: [55555, 2944], want: null },
  { what: 'not Megaco: a 3-digit version', bytes: ascii('MEGACO/100 [1.2.3.4]:2944\r\n'), proto: UDP, ports: [55555, 2944], want: null },
  { what: 'not Megaco: no separator after the version', bytes: ascii('MEGACO/1[1.2.3.4]:2944\r\n'), proto: UDP, ports: [55555, 2944], want: null },
  { what: 'not Megaco: an mId that is no address, domain or name', bytes: ascii('MEGACO/1 123.123.123.4\r\n'), proto: UDP, ports: [55555, 2944], want: null },
  { what: 'not Megaco: TPKT length off by one', bytes: tpkt(ascii(MEGACO_SC), 1), proto: TCP, ports: [40000, 2944], want: null },
  { what: 'not Megaco: truncated to its token', bytes: ascii('MEGACO/'), proto: UDP, ports: [55555, 2944], want: null },
  // Zoom
  { what: 'Zoom audio to the server', bytes: zoom(15, 0), proto: UDP, ports: [50000, 8801], want: 'Zoom' },
  { what: 'Zoom video from the server, with its frame header', bytes: zoom(16, 4), proto: UDP, ports: [8801, 50000], want: 'Zoom' },
  { what: 'Zoom RTCP (type 33) on 8805', bytes: zoom(33, 4), proto: UDP, ports: [8805, 50000], want: 'Zoom' },
  { what: 'not Zoom: outside 8801-8810', bytes: zoom(15, 0), proto: UDP, ports: [50000, 8811], want: null },
  { what: 'not Zoom: direction byte 1', bytes: zoom(15, 1), proto: UDP, ports: [50000, 8801], want: null },
  { what: 'not Zoom: outer type 6', bytes: zoom(15, 0, 6), proto: UDP, ports: [50000, 8801], want: null },
  { what: 'not Zoom: media type 17', bytes: zoom(17, 0), proto: UDP, ports: [50000, 8801], want: null },
  { what: 'not Zoom: RTP version 1 inside', bytes: [...zoom(15, 0).slice(0, 27), 0x40, ...zoom(15, 0).slice(28)], proto: UDP, ports: [50000, 8801], want: null },
  { what: 'not Zoom: truncated before its RTP header', bytes: zoom(15, 0).slice(0, 36), proto: UDP, ports: [50000, 8801], want: null },
  // OICQ
  { what: 'OICQ login on UDP 8000', bytes: oicq(), proto: UDP, ports: [60213, 8000], want: 'OICQ' },
  { what: 'OICQ keep-alive answered by the server', bytes: oicq(0x0002), proto: UDP, ports: [8000, 60213], want: 'OICQ' },
  { what: 'not OICQ: no end flag', bytes: oicq(0x0022, 0x3b0b, 0x95), proto: UDP, ports: [60213, 8000], want: null },
  { what: 'not OICQ: command 0x00b6', bytes: oicq(0x00b6), proto: UDP, ports: [60213, 8000], want: null },
  { what: 'not OICQ: command 0', bytes: oicq(0), proto: UDP, ports: [60213, 8000], want: null },
  { what: 'not OICQ: version 0', bytes: oicq(0x0022, 0), proto: UDP, ports: [60213, 8000], want: null },
  { what: 'not OICQ: elsewhere than 8000', bytes: oicq(), proto: UDP, ports: [60213, 8001], want: null },
  { what: 'not OICQ: too short', bytes: [0x02, 0x3b, 0x0b, 0x00, 0x22, 0x00, 0x01, 0x03], proto: UDP, ports: [60213, 8000], want: null },
  // Telegram
  { what: 'Telegram abridged req_pq_multi on 443', bytes: abridged(reqPq()), proto: TCP, ports: [50000, 443], want: 'Telegram' },
  { what: 'Telegram intermediate req_pq_multi on 80', bytes: intermediate(reqPq()), proto: TCP, ports: [50000, 80], want: 'Telegram' },
  { what: 'Telegram abridged encrypted message on 5222', bytes: abridged(encrypted(3)), proto: TCP, ports: [50000, 5222], want: 'Telegram' },
  { what: 'Telegram padded intermediate, 5 bytes of padding', bytes: intermediate([...reqPq(), ...fill(5, 0x11)], 0xdd), proto: TCP, ports: [50000, 443], want: 'Telegram' },
  { what: 'Telegram intermediate marker alone', bytes: [0xee, 0xee, 0xee, 0xee], proto: TCP, ports: [50000, 443], want: 'Telegram' },
  { what: 'not Telegram: abridged length off by 4', bytes: [0xef, reqPq().length / 4 + 1, ...reqPq()], proto: TCP, ports: [50000, 443], want: null },
  { what: 'not Telegram: unencrypted message_data_length wrong', bytes: abridged(reqPq(4)), proto: TCP, ports: [50000, 443], want: null },
  { what: 'not Telegram: encrypted data not in 16-byte blocks', bytes: abridged([...encrypted(2), 1, 2, 3, 4]), proto: TCP, ports: [50000, 443], want: null },
  { what: 'not Telegram: intermediate length off', bytes: intermediate(reqPq(), 0xee, 4), proto: TCP, ports: [50000, 443], want: null },
  { what: 'not Telegram: marker 0xcccccccc', bytes: intermediate(reqPq(), 0xcc), proto: TCP, ports: [50000, 443], want: null },
  { what: 'not Telegram: on another port', bytes: abridged(reqPq()), proto: TCP, ports: [50000, 8443], want: null },
  { what: 'not Telegram: a lone 0xef', bytes: [0xef], proto: TCP, ports: [50000, 443], want: null },
  { what: 'not Telegram: over UDP', bytes: intermediate(reqPq()), proto: UDP, ports: [50000, 443], want: null },
  // Steam
  { what: 'Steam CM ChannelEncryptRequest (VT01)', bytes: vt01(CHANNEL_ENCRYPT_REQUEST), proto: TCP, ports: [27017, 50000], want: 'Steam' },
  { what: 'Steam CM packet cut by the segment', bytes: vt01(CHANNEL_ENCRYPT_REQUEST, 1000), proto: TCP, ports: [27017, 50000], want: 'Steam' },
  { what: 'Steam In-Home Streaming discovery on 27036', bytes: steamDiscovery(), proto: UDP, ports: [27036, 27036], want: 'Steam' },
  { what: 'not Steam: magic VT02', bytes: vt01(CHANNEL_ENCRYPT_REQUEST, 0, 'VT02'), proto: TCP, ports: [27017, 50000], want: null },
  { what: 'not Steam: a negative length', bytes: [0xff, 0xff, 0xff, 0xff, ...ascii('VT01'), ...CHANNEL_ENCRYPT_REQUEST], proto: TCP, ports: [27017, 50000], want: null },
  { what: 'not Steam: discovery header length off', bytes: steamDiscovery(1), proto: UDP, ports: [27036, 27036], want: null },
  { what: 'not Steam: discovery body length off', bytes: steamDiscovery(0, -1), proto: UDP, ports: [27036, 27036], want: null },
  { what: 'not Steam: discovery signature byte wrong', bytes: steamDiscovery(0, 0, [0xff, 0xff, 0xff, 0xff, 0x21, 0x4c, 0x5f, 0xa1]), proto: UDP, ports: [27036, 27036], want: null },
  { what: 'not Steam: discovery elsewhere', bytes: steamDiscovery(), proto: UDP, ports: [27037, 27038], want: null },
  // World of Warcraft
  { what: 'WoW logon challenge', bytes: wowChallenge(), proto: TCP, ports: [50000, 3724], want: 'WorldOfWarcraft' },
  { what: 'WoW reconnect challenge', bytes: wowChallenge('BOB', 2), proto: TCP, ports: [50000, 3724], want: 'WorldOfWarcraft' },
  { what: 'not WoW: size off by one', bytes: wowChallenge('ALICE', 0, 1), proto: TCP, ports: [50000, 3724], want: null },
  { what: 'not WoW: game name WoX', bytes: wowChallenge('ALICE', 0, 0, 'WoX\x00'), proto: TCP, ports: [50000, 3724], want: null },
  { what: 'not WoW: opcode 1', bytes: wowChallenge('ALICE', 1), proto: TCP, ports: [50000, 3724], want: null },
  { what: 'not WoW: name length past the segment', bytes: wowChallenge('ALICE').slice(0, -1), proto: TCP, ports: [50000, 3724], want: null },
  // Nintendo
  { what: 'Nintendo Pia packet (up to 5.10, encrypted)', bytes: piaOld(), proto: UDP, ports: [50000, 50001], want: 'Nintendo' },
  { what: 'Nintendo Pia packet (6.x, header version 11, encrypted)', bytes: piaNew(), proto: UDP, ports: [50000, 50001], want: 'Nintendo' },
  { what: 'Nintendo Pia packet (5.27-5.44, header version 9, plain)', bytes: piaNew(9, 40), proto: UDP, ports: [50000, 50001], want: 'Nintendo' },
  { what: 'not Nintendo: header version 6', bytes: piaNew(0x80 | 6), proto: UDP, ports: [50000, 50001], want: null },
  { what: 'not Nintendo: version byte 0', bytes: piaOld(0), proto: UDP, ports: [50000, 50001], want: null },
  { what: 'not Nintendo: a magic byte wrong', bytes: [0x32, 0xab, 0x98, 0x65, ...piaNew().slice(4)], proto: UDP, ports: [50000, 50001], want: null },
  { what: 'not Nintendo: a version-9 header (32 bytes) without a message', bytes: piaNew(9, 0).slice(0, 32), proto: UDP, ports: [50000, 50001], want: null },
  { what: 'not Nintendo: over TCP', bytes: piaNew(), proto: TCP, ports: [50000, 50001], want: null },
  // Warcraft III
  { what: 'Warcraft III LAN game search (UDP 6112)', bytes: SEARCHGAME, proto: UDP, ports: [6112, 6112], want: 'Warcraft3' },
  { what: 'Warcraft III two messages in a TCP segment', bytes: [...w3gs(0x1e, fill(20, 1)), ...w3gs(0x01, le32(7))], proto: TCP, ports: [50000, 6112], want: 'Warcraft3' },
  { what: 'not Warcraft III: length off', bytes: w3gs(0x2f, fill(12, 0), 1), proto: UDP, ports: [6112, 6112], want: null },
  { what: 'not Warcraft III: id 0x80', bytes: w3gs(0x80, fill(12, 0)), proto: UDP, ports: [6112, 6112], want: null },
  { what: 'not Warcraft III: elsewhere', bytes: SEARCHGAME, proto: UDP, ports: [6113, 6114], want: null },
  { what: 'not Warcraft III: a second message cut short', bytes: [...SEARCHGAME, 0xf7, 0x01], proto: UDP, ports: [6112, 6112], want: null },
];

describe('game, media, chat and VoIP payload rules (payload/games.ts)', () => {
  it.each(CASES.map((c) => [c.what, c] as const))('%s', (_what, c) => {
    expect(match(c.bytes, c.proto, c.ports[0], c.ports[1])).toBe(c.want);
  });

  it('the module\'s protocols are appended to the end of the list (ids are stored), each once', () => {
    const names = ['Megaco', 'OICQ', 'Telegram', 'Steam', 'WorldOfWarcraft', 'Warcraft3', 'Zoom', 'Nintendo'];
    const at = PAYLOAD_PROTOCOLS.indexOf('Megaco');
    expect(PAYLOAD_PROTOCOLS.slice(at, at + names.length)).toEqual(names);
    expect(at).toBeGreaterThan(PAYLOAD_PROTOCOLS.indexOf('Ayiya')); // merged after the network rules
    expect(new Set(PAYLOAD_PROTOCOLS).size).toBe(PAYLOAD_PROTOCOLS.length);
  });

  it('no truncation of a matching message is taken for another protocol, and none throws', () => {
    // A prefix may be another message of the same protocol (a Steam packet cut by the segment; the 4-byte Telegram
    // marker), never another protocol's.
    expectTruncationsNameNoOther(CASES);
  });

  it('reads only the given range: each message and each of its truncations, inside a larger buffer, answers as alone', () => {
    for (const c of CASES) {
      for (const pad of [0x20, 0x00, 0xf7]) {
        const buf = Uint8Array.from([9, 9, ...c.bytes, ...fill(40, pad)]);
        for (let n = 0; n <= c.bytes.length; n++) {
          const alone = matchPayload(Uint8Array.from(c.bytes.slice(0, n)), 0, n, c.proto, c.ports[0], c.ports[1]);
          expect({ what: c.what, n, pad, id: matchPayload(buf, 2, 2 + n, c.proto, c.ports[0], c.ports[1]) }).toEqual({ what: c.what, n, pad, id: alone });
        }
      }
    }
  });

  it('random bytes on these protocols\' ports never throw and give a known id', () => {
    const ports = [2944, 8000, 8801, 27036, 6112, 443, 3724, 40000];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...ports), fc.boolean(), fc.constantFrom(0x02, 0x05, 0xef, 0xee, 0xf7, 0xff, 0x00, 0x21, 0x32, 0x4d), (bytes, dp, tcp, first) => {
        const b = Uint8Array.from([first, ...bytes]);
        const id = matchPayload(b, 0, b.length, tcp ? TCP : UDP, 50000, dp);
        expect(id >= 0 && id <= PAYLOAD_PROTOCOLS.length).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('allocates nothing once warm: no garbage collection over 300,000 calls', async () => {
    expect(await collectionsDuringCalls(CASES, 3e5)).toEqual([]);
  });
});
