/**
 * The flow table is the memory bound: with more concurrent flows than --max-flows, the oldest flow is ended early
 * (counted as flow.table_full_evictions), every flow is still written, and the sensor's memory does not grow with
 * the number of flows.
 *
 * Captures of N distinct UDP conversations (a request and its reply, adjacent, so a conversation is complete long
 * before 1,000 newer ones push it out): with --max-flows 1000 each is written as one 2-packet flow, and every
 * conversation after the first 1,000 evicts exactly one, so evictions = N - 1000.
 *
 * Memory: peak RSS (/usr/bin/time) for 50,000 and 250,000 flows with --max-flows 1000 must be within 64 MB of each
 * other (V8's heap sizing alone moves it by ~30 MB run to run), while the same 250,000 flows with a table large
 * enough to hold them all must cost at least 150 MB more (~1 KB of state each): the measurement can see growth.
 */
import { createReadStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ethIpv4Udp, inetChecksum } from './helpers/frames.js';
import { runSensor } from './helpers/corpus.js';
import { putPcapHeader, putRecordHeader } from './helpers/pcap-file.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T0 = 1_700_000_000_000_000;

/**
 * A pcap of `n` UDP conversations 10.a.b.c:40000 <-> 192.0.2.1:53 (request 20 bytes, reply 60), 100 µs apart.
 * Built by patching two template frames (addresses, IP checksum; UDP checksum 0 = none), fast enough for 250k.
 */
function conversations(n: number): string {
  const path = join(dir, `conv-${n}.pcap`);
  if (existsSync(path)) return path;
  const req = ethIpv4Udp({ sport: 40000, dport: 53 }, new Uint8Array(20), { src: '10.0.0.0', dst: '192.0.2.1' });
  const rep = ethIpv4Udp({ sport: 53, dport: 40000 }, new Uint8Array(60), { src: '192.0.2.1', dst: '10.0.0.0' });
  const out = new Uint8Array(24 + n * (32 + req.length + rep.length));
  const dv = new DataView(out.buffer);
  putPcapHeader(dv, 1);
  let pos = 24;
  const put = (frame: Uint8Array, addrAt: number, i: number, tsUs: number): void => {
    const f = putRecordHeader(dv, pos, tsUs, frame.length);
    out.set(frame, f);
    out[f + addrAt + 1] = (i >> 16) & 255;
    out[f + addrAt + 2] = (i >> 8) & 255;
    out[f + addrAt + 3] = i & 255;
    out[f + 24] = 0; // IPv4 header checksum, recomputed below
    out[f + 25] = 0;
    const sum = inetChecksum(out.subarray(f + 14, f + 34));
    out[f + 24] = sum >> 8;
    out[f + 25] = sum & 255;
    out[f + 40] = 0; // UDP checksum: none
    out[f + 41] = 0;
    pos = f + frame.length;
  };
  for (let i = 0; i < n; i++) {
    put(req, 26, i, T0 + i * 100); // source address at Ethernet 14 + IP 12
    put(rep, 30, i, T0 + i * 100 + 50); // destination address at 14 + 16
  }
  writeFileSync(path, out);
  return path;
}

/** Lines of a file minus its header, counted without loading it. */
async function csvRows(path: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(path)) {
    const b = chunk as Buffer;
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) lines++;
  }
  return lines - 1;
}

describe('more concurrent flows than --max-flows', () => {
  it.each(['cic', 'fixed', 'cic2017'])('%s: 50,000 conversations through a 1,000-flow table: every flow written, 49,000 evictions', async (profile) => {
    const db = join(dir, `evict-${profile}.sqlite`);
    const r = await runSensor(['--replay', conversations(50_000), '--db', db, '--profile', profile, '--max-flows', '1000', '--no-model', '-q'], 120_000);
    expect(r.status, r.stderr).toBe(0);
    const d = new Database(db, { readonly: true });
    try {
      const c = JSON.parse((d.prepare('SELECT counters FROM runs').get() as { counters: string }).counters);
      expect(c.flows).toBe(50_000);
      expect(c.packets_in_written_flows).toBe(100_000);
      expect(c.info['flow.table_full_evictions']).toBe(49_000);
      const cols = (d.prepare('PRAGMA table_info(flows)').all() as { name: string }[]).map((x) => x.name);
      const fwd = cols[cols.indexOf('flow_duration') + 1]!;
      const bwd = cols[cols.indexOf('flow_duration') + 2]!;
      // Every conversation is one flow with its request forward and its reply backward.
      const t = d.prepare(`SELECT count(*) AS n, count(DISTINCT src_ip) AS ips, min("${fwd}") AS f0, max("${fwd}") AS f1, min("${bwd}") AS b0, max("${bwd}") AS b1 FROM flows`).get();
      expect(t).toEqual({ n: 50_000, ips: 50_000, f0: 1, f1: 1, b0: 1, b1: 1 });
    } finally {
      d.close();
    }
  });
});

describe.skipIf(!existsSync('/usr/bin/time'))('memory does not grow with the number of flows', () => {
  it('peak RSS: 50,000 vs 250,000 flows with --max-flows 1000, and 250,000 flows all held', async () => {
    const small = conversations(50_000);
    const large = conversations(250_000);
    const csv = join(dir, 'rss.csv');
    const peak = async (pcap: string, maxFlows: number, flows: number): Promise<number> => {
      const r = await runSensor(['--replay', pcap, '--csv', csv, '--profile', 'cic', '--max-flows', String(maxFlows), '--no-model', '-q'], 300_000);
      expect(r.status, r.stderr).toBe(0);
      expect(await csvRows(csv)).toBe(flows); // no flow lost
      return r.maxRssKb! / 1024;
    };
    const a = await peak(small, 1000, 50_000);
    const b = await peak(large, 1000, 250_000);
    const held = await peak(large, 262_144, 250_000);
    const report = `peak RSS MB: 50k flows ${a.toFixed(0)}, 250k flows ${b.toFixed(0)}, 250k flows held ${held.toFixed(0)}`;
    console.log(report);
    expect(b - a, report).toBeLessThan(64);
    expect(held - a, report).toBeGreaterThan(150);
  });
});
