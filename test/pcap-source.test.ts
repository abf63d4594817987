import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../src/sources/native.js';
import { CaptureError, checkBatchLayout, Meta, META_STRIDE, type CaptureErrorKind } from '../src/sources/batch.js';
import { PcapSource, type PcapSourceOptions } from '../src/sources/pcap-source.js';
import { writePcap } from './helpers/pcap-file.js';

const CORPUS = '/work/shared/corpus';
const REF = '/work/shared/reference';
const corpus = (p: string) => path.join(CORPUS, p);

const HAVE_TSHARK = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

/** One packet as "epoch.nnnnnnnnn<TAB>caplen<TAB>wirelen": the same format tshark prints below. */
type Row = string;

function fmtTs(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

/**
 * tshark's view of a file (its own reader, independent of libpcap), computed at test time.
 * allowCut: tshark exits 2 on a cut-short file after printing the packets before the cut.
 */
function tsharkRows(file: string, displayFilter?: string, allowCut = false): Row[] {
  const args = ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len'];
  if (displayFilter) args.push('-Y', displayFilter);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0 && !(allowCut && r.status === 2 && /cut short/.test(r.stderr))) {
    throw new Error(`tshark failed on ${file}: ${r.stderr}`);
  }
  return r.stdout.split('\n').filter((l) => l !== '');
}

interface ReadResult {
  rows: Row[];
  frames: Buffer[];
  batches: number[];
  src: PcapSource;
}

/** Reads a whole file, checking every batch's layout invariants on the way. */
function readAll(file: string, opts?: PcapSourceOptions): ReadResult {
  const src = PcapSource.openFile(file, opts);
  const rows: Row[] = [];
  const frames: Buffer[] = [];
  const batches: number[] = [];
  const problems: string[] = []; // collected, then asserted once: expect() per packet is slow
  const cap = src.meta.length / META_STRIDE;
  for (let n = src.next(); n > 0; n = src.next()) {
    if (n > cap) problems.push(`batch of ${n} > ${cap}`);
    batches.push(n);
    let expectedOffset = 0;
    for (let i = 0; i < n; i++) {
      const m = src.meta.subarray(i * META_STRIDE, (i + 1) * META_STRIDE);
      const off = m[Meta.Offset]!;
      const caplen = m[Meta.CapLen]!;
      const nsec = m[Meta.TsNsec]!;
      const at = `packet ${rows.length}`;
      // frames are packed back to back inside data, never past its end
      if (off !== expectedOffset) problems.push(`${at}: offset ${off}, expected ${expectedOffset}`);
      if (off + caplen > src.data.length) problems.push(`${at}: ends past data`);
      if (m[Meta.LinkType] !== src.linkType) problems.push(`${at}: link type ${m[Meta.LinkType]}`);
      if (!(Number.isInteger(nsec) && nsec >= 0 && nsec < 1e9)) problems.push(`${at}: nsec ${nsec}`);
      expectedOffset = off + caplen;
      rows.push(`${fmtTs(m[Meta.TsSec]!, nsec)}\t${caplen}\t${m[Meta.WireLen]}`);
      frames.push(Buffer.from(src.data.subarray(off, off + caplen)));
    }
  }
  expect(problems).toEqual([]);
  expect(src.next()).toBe(0); // stays at end
  src.close();
  return { rows, frames, batches, src };
}

function digest(frames: Buffer[]): string {
  const h = createHash('sha256');
  for (const f of frames) h.update(f);
  return h.digest('hex');
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcap-source-test-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});
const tmpFile = (name: string, content: Uint8Array | string): string => {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, content);
  return p;
};

/** Byte offsets of each record in a little-endian classic pcap (for cutting files at exact places). */
function recordOffsets(buf: Buffer): number[] {
  const offs: number[] = [];
  for (let o = 24; o + 16 <= buf.length; o += 16 + buf.readUInt32LE(o + 8)) offs.push(o);
  return offs;
}

describe.skipIf(!HAVE_TSHARK)('packets, lengths and ns timestamps match tshark', () => {
  const files: Array<[string, string]> = [
    ['µs pcap (LE)', corpus('zeek/http-vlan-0.pcap')],
    ['ns pcap', corpus('ndpi/someip_sd_sample.pcap')],
    ['ns pcap, 3 pkts', corpus('zeek/vntag.pcap')],
    ['big-endian µs pcap', corpus('ndpi/fuzz-2006-06-26-2594.pcap')],
    ['big-endian pcap', corpus('ndpi/nfsv3.pcap')],
    ['pcapng, 2 interfaces with if_tsresol 9 and 6', corpus('zeek/pcapng-multi-interface.pcapng')],
    ['pcapng, 22 interfaces', corpus('ndpi/sites.pcapng')],
    ['big-endian pcapng', corpus('nfstream/dhcp_big_endian.pcapng')],
    ['pcapng named .pcap', corpus('ndpi/ssh.pcap')],
    ['Linux SLL2', corpus('zeek/linux_dlt_sll2.pcap')],
    ['reference capture', path.join(REF, 'zeek-wikipedia.pcap')],
  ];
  it.each(files)('%s', (_what, file) => {
    const { rows } = readAll(file);
    const expected = tsharkRows(file);
    expect(rows.length).toBe(expected.length);
    expect(rows).toEqual(expected);
  });

  it('µs files come out scaled to ns; ns files keep sub-µs digits', () => {
    const us = PcapSource.openFile(corpus('zeek/http-vlan-0.pcap'));
    expect(us.next()).toBeGreaterThan(0);
    expect(us.meta[Meta.TsNsec]! % 1000).toBe(0);
    us.close();
    const ns = readAll(corpus('ndpi/someip_sd_sample.pcap')).rows;
    expect(ns.some((r) => !r.split('\t')[0]!.endsWith('000'))).toBe(true);
  });
});

describe('file properties', () => {
  it('reports link type, its name and compression', () => {
    const eth = PcapSource.openFile(corpus('zeek/http-vlan-0.pcap'));
    expect([eth.linkType, eth.linkTypeName, eth.compressed]).toEqual([1, 'EN10MB', false]);
    eth.close();
    const sll2 = PcapSource.openFile(corpus('zeek/linux_dlt_sll2.pcap'));
    expect([sll2.linkType, sll2.linkTypeName]).toEqual([276, 'LINUX_SLL2']);
    sll2.close();
    const gz = PcapSource.openFile(corpus('zeek/echo-connections.pcap.gz'));
    expect([gz.linkType, gz.compressed]).toEqual([1, true]);
    gz.close();
  });

  it('counts packets and file bytes; stats() has no drops offline', () => {
    const file = path.join(REF, 'zeek-wikipedia.pcap');
    const src = PcapSource.openFile(file);
    let total = 0;
    for (let n = src.next(); n > 0; n = src.next()) total += n;
    expect(src.packetsRead).toBe(total);
    expect(src.bytesRead).toBe(fs.statSync(file).size); // whole file consumed
    expect(src.stats()).toEqual({ received: total, dropped: 0, ifDropped: 0 });
    expect(src.warning).toBeUndefined();
    src.close();
  });

  it('a header-only capture is valid and has no packets', () => {
    const src = PcapSource.openFile(corpus('zeek/empty.pcap'));
    expect(src.next()).toBe(0);
    expect(src.warning).toBeUndefined();
    src.close();
  });

  it('passes caplen > wirelen from a corrupt record through without harm', () => {
    // caplen 60, wirelen 10 (smaller)
    const pcap = writePcap(1, [{ data: new Uint8Array(60).fill(0xab), tsUs: 1_700_000_000_123_456, wirelen: 10 }], 65535);
    const { rows, frames } = readAll(tmpFile('caplen-gt-len.pcap', Buffer.from(pcap)));
    expect(rows).toEqual(['1700000000.123456000\t60\t10']);
    expect(frames[0]).toEqual(Buffer.alloc(60, 0xab));
  });
});

describe('batching', () => {
  const file = corpus('zeek/http/bro.org.pcap'); // 751 packets, 60..1514 bytes
  let full: ReadResult;
  beforeAll(() => {
    full = readAll(file);
  });

  it('small batches give the same packets in the same order as one big batch', () => {
    const maxCaplen = Math.max(...full.frames.map((f) => f.length));
    fc.assert(
      fc.property(
        fc.integer({ min: maxCaplen, max: 20_000 }),
        fc.integer({ min: 1, max: 64 }),
        (batchBytes, batchPackets) => {
          const r = readAll(file, { batchBytes, batchPackets });
          expect(r.rows).toEqual(full.rows);
          expect(digest(r.frames)).toBe(digest(full.frames));
          expect(r.src.oversize).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('one packet per batch works', () => {
    const r = readAll(file, { batchPackets: 1 });
    expect(r.batches.every((n) => n === 1)).toBe(true);
    expect(r.rows).toEqual(full.rows);
  });

  it('a packet larger than the whole buffer is truncated to fit and counted as oversize', () => {
    const r = readAll(file, { batchBytes: 200 });
    expect(r.rows.length).toBe(full.rows.length);
    expect(r.src.oversize).toBe(full.frames.filter((f) => f.length > 200).length);
    r.frames.forEach((f, i) => {
      const orig = full.frames[i]!;
      expect(f).toEqual(orig.subarray(0, Math.min(orig.length, 200)));
      // wire length and timestamp are unaffected
      expect(r.rows[i]!.split('\t')[2]).toBe(full.rows[i]!.split('\t')[2]);
    });
  });
});

describe('BPF filter', () => {
  it.skipIf(!HAVE_TSHARK)('"tcp" keeps exactly the IPv4/IPv6 packets whose protocol is TCP', () => {
    const file = path.join(REF, 'zeek-wikipedia.pcap');
    const { rows } = readAll(file, { filter: 'tcp' });
    // BPF "tcp" = ip proto 6 or ip6 next-header 6, on untagged frames
    const expected = tsharkRows(file, '(ip.proto == 6 || ipv6.nxt == 6) && !vlan');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows).toEqual(expected);
  });

  it.skipIf(!HAVE_TSHARK)('BPF semantics: "tcp" does not look inside 802.1Q, "vlan and tcp" does', () => {
    const file = corpus('zeek/http-vlan-0.pcap');
    expect(readAll(file, { filter: 'tcp' }).rows).toEqual([]);
    expect(readAll(file, { filter: 'vlan and tcp' }).rows).toEqual(tsharkRows(file, 'tcp'));
  });

  it('filtered reads keep working across batch boundaries', () => {
    const file = corpus('zeek/http/bro.org.pcap');
    const big = readAll(file, { filter: 'tcp port 80' });
    const small = readAll(file, { filter: 'tcp port 80', batchPackets: 3, batchBytes: 4000 });
    expect(small.rows).toEqual(big.rows);
    expect(big.rows.length).toBeGreaterThan(0);
  });

  it('a bad filter throws CaptureError bad-filter naming file, filter and libpcap reason', () => {
    const file = corpus('zeek/http-vlan-0.pcap');
    const err = catchErr(() => PcapSource.openFile(file, { filter: 'tcp and and' }));
    expect(err.kind).toBe('bad-filter');
    expect(err.message).toMatch(new RegExp(`^${escape(file)}: bad filter "tcp and and": .*syntax error`));
  });
});

function catchErr(fn: () => unknown): CaptureError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CaptureError);
    return e as CaptureError;
  }
  throw new Error('expected a CaptureError');
}
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function expectOpenError(file: string, kind: CaptureErrorKind, message: RegExp | string): void {
  const err = catchErr(() => PcapSource.openFile(file));
  expect(err.kind).toBe(kind);
  expect(err.path).toBe(file);
  if (typeof message === 'string') expect(err.message).toBe(message);
  else expect(err.message).toMatch(message);
  expect(err.message).not.toContain('\n');
}

describe('open errors', () => {
  it('missing file', () => {
    const p = path.join(tmp, 'capture.pcap');
    expectOpenError(p, 'not-found', `${p}: no such file`);
  });

  it('directory', () => {
    expectOpenError(tmp, 'is-directory', `${tmp}: is a directory`);
  });

  it('empty file', () => {
    const p = tmpFile('empty.pcap', '');
    expectOpenError(p, 'empty', `${p}: empty file`);
  });

  it('text file: not a capture, with its magic', () => {
    const p = tmpFile('notes.txt', 'hello world\n');
    expectOpenError(p, 'not-a-capture', `${p}: not a capture file (unknown magic 0x68656c6c)`);
  });

  it('file shorter than any magic', () => {
    const p = tmpFile('short.pcap', 'ab');
    expectOpenError(p, 'not-a-capture', /: not a capture file: file too short/);
  });

  it('gzip of a text file / of nothing', () => {
    const txt = tmpFile('notes.txt.gz', zlib.gzipSync('hello world\n'));
    expectOpenError(txt, 'not-a-capture', `${txt}: not a capture file (unknown magic 0x68656c6c inside gzip)`);
    const none = tmpFile('nothing.gz', zlib.gzipSync(Buffer.alloc(0)));
    expectOpenError(none, 'empty', `${none}: empty file (gzip with no data)`);
  });

  it('capture header cut short', () => {
    const head = fs.readFileSync(path.join(REF, 'zeek-wikipedia.pcap')).subarray(0, 10);
    const p = tmpFile('head.pcap', head);
    expectOpenError(p, 'read-error', /: read error: truncated dump file/);
  });

  it.skipIf(IS_ROOT)('unreadable file', () => {
    const p = tmpFile('secret.pcap', fs.readFileSync(path.join(REF, 'edge.pcap')));
    fs.chmodSync(p, 0o000);
    expectOpenError(p, 'permission', `${p}: permission denied`);
  });

  it('rejects bad arguments with TypeError / RangeError before touching the file', () => {
    const file = corpus('zeek/http-vlan-0.pcap');
    const open = PcapSource.openFile as (...a: unknown[]) => PcapSource;
    expect(() => open(42)).toThrow(TypeError);
    expect(() => open('')).toThrow(TypeError);
    expect(() => open('a\0b')).toThrow(TypeError);
    expect(() => open(file, 'tcp')).toThrow(TypeError);
    expect(() => open(file, { filter: 1 })).toThrow(TypeError);
    expect(() => open(file, { batchSize: 10 })).toThrow(/unknown option "batchSize"/);
    expect(() => open(file, { batchBytes: 0 })).toThrow(RangeError);
    expect(() => open(file, { batchBytes: 1.5 })).toThrow(TypeError);
    expect(() => open(file, { batchPackets: -1 })).toThrow(RangeError);
    expect(() => open(file, { batchPackets: '8' })).toThrow(TypeError);
  });
});

describe('gzip', () => {
  it('reads the same packets as the decompressed copy', () => {
    const gz = corpus('zeek/echo-connections.pcap.gz');
    const plain = tmpFile('echo-connections.pcap', zlib.gunzipSync(fs.readFileSync(gz)));
    const a = readAll(gz);
    const b = readAll(plain);
    expect(a.src.compressed).toBe(true);
    expect(b.src.compressed).toBe(false);
    expect(a.rows.length).toBe(82582);
    expect(a.rows).toEqual(b.rows);
    expect(digest(a.frames)).toBe(digest(b.frames));
    expect(a.src.bytesRead).toBe(fs.statSync(gz).size);
  });

  it('a gzip file cut short returns the packets before the cut and a warning', () => {
    const orig = fs.readFileSync(path.join(REF, 'zeek-wikipedia.pcap'));
    const full = readAll(path.join(REF, 'zeek-wikipedia.pcap'));
    const gz = zlib.gzipSync(orig);
    const p = tmpFile('cut.pcap.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    const r = readAll(p);
    expect(r.rows.length).toBeGreaterThan(0);
    expect(r.rows.length).toBeLessThan(full.rows.length);
    expect(r.rows).toEqual(full.rows.slice(0, r.rows.length));
    expect(r.src.warning).toMatch(/^truncated dump file; .* \(gzip: unexpected end of file\)$/);
  });
});

describe('cut-short files', () => {
  it.skipIf(!HAVE_TSHARK)('corpus file cut short: packets before the cut, then a warning', () => {
    const file = corpus('ndpi/fuzz-2021-10-13.pcap');
    const src = PcapSource.openFile(file);
    let total = 0;
    for (let n = src.next(); n > 0; n = src.next()) total += n;
    expect(total).toBe(tsharkRows(file, undefined, true).length); // tshark also reads 1 packet, then reports the cut
    expect(src.warning).toMatch(/^truncated dump file; tried to read 16 header bytes, only got 2$/);
    src.close();
    expect(src.warning).toBeDefined(); // still readable after close
  });

  it('cut inside a record header or inside packet data', () => {
    const file = path.join(REF, 'zeek-wikipedia.pcap');
    const orig = fs.readFileSync(file);
    const full = readAll(file);
    const offs = recordOffsets(orig);
    const k = 50;
    const cases: Array<[number, RegExp]> = [
      [offs[k]! + 7, /^truncated dump file; tried to read 16 header bytes, only got 7$/],
      [offs[k]! + 16 + 5, /^truncated dump file; tried to read \d+ captured bytes, only got 5$/],
    ];
    for (const [cut, warning] of cases) {
      const p = tmpFile(`cut-${cut}.pcap`, orig.subarray(0, cut));
      for (const opts of [undefined, { batchPackets: 7 }]) {
        const r = readAll(p, opts);
        expect(r.rows).toEqual(full.rows.slice(0, k));
        expect(r.src.warning).toMatch(warning);
      }
    }
  });

  it('a file that ends cleanly has no warning', () => {
    expect(readAll(path.join(REF, 'edge.pcap')).src.warning).toBeUndefined();
  });
});

describe('lifecycle', () => {
  it('close() twice is fine; next() after close returns 0', () => {
    const src = PcapSource.openFile(path.join(REF, 'edge.pcap'));
    const n = src.next();
    expect(n).toBeGreaterThan(0);
    src.close();
    src.close();
    expect(src.next()).toBe(0);
    expect(src.packetsRead).toBe(n);
    expect(src.stats().received).toBe(n);
  });

  it('opening many files without closing them does not break (finalizers clean up)', () => {
    for (let i = 0; i < 200; i++) PcapSource.openFile(path.join(REF, 'edge.pcap')).next();
  });
});

describe('native binding misuse throws instead of crashing', () => {
  const native = loadNative();
  const file = path.join(REF, 'edge.pcap');
  const data = new Uint8Array(4096);
  const meta = new Float64Array(10 * META_STRIDE);

  it('exports the batch layout the TS side uses, field by field; another layout is refused at load', () => {
    expect(native.META_STRIDE).toBe(META_STRIDE);
    expect({ ...native.META_FIELDS }).toEqual({ ...Meta });
    expect(() => checkBatchLayout(native)).not.toThrow();
    // An addon built from other sources (here: offset and caplen swapped, one more slot) would misread every packet.
    const other = { META_STRIDE: 7, META_FIELDS: { ...Meta, Offset: 2, CapLen: 4 } };
    expect(() => checkBatchLayout(other)).toThrow(
      'native addon writes another packet batch layout (META_STRIDE 7, expected 6; CapLen at 4, expected 2; Offset at 2, expected 4): rebuild it with npm install',
    );
  });

  it('wrong argument types are TypeErrors', () => {
    const n = native as unknown as Record<string, (...a: unknown[]) => unknown>;
    const h = native.openOffline(file);
    expect(() => n.openOffline!()).toThrow(TypeError);
    expect(() => n.openOffline!(42)).toThrow(TypeError);
    expect(() => n.openOffline!(file, 42)).toThrow(TypeError);
    expect(() => n.openOffline!('a\0b')).toThrow(TypeError);
    expect(() => n.next!()).toThrow(TypeError);
    expect(() => n.next!({}, data, meta)).toThrow(TypeError);
    expect(() => n.next!({ ...h }, data, meta)).toThrow(TypeError);
    expect(() => n.next!(h, new Uint16Array(10), meta)).toThrow(TypeError);
    expect(() => n.next!(h, data, new Float32Array(60))).toThrow(TypeError);
    expect(() => n.next!(h, data.buffer, meta)).toThrow(TypeError);
    expect(() => n.next!(h, data, [0, 0, 0, 0, 0, 0])).toThrow(TypeError);
    expect(() => n.next!(h, new Uint8Array(0), meta)).toThrow(RangeError);
    expect(() => n.next!(h, data, new Float64Array(5))).toThrow(RangeError);
    for (const f of ['info', 'counters', 'stats', 'close']) {
      expect(() => n[f]!(null)).toThrow(TypeError);
      expect(() => n[f]!(42)).toThrow(TypeError);
      expect(() => n[f]!({})).toThrow(TypeError);
    }
    // still usable after all that
    expect(native.next(h, data, meta)).toBeGreaterThan(0);
    native.close(h);
    expect(native.next(h, data, meta)).toBe(0);
  });

  it("another addon's wrapped object is rejected by the type tag", async () => {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(':memory:');
    const n = native as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(() => n.next!(db, data, meta)).toThrow(TypeError);
    expect(() => n.close!(db)).toThrow(TypeError);
    db.close();
  });

  it('a detached buffer is rejected', () => {
    const h = native.openOffline(file);
    const d = new Uint8Array(1024);
    structuredClone(d.buffer, { transfer: [d.buffer] });
    expect(() => native.next(h, d, meta)).toThrow(RangeError);
    native.close(h);
  });
});
