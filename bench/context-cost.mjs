// What the context stage (src/classify/context.ts) costs the main thread, alone: the flows of a capture are made
// once in process (Engine, profile cic2017, the CLI's defaults), kept, then passed through a fresh ContextStage
// several times, this checkout's and (with `--base DIR`, a build with its own dist/) another's in turn, so the
// machine's noise hits both alike. Two passes each: `counting` (batches without verdicts: counted only, what a run
// whose model calls nothing benign costs) and `blind` (every flow called BENIGN, as with --alert-threshold 1: every
// firing flow is relabelled, its text made). Per pass: CPU ms of this thread (process.cpuUsage; nothing else runs)
// and the garbage collector's ms in it (PerformanceObserver 'gc'); medians with min-max over the rounds.
//
//   node bench/context-cost.mjs [--file big.pcap] [--base DIR] [--rounds 5]
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

import { DATA, ROOT, option, replayEngine } from './common.mjs';

const file = option('file', join(DATA, 'big.pcap'));
const base = option('base', undefined);
const rounds = Number(option('rounds', '5'));
if (!existsSync(file)) {
  process.stderr.write(`context-cost: ${file} is missing (npm run bench creates big.pcap)\n`);
  process.exit(1);
}
const load = (dir, m) => import(pathToFileURL(join(resolve(dir), 'dist', m)).href);
const { getProfile } = await load(ROOT, 'features/profiles.js');
const builds = [{ name: 'this', m: await load(ROOT, 'classify/context.js') }];
if (base) builds.push({ name: 'base', m: await load(base, 'classify/context.js') });

const profile = getProfile('cic2017');
const batches = [];
await replayEngine(file, (rows) => batches.push(rows));
const flows = batches.reduce((s, b) => s + b.count, 0);

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });
const settle = () => new Promise((r) => setTimeout(r, 50)); // the gc entries of a pass come in before the next

const CLASSES = ['BENIGN', 'Bot', 'BruteForce', 'DoS', 'Infiltration', 'PortScan', 'WebAttack'];
async function pass(m, blind) {
  for (const b of batches) {
    b.labels = blind ? new Array(b.count).fill('BENIGN') : undefined;
    b.scores = blind ? new Float64Array(b.count) : undefined;
    b.kdd = blind ? new Array(b.count).fill('normal') : undefined;
    b.context = undefined;
  }
  await settle();
  globalThis.gc?.();
  await settle();
  const stage = new m.ContextStage({ columns: profile.columns, classes: CLASSES, benign: 'BENIGN' });
  gcMs = 0;
  const c0 = process.cpuUsage();
  for (const b of batches) stage.observe(b);
  const c = process.cpuUsage(c0);
  await settle();
  const relabelled = Object.values(stage.counts().relabelled).reduce((s, x) => s + x, 0);
  return { cpuMs: (c.user + c.system) / 1000, gcMs, relabelled };
}

const results = {};
for (let r = 0; r < rounds; r++) {
  for (const blind of [false, true]) {
    for (const b of builds) {
      const key = `${b.name} ${blind ? 'blind' : 'counting'}`;
      (results[key] ??= []).push(await pass(b.m, blind));
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
process.stdout.write(`${file}: ${flows} flows in ${batches.length} batches; ${rounds} rounds\n`);
for (const [key, rs] of Object.entries(results)) {
  const cpu = rs.map((x) => x.cpuMs);
  const gc = rs.map((x) => x.gcMs);
  process.stdout.write(`${key.padEnd(16)} CPU ${median(cpu).toFixed(0)} ms (${range(cpu)}), GC ${median(gc).toFixed(0)} ms (${range(gc)}), ${rs[0].relabelled} relabelled\n`);
}
