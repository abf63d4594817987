/**
 * "Every packet is accounted for: in a written flow, or in a counter with a reason" (DESIGN.md), checked where a
 * user sees it: the SQLite `runs.counters` JSON of each run. For every reference capture and every capture of the
 * shared corpus, in the three profiles (and once more with IPv6 flows on, a tiny flow table and an idle timeout,
 * so that eviction and expiry run too):
 *   - packets read (runs.packets) = the packets Wireshark's capinfos counts in the file;
 *   - packets = packets_in_written_flows + Σ packets_not_in_written_flows (each packet under one reason);
 *   - packets_in_written_flows = Σ (Total Fwd + Total Bwd packets) over the run's rows in `flows`;
 *   - flows = the run's rows in `flows`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SHARED, runCommand } from './helpers/cli.js';
import { captures, linkTypesOf, runSensor, supportedLinkTypes } from './helpers/corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-accounting-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// capinfos (Wireshark's, installed with tshark) counts a file's packets without dissecting them: 0.02 s a capture
// against tshark's 0.5, the same counts on every capture here, cut ones included.
const hasCapinfos = spawnSync('capinfos', ['-v'], { stdio: 'ignore' }).status === 0;

const VARIANTS: { name: string; args: string[] }[] = [
  { name: 'cic', args: ['--profile', 'cic'] },
  { name: 'fixed', args: ['--profile', 'fixed'] },
  { name: 'cic2017', args: ['--profile', 'cic2017'] },
  { name: 'fixed+ipv6, 64 flows, idle 1 s', args: ['--profile', 'fixed', '--ipv6', '--max-flows', '64', '--idle-timeout', '1'] },
];

/** Packets Wireshark reads from the file, up to a cut like libpcap (on a cut file capinfos prints the count, exits 1). */
async function wiresharkPackets(path: string): Promise<number> {
  const args = ['-c', '-M', '-T', path];
  const r = await runCommand('capinfos', args, { timeoutMs: 120_000 });
  const count = /\t(\d+)\s*$/.exec(r.stdout);
  if (count === null || r.timedOut || r.signal !== null) {
    throw new Error(`capinfos ${args.join(' ')}: no count (${r.timedOut ? 'timed out' : (r.signal ?? `exit ${r.status}`)}): ${r.stderr.trim()}`);
  }
  return Number(count[1]);
}

interface RunCounters {
  packets: number;
  flows: number;
  packets_in_written_flows: number;
  packets_not_in_written_flows: Record<string, number>;
  info: Record<string, number>;
}

let dbs = 0;

/** Replays `file` into a fresh database of its own and checks the accounting of the run. */
async function check(file: string, variant: (typeof VARIANTS)[number], expectedPackets: Promise<number>): Promise<void> {
  const db = join(dir, `run-${dbs++}.sqlite`);
  const r = await runSensor(['--replay', file, '--db', db, '--no-model', '-q', ...variant.args], 300_000);
  expect(r.status, `${variant.name}: ${r.stderr}`).toBe(0);
  checkRun(db, variant, await expectedPackets);
  rmSync(db, { force: true });
}

/**
 * Wireshark's count and the four variants of one capture run side by side: each is a process of its own, and one
 * after another they left the test machine's second core idle and made this the longest test file.
 */
async function checkAll(file: string): Promise<void> {
  const expected = wiresharkPackets(file);
  await Promise.all([expected, ...VARIANTS.map((v) => check(file, v, expected))]);
}

/** Checks the run's counters against the flows table and Wireshark's packet count. */
function checkRun(db: string, variant: (typeof VARIANTS)[number], expectedPackets: number): void {
  const d = new Database(db, { readonly: true });
  try {
    const run = d.prepare('SELECT id, packets, flows, counters FROM runs').get() as { id: number; packets: number; flows: number; counters: string };
    const c = JSON.parse(run.counters) as RunCounters;
    const reasons = Object.values(c.packets_not_in_written_flows).reduce((a, b) => a + b, 0);
    const ctx = `${variant.name}: ${JSON.stringify(c)}`;
    expect(c.packets, ctx).toBe(run.packets);
    expect(c.packets, ctx).toBe(expectedPackets);
    expect(c.packets_in_written_flows + reasons, ctx).toBe(c.packets);
    for (const [k, v] of Object.entries(c.packets_not_in_written_flows)) expect([k, v >= 0 && Number.isInteger(v)]).toEqual([k, true]);
    // The flows table: fwd/bwd packet columns are the 2nd and 3rd feature (names differ per profile).
    const cols = (d.prepare('PRAGMA table_info(flows)').all() as { name: string }[]).map((x) => x.name);
    const fwd = cols[cols.indexOf('flow_duration') + 1]!;
    const bwd = cols[cols.indexOf('flow_duration') + 2]!;
    const t = d.prepare(`SELECT count(*) AS n, coalesce(sum("${fwd}" + "${bwd}"), 0) AS p FROM flows WHERE run_id = ?`).get(run.id) as { n: number; p: number };
    expect(t.n, ctx).toBe(c.flows);
    expect(t.n, ctx).toBe(run.flows);
    expect(t.p, ctx).toBe(c.packets_in_written_flows);
    expect(c.info['flows.active'], ctx).toBe(0);
    expect(c.packets_not_in_written_flows['flow.open_packets'], ctx).toBe(0);
  } finally {
    d.close();
  }
}

const REFERENCE = [
  ...captures(join(ROOT, 'fixtures', 'reference')),
  ...captures(join(SHARED, 'reference')),
];

describe.skipIf(!hasCapinfos)('accounting on the reference captures', () => {
  it.each(REFERENCE.map((f) => [relative(join(ROOT, '..'), f), f]))('%s', async (_n, file) => checkAll(file));
});

const CORPUS = captures(join(SHARED, 'corpus')).filter((f) => supportedLinkTypes(linkTypesOf(f)));

describe.skipIf(!hasCapinfos || CORPUS.length === 0)('accounting on the corpus (every capture the sensor reads)', () => {
  it.each(CORPUS.map((f) => [relative(join(SHARED, 'corpus'), f), f]))('%s', async (_n, file) => checkAll(file));
});

it('capinfos is present (the packet counts are checked against it)', () => {
  if (!hasCapinfos) execFileSync('capinfos', ['-v']); // fails with the reason when it is missing
});
