/**
 * The live daemon with `--workers 2` (two engines in worker threads), as root in two network namespaces joined by a
 * veth pair (test/helpers/live-lab.ts), frames of a fixture sent unchanged into the other end:
 * - it finds every flow `sensor --replay` finds, with the same packet and byte counts, every packet accounted for;
 * - SIGTERM under heavy traffic loses nothing: every captured packet is in a written flow or counted by reason,
 *   every flow the counters name is in the database;
 * - on a quiet link the flows still reach the database: the wall-clock tick ends idle flows in every shard;
 * - SIGHUP after moving the database away: old flows in the moved file, new ones in the new file, none lost.
 * Skipped, with the reason, when not root or when `ip netns` is not permitted.
 */
import { existsSync, mkdtempSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, expect, it } from 'vitest';
import { ROOT, sensor } from './helpers/cli.js';
import { describeLive, LAB, liveLab, type SensorProcess } from './helpers/live-lab.js';
import { expectPacketsAccounted, flowCounts, runsOf, type RunCounters } from './helpers/run-db.js';

const PCAP = join(ROOT, 'fixtures/reference/zeek-wikipedia.pcap');
const OTHER = join(ROOT, 'fixtures/reference/cic2017-webattack-sqlinj.pcap');
const dir = mkdtempSync(join(tmpdir(), 'sensor-workers-live-'));

const storedFlows = (db: string): number => {
  if (!existsSync(db)) return 0;
  const conn = new Database(db, { readonly: true, timeout: 5000 });
  try {
    return (conn.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n;
  } finally {
    conn.close();
  }
};
const packetsInFlows = (db: string): number => {
  const conn = new Database(db, { readonly: true, timeout: 5000 });
  try {
    return (conn.prepare('SELECT sum(total_fwd_packet + total_bwd_packets) AS n FROM flows').get() as { n: number }).n;
  } finally {
    conn.close();
  }
};
const counters = (db: string): RunCounters => runsOf(db)[0]!.counters;

/** packets = in written flows + every reason; nothing left open; every captured packet reached an engine. */
function expectAccounted(c: RunCounters): void {
  expectPacketsAccounted(c);
  expect(c.info['flows.active']).toBe(0);
  expect(c.capture.captured).toBe(c.packets);
}

describeLive('live capture with --workers 2 (network namespaces, veth)', LAB, () => {
  const lab = liveLab();
  const start = (args: string[]): SensorProcess => lab.startSensor(['--iface', lab.capIf, '--no-model', '--workers', '2', ...args]);
  let want: string[] = [];
  let wantOther: string[] = [];

  beforeAll(async () => {
    const db = join(dir, 'replay.sqlite');
    const r = await sensor(['--replay', PCAP, '--db', db, '-q', '--no-model'], { timeoutMs: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    want = flowCounts(db);
    const db2 = join(dir, 'replay-other.sqlite');
    const r2 = await sensor(['--replay', OTHER, '--db', db2, '-q', '--no-model'], { timeoutMs: 60_000 });
    expect(r2.status, r2.stderr).toBe(0);
    wantOther = flowCounts(db2);
  }, 60_000);

  it('finds every flow replay finds, same packet and byte counts, every packet accounted for', async () => {
    const db = join(dir, 'live.sqlite');
    const p = start(['--db', db, '--stats-interval', '1']);
    await p.waitFor((l) => l.event === 'start');
    const sent = await lab.send(PCAP);
    const stop = await p.stop('SIGTERM');
    expect(stop.timedOut).toBe(false);
    expect(stop.code, p.stderr).toBe(0);
    expect(p.stderr).toBe('');
    expect(want.length).toBeGreaterThan(0);
    expect(flowCounts(db)).toEqual(want);
    const c = counters(db);
    expectAccounted(c);
    expect(c.packets).toBe(sent);
    expect(c.capture.kernel_dropped).toBe(0);
  }, 90_000);

  it('SIGTERM during heavy traffic: every captured packet in a written flow or counted, every flow stored', async () => {
    const db = join(dir, 'heavy.sqlite');
    const p = start(['--db', db, '--stats-interval', '1']);
    await p.waitFor((l) => l.event === 'start');
    const sender = lab.sendForever(PCAP);
    try {
      await p.waitFor((l) => l.event === 'stats' && typeof l.packets === 'number' && l.packets > 5000, 20_000);
      const stop = await p.stop('SIGTERM');
      expect(stop.timedOut).toBe(false);
      expect(stop.code, p.stderr).toBe(0);
    } finally {
      sender.kill('SIGKILL');
    }
    const c = counters(db);
    expect(c.packets).toBeGreaterThan(5000);
    expectAccounted(c);
    expect(storedFlows(db)).toBe(c.flows);
    expect(packetsInFlows(db)).toBe(c.packets_in_written_flows);
  }, 90_000);

  it('a quiet link still flushes flows: idle expiry on the wall-clock tick in every shard', async () => {
    const db = join(dir, 'quiet.sqlite');
    const p = start(['--db', db, '--idle-timeout', '1', '--stats-interval', '0']);
    await p.waitFor((l) => l.event === 'start');
    await lab.send(PCAP);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && storedFlows(db) < want.length) await new Promise((r) => setTimeout(r, 100));
    // Every flow is in the database while the sensor still runs.
    expect(flowCounts(db)).toEqual(want);
    const stop = await p.stop('SIGTERM');
    expect(stop.code, p.stderr).toBe(0);
    expect(flowCounts(db)).toEqual(want);
    const c = counters(db);
    expect(c.info['flow.idle_expired']).toBeGreaterThan(0);
    expectAccounted(c);
  }, 90_000);

  it('SIGHUP after moving the database away: old flows in the moved file, new ones in a new file, none lost', async () => {
    const db = join(dir, 'hup.sqlite');
    const p = start(['--db', db, '--idle-timeout', '1', '--stats-interval', '0']);
    await p.waitFor((l) => l.event === 'start');
    await lab.send(PCAP);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && storedFlows(db) < want.length) await new Promise((r) => setTimeout(r, 100));
    renameSync(db, `${db}.1`);
    for (const ext of ['-wal', '-shm']) if (existsSync(db + ext)) renameSync(db + ext, `${db}.1${ext}`);
    p.child.kill('SIGHUP');
    await p.waitFor((l) => l.event === 'reload' && l.msg === 'reload: outputs reopened');
    await lab.send(OTHER);
    const stop = await p.stop('SIGTERM');
    expect(stop.code, p.stderr).toBe(0);
    expect(flowCounts(`${db}.1`)).toEqual(want);
    expect(flowCounts(db)).toEqual(wantOther);
    expectAccounted(counters(db));
  }, 90_000);
});
