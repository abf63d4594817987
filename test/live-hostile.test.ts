/**
 * Hostile frames on the wire (as root, two network namespaces joined by a veth pair): real packets damaged one
 * named way each (test/helpers/hostile-frames.ts: truncated headers, absurd IPv4/UDP/IPv6 lengths, bad IHL and TCP
 * data offsets, wrong IP versions, fragments, deep VLAN stacks, long IPv6 extension chains, unknown ethertypes,
 * bit flips), a quarter left intact, sent at full speed (tcpreplay --topspeed, looped) into the live daemon. What a
 * user relies on:
 * - the daemon keeps running through it (stats lines keep coming) and stops cleanly on SIGTERM (exit 0, nothing on
 *   stderr);
 * - every frame is counted: in a written flow or under exactly one reason, and the reasons are the decoder's own
 *   judgement: live counts per `decode.*` reason equal the counts `sensor --replay` gives for the same frames
 *   times the loops (when the kernel dropped none; otherwise no reason may exceed it);
 * - the capture's own view adds up: received = captured + dropped + unread at stop.
 * Skipped, with the reason, when not root, when `ip netns` is not permitted, or without tcpreplay (the full-speed
 * sender). Bounded: ~20 s.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { ROOT, SHARED, sensor } from './helpers/cli.js';
import { ethernetSeedFrames, hostileFrames } from './helpers/hostile-frames.js';
import { describeLive, LAB, liveLab } from './helpers/live-lab.js';
import { expectPacketsAccounted, runsOf, type RunCounters } from './helpers/run-db.js';
import { writePcap } from './helpers/pcap-file.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-live-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
const FRAMES = 24_000;
const LOOPS = 8;
const SEED = 14;
// Same decoding choices live and in the reference replay: the fixed profile, whose decoding has none of the old
// packet library's quirks (ARP read as IPv4, fragments placed in protocol-0 flows), so every damaged frame stays
// under the decoder's reason; IPv6 flows on, so damaged IPv6 goes through the flow path too.
const DECODE_ARGS = ['--profile', 'fixed', '--no-model', '--ipv6'];

function lastRun(db: string): { counters: RunCounters; ended: boolean } {
  const run = runsOf(db).at(-1)!;
  return { counters: run.counters, ended: run.ended_at !== null };
}

const decodeReasons = (c: RunCounters): Record<string, number> =>
  Object.fromEntries(Object.entries(c.packets_not_in_written_flows).filter(([k, v]) => k.startsWith('decode.') && v > 0));

describeLive('live hostile frames (network namespaces, veth)', [...LAB, 'tcpreplay'], () => {
  // No address on the sensor's side: its kernel then answers nothing (no ARP reply, no RST), so exactly the
  // frames sent arrive there and nothing else.
  const lab = liveLab({ captureAddress: false });

  it(`${FRAMES} damaged frames × ${LOOPS} at full speed: the daemon keeps running, counts each by reason, the accounting adds up`, async () => {
    const seeds = ethernetSeedFrames([join(ROOT, 'fixtures/reference'), join(SHARED, 'corpus')]);
    const { frames, made } = hostileFrames(seeds, FRAMES, SEED);
    const pcap = join(dir, 'hostile.pcap');
    writeFileSync(pcap, writePcap(1, frames));

    // The reference: the same frames read from the file.
    const refDb = join(dir, 'replay.sqlite');
    const r = await sensor(['--replay', pcap, '--db', refDb, '-q', ...DECODE_ARGS], { timeoutMs: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const ref = lastRun(refDb).counters;
    expect(ref.packets).toBe(FRAMES);
    const refReasons = decodeReasons(ref);
    // The mutations do what their names say: the decoder finds these faults among them.
    for (const reason of ['decode.ipv4.truncated', 'decode.ip.bad_version', 'decode.ip.fragment', 'decode.tcp.truncated', 'decode.too_deep', 'decode.non_ip']) {
      expect(refReasons[reason] ?? 0, `${reason} (made: ${JSON.stringify(made)}; reasons: ${JSON.stringify(refReasons)})`).toBeGreaterThan(0);
    }

    const db = join(dir, 'live.sqlite');
    const p = lab.startSensor(['--iface', lab.capIf, '--db', db, '--stats-interval', '1', '--buffer-size', '256', ...DECODE_ARGS]);
    await p.waitFor((l) => l.event === 'start', 20_000);
    const sent = await lab.send(pcap, LOOPS, 60_000);
    expect(sent).toBe(FRAMES * LOOPS);
    // Still alive and reporting after the garbage: a stats line that has seen all of it.
    const seen = await p.waitFor((l) => l.event === 'stats' && (l.packets as number) + (l.kernel_dropped as number) + (l.interface_dropped as number) >= sent, 15_000);
    // The stats line's process health (what the soak samples): memory, event-loop delay, queues.
    const health = seen.process as Record<string, number>;
    expect(health.rss_mib).toBeGreaterThan(health.heap_used_mib!);
    expect(health.loop_delay_max_ms).toBeGreaterThanOrEqual(health.loop_delay_p99_ms!);
    for (const k of ['batches_waiting', 'batches_classifying', 'batches_writing_sqlite', 'sqlite_features_pending']) expect(health[k], k).toBeGreaterThanOrEqual(0);
    const stop = await p.stop('SIGTERM');
    expect(stop.timedOut).toBe(false);
    expect(stop.code, p.stderr).toBe(0);
    expect(p.stderr).toBe('');

    const { counters: c, ended } = lastRun(db);
    expect(ended).toBe(true);
    expectPacketsAccounted(c);
    expect(c.capture.captured).toBe(c.packets);
    expect(c.capture.kernel_received).toBe(c.capture.captured + c.capture.kernel_dropped + c.capture.unread_at_stop);
    const conn = new Database(db, { readonly: true });
    const stored = conn.prepare('SELECT count(*) AS n, sum(total_fwd_packet + total_bwd_packets) AS p FROM flows').get() as { n: number; p: number };
    conn.close();
    expect(stored).toEqual({ n: c.flows, p: c.packets_in_written_flows });

    const want = Object.fromEntries(Object.entries(refReasons).map(([k, v]) => [k, v * LOOPS]));
    const live = decodeReasons(c);
    if (c.capture.kernel_dropped === 0 && c.capture.interface_dropped === 0) {
      expect(c.packets).toBe(sent);
      expect(live).toEqual(want);
    } else {
      // Some frames never reached the daemon: each reason can only be short, never over.
      for (const [k, v] of Object.entries(live)) expect(v, k).toBeLessThanOrEqual(want[k] ?? 0);
      expect(c.packets + c.capture.kernel_dropped + c.capture.interface_dropped).toBeGreaterThanOrEqual(sent);
    }
  }, 90_000);
});
