/**
 * scripts/app-model-vs-ndpi.mjs, the report a user runs to check the application model against nDPI on captures of
 * their own: run as a user runs it on two of nDPI's captures with nDPI's saved verdicts, its figures recomputed here
 * from the sensor's SQLite and the verdict files (the join by protocol and endpoint pair, the README's category
 * table); its scoring on rows worked out by hand; and its refusals.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SHARED, commandWorks, runCommand, sensor } from './helpers/cli.js';
// @ts-expect-error: a plain ES module without types (a script, also run by hand)
import { score } from '../scripts/app-model-vs-ndpi.mjs';
// @ts-expect-error: a plain ES module without types
import { ndpiResultFlows, tupleKey } from '../scripts/server-name-agreement.mjs';
// @ts-expect-error: a plain ES module without types
import { categoryGroups } from '../scripts/payload-protocol-agreement.mjs';

const SCRIPT = join(ROOT, 'scripts', 'app-model-vs-ndpi.mjs');
const NDPI_READER = commandWorks('ndpiReader', ['-h']);
const RESULTS = join(SHARED, 'data', 'ndpi', 'result');
const CAPTURES = ['waze.pcap', 'quickplay.pcap'].map((c) => join(SHARED, 'data', 'ndpi', 'pcap', c));
const dir = mkdtempSync(join(tmpdir(), 'sensor-app-eval-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scoring', () => {
  it('accuracy, per-group precision / recall / F1, macro-F1 over the groups with support, confusions by count', () => {
    const rows = [
      { truth: 'Web', predicted: 'Web' },
      { truth: 'Web', predicted: 'Web' },
      { truth: 'Web', predicted: 'Chat' },
      { truth: 'Chat', predicted: 'Chat' },
      { truth: 'Media', predicted: 'Web' },
    ];
    const s = score(rows);
    expect(s.flows).toBe(5);
    expect(s.accuracy).toBeCloseTo(3 / 5, 12);
    // Web: 2 of 3 said Web are right, 2 of 3 Web found; Chat: 1 of 2, 1 of 1; Media: none said, 0 of 1.
    expect(s.perGroup.Web).toMatchObject({ support: 3, precision: 2 / 3, recall: 2 / 3 });
    expect(s.perGroup.Chat).toMatchObject({ support: 1, precision: 1 / 2, recall: 1 });
    expect(s.perGroup.Media).toMatchObject({ support: 1, precision: 0, recall: 0, f1: 0 });
    expect(s.macroF1).toBeCloseTo((2 / 3 + 2 / 3 + 0) / 3, 12);
    expect(s.confusions).toEqual([['Web -> Chat', 1], ['Media -> Web', 1]]);
  });
});

describe('the report as a user runs it', () => {
  const present = CAPTURES.every((c) => existsSync(c)) && existsSync(RESULTS);
  it.skipIf(!present)(`two nDPI captures with nDPI's saved verdicts: the figures the sensor's database and the verdict files give${present ? '' : ' (skipped: ../shared/data/ndpi is absent)'}`, async () => {
    const r = await runCommand(process.execPath, [SCRIPT, '--results', RESULTS, '--json', ...CAPTURES], { timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as { model: string; flows: number; accuracy: number; perCapture: { capture: string; flows: number; accuracy: number }[] };
    expect(got.model).toMatch(/^cic2017-app@\d+$/);
    // The same join done here: the default models' verdicts in SQLite, nDPI's category per endpoint pair.
    const groups = categoryGroups() as Record<string, string>;
    let flows = 0;
    let right = 0;
    for (const pcap of CAPTURES) {
      const db = join(dir, `${pcap.split('/').pop()}.sqlite`);
      const s = await sensor(['--replay', pcap, '--db', db, '--profile', 'cic2017', '-q']);
      expect(s.status, s.stderr).toBe(0);
      const d = new Database(db, { readonly: true });
      const rows = d.prepare('SELECT src_ip, src_port, dst_ip, dst_port, protocol, app_label FROM flows').all() as { src_ip: string; src_port: number; dst_ip: string; dst_port: number; protocol: number; app_label: string }[];
      d.close();
      const truth = new Map((ndpiResultFlows(join(RESULTS, `${pcap.split('/').pop()}.out`), { every: true }) as { key: string; cat: string }[]).map((n) => [n.key, groups[n.cat] ?? 'Other']));
      for (const f of rows) {
        const g = truth.get(tupleKey(f.protocol, f.src_ip, f.src_port, f.dst_ip, f.dst_port));
        if (g === undefined) continue;
        flows++;
        if (g === f.app_label) right++;
      }
    }
    expect(flows).toBeGreaterThan(50);
    expect(got.flows).toBe(flows);
    expect(got.accuracy).toBeCloseTo(right / flows, 12);
    expect(got.perCapture.map((c) => c.capture)).toEqual(['waze.pcap', 'quickplay.pcap']);
  });

  it.skipIf(!NDPI_READER)(`with the system's ndpiReader on a bundled capture: nDPI's verdicts read from its own output${NDPI_READER ? '' : ' (skipped: ndpiReader is not installed; .ci/run installs libndpi-bin)'}`, async () => {
    const pcap = join(ROOT, 'fixtures', 'reference', 'zeek-wikipedia.pcap');
    const r = await runCommand(process.execPath, [SCRIPT, '--json', pcap], { timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as { ndpi: string; flows: number; left: { noNdpi: number }; perGroup: Record<string, { support: number }> };
    expect(got.ndpi).toBe('ndpiReader');
    // Every TCP/UDP flow of the capture is one nDPI lists (the sensor's ICMP flows have no line to match).
    expect(got.flows).toBeGreaterThan(20);
    expect(got.left.noNdpi).toBeLessThanOrEqual(2);
    expect(Object.values(got.perGroup).reduce((t, g) => t + g.support, 0)).toBe(got.flows);
  });

  it('refuses with exit 2 and a message: no capture, a missing one, an unknown option, a missing verdict file, an ndpiReader that is not there', async () => {
    const cases: [string[], RegExp][] = [
      [[], /no capture given/],
      [[join(dir, 'absent.pcap')], /no such capture/],
      [['--frobnicate', 'x.pcap'], /unknown option --frobnicate/],
      [['--results', dir, join(ROOT, 'fixtures', 'reference', 'edge.pcap')], /no .*edge\.pcap\.out/],
      [['--ndpi-reader', join(dir, 'no-such-ndpiReader'), join(ROOT, 'fixtures', 'reference', 'edge.pcap')], /cannot run .*no-such-ndpiReader/],
    ];
    for (const [args, message] of cases) {
      const r = await runCommand(process.execPath, [SCRIPT, ...args], { timeoutMs: 60_000 });
      expect([args.join(' '), r.status]).toEqual([args.join(' '), 2]);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });
});
