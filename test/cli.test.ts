/**
 * The command line as a user meets it: --help, bad options, bad inputs, unwritable outputs, interruption.
 * Exit codes are the documented ones (src/cli/exit-codes.ts, README "Exit codes").
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { ROOT, SENSOR, sensor } from './helpers/cli.js';
import { ethIpv4Udp } from './helpers/frames.js';
import { writePcap } from './helpers/pcap-file.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
const EDGE = 'fixtures/reference/edge.pcap';
const oneLine = (s: string): boolean => s.trim().split('\n').length === 1;

describe('sensor --help', () => {
  it('explains every option and exits 0', async () => {
    const r = await sensor(['--help']);
    expect(r.status).toBe(0);
    for (const opt of ['--replay', '--db', '--csv', '--profile', '--filter', '--flow-timeout', '--activity-timeout', '--idle-timeout', '--max-flows', '--no-model']) {
      expect(r.stdout).toContain(opt);
    }
    expect(r.stdout).toContain('cic2017');
  });
});

describe('usage errors exit 2 with the exact expectation', () => {
  it('unknown option', async () => {
    const r = await sensor(['--replay', EDGE, '--csv', join(dir, 'x.csv'), '--bogus']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Unknown argument: bogus/);
  });
  it('bad values are all reported at once', async () => {
    const r = await sensor(['--replay', EDGE, '--csv', join(dir, 'x.csv'), '--profile', 'cicc', '--flow-timeout', '-3']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('sensor: --profile: expected one of cic, fixed, cic2017, got "cicc"');
    expect(r.stderr).toContain('sensor: --flow-timeout: expected a positive number of seconds, got "-3"');
  });
  it('no output given', async () => {
    const r = await sensor(['--replay', EDGE]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('sensor: no output: pass --db PATH, --csv PATH, --json PATH and/or --clickhouse URL\n');
  });
});

describe('bad input exits 3 with one line naming the file', () => {
  it('missing file', async () => {
    const r = await sensor(['--replay', join(dir, 'nope.pcap'), '--csv', join(dir, 'x.csv')]);
    expect(r.status).toBe(3);
    expect(oneLine(r.stderr)).toBe(true);
    expect(r.stderr).toContain('nope.pcap');
    expect(r.stderr).toMatch(/no such file/);
  });
  it('not a capture', async () => {
    const p = join(dir, 'notes.txt');
    writeFileSync(p, 'hello, this is not a capture file\n');
    const r = await sensor(['--replay', p, '--csv', join(dir, 'x.csv')]);
    expect(r.status).toBe(3);
    expect(oneLine(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/notes\.txt: not a capture file/);
  });
  it('bad BPF filter', async () => {
    const r = await sensor(['--replay', EDGE, '--csv', join(dir, 'x.csv'), '--filter', 'tcp port banana']);
    expect(r.status).toBe(3);
    expect(oneLine(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/bad filter/);
  });
  it('a missing file among several fails before anything is written', async () => {
    const csv = join(dir, 'partial.csv');
    const r = await sensor(['--replay', EDGE, join(dir, 'nope2.pcap'), '--csv', csv]);
    expect(r.status).toBe(3);
    expect(existsSync(csv)).toBe(false);
  });
});

describe('reading a capture from a pipe', () => {
  it('--replay - reads standard input (plain or gzip) and gives the same flows as the file', async () => {
    const file = join(dir, 'file.csv');
    expect((await sensor(['--replay', 'fixtures/reference/zeek-wikipedia.pcap', '--profile', 'cic', '--no-model', '--csv', file, '-q'])).status).toBe(0);
    for (const cmd of ['cat', 'gzip -c']) {
      const piped = join(dir, `piped-${cmd.length}.csv`);
      const r = await new Promise<number | null>((resolve) => {
        const sh = spawn('sh', ['-c', `${cmd} fixtures/reference/zeek-wikipedia.pcap | "${process.execPath}" "${SENSOR}" --replay - --profile cic --no-model --csv "${piped}" -q`], { cwd: ROOT });
        sh.on('close', resolve);
      });
      expect(r).toBe(0);
      expect(readFileSync(piped, 'utf8')).toBe(readFileSync(file, 'utf8'));
    }
  });
});

describe('unwritable output exits 4 before reading', () => {
  it('database directory missing', async () => {
    const r = await sensor(['--replay', EDGE, '--db', join(dir, 'no-such-dir', 'f.sqlite')]);
    expect(r.status).toBe(4);
    expect(oneLine(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/does not exist/);
  });
  it('database created for another profile', async () => {
    const db = join(dir, 'cic.sqlite');
    expect((await sensor(['--replay', EDGE, '--db', db, '--profile', 'cic', '-q'])).status).toBe(0);
    const r = await sensor(['--replay', EDGE, '--db', db, '--profile', 'fixed']);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/profile 'cic', not 'fixed'/);
  });
});

describe('SIGINT/SIGTERM during a replay', () => {
  it('writes every flow seen so far, records the run and exits 130', async () => {
    // A long capture: 200,000 UDP packets of 20,000 distinct flows, so the replay is still running when signalled.
    const frames = [];
    for (let i = 0; i < 200_000; i++) {
      frames.push({ data: ethIpv4Udp({ sport: 10_000 + (i % 20_000), dport: 53 }, new Uint8Array(8)), tsUs: 1_700_000_000_000_000 + i * 10 });
    }
    const pcap = join(dir, 'long.pcap');
    writeFileSync(pcap, writePcap(1, frames));
    const db = join(dir, 'interrupted.sqlite');
    // 60 passes over the file (12 M packets, several seconds): still reading when the signal comes.
    const files = Array.from({ length: 60 }, () => pcap);
    const child = spawn(process.execPath, [SENSOR, '--replay', ...files, '--db', db, '--profile', 'fixed', '-q'], { cwd: ROOT });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // Signal once the run row exists (the database is open and reading has started).
    for (let i = 0; i < 200 && !existsSync(db); i++) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).toBe('');
    const d = new Database(db, { readonly: true });
    const run = d.prepare('SELECT packets, flows, ended_at FROM runs').get() as { packets: number; flows: number; ended_at: string | null };
    const rows = (d.prepare('SELECT COUNT(*) AS n, SUM(total_fwd_packet) AS p FROM flows').get() as { n: number; p: number });
    d.close();
    expect(code).toBe(130);
    expect(run.ended_at).not.toBeNull();
    expect(rows.n).toBe(run.flows);
    expect(rows.n).toBeGreaterThan(0);
    // Every packet read is in a written flow (all UDP, fixed profile writes every flow).
    expect(rows.p).toBe(run.packets);
  });
});
