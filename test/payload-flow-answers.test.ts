/**
 * Round eight's answers that need what the flow has seen, not one packet (src/decode/payload/transfer.ts and
 * src/flows/payload-protocols.ts): a TCP flow whose first payload packet is a file or a directory listing is FTP_DATA
 * (an FTP data connection, as nDPI names it whatever the ports), and TFTP's transfer between two ephemeral ports is
 * one endpoint's DATA of block 1 answered by the other's ACK (RFC 1350). Files are the signatures their formats'
 * specifications fix, listings the long format of POSIX `ls -l`; near misses must not match; random bytes and every
 * truncation never throw; nothing is allocated per packet.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAYLOAD_PROTOCOLS, payloadProtocolName } from '../src/decode/payload-protocol.js';
import { rawFileStart, tftpFirstAck, tftpFirstData } from '../src/decode/payload/transfer.js';
import { PayloadProtocols } from '../src/flows/payload-protocols.js';
import { ascii, collectionsDuring, fill, TCP, UDP, u16 } from './helpers/payload-cases.js';

/** A file's first segment: the signature, then body bytes to `size` (a data connection's full segment). */
const file = (signature: number[], size = 1448): number[] => [...signature, ...fill(size - signature.length, 0x41)];
const FILES: [string, number[]][] = [
  ['PNG', [0x89, ...ascii('PNG\r\n'), 0x1a, 0x0a, 0, 0, 0, 13, ...ascii('IHDR')]],
  ['GIF89a', ascii('GIF89a')],
  ['GIF87a', ascii('GIF87a')],
  ['JPEG (SOI, APP0)', [0xff, 0xd8, 0xff, 0xe0]],
  ['PDF', ascii('%PDF-1.7\n')],
  ['ZIP', [...ascii('PK'), 3, 4, 20, 0]],
  ['gzip', [0x1f, 0x8b, 0x08, 0x00]],
  ['bzip2', ascii('BZh91AY&SY')],
  ['7z', [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]],
  ['RAR 5', [...ascii('Rar!'), 0x1a, 0x07, 0x01, 0x00]],
  ['PE executable', [...ascii('MZ'), 0x90, 0x00, 0x03, 0x00]],
  ['Ogg', ascii('OggS')],
  ['RIFF (WAV)', [...ascii('RIFF'), 0x24, 0, 0, 0, ...ascii('WAVE')]],
  ['FLAC', ascii('fLaC')],
  ['MP3 with an ID3v2.3 tag', [...ascii('ID3'), 3, 0]],
  ['MPEG program stream', [0, 0, 1, 0xba]],
  ['Matroska (EBML)', [0x1a, 0x45, 0xdf, 0xa3]],
  ['FLV', [...ascii('FLV'), 1, 5]],
  ['RPM', [0xed, 0xab, 0xee, 0xdb, 3, 0]],
  ['MS Office (OLE compound file)', [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]],
  ['Debian package (ar)', ascii('!<arch>\ndebian-binary   ')],
];
const LISTINGS = [
  '-rw-r--r--    1 ftp      ftp          1024 Jan 01 12:00 README\r\n',
  'drwxr-xr-x    2 ftp      ftp          4096 Jan 01 12:00 pub\r\n',
  'lrwxrwxrwx    1 0        0               7 Jan 01 12:00 bin -> usr/bin\r\n',
  '-rwsr-xr-x+   1 root     root        54256 Mar 22  2019 passwd\r\n',
  'drwxrwxrwt.   9 root     root         4096 Dec  7 22:00 tmp\r\n',
];
const kind = (bytes: number[]): string | null => payloadProtocolName(rawFileStart(Uint8Array.from(bytes), 0, bytes.length));

describe('rawFileStart: a file or a listing at a TCP connection\'s start', () => {
  it('FTP_DATA is appended right after round seven, once (ids are stored and read by models)', () => {
    expect(PAYLOAD_PROTOCOLS[PAYLOAD_PROTOCOLS.indexOf('HTTP_Media') + 1]).toBe('FTP_DATA');
    expect(PAYLOAD_PROTOCOLS.filter((n) => n === 'FTP_DATA' || n === 'TFTP')).toEqual(['TFTP', 'FTP_DATA']);
  });

  it.each(FILES)('%s: a file', (_what, signature) => {
    expect(kind(file(signature))).toBe('FTP_DATA');
    expect(kind(file(signature, 256))).toBe('FTP_DATA');
  });

  it('a directory listing line of `ls -l`, whatever its length past 10 bytes', () => {
    for (const l of LISTINGS) expect([l, kind(ascii(l))]).toEqual([l, 'FTP_DATA']);
    expect(kind(ascii('-rw-r--r-- '))).toBe('FTP_DATA');
  });

  it('near misses: a file segment under 256 bytes, a signature cut or changed, an MZ with a long last page', () => {
    for (const [what, signature] of FILES) expect([what, kind(file(signature, 255))]).toEqual([what, null]);
    expect(kind(file(ascii('GIF88a')))).toBeNull();
    expect(kind(file([0x89, ...ascii('PNG\r\n'), 0x1a, 0x0b]))).toBeNull();
    expect(kind(file([0x1f, 0x8b, 0x07]))).toBeNull(); // gzip with another compression method
    expect(kind(file(ascii('BZh0')))).toBeNull();
    expect(kind(file([...ascii('MZ'), 0x90, 0x01]))).toBeNull();
    expect(kind(file(ascii('!<arch')))).toBeNull();
  });

  it('near misses: text that is not a listing line (a bad type, a permission out of place, no space after)', () => {
    for (const l of ['xrw-r--r--    1 a b 1 Jan 01 12:00 f', '-wr-r--r--    1 a b 1 Jan 01 12:00 f', '-rw-r--r-s    1 a b 1 Jan 01 12:00 f', '-rw-r--r--1 a b 1 Jan 01 12:00 f', '-rw-r--r--', '220 FTP server ready\r\n', 'drwx------']) {
      expect([l, kind(ascii(l))]).toEqual([l, null]);
    }
  });

  it('reads only its range: every truncation of every case gives the answer of those bytes alone, never a throw', () => {
    const all = [...FILES.map(([, s]) => file(s, 300)), ...LISTINGS.map(ascii)];
    for (const bytes of all) {
      const big = Uint8Array.from([0, ...bytes, ...fill(300, 0x20)]);
      for (let n = 0; n <= bytes.length; n++) expect(rawFileStart(big, 1, 1 + n)).toBe(rawFileStart(Uint8Array.from(bytes.slice(0, n)), 0, n));
    }
  });

  it('random bytes never throw and give FTP_DATA or nothing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (bytes) => {
        const id = rawFileStart(bytes, 0, bytes.length);
        expect(id === 0 || payloadProtocolName(id) === 'FTP_DATA').toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('in a flow (flows/payload-protocols.ts)', () => {
  const SLOT = 2;
  const flows = (): PayloadProtocols => {
    const p = new PayloadProtocols(4);
    p.reset(SLOT);
    return p;
  };
  const look = (p: PayloadProtocols, bytes: number[], fromA: boolean, proto = TCP): boolean =>
    p.look(SLOT, fromA, Uint8Array.from(bytes), 0, bytes.length, proto, fromA ? 40000 : 50001, fromA ? 50001 : 40000);
  const name = (p: PayloadProtocols): string | null => payloadProtocolName(p.ids[SLOT]!);
  const ZIP = file([...ascii('PK'), 3, 4]);
  const LISTING = ascii(LISTINGS[0]!);

  it('the first payload packet of a TCP flow, either way, names it', () => {
    const p = flows();
    expect(look(p, ZIP, false)).toBe(true);
    expect([name(p), p.looking[SLOT]]).toEqual(['FTP_DATA', 0]);
    const q = flows();
    expect(look(q, LISTING, true)).toBe(true);
    expect(name(q)).toBe('FTP_DATA');
  });

  it('only the first: a file later in a connection (a body, a protocol\'s own payload) names nothing', () => {
    const p = flows();
    look(p, ascii('hello, something else\r\n'), true);
    expect(look(p, ZIP, false)).toBe(false);
    expect(look(p, LISTING, true)).toBe(false);
    expect(name(p)).toBeNull();
  });

  it('a protocol rule wins over the file check, and UDP datagrams are never FTP_DATA', () => {
    const p = flows();
    const get = ascii('GET /x.png HTTP/1.1\r\nHost: a.example\r\n\r\n');
    look(p, get, true);
    expect(name(p)).toBe('HTTP');
    const q = flows();
    expect(look(q, ZIP, true, UDP)).toBe(false);
    expect(name(q)).toBeNull();
  });

  // TFTP (RFC 1350 §5): DATA = opcode 3, block, data; ACK = opcode 4, block.
  const data = (block: number, n = 512): number[] => [...u16(3), ...u16(block), ...fill(n, 0x61)];
  const ack = (block: number): number[] => [...u16(4), ...u16(block)];

  it('TFTP: DATA of block 1 answered by its ACK from the other endpoint, a full or a last block, or an empty file', () => {
    for (const first of [data(1), data(1, 100), data(1, 0), data(1, 1428)]) {
      const p = flows();
      expect(look(p, first, false, UDP)).toBe(false);
      expect(look(p, ack(1), true, UDP)).toBe(true);
      expect([name(p), p.looking[SLOT]]).toEqual(['TFTP', 0]);
    }
  });

  it('TFTP near misses: the ACK alone, from the same endpoint, of another block, with bytes after it; a later block; over TCP', () => {
    const cases: [string, [number[], boolean][], number][] = [
      ['ACK alone', [[ack(1), true]], UDP],
      ['ACK from the DATA\'s sender', [[data(1), false], [ack(1), false]], UDP],
      ['ACK of block 2', [[data(1), false], [ack(2), true]], UDP],
      ['ACK with a byte more', [[data(1), false], [[...ack(1), 0], true]], UDP],
      ['DATA of block 2, then ACK 1', [[data(2), false], [ack(1), true]], UDP],
      ['DATA cut in its header', [[[0, 3, 0], false], [ack(1), true]], UDP],
      ['over TCP', [[data(1), false], [ack(1), true]], TCP],
    ];
    for (const [what, packets, proto] of cases) {
      const p = flows();
      for (const [bytes, fromA] of packets) look(p, bytes, fromA, proto);
      expect([what, name(p)]).toEqual([what, null]);
    }
  });

  it('the one-packet readers read only their range and never throw', () => {
    const big = Uint8Array.from([9, ...data(1, 8), ...ack(1), 7, 7]);
    expect(tftpFirstData(big, 1, 13)).toBe(true);
    expect(tftpFirstData(big, 1, 4)).toBe(false);
    expect(payloadProtocolName(tftpFirstAck(big, 13, 17))).toBe('TFTP');
    expect(tftpFirstAck(big, 13, 18)).toBe(0);
    expect(tftpFirstAck(big, 13, 99)).toBe(0); // the end clipped to the buffer: 6 bytes, not an ACK
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(50), fc.nat(50), (b, s, e) => {
      tftpFirstData(b, s, e);
      tftpFirstAck(b, s, e);
    }), { numRuns: 2000 });
  });

  it('a new flow in the slot forgets the TFTP DATA seen', () => {
    const p = flows();
    look(p, data(1), false, UDP);
    p.reset(SLOT);
    expect(look(p, ack(1), true, UDP)).toBe(false);
    expect(name(p)).toBeNull();
  });

  it('allocates nothing once warm: no garbage collection over a million flows looked at', async () => {
    const p = new PayloadProtocols(4);
    const packets = [ZIP, LISTING, data(1), ack(1), ascii('not a file at all, just some text bytes')].map((b) => Uint8Array.from(b));
    const run = (rounds: number): number => {
      let sum = 0;
      for (let r = 0; r < rounds; r++) {
        const slot = r & 3;
        p.reset(slot);
        if ((r & 1) === 0) {
          const first = packets[(r >> 1) % 2 === 0 ? 0 : 4]!;
          p.look(slot, true, first, 0, first.length, TCP, 40000, 50001);
        } else {
          p.look(slot, false, packets[2]!, 0, packets[2]!.length, UDP, 50001, 40000);
          p.look(slot, true, packets[3]!, 0, packets[3]!.length, UDP, 40000, 50001);
        }
        sum += p.ids[slot]!;
      }
      return sum;
    };
    expect(await collectionsDuring(run, 1e6)).toEqual([]);
  });
});
