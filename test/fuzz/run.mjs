#!/usr/bin/env node
// `npm run fuzz -- [N] [--seed S] [--cli-every K] [--out DIR] [--seeds DIR]...`
//
// Mutates real captures and replays each through the native reader and the engine in-process (fast), and every
// K-th one (default 500) through the CLI as a user would. N iterations (default 100,000). Prints iterations/s and
// every failure with its seed; the failing input is saved in DIR (default $TMPDIR/sensor-fuzz) with a .txt
// saying what was mutated and what went wrong. Reproduce one: `npm run fuzz -- --reproduce SEED`.
//
// The iterations run in a child process so that a crash (a signal in native code) or a hang cannot take the
// runner with it: the child writes each input to a scratch file and its seed next to it before reading it; when
// the child dies or stops reporting for 60 s, the runner saves that input as a failure and starts a new child
// after it. Exit status 0 = no failure, 1 = failures (listed), 2 = bad arguments.
import { fork } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

function parse(argv) {
  const o = { iterations: 100_000, seed: Date.now() % 1e9, cliEvery: 500, out: join(tmpdir(), 'sensor-fuzz'), seeds: [], reproduce: undefined, child: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--seed') o.seed = Number(val());
    else if (a === '--cli-every') o.cliEvery = Number(val());
    else if (a === '--out') o.out = val();
    else if (a === '--seeds') o.seeds.push(val());
    else if (a === '--reproduce') o.reproduce = Number(val());
    else if (a === '--child') o.child = true;
    else if (/^\d+$/.test(a)) o.iterations = Number(a);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new Error('--seed must be a non-negative integer');
  if (!Number.isInteger(o.cliEvery) || o.cliEvery < 0) throw new Error('--cli-every must be a non-negative integer');
  return o;
}

let opts;
try {
  opts = parse(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`fuzz: ${e.message}\n`);
  process.exit(2);
}

const lib = await import('./fuzz-lib.mjs');
const seedDirs = opts.seeds.length > 0 ? opts.seeds : lib.defaultSeedDirs();

function saveFailure(out, f) {
  mkdirSync(out, { recursive: true });
  const base = join(out, `seed-${f.seed}`);
  if (f.bytes) writeFileSync(`${base}.pcap`, f.bytes);
  else if (f.file && existsSync(f.file)) copyFileSync(f.file, `${base}.pcap`);
  writeFileSync(`${base}.txt`, `seed ${f.seed}\nmutation: ${f.what ?? '(unknown)'}\n${f.problems.join('\n')}\n`);
  return `${base}.pcap`;
}

if (opts.child) {
  // Child: run [first, first+count) and report over IPC.
  process.on('message', (m) => {
    const seeds = lib.loadSeeds(seedDirs);
    const dir = m.scratchDir;
    lib.runIterations({
      seeds,
      baseSeed: m.baseSeed,
      first: m.first,
      count: m.count,
      scratch: join(dir, 'input.pcap'),
      outDir: dir,
      cliEvery: m.cliEvery,
      onInput: (seed) => writeFileSync(join(dir, 'seed'), String(seed)),
      onProgress: (done) => process.send({ t: 'progress', done }),
      onFailure: (f) => process.send({ t: 'failure', seed: f.seed, what: f.what, problems: f.problems, bytes: Buffer.from(f.bytes).toString('base64') }),
    });
    process.send({ t: 'done' }, () => process.exit(0));
  });
} else if (opts.reproduce !== undefined) {
  const seeds = lib.loadSeeds(seedDirs);
  const dir = mkdtempSync(join(tmpdir(), 'sensor-fuzz-'));
  const failures = [];
  lib.runIterations({ seeds, baseSeed: opts.reproduce, count: 1, scratch: join(dir, 'input.pcap'), outDir: dir, cliEvery: 1, onFailure: (f) => failures.push(f) });
  const { what } = lib.makeInput(seeds, opts.reproduce);
  const path = saveFailure(opts.out, { seed: opts.reproduce, what, problems: failures.flatMap((f) => f.problems), bytes: lib.makeInput(seeds, opts.reproduce).bytes });
  process.stdout.write(`seed ${opts.reproduce}: ${what}\ninput saved as ${path}\n${failures.length ? failures[0].problems.join('\n') : 'no problem'}\n`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(failures.length ? 1 : 0);
} else {
  await parent();
}

async function parent() {
  const shm = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const scratchDir = mkdtempSync(join(shm, 'sensor-fuzz-'));
  const seedsCount = lib.loadSeeds(seedDirs).length;
  if (seedsCount === 0) {
    process.stderr.write(`fuzz: no seed captures in ${seedDirs.join(', ')}\n`);
    process.exit(2);
  }
  process.stdout.write(`fuzz: ${opts.iterations} iterations from seed ${opts.seed}, ${seedsCount} seed captures, CLI every ${opts.cliEvery || 'never'}\n`);
  const started = performance.now();
  const failures = [];
  let next = 0; // first iteration not yet finished
  while (next < opts.iterations) {
    const first = next;
    const result = await new Promise((resolve) => {
      const child = fork(SELF, ['--child', ...opts.seeds.flatMap((s) => ['--seeds', s])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let done = 0;
      let lastSign = performance.now();
      const watchdog = setInterval(() => {
        if (performance.now() - lastSign > 60_000) {
          child.kill('SIGKILL');
          resolve({ done, hung: true });
        }
      }, 1000);
      child.on('message', (m) => {
        lastSign = performance.now();
        if (m.t === 'progress') {
          done = m.done;
          const total = first + done;
          const rate = total / ((performance.now() - started) / 1000);
          process.stdout.write(`\rfuzz: ${total} / ${opts.iterations}  ${rate.toFixed(0)} it/s  ${failures.length} failures   `);
        } else if (m.t === 'failure') {
          const path = saveFailure(opts.out, { ...m, bytes: Buffer.from(m.bytes, 'base64') });
          failures.push({ seed: m.seed, problems: m.problems, path });
          process.stdout.write(`\nFAIL seed ${m.seed} (${m.what}): ${m.problems[0]}\n  saved ${path}\n`);
        } else if (m.t === 'done') {
          done = opts.iterations - first;
        }
      });
      child.on('exit', (code, signal) => {
        clearInterval(watchdog);
        resolve({ done, code, signal });
      });
      child.send({ baseSeed: opts.seed, first, count: opts.iterations - first, scratchDir, cliEvery: opts.cliEvery });
    });
    if (result.code === 0 && !result.hung) {
      next = opts.iterations;
      break;
    }
    // The child crashed or hung on the input it was reading: save it, continue after it.
    const seedFile = join(scratchDir, 'seed');
    const seed = existsSync(seedFile) ? Number(readFileSync(seedFile, 'utf8')) : opts.seed + first + result.done;
    const why = result.hung ? 'no progress for 60 s (hang)' : `child died: exit ${result.code} signal ${result.signal}`;
    const path = saveFailure(opts.out, { seed, problems: [why], file: join(scratchDir, 'input.pcap') });
    failures.push({ seed, problems: [why], path });
    process.stdout.write(`\nFAIL seed ${seed}: ${why}\n  saved ${path}\n`);
    next = Math.max(first + 1, ((seed - opts.seed) >>> 0) + 1);
  }
  const secs = (performance.now() - started) / 1000;
  process.stdout.write(`\nfuzz: ${opts.iterations} iterations in ${secs.toFixed(1)} s (${(opts.iterations / secs).toFixed(0)} it/s), ${failures.length} failures\n`);
  for (const f of failures) process.stdout.write(`  seed ${f.seed}: ${f.problems[0]} (${f.path})\n`);
  rmSync(scratchDir, { recursive: true, force: true });
  process.exit(failures.length ? 1 : 0);
}
