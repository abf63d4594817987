/**
 * Live capture end to end, as root in two network namespaces joined by a veth pair: `sensor --iface` in one,
 * frames of a fixture capture sent unchanged into the other end. What a user relies on:
 * - live finds every flow that `sensor --replay` of the same capture finds, with the same packet and byte counts;
 * - SIGTERM under heavy traffic loses nothing: every captured packet is in a written flow or counted by reason,
 *   and every flow is in the database;
 * - on a quiet link, flows still reach the database (idle expiry driven by the wall-clock tick);
 * - SIGHUP after moving the database away (log rotation) loses no flow: old ones in the moved file, new ones in
 *   the new file;
 * - a missing interface, no permission, a bad filter: one clear line, non-zero exit, no output written.
 * The first four also with `--workers 2` (two engines in worker threads).
 * Skipped, with the reason, when not root or when `ip netns` is not permitted (test/helpers/live-lab.ts).
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, sensor } from './helpers/cli.js';
import { describeLive, LAB, liveLab } from './helpers/live-lab.js';
import { expectPacketsAccounted, flowCounts, runsOf, type RunCounters } from './helpers/run-db.js';

/** The shipped model as the sensor names it: `name@version` from its card. */
const DEFAULT_MODEL = existsSync(join(ROOT, 'models/cic2017-attack.json'))
  ? `cic2017-attack@${(JSON.parse(readFileSync(join(ROOT, 'models/cic2017-attack.json'), 'utf8')) as { version: string }).version}`
  : '';

const FIXTURES = ['zeek-wikipedia', 'cic2017-webattack-sqlinj', 'zeek-http-vlan'].map((n) => join(ROOT, 'fixtures/reference', `${n}.pcap`));
const dir = mkdtempSync(join(tmpdir(), 'sensor-live-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));

function count(db: string, sql = 'SELECT count(*) AS n FROM flows'): number {
  const conn = new Database(db, { readonly: true, timeout: 5000 });
  try {
    return (conn.prepare(sql).get() as { n: number }).n;
  } finally {
    conn.close();
  }
}

/** The accounting every live run must satisfy: packets = in written flows + every reason; nothing left open. */
function expectAccounted(c: RunCounters): void {
  expectPacketsAccounted(c);
  expect(c.info['flows.active']).toBe(0);
  // Every packet the capture thread took reached the engine; none thrown away at close.
  expect(c.capture.captured).toBe(c.packets);
  expect(c.capture.discarded_at_close).toBe(0);
}

const replayed = new Map<string, string[]>();
async function replayCounts(pcap: string): Promise<string[]> {
  const hit = replayed.get(pcap);
  if (hit) return hit;
  const db = join(dir, `replay-${replayed.size}.sqlite`);
  const r = await sensor(['--replay', pcap, '--db', db, '-q', '--no-model'], { timeoutMs: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  const rows = flowCounts(db);
  replayed.set(pcap, rows);
  return rows;
}

describeLive('live capture (network namespaces, veth)', LAB, () => {
  const lab = liveLab();

  // Each of these with one engine and with the flows sharded over two (--workers 2): the same flows, nothing lost
  // on SIGTERM or SIGHUP, and idle expiry on the wall-clock tick in every shard.
  for (const workers of [1, 2]) {
    const shards = workers > 1 ? ['--workers', String(workers)] : [];
    const tag = workers > 1 ? ` (--workers ${workers})` : '';
    for (const pcap of FIXTURES) {
      const name = pcap.split('/').pop()!;
      it(`${name}: live finds every flow replay finds, same packet and byte counts${tag}`, async () => {
        const db = join(dir, `live-${name}-w${workers}.sqlite`);
        const p = lab.startSensor(['--iface', lab.capIf, '--no-model', ...shards, '--db', db, '--stats-interval', '1']);
        await p.waitFor((l) => l.event === 'start');
        const sent = await lab.send(pcap);
        const stop = await p.stop('SIGTERM');
        expect(stop.timedOut).toBe(false);
        expect(stop.code, p.stderr).toBe(0);
        expect(p.stderr).toBe('');

        const live = flowCounts(db);
        const want = await replayCounts(pcap);
        expect(want.length).toBeGreaterThan(0);
        expect(live).toEqual(want);

        const [run] = runsOf(db);
        expect(run).toMatchObject({ mode: 'live', source: lab.capIf });
        expect(run!.ended_at).not.toBeNull();
        const c = run!.counters;
        expectAccounted(c);
        // Exactly the frames sent arrived, none dropped: the namespace is otherwise silent.
        expect(c.packets).toBe(sent);
        expect(c.capture.kernel_dropped).toBe(0);
        expect(c.capture.kernel_received).toBe(sent);
        // The stop line carries the same counters for journald.
        const stopLine = await p.waitFor((l) => l.event === 'stop', 1000);
        expect((stopLine.counters as RunCounters).flows).toBe(c.flows);
      }, 90_000);
    }

    it(`SIGTERM during heavy traffic: every captured packet is in a written flow or counted, every flow stored${tag}`, async () => {
      const db = join(dir, `live-heavy-w${workers}.sqlite`);
      const p = lab.startSensor(['--iface', lab.capIf, '--no-model', ...shards, '--db', db, '--stats-interval', '1']);
      await p.waitFor((l) => l.event === 'start');
      const sender = lab.sendForever(FIXTURES[0]!);
      try {
        // Stop in the middle of traffic, once a good number of packets went through.
        await p.waitFor((l) => l.event === 'stats' && typeof l.packets === 'number' && l.packets > 5000, 20_000);
        const stop = await p.stop('SIGTERM');
        expect(stop.timedOut).toBe(false);
        expect(stop.code, p.stderr).toBe(0);
      } finally {
        sender.kill('SIGKILL');
      }
      const [run] = runsOf(db);
      const c = run!.counters;
      expect(c.packets).toBeGreaterThan(5000);
      expectAccounted(c);
      expect(run!.ended_at).not.toBeNull();
      // Every flow the engine wrote is in the database, with exactly the packets the counters say.
      expect(count(db)).toBe(c.flows);
      expect(count(db, 'SELECT sum(total_fwd_packet + total_bwd_packets) AS n FROM flows')).toBe(c.packets_in_written_flows);
      // Kernel view: what passed the filter was read, dropped (counted) or arrived after the stop's drain.
      expect(c.capture.kernel_received).toBe(c.capture.captured + c.capture.kernel_dropped + c.capture.unread_at_stop);
    }, 90_000);

    it(`a quiet link still flushes flows: idle expiry runs on the wall-clock tick, partial batches within a second${tag}`, async () => {
      const db = join(dir, `live-quiet-w${workers}.sqlite`);
      const pcap = FIXTURES[0]!;
      const want = await replayCounts(pcap);
      const p = lab.startSensor(['--iface', lab.capIf, '--no-model', ...shards, '--db', db, '--idle-timeout', '1', '--stats-interval', '0']);
      await p.waitFor((l) => l.event === 'start');
      await lab.send(pcap);
      // No more traffic: every flow must reach the database while the sensor keeps running.
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (!existsSync(db) || count(db) < want.length)) await new Promise((r) => setTimeout(r, 100));
      expect(flowCounts(db)).toEqual(want);
      const stop = await p.stop('SIGTERM');
      expect(stop.code, p.stderr).toBe(0);
      expect(flowCounts(db)).toEqual(want);
      const c = runsOf(db)[0]!.counters;
      expect(c.info['flow.idle_expired']).toBeGreaterThan(0);
      expectAccounted(c);
    }, 60_000);

    it(`SIGHUP after moving the database away: old flows in the moved file, new ones in a new file, none lost${tag}`, async () => {
      const db = join(dir, `live-hup-w${workers}.sqlite`);
      const [a, b] = [FIXTURES[0]!, FIXTURES[1]!];
      const [wantA, wantB] = [await replayCounts(a), await replayCounts(b)];
      const p = lab.startSensor(['--iface', lab.capIf, '--no-model', ...shards, '--db', db, '--idle-timeout', '1', '--stats-interval', '0']);
      await p.waitFor((l) => l.event === 'start');
      await lab.send(a);
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && count(db) < wantA.length) await new Promise((r) => setTimeout(r, 100));
      renameSync(db, `${db}.1`);
      for (const ext of ['-wal', '-shm']) if (existsSync(db + ext)) renameSync(db + ext, `${db}.1${ext}`);
      p.child.kill('SIGHUP');
      await p.waitFor((l) => l.event === 'reload' && l.msg === 'reload: outputs reopened');
      await lab.send(b);
      const stop = await p.stop('SIGTERM');
      expect(stop.code, p.stderr).toBe(0);
      expect(flowCounts(`${db}.1`)).toEqual(wantA);
      expect(flowCounts(db)).toEqual(wantB);
      const [oldRun] = runsOf(`${db}.1`);
      const [newRun] = runsOf(db);
      expect(oldRun!.ended_at).not.toBeNull();
      expect(newRun!.ended_at).not.toBeNull();
      expectAccounted(newRun!.counters);
    }, 90_000);
  }

  it('SIGHUP rereads the config file: reloadable keys apply, others ask for a restart, a broken file is refused; no flow lost', async () => {
    const db = join(dir, 'live-reload.sqlite');
    const cfg = join(dir, 'reload.json');
    const base = { interface: lab.capIf, db, idleTimeout: 1, statsInterval: 0, model: null };
    writeFileSync(cfg, JSON.stringify(base));
    const [a, b] = [FIXTURES[0]!, FIXTURES[1]!];
    const want = [...(await replayCounts(a)), ...(await replayCounts(b))].sort();
    const p = lab.startSensor(['--config', cfg]);
    await p.waitFor((l) => l.event === 'start');
    await lab.send(a);
    // statsInterval applies at once; flowTimeout needs a restart and keeps its running value.
    writeFileSync(cfg, JSON.stringify({ ...base, statsInterval: 1, flowTimeout: 60 }));
    p.child.kill('SIGHUP');
    const warned = await p.waitFor((l) => l.event === 'reload' && Array.isArray(l.keys));
    expect(warned.keys).toEqual(['flowTimeout']);
    await p.waitFor((l) => l.event === 'stats', 5000);
    // A broken file: every problem logged, the running configuration kept, the outputs still reopened.
    writeFileSync(cfg, JSON.stringify({ ...base, snaplen: 'big', colour: 'red' }));
    const reopened = p.lines.filter((l) => l.msg === 'reload: outputs reopened').length;
    p.child.kill('SIGHUP');
    await p.waitFor((l) => l.event === 'reload' && typeof l.error === 'string' && String(l.error).includes('"snaplen"'));
    await p.waitFor(() => p.lines.filter((l) => l.msg === 'reload: outputs reopened').length > reopened);
    expect(p.lines.some((l) => l.event === 'reload' && String(l.error).includes('unknown key "colour"'))).toBe(true);
    await lab.send(b);
    const stop = await p.stop('SIGTERM');
    expect(stop.code, p.stderr).toBe(0);
    expect(flowCounts(db)).toEqual(want);
    const all = runsOf(db);
    expect(all.length).toBe(3); // one run row per (re)open of the database
    expect(all.every((r) => r.ended_at !== null)).toBe(true);
    expectAccounted(all[2]!.counters);
  }, 60_000);

  it.skipIf(!existsSync(join(ROOT, 'models/cic2017-attack.json')))('without --model the default model classifies every live flow; the profile follows it; verdict counts in the stats line and the run', async () => {
    const db = join(dir, 'live-model.sqlite');
    const pcap = FIXTURES[0]!;
    const p = lab.startSensor(['--iface', lab.capIf, '--db', db, '--stats-interval', '1']);
    const line = await p.waitFor((l) => l.event === 'start');
    expect(line).toMatchObject({ model: DEFAULT_MODEL, profile: 'cic2017' });
    await lab.send(pcap);
    const stop = await p.stop('SIGTERM');
    const stats = await p.waitFor((l) => l.event === 'final_stats', 1000);
    expect(stop.code, p.stderr).toBe(0);
    const conn = new Database(db, { readonly: true });
    const byModel = conn.prepare('SELECT model, count(*) AS n, sum(label IS NULL) AS unlabelled, sum(attack_label IS NULL) AS no_attack_label FROM flows GROUP BY model').all();
    const byLabel = conn.prepare('SELECT label, count(*) AS n FROM flows GROUP BY label').all() as { label: string; n: number }[];
    const profile = (conn.prepare('SELECT profile FROM runs').get() as { profile: string }).profile;
    conn.close();
    const r = await sensor(['--replay', pcap, '--profile', 'cic2017', '--csv', join(dir, 'model-ref.csv'), '-q', '--no-model'], { timeoutMs: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const refFlows = readFileSync(join(dir, 'model-ref.csv'), 'utf8').trimEnd().split('\n').length - 1;
    expect(byModel).toEqual([{ model: DEFAULT_MODEL, n: refFlows, unlabelled: 0, no_attack_label: 0 }]);
    expect(profile).toBe('cic2017');
    const c = runsOf(db)[0]!.counters as RunCounters & { verdicts: Record<string, number> };
    expect(c.info['verdicts.unclassified_flows']).toBe(0);
    // The run's verdict counts are the labels stored; the stats line carries the counts so far.
    for (const { label, n } of byLabel) expect(c.verdicts[label]).toBe(n);
    expect(Object.values(c.verdicts).reduce((a, b) => a + b, 0)).toBe(refFlows);
    expect(stats.verdicts).toEqual(c.verdicts);
    expectAccounted(c);
  }, 60_000);

  it('retention deletes flows older than N days (in a worker) and keeps the new ones', async () => {
    const db = join(dir, 'live-retention.sqlite');
    // Old flows: a replay of a 2011 capture into the same database.
    const r = await sensor(['--replay', FIXTURES[0]!, '--db', db, '-q', '--no-model'], { timeoutMs: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const old = count(db);
    expect(old).toBeGreaterThan(0);
    const want = await replayCounts(FIXTURES[1]!);
    const p = lab.startSensor(['--iface', lab.capIf, '--no-model', '--db', db, '--retention', '1', '--stats-interval', '0']);
    await p.waitFor((l) => l.event === 'start');
    const line = await p.waitFor((l) => l.event === 'retention', 10_000);
    expect(line).toMatchObject({ deleted: old, days: 1 });
    await lab.send(FIXTURES[1]!);
    const stop = await p.stop('SIGTERM');
    expect(stop.code, p.stderr).toBe(0);
    expect(flowCounts(db)).toEqual(want);
    expect(runsOf(db).map((x) => x.mode)).toEqual(['replay', 'live']);
  }, 60_000);

  describe('refusals: one line, non-zero exit, nothing written', () => {
    it('a missing interface', async () => {
      const db = join(dir, 'never-1.sqlite');
      const p = lab.startSensor(['--iface', `nosuch${lab.id}`, '--no-model', '--db', db]);
      const r = await p.exited;
      expect(r.code).toBe(3);
      expect(p.stderr).toMatch(new RegExp(`^sensor: nosuch${lab.id}: no such interface \\(present: .*${lab.capIf}.*\\)\\n$`));
      expect(existsSync(db)).toBe(false);
    }, 30_000);

    it('without permission (uid nobody, no capabilities)', async () => {
      const db = join(dir, 'never-2.sqlite');
      const p = lab.startSensor(['--iface', lab.capIf, '--no-model', '--db', db], { uidArgs: ['--reuid=nobody', '--clear-groups', '--inh-caps=-all'] });
      const r = await p.exited;
      expect(r.code).toBe(3);
      expect(p.stderr).toMatch(new RegExp(`^sensor: ${lab.capIf}: permission denied: live capture needs root or CAP_NET_RAW \\(.*\\)\\n$`));
      expect(existsSync(db)).toBe(false);
    }, 30_000);

    it('a bad filter', async () => {
      const db = join(dir, 'never-3.sqlite');
      const p = lab.startSensor(['--iface', lab.capIf, '--no-model', '--db', db, '--filter', 'tcp port ((']);
      const r = await p.exited;
      expect(r.code).toBe(3);
      expect(p.stderr).toBe(`sensor: ${lab.capIf}: bad filter "tcp port ((": can't parse filter expression: syntax error\n`);
      expect(existsSync(db)).toBe(false);
    }, 30_000);
  });
});
