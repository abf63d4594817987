// What one model's session.run costs per row on a capture's real input rows, in isolation (this thread, no
// replay), by batch size and onnxruntime session options; and how many rows repeat exactly (what a cache of
// verdicts by input row would save).
//
//   node bench/inference-cost.mjs [--capture big|flood|quick|PATH] [--model cic2017-attack] [--max-flows N]
//                                 [--batches 1024,4096,16384] [--repeat 3] [--ort DIR] [--options current,no-spin]
//
// 1. Runs the engine over the capture in this process (as the CLI's replay does, 1,024 flows a batch) and builds
//    the model's float32 input rows with the inference thread's InputBuilder.
// 2. Counts distinct input rows (exact bytes) and the rows a per-batch or a whole-run cache would not run (what
//    finding them costs the inference thread, InputBuilder.distinct: bench/verdict-profile.mjs).
// 3. For each option set and batch size: session.run over every row, --repeat times; prints µs/row (median,
//    min–max) of wall and of this thread's CPU time, and checks the probabilities are bit-identical to the first
//    option set's. --ort DIR: the onnxruntime-node installed under DIR/node_modules instead of this checkout's
//    (to try another version); --options: which option sets.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

import { ROOT, captureFile, option as opt, replayEngine, distModule, loadAverage } from './common.mjs';

const file = captureFile(opt('capture', 'big'));
const maxFlows = Number(opt('max-flows', '1000000'));
const batchSizes = opt('batches', '1024,4096,16384').split(',').map(Number);
const repeat = Number(opt('repeat', '3'));
const dist = distModule;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = loadAverage;
console.log(`load average at start: ${load()}; capture ${file}`);

const { getProfile } = await dist('features/profiles.js');
const { checkModel } = await dist('classify/model.js');
const { inputSpecs, identityMatrix } = await dist('classify/classifier.js');
const { InputBuilder } = await dist('classify/input.js');

const problems = [];
const model = checkModel({ spec: opt('model', 'cic2017-attack') }, undefined, problems);
if (problems.length > 0) throw new Error(problems.join('\n'));
const profile = getProfile(model.profile);
const F = profile.columns.featureNames.length;
const W = model.width;

// ---- 1. the rows
const { specs, identityFields } = inputSpecs([model]);
const builder = new InputBuilder(specs);
const chunks = [];
let flows = 0;
await replayEngine(
  file,
  (rows) => {
    if (flows >= maxFlows) return;
    const x = builder.build(rows.features, F, rows.count, identityMatrix(rows, identityFields));
    chunks.push(x[0].slice(0, rows.count * W));
    flows += rows.count;
  },
  { profile: model.profile, enough: () => flows >= maxFlows },
);
const all = new Float32Array(flows * W);
{
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
}
console.log(`${model.id}: ${flows} rows × ${W} inputs`);

// ---- 2. repeated rows
{
  const bytes = new Uint8Array(all.buffer);
  const key = (i) => Buffer.from(bytes.buffer, i * W * 4, W * 4).toString('latin1');
  const seen = new Set();
  let perBatch = 0;
  for (let b = 0; b < flows; b += 1024) {
    const inBatch = new Set();
    for (let i = b; i < Math.min(flows, b + 1024); i++) inBatch.add(key(i));
    perBatch += inBatch.size;
  }
  for (let i = 0; i < flows; i++) seen.add(key(i));
  console.log(`distinct rows: whole run ${seen.size} (${((100 * (flows - seen.size)) / flows).toFixed(1)} % repeats); within each batch of 1,024: ${perBatch} (${((100 * (flows - perBatch)) / flows).toFixed(1)} % repeats)`);
}

// ---- 3. session.run
const ortDir = opt('ort', undefined);
const ort = createRequire(ortDir ? join(resolve(ortDir), 'x.js') : join(ROOT, 'dist', 'classify', 'worker.js'))('onnxruntime-node');
console.log(`onnxruntime-node ${ort.env.versions?.node ?? ort.env.versions?.common ?? '?'}`);
const base = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
const optionSets = {
  current: base,
  'no-spin': { ...base, extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } },
  'no-arena': { ...base, enableCpuMemArena: false, enableMemPattern: false },
  'opt-disabled': { ...base, graphOptimizationLevel: 'disabled' },
};
const cpuNow = () => {
  const u = process.threadCpuUsage?.() ?? process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let reference = null;
const chosen = opt('options', Object.keys(optionSets).join(',')).split(',');
for (const [name, so] of Object.entries(optionSets).filter(([n]) => chosen.includes(n))) {
  const session = await ort.InferenceSession.create(model.onnxPath, so);
  const input = model.card.onnx.input;
  const output = model.card.onnx.probabilities;
  for (const B of batchSizes) {
    const walls = [];
    const cpus = [];
    let probs = null;
    for (let r = 0; r < repeat; r++) {
      const got = reference === null ? new Float32Array(flows * model.classes.length) : null;
      let same = true;
      const t = performance.now();
      const c = cpuNow();
      for (let b = 0; b < flows; b += B) {
        const n = Math.min(B, flows - b);
        const out = await session.run({ [input]: new ort.Tensor('float32', all.subarray(b * W, (b + n) * W), [n, W]) }, [output]);
        const p = out[output].data;
        if (got) got.set(p, b * model.classes.length);
        else if (same) {
          const ref = reference.subarray(b * model.classes.length, (b + n) * model.classes.length);
          for (let k = 0; k < p.length; k++) if (Object.is(p[k], ref[k]) === false) { same = false; break; }
        }
      }
      walls.push(((performance.now() - t) * 1000) / flows);
      cpus.push(((cpuNow() - c) * 1000) / flows);
      if (got) reference = got;
      probs = same;
    }
    console.log(`${name.padEnd(13)} batch ${String(B).padStart(6)}: wall ${median(walls).toFixed(2)} µs/row (${Math.min(...walls).toFixed(2)}–${Math.max(...walls).toFixed(2)}), cpu ${median(cpus).toFixed(2)} µs/row (${Math.min(...cpus).toFixed(2)}–${Math.max(...cpus).toFixed(2)})${probs ? '' : ' PROBABILITIES DIFFER'}`);
  }
  await session.release();
}
console.log(`load average at end: ${load()}`);
