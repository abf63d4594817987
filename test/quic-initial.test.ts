/**
 * QUIC server names (src/decode/quic-initial.ts): the client Initial packets of RFC 9001 appendix A.2 (v1) and
 * RFC 9369 appendix A.1 (v2), protected here with node:crypto (an implementation independent of ours) and checked
 * against the RFCs' published bytes; Google QUIC's CHLO (cleartext, and in Q050's encrypted Initial); a ClientHello split over two packets (in order, reversed, coalesced in one
 * datagram, with the client's second DCID), the server's Initial and tampered packets (not read), bad frames inside
 * authentic packets, random and truncated packets (never a throw, nothing written outside the name's cell); then
 * through the CLI on captures built here and on two bundled nDPI captures: the flow's server_name and the
 * flow.server_names_quic counter, the same with --workers 2.
 */
import { createCipheriv, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Hkdf, expandLabelInfo } from '../src/decode/quic-crypto.js';
import { QuicInitialReader, REASSEMBLY_FLOWS, isQuicInitialCandidate } from '../src/decode/quic-initial.js';
import { SERVER_NAME_MAX, ServerNameRead, ServerNameReader, serverNameText } from '../src/decode/server-name.js';
import { ROOT } from './helpers/cli.js';
import { ethIpv4Udp } from './helpers/frames.js';
import { writePcap, type PcapFrame } from './helpers/pcap-file.js';
import { replayNames } from './helpers/server-names.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const u24 = (n: number): number[] => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

// ---- Initial packets protected with node:crypto (RFC 9001 §5) ----------------------------------------------------

interface Version {
  number: number;
  salt: string;
  labels: string;
  initialType: number;
}
const V1: Version = { number: 0x00000001, salt: '38762cf7f55934b34d179ae6a4c80cadccbb7f0a', labels: 'quic', initialType: 0 };
const V2: Version = { number: 0x6b3343cf, salt: '0dede3def700a6db819381be6e269dcbf9bd2ed9', labels: 'quicv2', initialType: 1 };

function expandLabel(secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`);
  return createHmac('sha256', secret)
    .update(Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0, 1])]))
    .digest()
    .subarray(0, length);
}

interface Keys {
  secret: Buffer;
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

function initialKeys(v: Version, dcid: Buffer, side = 'client in'): Keys {
  const secret = expandLabel(createHmac('sha256', bytes(v.salt)).update(dcid).digest(), side, 32);
  return { secret, key: expandLabel(secret, `${v.labels} key`, 16), iv: expandLabel(secret, `${v.labels} iv`, 12), hp: expandLabel(secret, `${v.labels} hp`, 16) };
}

interface PacketSpec {
  v?: Version;
  dcid: Buffer;
  scid?: Buffer;
  pn?: number;
  pnLen?: number;
  /** The plaintext frames (padded by the caller when it wants 1200 bytes). */
  frames: ArrayLike<number>;
  /** Keys to protect with (default: the client's, from `dcid`). */
  keys?: Keys;
}

/** A protected Initial packet (RFC 9000 §17.2.2; RFC 9001 §5.3, §5.4). */
function protect(s: PacketSpec): Uint8Array {
  const v = s.v ?? V1;
  const pnLen = s.pnLen ?? 4;
  const pn = s.pn ?? 0;
  const scid = s.scid ?? Buffer.alloc(0);
  const keys = s.keys ?? initialKeys(v, s.dcid);
  const length = pnLen + s.frames.length + 16;
  const pnBytes = Array.from({ length: pnLen }, (_, i) => Math.floor(pn / 256 ** (pnLen - 1 - i)) & 0xff);
  const header = Buffer.from([
    0xc0 | (v.initialType << 4) | (pnLen - 1),
    ...u16(v.number >>> 16), ...u16(v.number & 0xffff),
    s.dcid.length, ...s.dcid, scid.length, ...scid,
    0, // token length
    0x40 | (length >> 8), length & 0xff,
    ...pnBytes,
  ]);
  const nonce = Buffer.from(keys.iv);
  for (let i = 0; i < pnLen; i++) nonce[12 - pnLen + i]! ^= pnBytes[i]!;
  const c = createCipheriv('aes-128-gcm', keys.key, nonce);
  c.setAAD(header);
  const packet = Buffer.concat([header, c.update(Buffer.from(s.frames)), c.final(), c.getAuthTag()]);
  const pnOff = header.length - pnLen;
  const ecb = createCipheriv('aes-128-ecb', keys.hp, null).setAutoPadding(false);
  const mask = ecb.update(packet.subarray(pnOff + 4, pnOff + 20));
  packet[0]! ^= mask[0]! & 0x0f;
  for (let i = 0; i < pnLen; i++) packet[pnOff + i]! ^= mask[1 + i]!;
  return new Uint8Array(packet);
}

/** A CRYPTO frame (RFC 9000 §19.6) with 4-byte varints. */
function crypto(offset: number, data: ArrayLike<number>): number[] {
  const vi = (n: number): number[] => [0x80 | ((n >>> 24) & 0x3f), (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  return [0x06, ...vi(offset), ...vi(data.length), ...Array.from(data)];
}

/** A ClientHello handshake message (RFC 8446 §4.1.2) whose server_name comes after `before` bytes of padding extension. */
function clientHello(name: string, before = 0): number[] {
  const sni = [0, ...u16(name.length), ...ascii(name)];
  const exts = [
    ...(before > 0 ? [0, 21, ...u16(before), ...new Array(before).fill(0)] : []), // padding (RFC 7685)
    0, 0, ...u16(sni.length + 2), ...u16(sni.length), ...sni,
  ];
  const body = [3, 3, ...new Array(32).fill(7), 0, ...u16(2), 0x13, 0x01, 1, 0, ...u16(exts.length), ...exts];
  return [1, ...u24(body.length), ...body];
}

/** Google QUIC's handshake message: "CHLO", the entry count (little-endian), 2 bytes, (tag, end offset) entries, values. */
function chlo(tags: [string, string][]): number[] {
  const le32 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];
  let end = 0;
  const entries = tags.flatMap(([t, v]) => [...ascii(t), ...le32((end += v.length))]);
  return [...ascii('CHLO'), tags.length & 0xff, tags.length >> 8, 0, 0, ...entries, ...tags.flatMap(([, v]) => ascii(v))];
}

/**
 * A Google QUIC packet with a public header (flags: version and 8-byte connection ID; a 1-byte packet number), the
 * 12-byte hash of null encryption, and a STREAM frame on stream 1 holding `message` (`extra` bytes of another frame
 * before it).
 */
function gquicPublic(version: string, message: number[], extra = 0): Uint8Array {
  return Uint8Array.from([0x09, 1, 2, 3, 4, 5, 6, 7, 8, ...ascii(version), 1, ...new Array(12).fill(0x5a), ...new Array(extra).fill(0), 0xa0, 1, ...u16(message.length), ...message, ...new Array(200).fill(0)]);
}

/** Q046: the long header (type Initial, DCID of 8 bytes, 4-byte packet number), then as gquicPublic. */
function gquicLong(version: string, message: number[]): Uint8Array {
  return Uint8Array.from([0xc3, ...ascii(version), 0x50, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1, ...new Array(12).fill(0x5a), 0xa0, 1, ...u16(message.length), ...message, ...new Array(200).fill(0)]);
}

const pad = (frames: number[], to = 1162): number[] => [...frames, ...new Array(Math.max(0, to - frames.length)).fill(0)];

/** A reader, a name cell with guard bytes on both sides, and one read of a datagram. */
class Harness {
  readonly names = new ServerNameReader();
  readonly quic = new QuicInitialReader(this.names);
  readonly out = new Uint8Array(SERVER_NAME_MAX + 64).fill(0xee);
  read(datagram: Uint8Array, slot = 0): { r: ServerNameRead; name: string | null } {
    const r = this.quic.read(slot, datagram, 0, datagram.length, this.out, 32);
    for (let k = 0; k < 32; k++) expect(this.out[k]).toBe(0xee);
    for (let k = 32 + SERVER_NAME_MAX; k < this.out.length; k++) expect(this.out[k]).toBe(0xee);
    const found = r === ServerNameRead.Found || r === ServerNameRead.Truncated;
    return { r, name: found ? serverNameText(this.out, 32, this.names.length) : null };
  }
}

// RFC 9001 appendix A.2: the client's CRYPTO frame (its ClientHello names example.com), and the first 160 bytes of
// the protected packet the RFC prints.
const RFC9001_CRYPTO = bytes(`
  060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868
  04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578
  616d706c652e636f6dff01000100000a00080006001d00170018001000070005
  04616c706e000500050100000000003300260024001d00209370b2c9caa47fba
  baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400
  0d0010000e0403050306030203080408050806002d00020101001c0002400100
  3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000
  75300901100f088394c8f03e51570806048000ffff`);
const RFC9001_PROTECTED_START = `
  c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11
  d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399
  1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c
  8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212
  30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5`.replace(/\s+/g, '');
const RFC_DCID = bytes('8394c8f03e515708');

function rfcPacket(v: Version): Uint8Array {
  return protect({ v, dcid: RFC_DCID, pn: 2, frames: pad([...RFC9001_CRYPTO]) });
}

describe('QUIC Initial: the RFC test vectors', () => {
  it('RFC 9001 A.2 (v1): the protected packet begins as the RFC prints it, and its server name is read', () => {
    const packet = rfcPacket(V1);
    expect(packet.length).toBe(1200);
    expect(hex(packet.subarray(0, 160))).toBe(RFC9001_PROTECTED_START);
    expect(isQuicInitialCandidate(packet, 0, packet.length)).toBe(true);
    expect(new Harness().read(packet)).toEqual({ r: ServerNameRead.Found, name: 'example.com' });
  });

  it('RFC 9369 A.1 (v2): our HKDF gives the RFC\'s client keys, and the packet protected with them is read', () => {
    const hkdf = new Hkdf();
    const initial = new Uint8Array(32);
    const secret = new Uint8Array(32);
    hkdf.extract(bytes(V2.salt), RFC_DCID, 0, RFC_DCID.length, initial, 0);
    hkdf.expandLabel(initial, 0, expandLabelInfo('client in', 32), secret, 0);
    expect(hex(secret)).toBe('14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b');
    const out = new Uint8Array(16);
    hkdf.expandLabel(secret, 0, expandLabelInfo('quicv2 key', 16), out, 0);
    expect(hex(out)).toBe('8b1a0bc121284290a29e0971b5cd045d');
    hkdf.expandLabel(secret, 0, expandLabelInfo('quicv2 iv', 12), out, 0);
    expect(hex(out.subarray(0, 12))).toBe('91f73e2351d8fa91660e909f');
    hkdf.expandLabel(secret, 0, expandLabelInfo('quicv2 hp', 16), out, 0);
    expect(hex(out)).toBe('45b95e15235d6f45a6b19cbcb0294ba9');
    const packet = rfcPacket(V2);
    expect(hex(packet.subarray(0, 22))).toBe('d76b3343cf088394c8f03e5157080000449ea0c95e82');
    expect(new Harness().read(packet)).toEqual({ r: ServerNameRead.Found, name: 'example.com' });
  });

  it('only long headers of a version read here are candidates', () => {
    const p = rfcPacket(V1);
    const versioned = (v: number): Uint8Array => Uint8Array.from([0xc0, v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff, 0, 0, 0]);
    expect(isQuicInitialCandidate(Uint8Array.from([0x40, ...p.subarray(1)]), 0, p.length)).toBe(false); // short header
    for (const v of [0x00000001, 0x6b3343cf, 0xff000017, 0xff00001d, 0xfaceb002, 0x54303530, 0x51303530, 0x1a2a3a4a]) expect(isQuicInitialCandidate(versioned(v), 0, 8)).toBe(true);
    for (const v of [0, 0x00000002, 0xff000016, 0x12345678, 0x51303630]) expect(isQuicInitialCandidate(versioned(v), 0, 8)).toBe(false);
    expect(isQuicInitialCandidate(p, 0, 6)).toBe(false);
    // Google QUIC's public header: the version after the connection ID when the flags say both are there.
    expect(isQuicInitialCandidate(gquicPublic('Q043', chlo([])), 0, 40)).toBe(true);
    const noVersionFlag = gquicPublic('Q043', chlo([]));
    noVersionFlag[0] = 0x08;
    expect(isQuicInitialCandidate(noVersionFlag, 0, 40)).toBe(false);
  });
});

describe("Google QUIC: the CHLO's SNI tag", () => {
  const tags: [string, string][] = [['PAD\0', '-'.repeat(20)], ['SNI\0', 'WWW.Example.com'], ['VER\0', 'Q043']];

  it('in cleartext behind the public header (Q024-Q043) and the long header (Q046)', () => {
    expect(new Harness().read(gquicPublic('Q043', chlo(tags)))).toEqual({ r: ServerNameRead.Found, name: 'www.example.com' });
    expect(new Harness().read(gquicPublic('Q025', chlo(tags)))).toEqual({ r: ServerNameRead.Found, name: 'www.example.com' });
    expect(new Harness().read(gquicLong('Q046', chlo(tags)))).toEqual({ r: ServerNameRead.Found, name: 'www.example.com' });
  });

  it('in the CRYPTO frames of an encrypted Q050 Initial (gQUIC frame numbers), over two packets', () => {
    const Q050: Version = { number: 0x51303530, salt: '504574efd066fe2f9d945cfcdbd3a7f0d3b56b45', labels: 'quic', initialType: 0 };
    const m = chlo([['PAD\0', '-'.repeat(900)], ['SNI\0', 'q050.example']]);
    const frame = (offset: number, data: number[]): number[] => [0x08, 0x40 | (offset >> 8), offset & 0xff, 0x40 | (data.length >> 8), data.length & 0xff, ...data];
    const dcid = bytes('5151515151515151');
    const h = new Harness();
    expect(h.read(protect({ v: Q050, dcid, frames: pad(frame(0, m.slice(0, 600)), 700) })).r).toBe(ServerNameRead.None);
    expect(h.read(protect({ v: Q050, dcid, pn: 1, frames: pad(frame(600, m.slice(600)), 700) }))).toEqual({ r: ServerNameRead.Found, name: 'q050.example' });
  });

  it('no name: no SNI tag, end offsets going back, a value past the packet, a CHLO past the first 64 bytes', () => {
    expect(new Harness().read(gquicPublic('Q043', chlo([['PAD\0', 'x'], ['VER\0', 'Q043']]))).r).toBe(ServerNameRead.None);
    const back = chlo(tags);
    back[8 + 8 + 4] = 0; // the SNI entry's end offset (little-endian) below the PAD entry's
    expect(new Harness().read(gquicPublic('Q043', back)).r).toBe(ServerNameRead.None);
    const packet = gquicPublic('Q043', chlo(tags));
    expect(new Harness().read(packet.subarray(0, packet.length - 200 - 4 - 5)).r).toBe(ServerNameRead.None); // cut inside the SNI value
    expect(new Harness().read(gquicPublic('Q043', chlo(tags), 40)).r).toBe(ServerNameRead.None);
  });
});

describe('QUIC Initial: a ClientHello over several packets', () => {
  const hello = clientHello('split.example', 1800); // the name lies in the second packet
  const dcid = bytes('0011223344556677');
  const first = protect({ dcid, pn: 0, frames: pad(crypto(0, hello.slice(0, 1100)), 1150) });
  const second = protect({ dcid, pn: 1, frames: pad(crypto(1100, hello.slice(1100)), 1150) });

  it('in order, reversed, and coalesced in one datagram', () => {
    const h = new Harness();
    expect(h.read(first).r).toBe(ServerNameRead.None);
    expect(h.read(second)).toEqual({ r: ServerNameRead.Found, name: 'split.example' });
    const g = new Harness();
    expect(g.read(second).r).toBe(ServerNameRead.None);
    expect(g.read(first)).toEqual({ r: ServerNameRead.Found, name: 'split.example' });
    const coalesced = new Uint8Array([...first, ...second]);
    expect(new Harness().read(coalesced)).toEqual({ r: ServerNameRead.Found, name: 'split.example' });
  });

  it('CRYPTO frames out of order inside a packet (as Chrome sends them), with PING and ACK between', () => {
    const frames = [...crypto(900, hello.slice(900)), 0x01, 0x02, 0x05, 0x00, 0x01, 0x02, 0x00, 0x01, ...crypto(0, hello.slice(0, 900))];
    expect(new Harness().read(protect({ dcid, frames: pad(frames, 2100) }))).toEqual({ r: ServerNameRead.Found, name: 'split.example' });
  });

  it("the client's second packet to the server's connection ID, protected with the first DCID's keys", () => {
    const moved = protect({ dcid: bytes('99887766'), pn: 1, frames: pad(crypto(1100, hello.slice(1100)), 1150), keys: initialKeys(V1, dcid) });
    const h = new Harness();
    expect(h.read(first).r).toBe(ServerNameRead.None);
    expect(h.read(moved)).toEqual({ r: ServerNameRead.Found, name: 'split.example' });
  });

  it("the server's Initial and a tampered packet are not read, and do not disturb the flow's reassembly", () => {
    const server = protect({ dcid: bytes('aabbccdd'), frames: pad(crypto(0, [2, 0, 0, 4, 3, 3, 0, 0]), 100), keys: initialKeys(V1, dcid, 'server in') });
    const tampered = second.slice();
    tampered[tampered.length - 30]! ^= 0x01;
    const h = new Harness();
    expect(h.read(first).r).toBe(ServerNameRead.None);
    expect(h.read(server).r).toBe(ServerNameRead.None);
    expect(h.read(tampered).r).toBe(ServerNameRead.None);
    expect(h.read(second)).toEqual({ r: ServerNameRead.Found, name: 'split.example' });
  });

  it(`${REASSEMBLY_FLOWS} flows in reassembly at once each get their name; one more takes over the least recently used`, () => {
    const h = new Harness();
    const flows = REASSEMBLY_FLOWS + 1;
    const parts = Array.from({ length: flows }, (_, i) => {
      const d = Buffer.from([i, 1, 2, 3, 4, 5, 6, 7]);
      const ch = clientHello(`f${i}.example`, 1800);
      return [protect({ dcid: d, frames: pad(crypto(0, ch.slice(0, 1100)), 1150) }), protect({ dcid: d, pn: 1, frames: pad(crypto(1100, ch.slice(1100)), 1150) })];
    });
    for (let i = 0; i < flows; i++) expect(h.read(parts[i]![0]!, i).r).toBe(ServerNameRead.None);
    // Flow 0's entry was taken over by the last flow: its second half alone gives no name, and takes no entry
    // from the others (it lacks the ClientHello's start), so every other flow gets its name.
    expect(h.read(parts[0]![1]!, 0).r).toBe(ServerNameRead.None);
    for (let i = 1; i < flows; i++) expect(h.read(parts[i]![1]!, i)).toEqual({ r: ServerNameRead.Found, name: `f${i}.example` });
  });
});

describe('QUIC Initial: bad bytes', () => {
  const dcid = bytes('0102030405060708');

  it('authentic packets with bad frames: huge varints and offsets, lengths past the packet, unknown frames', () => {
    const hello = clientHello('ok.example');
    const cases: [number[], string | null][] = [
      [[0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05, ...hello.slice(0, 5)], null], // offset 2^62 - 1
      [[0x06, 0x00, 0xbf, 0xff, 0xff, 0xff, ...hello], null], // length beyond the packet
      [[0x06, 0x80, 0x00, 0x0f, 0xf0, 0x40, 0x20, ...hello.slice(0, 32)], null], // data beyond the reassembly slab
      [[0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0xbf, 0xff, 0xff, 0xff, 0], null], // ACK, a huge range count
      [[0x1c, 0x00, 0x00, 0x00], null], // CONNECTION_CLOSE: the walk stops
      [[0x08, ...crypto(0, hello)], null], // a STREAM frame in an Initial
      [[0x06, 0x00, 0x03, 0x01, 0xff, 0xff], null], // a ClientHello claiming 16 MB, cut
      [crypto(0, hello), 'ok.example'],
    ];
    for (const [frames, name] of cases) expect(new Harness().read(protect({ dcid, frames: pad(frames, 1162) })).name).toBe(name);
  });

  it('never throws and writes nothing outside its cell: truncations, random mutations, random bytes behind a QUIC header (fast-check)', () => {
    const valid = [rfcPacket(V1), rfcPacket(V2), protect({ dcid, frames: pad(crypto(0, clientHello('x.example')), 300) })];
    const h = new Harness();
    for (const p of valid) for (let n = 0; n <= p.length; n += 7) h.read(p.subarray(0, n));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: valid.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        (which, edits, cut) => {
          const p = valid[which]!.slice();
          for (const [at, b] of edits) p[at % p.length] = b;
          const { name } = h.read(p.subarray(0, cut % (p.length + 1)), which);
          if (name !== null) expect(name).toMatch(/^[\x20-\x40\x5b-\x7e]+$/);
        },
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1400 }), fc.constantFrom(0x00000001, 0x6b3343cf, 0xff00001d, 0x54303530, 0x51303530, 0x51303436), (tail, v) => {
        const p = new Uint8Array([0xc0, v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff, ...tail]);
        expect(h.read(p).r).toBe(ServerNameRead.None);
      }),
      { numRuns: 300 },
    );
  });
});

// ---- Through the CLI ---------------------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'sensor-quic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T0 = 1_700_000_000_000_000;

async function namesOf(pcap: string, extra: string[] = []): ReturnType<typeof replayNames> {
  return replayNames(pcap, join(dir, `${pcap.split('/').pop()}-${extra.join('')}.sqlite`), ['--ipv6', ...extra]);
}

describe('QUIC server names through the CLI', () => {
  it('built captures: one packet, a ClientHello over two datagrams, the server answering; a DNS query beside them; --workers 2', async () => {
    const c = '10.0.0.1';
    const s = '10.0.0.2';
    const udp = (t: number, sport: number, dport: number, payload: Uint8Array, fromClient = true): PcapFrame => ({
      data: ethIpv4Udp({ sport, dport }, payload, fromClient ? { src: c, dst: s } : { src: s, dst: c }),
      tsUs: T0 + t,
    });
    const hello = clientHello('two.example', 1800);
    const d1 = bytes('1111111111111111');
    const d2 = bytes('2222222222222222');
    const server = (d: Buffer): Uint8Array => protect({ dcid: bytes('33'), frames: pad(crypto(0, [2, 0, 0, 0]), 100), keys: initialKeys(V1, d, 'server in') });
    const frames = [
      udp(1000, 50001, 443, protect({ dcid: d1, frames: pad(crypto(0, clientHello('one.example'))) })),
      udp(2000, 443, 50001, server(d1), false),
      udp(3000, 50002, 443, protect({ dcid: d2, frames: pad(crypto(0, hello.slice(0, 1100)), 1150) })),
      udp(4000, 443, 50002, server(d2), false),
      udp(5000, 50002, 443, protect({ dcid: d2, pn: 1, frames: pad(crypto(1100, hello.slice(1100)), 1150) })),
      udp(6000, 50003, 53, Uint8Array.from([0x80, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, ...ascii('dns'), 7, ...ascii('example'), 0, 0, 1, 0, 1])),
    ];
    const pcap = join(dir, 'built.pcap');
    writeFileSync(pcap, writePcap(1, frames));
    const one = await namesOf(pcap);
    expect(one.rows.map((r) => [r.src_port, r.server_name])).toEqual([[50001, 'one.example'], [50002, 'two.example'], [50003, 'dns.example']]);
    expect([one.info['flow.server_names'], one.info['flow.server_names_quic']]).toEqual([3, 2]);
    const two = await namesOf(pcap, ['--workers', '2']);
    const byPort = (a: { src_port: number }, b: { src_port: number }): number => a.src_port - b.src_port;
    expect([...two.rows].sort(byPort)).toEqual([...one.rows].sort(byPort));
    expect(two.info['flow.server_names_quic']).toBe(2);
  });

  it('bundled nDPI captures: Chrome v1 (CRYPTO frames out of order), and a ClientHello over several packets with a changed DCID', async () => {
    const meet = await namesOf(join(ROOT, 'fixtures/quic/google_meet.pcapng'));
    expect(meet.rows.filter((r) => r.dst_port === 443 || r.src_port === 443).map((r) => r.server_name)).toContain('meet.google.com');
    expect(meet.info['flow.server_names_quic']).toBe(1);
    const dcid = await namesOf(join(ROOT, 'fixtures/quic/quic_frags_different_dcid.pcapng'));
    expect(dcid.rows.map((r) => r.server_name)).toContain('cdnjs.cloudflare.com');
    expect(dcid.info['flow.server_names_quic']).toBe(1);
  });
});
