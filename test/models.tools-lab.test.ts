/**
 * The second lab (models/train/data/lab-tools/, made by models/train/lab-tools.sh: the attack classes made by other
 * tools) is what the default attack model trains on and is measured against, so a later engineer must get exactly
 * these files, and its labelling must say what the captures hold:
 * - every capture and labels.csv has the size and sha256 its README lists, and no capture is missing from the list;
 * - measure_tools.py (the sensor replays the captures with the default model; the lab's labels.csv rule) labels one
 *   attack flow per connection the tool opened and its closing tail apart, counted against tshark's count of the
 *   tool's SYNs; and the benign client's flows stay benign.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findPython } from './helpers/python.js';
import { ROOT } from './helpers/cli.js';
import { ensureBuilt } from './setup/build.js';

const DIR = join(ROOT, 'models', 'train', 'data', 'lab-tools');
const ATTACKER = '172.30.5.99';

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('the second lab\'s files are the ones its README lists', () => {
  const rows = [...readFileSync(join(DIR, 'README.md'), 'utf8').matchAll(/^\| `([^`]+)` \| (\d+) \| [^|]+ \| `([0-9a-f]{64})` \|$/gm)];

  it('lists labels.csv and every capture, with the right size and sha256', () => {
    const listed = rows.map((r) => r[1]);
    const present = readdirSync(DIR).filter((f) => f.endsWith('.pcap.gz') || f === 'labels.csv');
    expect(listed.sort()).toEqual(present.sort());
    for (const [, file, bytes, hash] of rows) {
      expect(statSync(join(DIR, file!)).size, file).toBe(Number(bytes));
      expect(sha256(join(DIR, file!)), file).toBe(hash);
    }
  });
});

const python = findPython(['pandas', 'numpy', 'sklearn']);
const tshark = spawnSync('tshark', ['--version']).status === 0;
const skip = !python ? 'python3-pandas/python3-sklearn not installed' : !tshark ? 'tshark not installed' : '';
if (skip) console.warn(`models.tools-lab.test.ts (measure_tools.py) skipped: ${skip}`);

describe.skipIf(skip !== '')('measure_tools.py labels the second lab by its rule', () => {
  const work = mkdtempSync(join(tmpdir(), 'sensor-tools-lab-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('one attack flow and one tail per connection the tool opened; benign stays benign', () => {
    ensureBuilt(['src/cli/main.ts', 'src/classify/worker.ts']);
    // two small phases: the webshell's command requests (curl, one connection each) and hydra against FTP
    for (const f of ['phase-webshell.pcap.gz', 'phase-hydraftp.pcap.gz']) copyFileSync(join(DIR, f), join(work, f));
    const keep = readFileSync(join(DIR, 'labels.csv'), 'utf8').split('\n')
      .filter((l) => l.startsWith('#') || l.startsWith('phase,') || /^(webshell|hydraftp|background),/.test(l));
    writeFileSync(join(work, 'labels.csv'), keep.join('\n') + '\n');
    const out = join(work, 'measured.json');
    const r = spawnSync(python!, [join(ROOT, 'models', 'train', 'measure_tools.py'), '--lab-dir', work, '--json', out], { encoding: 'utf8', cwd: ROOT });
    expect(r.stderr).not.toMatch(/Traceback/);
    expect(r.status).toBe(0);
    const m = JSON.parse(readFileSync(out, 'utf8')) as {
      tools: Record<string, { flows: number; class: string }>;
      apart: Record<string, { flows: number }>;
      benign: { flows: number };
    };
    for (const [phase, tool, cls] of [['webshell', 'webshell commands (curl)', 'WebAttack'], ['hydraftp', 'hydra ftp', 'BruteForce']] as const) {
      // connections the tool opened = its SYNs without ACK towards the FTP/HTTP server
      const syns = execFileSync('tshark', ['-r', join(work, `phase-${phase}.pcap.gz`), '-Y',
        `ip.src == ${ATTACKER} && tcp.flags.syn == 1 && tcp.flags.ack == 0 && !tcp.analysis.retransmission && (tcp.dstport == 80 || tcp.dstport == 21)`],
      { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
      expect(syns, phase).toBeGreaterThan(0);
      const cut = m.apart[`${tool} (cut at the end of the phase)`]?.flows ?? 0;
      expect(m.tools[tool]!.class).toBe(cls);
      expect(m.tools[tool]!.flows + cut, phase).toBe(syns);
      expect(m.apart[`${tool} (connection tail)`]!.flows, phase).toBeLessThanOrEqual(syns);
    }
    expect(m.benign.flows).toBeGreaterThan(0);
  }, 120_000);
});
