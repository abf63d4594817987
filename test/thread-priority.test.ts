/**
 * The packet thread first (src/sources/thread-priority.ts, `--thread-nice`): the threads behind it, the models'
 * inference thread and the output writers, lower their own priority; the packet thread and the rest keep theirs,
 * until a replay's input ends: then the packet thread lowers itself as far, level with them while they finish the last flows.
 * Linux only (per-thread nice values); elsewhere the setting does nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ROOT, sensor } from './helpers/cli.js';

const linux = process.platform === 'linux';

/** The nice values a replay's threads had: the main thread's and the others'. */
async function niceOf(args: string[]): Promise<{ main: number; mainAtEnd: number; others: number[] }> {
  const r = await sensor(['--replay', join(ROOT, 'fixtures/reference/edge.pcap'), '-q', ...args], {
    env: { ...process.env, NODE_OPTIONS: `--import ${join(ROOT, 'test/helpers/thread-nice-preload.mjs')}` },
  });
  expect(r.status, r.stderr).toBe(0);
  const line = r.stderr.split('\n').find((l) => l.startsWith('THREAD-NICE '));
  expect(line, r.stderr).toBeDefined();
  return JSON.parse(line!.slice('THREAD-NICE '.length)) as { main: number; mainAtEnd: number; others: number[] };
}

describe.skipIf(!linux)('thread priorities (Linux)', () => {
  it('lowerThisThread lowers the calling thread only, by the steps asked, at most to 19', async () => {
    const url = new URL('../dist/sources/thread-priority.js', import.meta.url).href;
    const code = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(url)}).then((m) => {
        const first = m.lowerThisThread(6);
        const second = m.lowerThisThread(30);
        parentPort.postMessage({ first, second, none: m.lowerThisThread(0) });
      });`;
    const before = getPriority(0);
    const got = await new Promise<{ first: number; second: number; none: number | null }>((resolve, reject) => {
      const w = new Worker(code, { eval: true });
      w.once('message', (m) => {
        resolve(m);
        void w.terminate();
      });
      w.once('error', reject);
    });
    expect(got).toEqual({ first: before + 6, second: 19, none: null });
    expect(getPriority(0)).toBe(before); // this thread (and so the process's main thread) is untouched
  });

  it('a replay with both models into SQLite and CSV: the inference thread and both writers run 7 steps below, the packet thread as it was until the input ended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sensor-nice-'));
    const base = getPriority(0);
    const lowered = await niceOf(['--db', join(dir, 'a.sqlite'), '--csv', join(dir, 'a.csv'), '--thread-nice', '7']);
    expect(lowered.main).toBe(base);
    expect(lowered.mainAtEnd).toBe(base + 7);
    // The inference thread, the SQLite writer and the CSV writer; every other thread (V8's, libpcap's read-ahead) as it was.
    expect(lowered.others.filter((n) => n === base + 7).length).toBe(3);
    expect(lowered.others.filter((n) => n !== base + 7 && n !== base)).toEqual([]);
    const same = await niceOf(['--db', join(dir, 'b.sqlite'), '--thread-nice', '0']);
    expect([same.main, same.mainAtEnd, ...same.others].every((n) => n === base)).toBe(true);
    const byDefault = await niceOf(['--db', join(dir, 'c.sqlite')]);
    expect(byDefault.others.filter((n) => n === base + 10).length).toBe(2);
    rmSync(dir, { recursive: true, force: true });
  });

  it('--thread-nice outside 0..19 is refused before any packet is read (exit 2)', async () => {
    const r = await sensor(['--replay', join(ROOT, 'fixtures/reference/edge.pcap'), '--csv', '/dev/null', '--thread-nice', '20']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('sensor: --thread-nice: expected an integer from 0 to 19, got "20"\n');
  });
});
