/**
 * The context stage end to end, as a user runs it: `sensor --replay` of the second lab's slow-read phase (bundled in
 * models/train/data/lab-tools, its README and labels.csv: slowhttptest -X from 172.30.5.99 against 172.30.5.5:80),
 * default model made blind with `--alert-threshold 1` (it then calls nearly every flow benign, as a model does on a
 * tool it has never seen, and whatever it learns later does not change this test): the HTTP-flood detector (one
 * source, hundreds of connections to one web server in seconds) gives the attack's connections DoS, all but the
 * 99 before its threshold, and says why in SQLite `context` and the JSON events; the CSV's Label follows; the
 * verdict counts stay the counts of the labels written. `--no-context` leaves the model's verdicts; `--workers 2`
 * gives the same labels.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sensor } from './helpers/cli.js';
import { ensureBuilt } from './setup/build.js';

const PCAP = join(ROOT, 'models/train/data/lab-tools/phase-slowread.pcap.gz');
const ATTACKER = '172.30.5.99'; // labels.csv, phase slowread
const CLIENT = '172.30.5.40'; // the lab's benign client (README)
const BLIND = ['--alert-threshold', '1', '--no-app-model', '-q'];
const dir = mkdtempSync(join(tmpdir(), 'sensor-context-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));

interface Row {
  id: number;
  src_ip: string;
  dst_ip: string;
  dst_port: number;
  start_us: number;
  label: string;
  score: number | null;
  attack_label: string | null;
  kdd: string | null;
  context: string | null;
}

function read(db: string): { rows: Row[]; counters: Record<string, any> } {
  const d = new Database(db, { readonly: true });
  try {
    const rows = d.prepare('SELECT id, src_ip, dst_ip, dst_port, start_us, label, score, attack_label, kdd, context FROM flows ORDER BY id').all() as Row[];
    const counters = JSON.parse(d.prepare('SELECT counters FROM runs').pluck().get() as string) as Record<string, any>;
    return { rows, counters };
  } finally {
    d.close();
  }
}

const tally = (xs: string[]): Record<string, number> => xs.reduce<Record<string, number>>((o, x) => ((o[x] = (o[x] ?? 0) + 1), o), {});

describe('context stage in a replay (bundled second-lab slow-read capture, default model)', () => {
  const on = join(dir, 'on.sqlite');
  const off = join(dir, 'off.sqlite');
  const two = join(dir, 'two.sqlite');
  const csv = join(dir, 'on.csv');
  const json = join(dir, 'on.json');
  beforeAll(async () => {
    await ensureBuilt();
    const runs = await Promise.all([
      sensor(['--replay', PCAP, '--db', on, '--csv', csv, '--json', json, ...BLIND]),
      sensor(['--replay', PCAP, '--db', off, '--no-context', ...BLIND]),
    ]);
    for (const r of runs) expect(r.status, r.stderr).toBe(0);
    const r = await sensor(['--replay', PCAP, '--db', two, '--workers', '2', ...BLIND]);
    expect(r.status, r.stderr).toBe(0);
  }, 120_000);
  afterAll(() => undefined);

  it('relabels the attack\'s benign-called connections DoS, with the reason, and nothing else', () => {
    const { rows, counters } = read(on);
    const relabelled = rows.filter((r) => r.context !== null);
    const attack = rows.filter((r) => r.src_ip === ATTACKER && r.dst_port === 80);
    expect(attack.length).toBeGreaterThan(250);
    expect(attack.filter((r) => r.label !== 'DoS').length).toBeLessThanOrEqual(99); // httpFloodConnections - 1
    expect(rows.filter((r) => r.src_ip === CLIENT || r.dst_ip === CLIENT).every((r) => r.context === null)).toBe(true);
    for (const r of relabelled) {
      expect([r.src_ip, r.dst_ip, r.dst_port, r.label, r.score, r.kdd]).toEqual([ATTACKER, '172.30.5.5', 80, 'DoS', null, 'DoS']);
      expect(r.attack_label).not.toBeNull(); // the model's own best attack class stays
      expect(r.context).toMatch(/^http-flood: 172\.30\.5\.99 → 172\.30\.5\.5:80, \d+ connections in [\d.]+ s( \(the window before\))?$/);
      expect(Number(/, (\d+) connections/.exec(r.context!)![1])).toBeGreaterThanOrEqual(100);
    }
    expect(counters.info['context.http-flood.flows_relabelled']).toBe(relabelled.length);
    // The verdict counts are the labels written.
    const counts = Object.fromEntries(Object.entries(counters.verdicts as Record<string, number>).filter(([, n]) => n > 0));
    expect(counts).toEqual(tally(rows.map((r) => r.label)));
  });

  it('--no-context: the same flows, the model\'s verdicts, no context', () => {
    const a = read(on).rows;
    const { rows: b, counters } = read(off);
    expect(b.length).toBe(a.length);
    a.forEach((r, i) => {
      const m = b[i]!;
      expect([m.src_ip, m.start_us, m.attack_label]).toEqual([r.src_ip, r.start_us, r.attack_label]);
      expect(m.context).toBeNull();
      expect(m.label).toBe(r.context === null ? r.label : 'BENIGN');
    });
    expect(Object.keys(counters.info).filter((k) => k.startsWith('context.'))).toEqual([]);
  });

  it('--workers 2 gives the same labels and reasons', () => {
    const key = (r: Row): string => `${r.src_ip} ${r.start_us} ${r.label} ${r.context}`;
    expect(read(two).rows.map(key)).toEqual(read(on).rows.map(key));
  });

  it('bad thresholds: exit 2, every problem on one line, nothing written', async () => {
    const db = join(dir, 'refused.sqlite');
    const r = await sensor(['--replay', PCAP, '--db', db, '--context-thresholds', '{"floodFlows":0,"scanWindowS":"5"}']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('sensor: --context-thresholds: expected "floodFlows" a positive integer, not 0; "scanWindowS" a positive number of seconds, not "5", got "{\\"floodFlows\\":0,\\"scanWindowS\\":\\"5\\"}"\n');
    expect(existsSync(db)).toBe(false);
    const off = await sensor(['--replay', PCAP, '--db', db, '--no-model', '--context-thresholds', '{"floodFlows":10}']);
    expect([off.status, off.stderr]).toEqual([2, 'sensor: --context-thresholds applies to the context stage, but --no-model was given\n']);
  });

  it('the CSV Label column and the JSON events follow', () => {
    const rows = read(on).rows;
    const labels = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => l.slice(l.lastIndexOf(',') + 1));
    expect(tally(labels)).toEqual(tally(rows.map((r) => r.label)));
    const events = readFileSync(json, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; verdict: { label: string; context: string | null } });
    const flows = events.filter((e) => e.event_type === 'flow');
    expect(flows.map((e) => e.verdict.context)).toEqual(rows.map((r) => r.context));
    const alerts = events.filter((e) => e.event_type === 'alert' && e.verdict.context !== null);
    expect(alerts.length).toBe(rows.filter((r) => r.context !== null).length);
  });
});
