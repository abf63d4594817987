/**
 * `--workers N`: flows sharded over N engines in worker threads must give what one engine gives, so a user can
 * turn it on without a second thought:
 * - the same CSV file, byte for byte and in the same order, the same JSON events (each naming the capture file its
 *   flow completed in) and the same `runs` counters and summary, in every profile, several files being one stream;
 * - the same timeouts and expiry (flow timeout splits, idle expiry), also when one shard reads no packet of its own
 *   for a while (the live clock's idle expiry on a quiet link: test/live.test.ts, whose live scenarios also run with --workers 2);
 * - bad values refused with the settings table's message, exit 2;
 * - the merge itself: one engine's order from the shards' rows, waiting for a shard that may still precede.
 * The large shared captures are covered by test/parity.test.ts (N = 2 beside N = 1) and the live daemon by
 * test/live.test.ts, whose live scenarios also run with --workers 2.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, sensor } from './helpers/cli.js';
import { ethIpv4Tcp, ethIpv4Udp, Flags } from './helpers/frames.js';
import { writePcap } from './helpers/pcap-file.js';
import { ShardMerge, mergeAccounting, DONE } from '../src/pipeline/shard-merge.js';
import type { FlowRows } from '../src/engine/flow-batch.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-workers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
const FIXTURES = readdirSync(join(ROOT, 'fixtures/reference'))
  .filter((f) => f.endsWith('.pcap'))
  .sort()
  .map((f) => join(ROOT, 'fixtures/reference', f));

interface Outputs {
  csv: string;
  json: string;
  counters: unknown;
  summary: string;
}

/** Replay with `--workers n`: the CSV and JSON text, the runs table's counters and the summary without timings. */
async function replay(files: string[], n: number, args: string[]): Promise<Outputs> {
  const base = join(dir, `w${n}-${Math.random().toString(36).slice(2)}`);
  const r = await sensor(['--replay', ...files, '--workers', String(n), '--csv', `${base}.csv`, '--json', `${base}.json`, '--db', `${base}.sqlite`, '--sensor-name', 't', ...args], {
    timeoutMs: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const db = new Database(`${base}.sqlite`, { readonly: true });
  const run = db.prepare('SELECT counters FROM runs').get() as { counters: string };
  db.close();
  return {
    csv: readFileSync(`${base}.csv`, 'utf8'),
    json: readFileSync(`${base}.json`, 'utf8'),
    counters: JSON.parse(run.counters),
    // "packets 15420  flows 878  packets in flows 14581  0.96 s  16022 packets/s": the rate and time vary.
    summary: r.stderr.replace(/\s+[\d.]+ s\s+[\d,]+ packets\/s/, ''),
  };
}

function expectSame(one: Outputs, many: Outputs): void {
  expect(many.csv.split('\n').length).toBe(one.csv.split('\n').length);
  expect(many.csv === one.csv, 'CSV files differ').toBe(true);
  expect(many.json === one.json, 'JSON files differ').toBe(true);
  expect(many.counters).toEqual(one.counters);
  expect(many.summary).toBe(one.summary);
}

describe('--workers 2 writes what one engine writes (bundled captures as one stream)', () => {
  it('has the bundled captures', () => expect(FIXTURES.length).toBeGreaterThanOrEqual(5));
  for (const profile of ['cic', 'fixed', 'cic2017']) {
    it(`--profile ${profile}: same CSV file, JSON events, runs counters and summary`, async () => {
      const args = ['--profile', profile, '--no-model'];
      const one = await replay(FIXTURES, 1, args);
      const two = await replay(FIXTURES, 2, args);
      expect(one.csv.split('\n').length).toBeGreaterThan(50);
      // Each flow names the file it completed in (a flow may span files: it names the last).
      const files = new Set(one.json.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { pcap_file: string }).pcap_file));
      expect(files.size).toBeGreaterThan(1);
      expectSame(one, two);
    }, 120_000);
  }

  it('with the default model: the same verdicts too', async () => {
    const one = await replay(FIXTURES.slice(0, 2), 1, []);
    const two = await replay(FIXTURES.slice(0, 2), 2, []);
    expect(one.summary).toMatch(/verdicts:/);
    expectSame(one, two);
  }, 120_000);
});

/**
 * 400 connections between 40 clients and 10 servers over 20 simulated seconds: each sends a few packets, some go
 * quiet and come back after the idle timeout (a new flow), some outlive the flow timeout (a split), a few end with
 * FIN or RST. Then one conversation alone for 30 s, so one shard reads a long run of packets none of which is its
 * own, before the end of input writes every open flow from both shards.
 */
function timeoutsCapture(): string {
  const T0 = 1_700_000_000_000_000;
  const frames: { data: Uint8Array; tsUs: number }[] = [];
  let rnd = 12345;
  const rand = (n: number): number => {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    return (rnd >>> 8) % n;
  };
  const events: { ts: number; data: Uint8Array }[] = [];
  for (let c = 0; c < 400; c++) {
    const ip = { src: `10.1.0.${1 + (c % 40)}`, dst: `10.2.0.${1 + (c % 10)}` };
    const back = { src: ip.dst, dst: ip.src };
    const sport = 30000 + c;
    const dport = c % 3 === 0 ? 53 : 443;
    let t = T0 + rand(20_000_000);
    const packets = 2 + rand(8);
    for (let p = 0; p < packets; p++) {
      const fwd = p % 2 === 0;
      const last = p === packets - 1;
      const flags = last && c % 5 === 0 ? Flags.FIN | Flags.ACK : last && c % 7 === 0 ? Flags.RST : p === 0 ? Flags.SYN : Flags.ACK;
      const data =
        dport === 53
          ? ethIpv4Udp({ sport: fwd ? sport : dport, dport: fwd ? dport : sport }, new Uint8Array(20 + rand(60)), fwd ? ip : back)
          : ethIpv4Tcp({ sport: fwd ? sport : dport, dport: fwd ? dport : sport, flags }, new Uint8Array(rand(3) * 100), fwd ? ip : back);
      events.push({ ts: t, data });
      // Mostly close together; sometimes a pause past the idle timeout (2 s), sometimes past the flow timeout (6 s).
      const gap = rand(10);
      t += gap === 0 ? 2_500_000 + rand(1_000_000) : gap === 1 ? 6_500_000 : rand(200_000);
    }
  }
  // One conversation alone for 30 s (its flow is split by the flow timeout).
  const solo = { src: '10.9.0.1', dst: '10.9.0.2' };
  for (let i = 0; i < 60; i++) events.push({ ts: T0 + 40_000_000 + i * 500_000, data: ethIpv4Udp({ sport: 5000, dport: 6000 }, new Uint8Array(10), solo) });
  events.sort((a, b) => a.ts - b.ts);
  for (const e of events) frames.push({ data: e.data, tsUs: e.ts });
  const path = join(dir, 'timeouts.pcap');
  writeFileSync(path, writePcap(1, frames));
  return path;
}

describe('timeouts and expiry with --workers', () => {
  const pcap = timeoutsCapture();
  for (const profile of ['cic', 'fixed']) {
    it(`--profile ${profile} --idle-timeout 2 --flow-timeout 6: N = 2 and 3 write what N = 1 writes`, async () => {
      const args = ['--profile', profile, '--no-model', '--idle-timeout', '2', '--flow-timeout', '6'];
      const one = await replay([pcap], 1, args);
      const c = one.counters as { info: Record<string, number>; flows: number };
      // The capture does what it is for: idle expiry and timeout splits happen.
      expect(c.info['flow.idle_expired']).toBeGreaterThan(20);
      expect(one.json).toMatch(/"reason":"timeout"/);
      expect(c.flows).toBeGreaterThan(400);
      expectSame(one, await replay([pcap], 2, args));
      expectSame(one, await replay([pcap], 3, args));
    }, 120_000);
  }
});

describe('--workers: bad values are refused', () => {
  for (const [value, shown] of [['0', '"0"'], ['x', '"x"'], ['1.5', '"1.5"'], ['65', '"65"']] as const) {
    it(`--workers ${value}`, async () => {
      const r = await sensor(['--replay', FIXTURES[0]!, '--csv', join(dir, 'never.csv'), '--workers', value]);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`sensor: --workers: expected an integer from 1 to 64, got ${shown}\n`);
    });
  }
  it('SENSOR_WORKERS (the daemon reads the environment)', async () => {
    const r = await sensor(['--iface', 'lo', '--csv', join(dir, 'never.csv')], { env: { ...process.env, SENSOR_WORKERS: '0' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('sensor: environment SENSOR_WORKERS: expected an integer from 1 to 64, got "0"');
  });
  it('--help documents it', async () => {
    const r = await sensor(['--help']);
    expect(r.stdout).toMatch(/--workers\s+Engine threads/);
  });
});

const CAPACITY = 4;

/** A batch (capacity CAPACITY) of rows with these (packet, first packet) orders, named `<tag>-<i>`, as one shard sends it. */
function rows(order: [number, number][], tag: number): FlowRows {
  const features = new Float64Array(CAPACITY * 2);
  order.forEach((_, i) => features.set([tag, i], i * 2));
  const o = new Float64Array(CAPACITY * 2);
  o.set(order.flat());
  return {
    count: order.length,
    ids: order.map((_, i) => ({ flowId: `${tag}-${i}`, srcIp: '', srcPort: 0, dstIp: '', dstPort: 0, protocol: 0, startUs: 0, endUs: 0, timestamp: '' })),
    features,
    kinds: new Uint8Array(CAPACITY * 2),
    endReasons: Uint8Array.from({ length: CAPACITY }, (_, i) => tag * 10 + i),
    order: o,
  };
}

/** Each handed-on row as `<tag>-<i>`, checked against its features and end reason (columns carried along). */
function names(batch: FlowRows): string[] {
  return batch.ids.slice(0, batch.count).map((id, j) => {
    const [tag, i] = id.flowId.split('-').map(Number);
    expect([batch.features[j * 2], batch.features[j * 2 + 1], batch.endReasons![j]]).toEqual([tag, i, tag! * 10 + i!]);
    return id.flowId;
  });
}

describe('ShardMerge', () => {
  it('hands rows on in (packet, tick, first packet) order, only once no shard can still precede them', () => {
    const out: string[] = [];
    const m = new ShardMerge(2, CAPACITY, (r) => out.push(...names(r)));
    // Shard 0 wrote rows at packets 3 and 9; shard 1 has read up to packet 5 and sent nothing yet.
    m.add(0, rows([[3, 1], [9, 2]], 0), 0);
    m.advance(1, { c: 5, t: 0, s: Infinity });
    m.release();
    expect(m.waiting).toBe(1); // packet 9's row waits: shard 1 may still write one at 6..9
    m.add(1, rows([[7, 4]], 1), 0);
    m.advance(1, { c: 20, t: 0, s: Infinity });
    m.release(true);
    expect(out).toEqual(['0-0', '1-0', '0-1']);
  });

  it('at the end, the shards\' open flows interleave by their first packet, after every row written by a packet', () => {
    const out: string[] = [];
    const m = new ShardMerge(2, CAPACITY, (r) => out.push(...names(r)));
    m.add(0, rows([[50, 10], [50, 30]], 0), 1); // tick 1: shard 0's open flows, first packets 10 and 30
    m.advance(0, DONE);
    m.add(1, rows([[50, 40]], 1), 0); // written by packet 50 itself
    m.add(1, rows([[50, 20]], 2), 1);
    m.advance(1, DONE);
    m.release(true);
    expect(out).toEqual(['1-0', '0-0', '2-0', '0-1']);
  });

  it('merges counters: packets and pre-lookup reasons once, per-flow counts summed', () => {
    const a = { packets: 10, flows: 2, packetsInWrittenFlows: 6, packetsNotInWrittenFlows: { 'decode.ipv4.truncated': 1, 'flow.unwritten_packets': 1 }, info: { 'flows.active': 0, 'flow.frame_start_as_ipv4': 2, 'flow.idle_expired': 1 } };
    const b = { packets: 10, flows: 1, packetsInWrittenFlows: 2, packetsNotInWrittenFlows: { 'decode.ipv4.truncated': 1, 'flow.unwritten_packets': 0 }, info: { 'flows.active': 0, 'flow.frame_start_as_ipv4': 2, 'flow.idle_expired': 2 } };
    expect(mergeAccounting([a, b])).toEqual({
      packets: 10,
      flows: 3,
      packetsInWrittenFlows: 8,
      packetsNotInWrittenFlows: { 'decode.ipv4.truncated': 1, 'flow.unwritten_packets': 1 },
      info: { 'flows.active': 0, 'flow.frame_start_as_ipv4': 2, 'flow.idle_expired': 3 },
    });
  });
});
