/**
 * SIGKILL of the live daemon in the middle of heavy traffic (as root, in two network namespaces joined by a veth
 * pair; a capture looped at full speed into one end, the sensor with a model on the other). What a user relies on
 * after `kill -9`, an OOM kill or a power cut of the process:
 * - the database opens and passes `PRAGMA integrity_check`;
 * - every flow committed before the kill is still there, unchanged (a reader's snapshot taken while the daemon was
 *   writing, a moment before the kill, is a prefix of what is left);
 * - the killed run's row stays without `ended_at`, and the next start appends a new run to the same file: it
 *   records every flow of the traffic it sees, its accounting adds up, and it ends cleanly.
 * Skipped, with the reason, when not root or when `ip netns` is not permitted. Bounded: about 15 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { ROOT, sensor } from './helpers/cli.js';
import { describeLive, LAB, liveLab } from './helpers/live-lab.js';
import { expectPacketsAccounted, flowCounts, type RunCounters } from './helpers/run-db.js';

const HEAVY = join(ROOT, 'fixtures/reference/zeek-wikipedia.pcap');
const AFTER = join(ROOT, 'fixtures/reference/cic2017-webattack-sqlinj.pcap');
const dir = mkdtempSync(join(tmpdir(), 'sensor-live-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
// The model makes the kill land with batches in the inference thread too; its card sets the profile (cic2017).
const MODEL = ['--model', 'cic2017-attack'];

// Column names of the cic2017 profile (the model's).
const FLOW_COLUMNS = `id, run_id, flow_id, src_ip, src_port, dst_ip, dst_port, protocol, start_us, end_us, total_fwd_packets,
  total_backward_packets, total_length_of_fwd_packets, total_length_of_bwd_packets, label, score, model`;

/** Every flow row with id <= maxId, in id order, as text: what a reader sees committed. */
function rowsUpTo(conn: Database.Database, maxId: number): string[] {
  return (conn.prepare(`SELECT ${FLOW_COLUMNS} FROM flows WHERE id <= ? ORDER BY id`).all(maxId) as object[]).map((r) => JSON.stringify(r));
}

describeLive('live SIGKILL (network namespaces, veth)', LAB, () => {
  const lab = liveLab();

  it('kill -9 under heavy traffic: the database is intact, keeps every committed flow, and the next start appends a run', async () => {
    const db = join(dir, 'killed.sqlite');
    const args = ['--iface', lab.capIf, '--db', db, '--stats-interval', '1', '--idle-timeout', '1', ...MODEL];
    const p = lab.startSensor(args);
    await p.waitFor((l) => l.event === 'start', 20_000);
    const sender = lab.sendForever(HEAVY, { uniqueIp: true });
    let before: { maxId: number; rows: string[] };
    try {
      // Flows are being committed while the traffic goes on: a stats line shows them written.
      await p.waitFor((l) => l.event === 'stats' && (l.packets as number) > 20_000 && (l.flows_written as number) > 100, 20_000);
      const reader = new Database(db, { readonly: true, timeout: 5000 });
      const maxId = (reader.prepare('SELECT max(id) AS m FROM flows').get() as { m: number | null }).m ?? 0;
      before = { maxId, rows: rowsUpTo(reader, maxId) };
      reader.close();
      expect(before.rows.length).toBeGreaterThan(0);
      // Let the writer go on for a moment, so the kill lands mid-stream, not right after our read.
      await new Promise((r) => setTimeout(r, 300));
      p.child.kill('SIGKILL');
      const exit = await p.exited;
      expect(exit.signal).toBe('SIGKILL');
    } finally {
      sender.kill('SIGKILL');
    }

    // What the next process finds: a database that opens (recovering its WAL) and is intact.
    const conn = new Database(db, { timeout: 5000 });
    try {
      expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(rowsUpTo(conn, before.maxId)).toEqual(before.rows);
      const total = (conn.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n;
      expect(total).toBeGreaterThanOrEqual(before.rows.length);
      const runs = conn.prepare('SELECT id, mode, ended_at FROM runs').all();
      expect(runs).toEqual([{ id: 1, mode: 'live', ended_at: null }]);
      // Every stored flow of the killed run carries its verdict: nothing half-written.
      expect(conn.prepare('SELECT count(*) AS n FROM flows WHERE label IS NULL OR model IS NULL').get()).toEqual({ n: 0 });
    } finally {
      conn.close();
    }

    // The next start appends a new run to the same file and records all of its traffic.
    const q = lab.startSensor(['--iface', lab.capIf, '--db', db, '--stats-interval', '0', ...MODEL]);
    const startLine = await q.waitFor((l) => l.event === 'start', 20_000);
    expect(startLine.runId).toBe(2);
    await lab.send(AFTER);
    const stop = await q.stop('SIGTERM');
    expect(stop.timedOut).toBe(false);
    expect(stop.code, q.stderr).toBe(0);
    expect(q.stderr).toBe('');

    const refDb = join(dir, 'after-replay.sqlite');
    const r = await sensor(['--replay', AFTER, '--db', refDb, '--profile', 'cic2017', '--no-model', '-q'], { timeoutMs: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(flowCounts(db, 2)).toEqual(flowCounts(refDb));

    const check = new Database(db, { readonly: true });
    try {
      expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
      const runs = check.prepare('SELECT id, ended_at IS NOT NULL AS ended, counters FROM runs ORDER BY id').all() as { id: number; ended: number; counters: string }[];
      expect(runs.map((x) => [x.id, x.ended])).toEqual([
        [1, 0],
        [2, 1],
      ]);
      const c = JSON.parse(runs[1]!.counters) as RunCounters;
      expectPacketsAccounted(c);
      expect((check.prepare('SELECT count(*) AS n FROM flows WHERE run_id = 2').get() as { n: number }).n).toBe(c.flows);
    } finally {
      check.close();
    }
  }, 60_000);
});
