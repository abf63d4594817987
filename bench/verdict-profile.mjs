// Where the verdict path's time goes, per flow and per stage, on the flows of a real capture.
//
//   node bench/verdict-profile.mjs [--capture flood|big|quick|PATH] [--max-flows N] [--attack M] [--app M]
//                                  [--batch 1024] [--threads]
//
// 1. Runs the engine over the capture in this process and keeps its completed batches (untimed; default
//    --max-flows 150000), as the CLI's replay makes them (1,024 flows a batch).
// 2. Loads both default models (or --attack / --app) as the inference thread does (same session options) and times
//    session creation.
// 3. Classifies every batch here, one stage at a time, timing each stage with performance.now():
//      identity   the identity matrix (ports, protocol) the main thread sends with the features
//      build      every model's input, its distinct rows only (InputBuilder.distinct: repeats found on the batch's
//                 values, each distinct row's columns picked, NaN/±Infinity replaced, float32)
//      distinct   the distinct rows' probabilities back to every row (DistinctRows.expand)
//      attack     the attack model's session.run
//      app        the application model's session.run
//      verdicts   batchVerdicts / groupVerdicts (class indices and scores from the probabilities)
//      label      Model.label + VerdictTally.add on the main thread (names per flow, counts, alert sources)
//    Pass 1 is cold (a replay's batches run once: JIT warm-up included), pass 2 warm.
// 4. --threads: runs the CLI (both models, --csv /dev/null) with a preload that reads every thread's CPU time
//    from /proc at exit: the main thread and the V8 helpers stay; the threads that ended (the inference thread)
//    are total - live. Against --no-model --profile cic2017.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { ROOT, captureFile, option as opt, replayEngine, distModule, loadAverage } from './common.mjs';

const args = process.argv.slice(2);
const file = captureFile(opt('capture', 'flood'));
const maxFlows = Number(opt('max-flows', '150000'));
const batchFlows = Number(opt('batch', '1024'));
const dist = distModule;
const load = loadAverage;
console.log(`load average at start: ${load()}; capture ${file}`);

const { getProfile } = await dist('features/profiles.js');
const { checkModel } = await dist('classify/model.js');
const { inputSpecs, identityMatrix } = await dist('classify/classifier.js');
const { InputBuilder } = await dist('classify/input.js');
const { batchVerdicts } = await dist('classify/verdict.js');
const { groupVerdicts } = await dist('classify/group-verdict.js');
const { VerdictTally } = await dist('classify/tally.js');

// ---- 1. the batches
const profile = getProfile('cic2017');
const batches = [];
let flows = 0;
await replayEngine(
  file,
  (rows) => {
    if (flows < maxFlows) batches.push(rows);
    flows += rows.count;
  },
  { batchSize: batchFlows, enough: () => flows >= maxFlows },
);
const count = batches.reduce((a, b) => a + b.count, 0);
console.log(`${count} flows in ${batches.length} batches`);

// ---- 2. the models, as the inference thread loads them
const ort = createRequire(join(ROOT, 'dist', 'classify', 'worker.js'))('onnxruntime-node');
const problems = [];
const models = [
  checkModel({ spec: opt('attack', 'cic2017-attack'), task: 'attack' }, 'cic2017', problems),
  checkModel({ spec: opt('app', 'cic2017-app'), task: 'application' }, 'cic2017', problems),
];
if (problems.length > 0) throw new Error(problems.join('\n'));
const sessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
const sessions = [];
for (const m of models) {
  const t = performance.now();
  sessions.push(await ort.InferenceSession.create(m.onnxPath, sessionOptions));
  console.log(`session ${m.id}: created in ${(performance.now() - t).toFixed(1)} ms${sessions.length === 1 ? ' (the first also starts onnxruntime)' : ''}`);
}
const { specs, identityFields } = inputSpecs(models);
const builder = new InputBuilder(specs);

// ---- 3. the stages
const STAGES = ['identity', 'build', 'distinct', 'attack', 'app', 'verdicts', 'label'];
for (const pass of ['cold', 'warm']) {
  const ms = Object.fromEntries(STAGES.map((s) => [s, 0]));
  const tallies = models.map((m) => new VerdictTally(m.classes, m.task === 'attack' ? m.benignIndex : -1, m.task === 'attack'));
  for (const rows of batches) {
    let t = performance.now();
    const lap = (stage) => {
      const now = performance.now();
      ms[stage] += now - t;
      t = now;
    };
    const identity = identityMatrix(rows, identityFields);
    lap('identity');
    const distinct = builder.distinct(rows.features, profile.columns.featureNames.length, rows.count, identity);
    lap('build');
    const probs = [];
    for (let k = 0; k < models.length; k++) {
      const m = models[k];
      const d = distinct[k];
      const out = await sessions[k].run({ [m.card.onnx.input]: new ort.Tensor('float32', d.rows, [d.kept, m.width]) }, [m.card.onnx.probabilities]);
      const p = out[m.card.onnx.probabilities].data;
      lap(k === 0 ? 'attack' : 'app');
      probs.push(d.expand(p, m.classes.length));
      lap('distinct');
    }
    const v = models.map((m, k) => (m.task === 'attack' ? batchVerdicts(probs[k], rows.count, m.classes.length, m.verdictRule()) : groupVerdicts(probs[k], rows.count, m.classes.length)));
    lap('verdicts');
    models.forEach((m, k) => {
      m.label(rows, v[k]);
      tallies[k].add(rows, v[k]);
    });
    lap('label');
  }
  const total = STAGES.reduce((a, s) => a + ms[s], 0);
  console.log(
    `${pass}: ${STAGES.map((s) => `${s} ${((ms[s] * 1000) / count).toFixed(2)}`).join(', ')}; total ${((total * 1000) / count).toFixed(2)} µs/flow (${total.toFixed(0)} ms)`,
  );
}

// ---- 4. CPU per thread of the CLI
if (args.includes('--threads')) {
  const dir = mkdtempSync(join(tmpdir(), 'verdict-profile-'));
  const preload = join(dir, 'threads.mjs');
  writeFileSync(
    preload,
    `import { readFileSync, readdirSync } from 'node:fs';
process.on('exit', () => {
  let live = 0;
  const main = (() => { const s = readFileSync('/proc/thread-self/stat', 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) * 10; })();
  for (const t of readdirSync('/proc/self/task')) {
    const s = readFileSync('/proc/self/task/' + t + '/stat', 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    live += (Number(f[11]) + Number(f[12])) * 10;
  }
  const u = process.cpuUsage();
  const total = (u.user + u.system) / 1000;
  process.stderr.write('THREADS ' + JSON.stringify({ total: Math.round(total), main, helpers: live - main, ended: Math.round(total - live) }) + '\\n');
});
`,
  );
  try {
    for (let round = 0; round < 3; round++) {
      for (const mode of [['--no-model', '--profile', 'cic2017'], []]) {
        const r = spawnSync(process.execPath, ['--import', pathToFileURL(preload).href, join(ROOT, 'bin', 'sensor.js'), '--replay', file, '--csv', '/dev/null', '-q', ...mode], { encoding: 'utf8' });
        const line = r.stderr.split('\n').find((l) => l.startsWith('THREADS '));
        console.log(`cpu ms by thread, ${mode.length ? 'no model' : 'both models'}: ${line?.slice(8) ?? r.stderr}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`load average at end: ${load()}`);
