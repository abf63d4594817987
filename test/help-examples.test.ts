/**
 * Every example `sensor --help` prints runs as printed: from a fresh directory holding the checkout's fixtures,
 * with `sensor` on the PATH as `npx sensor` puts it there, each command line exits 0 and writes what it says.
 */
import { mkdtempSync, rmSync, symlinkSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXAMPLES } from '../src/cli/main.js';
import { ROOT, SENSOR, runCommand, sensor } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-help-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sensor --help examples', () => {
  it('are the ones --help prints, each runs as printed (exit 0) and writes its outputs', async () => {
    const help = await sensor(['--help']);
    expect(help.status).toBe(0);
    // yargs wraps an example over two lines, beside its description: compare the words, in order.
    const words = help.stdout.slice(help.stdout.indexOf('Examples:')).split(/\s+/);
    for (const { command, description } of EXAMPLES) {
      let at = words.indexOf('sensor');
      for (const w of command.split(/\s+/).slice(1)) {
        const next = words.indexOf(w, at + 1);
        expect(next, `"${w}" of "${command}" in --help`).toBeGreaterThan(at);
        at = next;
      }
      expect(help.stdout.replace(/\s+/g, ' ')).toContain(description);
    }

    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(SENSOR, join(bin, 'sensor'));
    symlinkSync(join(ROOT, 'fixtures'), join(dir, 'fixtures'));
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    for (const { command } of EXAMPLES) {
      const r = await runCommand('bash', ['-o', 'pipefail', '-c', command], { cwd: dir, env, timeoutMs: 60_000 });
      expect([r.status, r.stderr.split('\n').filter((l) => l.startsWith('sensor: '))], command).toEqual([0, []]);
      if (command.includes('jq')) {
        // One line per JSON event of edge.pcap: a flow event per flow, and an alert event before each attack verdict.
        const events = await sensor(['--replay', join(ROOT, 'fixtures/reference/edge.pcap'), '--json', '-', '-q']);
        const lines = events.stdout.trim().split('\n');
        expect(lines.filter((l) => l.includes('"event_type":"flow"'))).toHaveLength(6);
        expect(r.stdout.trim().split('\n')).toHaveLength(lines.length);
      }
    }
    for (const f of ['flows.sqlite', 'flows.csv', 'edge.csv']) expect(statSync(join(dir, f)).size, f).toBeGreaterThan(0);
  });
});
