/**
 * Flows named from DNS answers: the response reader (question name, CNAME chain, compression, bad bytes), the
 * address table (TTL clamp, the most recent answer, its bounds), the engine through the CLI on captures built here
 * (which flows take a DNS name, which keep their own, server_name_source, counters, the same rows with --workers 2),
 * and against tshark's dissection of the DNS responses of nDPI captures.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { DnsAnswerReader, type AddressSink } from '../src/decode/dns-answers.js';
import { AddressNames, MAX_TTL_S, MIN_TTL_S, RING_BYTES, SLOTS } from '../src/flows/address-names.js';
import { SERVER_NAME_MAX } from '../src/decode/server-name.js';
import { SHARED, commandWorks, sensor } from './helpers/cli.js';
import { ethIpv4Udp, ipv4Word } from './helpers/frames.js';
import { writePcap, type PcapFrame } from './helpers/pcap-file.js';
import { clientHello, tcpConversation } from './helpers/server-names.js';
// @ts-expect-error: a plain ES module without types (a script, also run by hand)
import { compareDnsNames, compareDnsWithNdpi, ndpiFlows, sensorFlows, tsharkDnsAnswers } from '../scripts/server-name-agreement.mjs';

const dir = mkdtempSync(join(tmpdir(), 'sensor-dns-names-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number): number[] => [...u16(Math.floor(n / 65536)), ...u16(n % 65536)];
const labels = (name: string): number[] => [...name.split('.').flatMap((l) => [l.length, ...ascii(l)]), 0];
const ptr = (offset: number): number[] => [0xc0 | (offset >> 8), offset & 0xff];
const ip4 = (s: string): number[] => s.split('.').map(Number);

/** A resource record: owner (bytes: labels or a pointer), type, TTL, RDATA; class IN unless given. */
function rr(owner: number[], type: number, ttl: number, rdata: number[], cls = 1): number[] {
  return [...owner, ...u16(type), ...u16(cls), ...u32(ttl), ...u16(rdata.length), ...rdata];
}

/** A DNS message: header (response, NOERROR unless `flags` says), the question (if any), the answer records. */
function message(question: string | null, answers: number[][], flags = 0x8180): number[] {
  const q = question === null ? [] : [...labels(question), 0, 1, 0, 1];
  return [0x12, 0x34, ...u16(flags), ...u16(question === null ? 0 : 1), ...u16(answers.length), 0, 0, 0, 0, ...q, ...answers.flat()];
}

const A = 1;
const CNAME = 5;
const AAAA = 28;

/** What a sink was given, as text. */
class Recorder implements AddressSink {
  got: [string, number, string][] = [];
  put(version: 4 | 6, words: Uint32Array, ttl: number, name: Uint8Array, n: number): void {
    const addr = version === 4 ? [24, 16, 8, 0].map((s) => (words[0]! >>> s) & 0xff).join('.') : [...words].flatMap((w) => [w >>> 16, w & 0xffff]).map((g) => g.toString(16)).join(':');
    this.got.push([addr, ttl, Buffer.from(name.subarray(0, n)).toString('latin1')]);
  }
}

function read(msg: number[], opts: { mdns?: boolean; ipv6?: boolean } = {}): [string, number, string][] {
  const sink = new Recorder();
  const buf = Uint8Array.from([9, 9, 9, ...msg, 7, 7]); // the payload inside a larger buffer, as in a batch
  new DnsAnswerReader().read(buf, 3, 3 + msg.length, opts.mdns ?? false, opts.ipv6 ?? false, sink);
  return sink.got;
}

/** www.netflix.com → CNAME www.dradis.netflix.com → CNAME ipv4-c001.oca.nflxvideo.net → two A, one AAAA; compressed. */
function netflix(): number[] {
  const q = 12; // the question's name
  const head = message('WWW.Netflix.com', []);
  const first = head.length; // the first answer's owner
  const c1 = rr(ptr(q), CNAME, 300, [3, ...ascii('www'), 6, ...ascii('dradis'), ...ptr(q + 4)]); // www.dradis + netflix.com
  const t1 = first + 12; // "www.dradis" + pointer to netflix.com
  const target = [...labels('ipv4-c001.oca.nflxvideo.net')];
  const c2 = [...ptr(t1), ...u16(CNAME), 0, 1, ...u32(300), ...u16(target.length), ...target];
  const t2 = first + c1.length + 12;
  const a1 = rr(ptr(t2), A, 20, ip4('198.38.96.10'));
  const a2 = rr(ptr(t2), A, 20, ip4('198.38.96.11'));
  const a6 = rr(ptr(t2), AAAA, 20, [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]);
  const answers = [c1, c2, a1, a2, a6];
  const m = [...head, ...answers.flat()];
  m[7] = answers.length;
  return m;
}

describe('DNS answers: what a response names', () => {
  it('the question name for the A records reached through the CNAME chain, lower-cased, through compression pointers', () => {
    expect(read(netflix())).toEqual([
      ['198.38.96.10', 20, 'www.netflix.com'],
      ['198.38.96.11', 20, 'www.netflix.com'],
    ]);
    // AAAA records only when the engine keeps IPv6 flows.
    expect(read(netflix(), { ipv6: true }).map((r) => r[0])).toEqual(['198.38.96.10', '198.38.96.11', '2001:db8:0:0:0:0:0:1']);
  });

  it('CNAMEs in any order; records not reached from the question, other classes, and failed or non-standard responses name nothing', () => {
    const after = [rr(labels('b.example'), A, 60, ip4('192.0.2.2')), rr(labels('a.example'), CNAME, 60, labels('b.example'))];
    expect(read(message('a.example', after))).toEqual([['192.0.2.2', 60, 'a.example']]);
    expect(read(message('a.example', [rr(labels('elsewhere.example'), A, 60, ip4('192.0.2.3'))]))).toEqual([]);
    expect(read(message('a.example', [rr(labels('a.example'), A, 60, ip4('192.0.2.4'), 3)]))).toEqual([]); // class CH
    const ok = [rr(labels('a.example'), A, 60, ip4('192.0.2.5'))];
    expect(read(message('a.example', ok))).toHaveLength(1);
    expect(read(message('a.example', ok, 0x8183))).toEqual([]); // NXDOMAIN
    expect(read(message('a.example', ok, 0x0100))).toEqual([]); // a query
    expect(read(message('a.example', ok, 0x8980))).toEqual([]); // opcode 1
    expect(read(message(null, ok))).toEqual([]); // unicast without a question
    expect(read(message('a.example', [rr(labels('a.example'), A, 60, [1, 2, 3])]))).toEqual([]); // A of 3 bytes
  });

  it('mDNS: an announcement (no question) names each address by its owner; the cache-flush bit is read as class IN', () => {
    const announce = message(null, [rr(labels('Printer.local'), A, 120, ip4('10.0.0.7'), 0x8001)], 0x8400);
    expect(read(announce, { mdns: true })).toEqual([['10.0.0.7', 120, 'printer.local']]);
  });

  it('names longer than 253 bytes are cut; a name with a byte outside printable ASCII names nothing', () => {
    const long = Array.from({ length: 5 }, () => 'x'.repeat(60)).join('.');
    expect(read(message(long, [rr(ptr(12), A, 60, ip4('192.0.2.9'))]))).toEqual([['192.0.2.9', 60, long.slice(0, SERVER_NAME_MAX)]]);
    const bad = message('a.example', [rr(ptr(12), A, 60, ip4('192.0.2.9'))]);
    bad[13] = 0x07; // 'a' of a.example
    expect(read(bad)).toEqual([]);
  });

  it('pointer loops, forward pointers and truncations end without a throw; random corruption never throws nor gives an unprintable name', () => {
    // The answer's owner: a pointer to itself, then one to a pointer back to it (a two-step loop), then forward.
    const owner = message('a.example', []).length;
    for (const bytes of [ptr(owner), ptr(owner + 40)]) {
      const m = message('a.example', [rr(bytes, A, 60, ip4('192.0.2.1'))]);
      expect(read(m)).toEqual([]);
    }
    const loop = message('a.example', [rr(ptr(owner + 2), A, 60, ip4('192.0.2.1'))]);
    loop.splice(owner, 2, ...ptr(owner + 2), ...ptr(owner)); // owner: pointer → the next pointer → the first one
    expect(() => read(loop)).not.toThrow();
    const base = netflix();
    for (let n = 0; n < base.length; n++) expect(() => read(base.slice(0, n))).not.toThrow();
    let seed = 12345;
    const rand = (k: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % k;
    for (let round = 0; round < 3000; round++) {
      const m = [...base];
      for (let k = 1 + rand(4); k > 0; k--) m[rand(m.length)] = rand(256);
      for (const [, , name] of read(m, { ipv6: true, mdns: round % 2 === 0 })) expect(name).toMatch(/^[\x20-\x7e]{1,253}$/);
    }
  });
});

describe('the address table', () => {
  const words = (a: string): Uint32Array => Uint32Array.of(ipv4Word(a), 0, 0, 0);
  const name = (s: string): Uint8Array => Uint8Array.from(ascii(s));
  const lookup = (t: AddressNames, a: string, at: number): string | null => {
    const out = new Uint8Array(SERVER_NAME_MAX);
    const n = t.lookup(4, words(a), at, out, 0);
    return n === 0 ? null : Buffer.from(out.subarray(0, n)).toString('latin1');
  };

  it(`a name is fresh from its answer for its TTL, clamped to ${MIN_TTL_S} s .. ${MAX_TTL_S} s; the most recent answer wins`, () => {
    const t = new AddressNames();
    t.nowUs = 1000e6;
    t.put(4, words('192.0.2.1'), 5, name('short.example'), 13);
    t.put(4, words('192.0.2.2'), 86400, name('long.example'), 12);
    expect(lookup(t, '192.0.2.1', 999e6)).toBeNull(); // before the answer
    expect(lookup(t, '192.0.2.1', 1000e6 + MIN_TTL_S * 1e6)).toBe('short.example');
    expect(lookup(t, '192.0.2.1', 1000e6 + MIN_TTL_S * 1e6 + 1)).toBeNull();
    expect(lookup(t, '192.0.2.2', 1000e6 + MAX_TTL_S * 1e6)).toBe('long.example');
    expect(lookup(t, '192.0.2.2', 1000e6 + MAX_TTL_S * 1e6 + 1)).toBeNull();
    expect(lookup(t, '192.0.2.3', 1001e6)).toBeNull();
    t.nowUs = 1010e6;
    t.put(4, words('192.0.2.1'), 300, name('other.example'), 13);
    expect(lookup(t, '192.0.2.1', 1011e6)).toBe('other.example');
    expect(t.held).toBe(2);
  });

  it('stays within its bounds: at most SLOTS addresses, the latest always held; a name the ring overwrote is gone, not garbled', () => {
    const t = new AddressNames();
    t.nowUs = 1;
    for (let i = 0; i < 3 * SLOTS; i++) {
      const a = `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`;
      t.put(4, words(a), 600, name(`h${i}.example`), `h${i}.example`.length);
      if (i % 9973 === 0) expect(lookup(t, a, 2)).toBe(`h${i}.example`);
    }
    expect(t.held).toBeLessThanOrEqual(SLOTS);
    expect(t.held).toBeGreaterThan(SLOTS * 0.9);
    const ring = new AddressNames();
    ring.nowUs = 1;
    ring.put(4, words('192.0.2.1'), 600, name('first.example'), 13);
    const big = 'y'.repeat(240);
    for (let i = 0; i * 240 < 2 * RING_BYTES; i++) ring.put(4, words('192.0.2.2'), 600, name(`${i}.${big}`), `${i}.${big}`.length);
    expect(lookup(ring, '192.0.2.1', 2)).toBeNull();
    expect(lookup(ring, '192.0.2.2', 2)).toMatch(new RegExp(`^\\d+\\.${big}$`));
  });
});

// ---- through the engine and the CLI ----------------------------------------------------------------------------

const T0 = 1_700_000_000_000_000;
const CLIENT = '10.0.0.1';
const RESOLVER = '10.0.0.53';
const filler = (n: number): number[] => new Array(n).fill(0x41);


/** The resolver's answer to the client at `t`: `question` is `address` (through one CNAME), TTL `ttl`, RCODE `rcode`. */
function answer(t: number, question: string, address: string, ttl: number, rcode = 0): PcapFrame {
  const m = message(question, [rr(ptr(12), CNAME, ttl, labels('edge.cdn.example')), rr(labels('edge.cdn.example'), A, ttl, ip4(address))], 0x8180 | rcode);
  return { data: ethIpv4Udp({ sport: 53, dport: 5300 }, m, { src: RESOLVER, dst: CLIENT }), tsUs: t };
}

/** A TCP conversation from the client's `port` to `server` (helpers/server-names.ts). */
function conversation(t0: number, port: number, server: [string, number], payloads: [boolean, number[]][]): PcapFrame[] {
  return tcpConversation(t0, [CLIENT, port], server, payloads);
}

interface Row {
  src_port: number;
  dst_ip: string;
  dst_port: number;
  server_name: string | null;
  server_name_source: string | null;
}

async function run(frames: PcapFrame[], tag: string, extra: string[] = []): Promise<{ rows: Row[]; info: Record<string, number>; json: Record<string, unknown>[] }> {
  frames.sort((x, y) => x.tsUs - y.tsUs);
  const pcap = join(dir, `${tag}.pcap`);
  writeFileSync(pcap, writePcap(1, frames));
  const db = join(dir, `${tag}.sqlite`);
  const json = join(dir, `${tag}.json`);
  const r = await sensor(['--replay', pcap, '--db', db, '--json', json, '--profile', 'fixed', '--no-model', '--no-app-model', '-q', ...extra]);
  expect(r.status, r.stderr).toBe(0);
  const d = new Database(db, { readonly: true });
  try {
    const rows = d.prepare('SELECT src_port, dst_ip, dst_port, server_name, server_name_source FROM flows ORDER BY id').all() as Row[];
    const info = (JSON.parse(d.prepare('SELECT counters FROM runs').pluck().get() as string) as { info: Record<string, number> }).info;
    const lines = readFileSync(json, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    return { rows, info, json: lines.filter((l) => l.event_type === 'flow') };
  } finally {
    d.close();
  }
}

describe('flows named from DNS answers (engine, CLI)', () => {
  const CDN = '198.51.100.10';
  const LATE = '198.51.100.11';
  const frames = [
    // A flow to LATE that starts before its answer: no name. Its answer's TTL (20 s) is read as 60 s.
    ...conversation(T0 - 2e6, 40000, [LATE, 443], [[true, filler(40)], [false, filler(40)]]),
    answer(T0, 'www.netflix.com', CDN, 300),
    answer(T0 + 100, 'late.example', LATE, 20),
    // To CDN: TLS without SNI (the DNS name), with an SNI of its own (that wins), and a UDP flow (STUN-like).
    ...conversation(T0 + 1e6, 40001, [CDN, 443], [[true, filler(60)], [false, filler(60)]]),
    ...conversation(T0 + 2e6, 40002, [CDN, 443], [[true, filler(10)], [true, clientHello('own.example')]]),
    { data: ethIpv4Udp({ sport: 50000, dport: 3478 }, filler(20), { src: CLIENT, dst: CDN }), tsUs: T0 + 3e6 },
    // The most recent answer for an address wins.
    answer(T0 + 5e6, 'Other.Example', CDN, 300),
    ...conversation(T0 + 6e6, 40003, [CDN, 443], [[true, filler(30)]]),
    // LATE within the clamped TTL, then after it.
    ...conversation(T0 + 50e6, 40004, [LATE, 443], [[true, filler(30)]]),
    ...conversation(T0 + 61e6, 40005, [LATE, 443], [[true, filler(30)]]),
    // A failed response (NXDOMAIN) names nothing, even with an answer record.
    answer(T0 + 70e6, 'bad.example', '198.51.100.12', 300, 3),
    ...conversation(T0 + 71e6, 40006, ['198.51.100.12', 443], [[true, filler(30)]]),
    // mDNS: a printer announces its name; a flow to it is named by that.
    { data: ethIpv4Udp({ sport: 5353, dport: 5353 }, message(null, [rr(labels('printer.local'), A, 120, ip4('10.0.0.7'), 0x8001)], 0x8400), { src: '10.0.0.7', dst: '224.0.0.251' }), tsUs: T0 + 80e6 },
    ...conversation(T0 + 81e6, 40007, ['10.0.0.7', 631], [[true, filler(30)]]),
  ];
  const expected = [
    [40000, null, null],
    [40001, 'www.netflix.com', 'dns'],
    [40002, 'own.example', 'flow'],
    [50000, 'www.netflix.com', 'dns'],
    [40003, 'other.example', 'dns'],
    [40004, 'late.example', 'dns'],
    [40005, null, null],
    [40006, null, null],
    [40007, 'printer.local', 'dns'],
  ];
  const byPort = (rows: Row[]): unknown[] => rows.filter((r) => r.dst_port !== 5300 && r.dst_port !== 5353).map((r) => [r.src_port, r.server_name, r.server_name_source]);

  it('a flow without a name of its own takes its server address\'s name from an answer seen before it and still fresh; its own name wins', async () => {
    const { rows, info, json } = await run([...frames], 'engine');
    expect(byPort(rows)).toEqual(expected);
    // The DNS responses' own flows (resolver → client) have no name: the client's address was never an answer.
    expect(rows.filter((r) => r.dst_port === 5300).every((r) => r.server_name === null && r.server_name_source === null)).toBe(true);
    // Responses that named an address (the NXDOMAIN one did not), addresses held, flows written with a DNS name.
    expect([info['flow.dns_answers'], info['flow.dns_addresses'], info['flow.server_names_from_dns']]).toEqual([4, 3, 5]);
    // JSON carries the same source.
    const fromJson = json.filter((l) => l.dest_port !== 5300 && l.dest_port !== 5353).map((l) => [l.src_port, l.server_name, l.server_name_source]);
    expect(fromJson).toEqual(expected);
  });

  it('--workers 2 gives the same rows and counters (every shard reads every answer)', async () => {
    const one = await run([...frames], 'engine-1');
    const two = await run([...frames], 'engine-2', ['--workers', '2']);
    expect(two.rows).toEqual(one.rows);
    for (const k of ['flow.dns_answers', 'flow.dns_addresses', 'flow.server_names_from_dns']) expect(two.info[k]).toBe(one.info[k]);
  });

  it('a connection cut into several flows (cic2017, at the first FIN) keeps the DNS name, and its source, in each; a carried name beats the DNS one', async () => {
    const cut = [
      answer(T0, 'www.netflix.com', CDN, 300),
      ...conversation(T0 + 1e6, 40010, [CDN, 443], [[true, filler(20)], [false, filler(20)]]),
      // Its own SNI in the first part: the second part (the server's FIN and the last ACK) carries it, not the DNS name.
      ...conversation(T0 + 2e6, 40011, [CDN, 443], [[true, clientHello('own.example')], [false, filler(20)]]),
    ];
    const { rows } = await run(cut, 'cut', ['--profile', 'cic2017']);
    const of = (port: number): unknown[] => rows.filter((r) => r.src_port === port || r.dst_port === port).map((r) => [r.server_name, r.server_name_source]);
    expect(of(40010)).toEqual([
      ['www.netflix.com', 'dns'],
      ['www.netflix.com', 'dns'],
    ]);
    expect(of(40011)).toEqual([
      ['own.example', 'flow'],
      ['own.example', 'carried'],
    ]);
  });
});

// ---- against tshark, on real captures --------------------------------------------------------------------------

const TSHARK = commandWorks('tshark', ['--version']);
const NDPI = join(SHARED, 'data/ndpi');
/** nDPI captures with DNS answers before the flows they name: Teams (STUN relays), Zoom, an Alexa app, an iPhone (mDNS). */
const FROM_NDPI = ['teams.pcap', 'zoom.pcap', 'alexa-app.pcapng', 'iphone.pcap'].map((n) => join(NDPI, 'pcap', n));

describe.skipIf(!TSHARK)(`DNS names against tshark${TSHARK ? '' : ' (skipped: tshark is not installed; .ci/run installs it)'}`, () => {
  const present = FROM_NDPI.every((p) => existsSync(p));
  it.skipIf(!present)(`nDPI captures: every flow without a name of its own has the name tshark's answers give its server address, and --workers 2 the same rows${present ? '' : ' (skipped: ../shared/data/ndpi is absent)'}`, () => {
    const totals: Record<string, number> = {};
    for (const pcap of FROM_NDPI) {
      const flows = sensorFlows(pcap) as Record<string, unknown>[];
      for (const r of compareDnsNames(flows, tsharkDnsAnswers(pcap)) as { verdict: string; sensor: string | null; expected: string | null; flow: Record<string, unknown> }[]) {
        const what = `${pcap.split('/').pop()} ${String(r.flow.src_ip)}:${String(r.flow.src_port)} -> ${String(r.flow.dst_ip)}:${String(r.flow.dst_port)}`;
        expect({ flow: what, name: r.sensor }).toEqual({ flow: what, name: r.expected });
        totals[r.verdict] = (totals[r.verdict] ?? 0) + 1;
      }
      expect(sensorFlows(pcap, ['--workers', '2'])).toEqual(flows);
      // Where nDPI has a Hostname/SNI for the same 5-tuple, it is the DNS one.
      for (const n of compareDnsWithNdpi(flows, ndpiFlows(join(NDPI, 'result', `${pcap.split('/').pop()}.out`))) as { verdict: string; name: string | null; sensor: string; fpc: string | null }[]) {
        if (n.name !== null) expect(n.sensor).toBe(n.name);
        totals[`ndpi ${n.fpc?.endsWith('by DNS') ? 'by DNS' : 'other'}`] = (totals[`ndpi ${n.fpc?.endsWith('by DNS') ? 'by DNS' : 'other'}`] ?? 0) + 1;
      }
    }
    expect(totals.same).toBeGreaterThanOrEqual(20);
  });
});
