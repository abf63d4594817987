/**
 * Fuzzing the capture reader and the replay with fast-check, on real captures whose headers are mutated the way
 * broken files are broken: record lengths larger than the file, zero or absurd snaplen, caplen > wirelen,
 * absurd and backwards timestamps, flipped bytes, truncation. The reader must either open the file or throw
 * CaptureError, then return batches whose numbers are sane and end; the engine fed with them must not throw,
 * must account for every packet, and no flow may have a negative duration or inter-arrival time unless a packet
 * went back in time.
 *
 * Time going backwards: a packet earlier than its flow's last packet keeps its own time, as in the Java references
 * (their CSVs show negative inter-arrival times and durations on nDPI's ipsec_isakmp_esp, resp and tls-appdata
 * captures); it is counted as flow.time_backwards. A model of that rule predicts every flow's duration and packet
 * count on captures with shuffled timestamps.
 *
 * Last, a bounded run of the mutation fuzzer behind `npm run fuzz` (2,000 in-process iterations over the shared
 * corpus or the bundled captures).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { getProfile, type ProfileName } from '../src/features/profiles.js';
import { CaptureError, Meta, META_STRIDE } from '../src/sources/batch.js';
import { PcapSource } from '../src/sources/pcap-source.js';
import type { FlowRows } from '../src/sinks/flow-rows.js';
import { ethIpv4Tcp, ethIpv4Udp, Flags } from './helpers/frames.js';
import { parsePcap, writePcap } from './helpers/pcap-file.js';
import { ROOT } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-fuzz-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KINDS = ['not-found', 'permission', 'is-directory', 'not-a-capture', 'empty', 'unsupported', 'bad-filter', 'read-error'];

// ---- seed captures: a classic pcap, the same packets as pcapng (written here), a nanosecond big-endian pcap ----

const edge = new Uint8Array(readFileSync(join(ROOT, 'fixtures', 'reference', 'edge.pcap')));
const edgeParsed = parsePcap(edge);

/** A little-endian pcapng (SHB, one IDB with if_tsresol = 9 (ns), one EPB per packet) of `frames`. */
function writePcapng(linkType: number, frames: { data: Uint8Array; tsUs: number; wirelen: number }[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array): void => {
    const padded = (body.length + 3) & ~3;
    const b = new Uint8Array(12 + padded);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, true);
    dv.setUint32(4, b.length, true);
    b.set(body, 8);
    dv.setUint32(b.length - 4, b.length, true);
    blocks.push(b);
  };
  const shb = new Uint8Array(16);
  new DataView(shb.buffer).setUint32(0, 0x1a2b3c4d, true);
  new DataView(shb.buffer).setUint16(4, 1, true);
  new DataView(shb.buffer).setBigInt64(8, -1n, true); // section length unknown
  block(0x0a0d0d0a, shb);
  const idb = new Uint8Array(8 + 8 + 4); // linktype, reserved, snaplen, option if_tsresol(9), opt_endofopt
  const idv = new DataView(idb.buffer);
  idv.setUint16(0, linkType, true);
  idv.setUint32(4, 262144, true);
  idv.setUint16(8, 9, true);
  idv.setUint16(10, 1, true);
  idb[12] = 9;
  block(1, idb);
  for (const f of frames) {
    const body = new Uint8Array(20 + f.data.length);
    const dv = new DataView(body.buffer);
    const ns = BigInt(f.tsUs) * 1000n;
    dv.setUint32(4, Number(ns >> 32n), true);
    dv.setUint32(8, Number(ns & 0xffffffffn), true);
    dv.setUint32(12, f.data.length, true);
    dv.setUint32(16, f.wirelen, true);
    body.set(f.data, 20);
    block(6, body);
  }
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of blocks) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/** The same capture as big-endian nanosecond pcap (magic a1b23c4d written big-endian). */
function toBigEndianNs(p: ReturnType<typeof parsePcap>): Uint8Array {
  const size = 24 + p.records.reduce((n, r) => n + 16 + r.caplen, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b23c4d, false);
  dv.setUint16(4, 2, false);
  dv.setUint16(6, 4, false);
  dv.setUint32(16, p.snaplen, false);
  dv.setUint32(20, p.linkType, false);
  let pos = 24;
  for (const r of p.records) {
    dv.setUint32(pos, Math.floor(r.tsUs / 1e6), false);
    dv.setUint32(pos + 4, (r.tsUs % 1e6) * 1000 + 123, false);
    dv.setUint32(pos + 8, r.caplen, false);
    dv.setUint32(pos + 12, r.wirelen, false);
    out.set(p.data.subarray(r.offset, r.offset + r.caplen), pos + 16);
    pos += 16 + r.caplen;
  }
  return out;
}

const frames = edgeParsed.records.map((r) => ({ data: edge.subarray(r.offset, r.offset + r.caplen), tsUs: r.tsUs, wirelen: r.wirelen }));
const SEEDS: { name: string; bytes: Uint8Array; kind: 'pcap' | 'pcapng' }[] = [
  { name: 'edge.pcap', bytes: edge, kind: 'pcap' },
  { name: 'edge.pcapng', bytes: writePcapng(edgeParsed.linkType, frames), kind: 'pcapng' },
  { name: 'edge-be-ns.pcap', bytes: toBigEndianNs(edgeParsed), kind: 'pcap' },
];

/** Offsets of the record headers (pcap) or blocks (pcapng) of an unmutated seed, to aim mutations at. */
function structure(seed: (typeof SEEDS)[number]): number[] {
  const b = seed.bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  if (seed.kind === 'pcap') {
    const le = dv.getUint32(0, true) === 0xa1b2c3d4 || dv.getUint32(0, true) === 0xa1b23c4d;
    for (let pos = 24; pos + 16 <= b.length; pos += 16 + dv.getUint32(pos + 8, le)) out.push(pos);
  } else {
    for (let pos = 0; pos + 12 <= b.length; pos += dv.getUint32(pos + 4, true)) out.push(pos);
  }
  return out;
}

// ---- mutations ---------------------------------------------------------------------------------------------

const u32 = fc.oneof(
  fc.constantFrom(0, 1, 2, 15, 16, 68, 0xffff, 0x10000, 262144, 262145, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff),
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.integer({ min: 0, max: 2000 }),
);
type Mutation =
  | { kind: 'field'; at: number; word: number; value: number }
  | { kind: 'header'; offset: number; value: number }
  | { kind: 'flip'; pos: number; bit: number }
  | { kind: 'truncate'; at: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // A 4-byte word of a record header / block: ts_sec, ts_frac, caplen, wirelen (pcap) or type, length, ... (pcapng).
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('field' as const), at: fc.nat(), word: fc.integer({ min: 0, max: 6 }), value: u32 }) },
  // File header: version, thiszone, sigfigs, snaplen, linktype (pcap) / SHB fields (pcapng).
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('header' as const), offset: fc.constantFrom(4, 8, 12, 16, 20), value: u32 }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
);

function applyMutations(seed: (typeof SEEDS)[number], muts: Mutation[]): Uint8Array {
  let b = new Uint8Array(seed.bytes);
  const anchors = structure(seed);
  const le = seed.kind === 'pcapng' || seed.name !== 'edge-be-ns.pcap';
  for (const m of muts) {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const put = (pos: number, v: number): void => {
      if (pos >= 0 && pos + 4 <= b.length) dv.setUint32(pos, v >>> 0, le);
    };
    if (m.kind === 'field') put(anchors[m.at % anchors.length]! + 4 * m.word, m.value);
    else if (m.kind === 'header') put(m.offset, m.value);
    else if (m.kind === 'flip' && b.length > 0) b[m.pos % b.length]! ^= 1 << m.bit;
    else if (m.kind === 'truncate') b = b.slice(0, m.at % (b.length + 1));
  }
  return b;
}

// ---- reading a (mutated) file through the reader and the engine ----------------------------------------------

interface Outcome {
  opened: boolean;
  packets: number;
  batches: number;
  flows: FlowRows[];
  engine: Engine | null;
}

/** Opens and reads `path` with the given batch sizes into an Engine; asserts every per-batch invariant. */
function readThrough(path: string, fileSize: number, batchBytes: number, batchPackets: number, profile: ProfileName, maxFlows: number): Outcome {
  let src: PcapSource;
  try {
    src = PcapSource.openFile(path, { batchBytes, batchPackets });
  } catch (e) {
    expect(e).toBeInstanceOf(CaptureError);
    const ce = e as CaptureError;
    expect(KINDS).toContain(ce.kind);
    expect(ce.message).not.toContain('\n');
    expect(ce.message).toContain(path);
    return { opened: false, packets: 0, batches: 0, flows: [], engine: null };
  }
  const flows: FlowRows[] = [];
  const engine = new Engine({
    profile: getProfile(profile),
    flowTimeoutUs: 120e6,
    activityTimeoutUs: 5e6,
    idleTimeoutUs: 0,
    maxFlows,
    batchSize: 16,
    portAwareDirection: false,
    ipv6: true,
    onFlows: (rows) => flows.push(rows),
  });
  let packets = 0;
  let batches = 0;
  let frameBytes = 0;
  try {
    for (let n = src.next(); n > 0; n = src.next()) {
      batches++;
      // Every record takes at least 16 bytes of the file: more batches than that means the reader loops.
      expect(batches).toBeLessThanOrEqual(fileSize / 16 + 1);
      for (let i = 0; i < n; i++) {
        const m = i * META_STRIDE;
        const cap = src.meta[m + Meta.CapLen]!;
        const off = src.meta[m + Meta.Offset]!;
        const nsec = src.meta[m + Meta.TsNsec]!;
        expect(Number.isInteger(cap) && cap >= 0).toBe(true);
        expect(off + cap).toBeLessThanOrEqual(batchBytes);
        expect(nsec >= 0 && nsec < 1e9).toBe(true);
        expect(Number.isFinite(src.meta[m + Meta.TsSec]!)).toBe(true);
        frameBytes += cap;
      }
      packets += n;
      engine.ingestBatch(src.linkType, src.data, src.meta, n);
    }
  } finally {
    src.close();
  }
  // Frame bytes come from the file: never more than it holds.
  expect(frameBytes).toBeLessThanOrEqual(fileSize);
  const w = src.warning;
  if (w !== undefined) expect(w).not.toContain('\n');
  engine.finish();
  return { opened: true, packets, batches, flows, engine };
}

/** The user-visible invariants of a finished engine: accounting, and no negative time unless time went backwards. */
function checkEngine(o: Outcome, profile: ProfileName): void {
  if (!o.engine) return;
  const a = o.engine.accounting();
  const reasons = Object.values(a.packetsNotInWrittenFlows).reduce((x, y) => x + y, 0);
  expect(a.packets).toBe(o.packets);
  expect(a.packetsInWrittenFlows + reasons).toBe(a.packets);
  const names = getProfile(profile).columns.featureNames;
  const F = names.length;
  const timeCols = names.map((n, i) => [n, i] as const).filter(([n]) => /Duration|IAT|Active|Idle/.test(n) && !/\/s/.test(n));
  let rows = 0;
  const backwards = a.info['flow.time_backwards']! > 0;
  for (const b of o.flows) {
    for (let i = 0; i < b.count; i++) {
      rows++;
      if (backwards) continue;
      for (const [n, c] of timeCols) {
        const v = b.features[i * F + c]!;
        if (v < 0) throw new Error(`flow ${i} of a batch (${b.srcPorts[i]} → ${b.dstPorts[i]}): ${n} = ${v}`);
      }
      expect(b.endUs[i]!).toBeGreaterThanOrEqual(b.startUs[i]!);
    }
  }
  expect(rows).toBe(a.flows);
}

describe('reader + engine on mutated captures (fast-check)', () => {
  const file = join(dir, 'mutated.cap');
  it.each(SEEDS.map((s) => [s.name, s] as const))('%s: CaptureError or sane batches; every packet accounted; no negative time unless time went backwards', (_n, seed) => {
    fc.assert(
      fc.property(
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 16, max: 70_000 }),
        fc.integer({ min: 1, max: 64 }),
        fc.constantFrom<ProfileName>('cic', 'fixed', 'cic2017'),
        fc.constantFrom(1, 3, 64),
        (muts, batchBytes, batchPackets, profile, maxFlows) => {
          const bytes = applyMutations(seed, muts);
          writeFileSync(file, bytes);
          const o = readThrough(file, bytes.length, batchBytes, batchPackets, profile, maxFlows);
          checkEngine(o, profile);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('the unmutated seeds read the same packets in every format', () => {
    const counts = SEEDS.map((s) => {
      writeFileSync(file, s.bytes);
      return readThrough(file, s.bytes.length, 4096, 8, 'fixed', 64).packets;
    });
    expect(counts).toEqual(SEEDS.map(() => edgeParsed.records.length));
  });
});

// ---- time going backwards ----------------------------------------------------------------------------------

describe('timestamps going backwards', () => {
  const T0 = 1_700_000_000_000_000;
  /**
   * Model of the rule: every packet keeps its timestamp; a flow's duration is its last packet's time minus its first
   * packet's (negative when the last packet is stamped earlier). UDP flows in `fixed` (no FIN rules; 1-packet flows are written), all
   * timestamps within one flow timeout, so a flow is exactly a 5-tuple here.
   */
  it('every flow: duration = last packet time - first packet time; flow.time_backwards counts the packets earlier than their flow\'s last', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ flow: fc.integer({ min: 0, max: 3 }), reply: fc.boolean(), dtUs: fc.integer({ min: 0, max: 30_000_000 }) }), { minLength: 1, maxLength: 40 }),
        (pkts) => {
          const frames = pkts.map((p) => {
            const [sport, dport] = p.reply ? [53, 40000 + p.flow] : [40000 + p.flow, 53];
            const ip = p.reply ? { src: '10.0.0.2', dst: '10.0.0.1' } : { src: '10.0.0.1', dst: '10.0.0.2' };
            return { data: ethIpv4Udp({ sport, dport }, new Uint8Array(4), ip), tsUs: T0 + p.dtUs };
          });
          const path = join(dir, 'backwards.pcap');
          writeFileSync(path, writePcap(1, frames));
          const o = readThrough(path, 1 << 20, 1 << 16, 8192, 'fixed', 64);
          checkEngine(o, 'fixed');
          // The model.
          const model = new Map<number, { first: number; last: number; n: number }>();
          let earlier = 0;
          for (const p of pkts) {
            const f = model.get(p.flow);
            if (!f) model.set(p.flow, { first: p.dtUs, last: p.dtUs, n: 1 });
            else {
              if (p.dtUs < f.last) earlier++;
              f.last = p.dtUs;
              f.n++;
            }
          }
          const got = new Map<number, { dur: number; n: number }>();
          const F = getProfile('fixed').columns.featureNames.length;
          for (const b of o.flows) {
            for (let i = 0; i < b.count; i++) {
              const port = b.srcPorts[i] === 53 ? b.dstPorts[i]! : b.srcPorts[i]!;
              got.set(port - 40000, { dur: b.features[i * F]!, n: b.features[i * F + 1]! + b.features[i * F + 2]! });
            }
          }
          expect(got).toEqual(new Map([...model].map(([k, f]) => [k, { dur: f.last - f.first, n: f.n }])));
          expect(o.engine!.accounting().info['flow.time_backwards']).toBe(earlier);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a TCP connection with a reply stamped before its SYN: the references\' negative inter-arrival time in all three profiles', () => {
    const c = { src: '10.0.0.1', dst: '10.0.0.2' };
    const s = { src: '10.0.0.2', dst: '10.0.0.1' };
    const path = join(dir, 'tcp-backwards.pcap');
    writeFileSync(
      path,
      writePcap(1, [
        { data: ethIpv4Tcp({ sport: 40000, dport: 80, flags: Flags.SYN }, [], c), tsUs: T0 + 5_000_000 },
        { data: ethIpv4Tcp({ sport: 80, dport: 40000, flags: Flags.SYN | Flags.ACK }, [], s), tsUs: T0 }, // 5 s earlier
        { data: ethIpv4Tcp({ sport: 40000, dport: 80, flags: Flags.ACK }, [], c), tsUs: T0 + 5_000_100 },
        { data: ethIpv4Tcp({ sport: 40000, dport: 80, flags: Flags.ACK | Flags.PSH }, new Uint8Array(10), c), tsUs: T0 + 5_000_200 },
      ]),
    );
    for (const profile of ['cic', 'fixed', 'cic2017'] as const) {
      const o = readThrough(path, 1 << 20, 1 << 16, 8192, profile, 64);
      checkEngine(o, profile);
      const rows = o.flows.reduce((n, b) => n + b.count, 0);
      expect(rows).toBe(1);
      expect(o.flows[0]!.features[0]).toBe(200); // first packet at +5 s, last at +5.0002 s
      const names = getProfile(profile).columns.featureNames;
      expect(o.flows[0]!.features[names.indexOf('Flow IAT Min')]).toBe(-5_000_000); // the SYN-ACK, 5 s before the SYN
      expect(o.engine!.accounting().info['flow.time_backwards']).toBe(1);
    }
  });
});

// ---- the mutation fuzzer behind `npm run fuzz`, bounded ------------------------------------------------------

describe('mutation fuzzer (bounded, in-process)', () => {
  it('2,000 mutated real captures: no failure', async () => {
    const lib = await import('./fuzz/fuzz-lib.mjs');
    const seeds = lib.loadSeeds(lib.defaultSeedDirs());
    expect(seeds.length).toBeGreaterThan(0);
    const failures: { seed: number; what: string; problems: string[] }[] = [];
    const done = lib.runIterations({
      seeds,
      baseSeed: 20_240_601,
      count: 2000,
      scratch: join(dir, 'fuzz-input.pcap'),
      outDir: dir,
      cliEvery: 0,
      onFailure: (f: { seed: number; what: string; problems: string[] }) => failures.push({ seed: f.seed, what: f.what, problems: f.problems }),
    });
    expect(done).toBe(2000);
    expect(failures).toEqual([]);
  });
});
