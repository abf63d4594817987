// What the verdicts cost a replay: the CLI with both default models (attack + application) against
// `--no-model --profile cic2017` (the same features, no verdicts), within each round, so the machine's noise hits
// both sides alike. Optionally against a second build (`--base DIR`, e.g. a checkout of main with its own dist/),
// interleaved with this one, for before/after figures.
//
//   node bench/verdict-cost.mjs [--rounds 3] [--captures flood,big] [--out csv|sqlite|none] [--base DIR]
//                               [--args "--no-app-model"] [--common "--thread-nice 0"] [--json FILE]
//
// Per run: wall time (ms) and CPU time (user + system of the whole process: main thread, inference thread,
// SQLite thread) from /usr/bin/time. Per round and build: cost = 1 - (packets/s with models) / (packets/s without)
// = 1 - wall(no model) / wall(models). Printed: medians with min–max over the rounds, and the load average at
// start and end (the machine has 2 cores shared with other work: read the ranges).
//
// Captures: flood = $SENSOR_BENCH_DATA/flood.pcap (the lab's SYN flood, ~127 k one-packet flows, all ending at the
// end of the capture), big = big.pcap (150 k flows, 8.9 M packets), quick = quick.pcap; or a path. `npm run bench`
// creates them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { ROOT, captureFile, option as opt, loadAverage } from './common.mjs';

const rounds = Number(opt('rounds', '3'));
const out = opt('out', 'csv');
const base = opt('base', undefined);
const extra = (opt('args', '') ?? '').split(' ').filter(Boolean);
// Options for both sides (the run without models and the run with them), e.g. --thread-nice.
const common = (opt('common', '') ?? '').split(' ').filter(Boolean);
const captures = opt('captures', 'flood,big')
  .split(',')
  .filter(Boolean)
  .map((c) => ({ name: c, file: captureFile(c) }));
if (!existsSync('/usr/bin/time')) {
  process.stderr.write('bench: /usr/bin/time is missing (apt-get install time)\n');
  process.exit(1);
}
const builds = [{ name: 'this', dir: ROOT }, ...(base ? [{ name: 'base', dir: resolve(base) }] : [])];
const modes = [
  { name: 'no-model', args: ['--no-model', '--profile', 'cic2017'] },
  { name: 'models', args: extra },
];

const tmp = mkdtempSync(join(tmpdir(), 'verdict-cost-'));
const load = loadAverage;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;

function runOnce(build, capture, mode) {
  const timeFile = join(tmp, 'time');
  const output = out === 'csv' ? ['--csv', join(tmp, 'out.csv')] : out === 'sqlite' ? ['--db', join(tmp, 'out.sqlite')] : ['--csv', '/dev/null'];
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', '-o', timeFile, process.execPath, join(build.dir, 'bin', 'sensor.js'), '--replay', capture.file, ...output, '--quiet', ...common, ...mode.args], {
    encoding: 'utf8',
  });
  rmSync(join(tmp, 'out.csv'), { force: true });
  rmSync(join(tmp, 'out.sqlite'), { force: true });
  if (r.status !== 0) throw new Error(`${build.name} ${mode.name} ${capture.name}: exit ${r.status}: ${r.stderr}`);
  const [wall, user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: user + sys };
}

console.log(`load average at start: ${load()}; ${rounds} rounds; output ${out}; models: defaults ${extra.join(' ')}; both: ${common.join(' ')}`);
const results = [];
try {
  for (let round = 0; round < rounds; round++) {
    for (const capture of captures) {
      // Alternate the order within the round (this/base, no-model/models) so neither side always goes first.
      const order = [];
      for (const b of round % 2 === 0 ? builds : [...builds].reverse()) for (const m of round % 2 === 0 ? modes : [...modes].reverse()) order.push([b, m]);
      for (const [b, m] of order) {
        const t = runOnce(b, capture, m);
        results.push({ round, capture: capture.name, build: b.name, mode: m.name, ...t });
        process.stderr.write(`round ${round + 1} ${capture.name} ${b.name} ${m.name}: wall ${t.wall.toFixed(2)} s, cpu ${t.cpu.toFixed(2)} s (load ${loadavg()[0].toFixed(2)})\n`);
      }
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

for (const capture of captures) {
  for (const b of builds) {
    const pick = (mode, round) => results.find((r) => r.capture === capture.name && r.build === b.name && r.mode === mode && r.round === round);
    const rs = [...Array(rounds).keys()];
    const line = (mode) => {
      const w = rs.map((k) => pick(mode, k).wall);
      const c = rs.map((k) => pick(mode, k).cpu);
      return `wall ${median(w).toFixed(2)} s (${range(w)}), cpu ${median(c).toFixed(2)} s (${range(c)})`;
    };
    const cost = rs.map((k) => 100 * (1 - pick('no-model', k).wall / pick('models', k).wall));
    const cpuRatio = rs.map((k) => 100 * (pick('models', k).cpu / pick('no-model', k).cpu - 1));
    console.log(`${capture.name} [${b.name}] no-model: ${line('no-model')}`);
    console.log(`${capture.name} [${b.name}] models:   ${line('models')}`);
    console.log(`${capture.name} [${b.name}] cost in packets/s: ${median(cost).toFixed(1)} % (${range(cost)}); extra cpu: ${median(cpuRatio).toFixed(1)} % (${range(cpuRatio)})`);
  }
}
console.log(`load average at end: ${load()}`);
const json = opt('json', undefined);
if (json) writeFileSync(json, JSON.stringify({ rounds, out, captures, results }, null, 1));
