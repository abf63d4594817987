// Classification throughput and its cost to a replay.
//
//   node bench/classify.mjs [--model models/cic2017-attack.onnx] [--repeat N] [--captures a.pcap,b.pcap.gz] [--no-replay]
//
// 1. Inference alone: the Classifier (worker thread, onnxruntime, 1 intra-op thread) on batches of 1,024 flows
//    (the engine's batch size), one batch at a time and with 8 in flight (what the replay loop allows); plus the
//    main-thread cost of building a batch's input (picking the card's columns, preprocessing, float32).
// 2. Replay: `bin/sensor.js --replay FILE --profile cic2017` with --no-model and with the model, alternated,
//    N times each, into SQLite and into CSV on /dev/null; medians of packets/s and the slowdown.
//
// Needs dist/ (npx tsc). On a shared 2-core machine numbers are noisy: the load average is printed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadAverage } from './common.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const model = opt('model', join(ROOT, 'models', 'cic2017-attack.onnx'));
const repeat = Number(opt('repeat', '3'));
const defaultCaptures = [join(ROOT, '..', 'shared', 'data', 'lab', 'phase-ddos.pcap.gz'), join(ROOT, 'bench', 'data', 'quick.pcap')].filter(existsSync);
const captures = opt('captures', defaultCaptures.join(',')).split(',').filter(Boolean);

const { Classifier } = await import(join(ROOT, 'dist', 'classify', 'classifier.js'));
const { getProfile } = await import(join(ROOT, 'dist', 'features', 'profiles.js'));
const { newFlowRows } = await import(join(ROOT, 'dist', 'engine', 'flow-batch.js'));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = loadAverage;
console.log(`load average at start: ${load()}`);

// ---- 1. inference alone
{
  const golden = JSON.parse(readFileSync(join(ROOT, 'models', 'train', 'golden-cic2017-attack.json'), 'utf8'));
  const num = (v) => (typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity);
  const F = getProfile('cic2017').columns.featureNames.length;
  const B = 1024;
  const batch = () => {
    const features = new Float64Array(B * F);
    for (let i = 0; i < B; i++) golden.rows[i % golden.rows.length].forEach((v, j) => (features[i * F + j] = num(v)));
    return { ...newFlowRows(B, 0), count: B, features, kinds: new Uint8Array(B * F) };
  };
  const c = await Classifier.load(model);
  const rows = batch();
  for (let i = 0; i < 20; i++) await c.classify(batch()); // warm-up
  const n = 300;
  let t = performance.now();
  for (let i = 0; i < n; i++) c.buildInput(rows);
  const buildNs = ((performance.now() - t) * 1e6) / (n * B);
  t = performance.now();
  for (let i = 0; i < n; i++) await c.classify(batch());
  const seqMs = performance.now() - t;
  t = performance.now();
  const inflight = [];
  for (let i = 0; i < n; i++) {
    inflight.push(c.classify(batch()));
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  const pipeMs = performance.now() - t;
  await c.close();
  console.log(`inference (${c.id}, batches of ${B}): one at a time ${Math.round((n * B) / (seqMs / 1000)).toLocaleString('en-US')} flows/s, ` +
    `8 in flight ${Math.round((n * B) / (pipeMs / 1000)).toLocaleString('en-US')} flows/s; building the input on the main thread ${buildNs.toFixed(0)} ns/flow`);
}

// ---- 2. replay with and without the model
if (!args.includes('--no-replay')) {
  const tmp = mkdtempSync(join(tmpdir(), 'sensor-bench-classify-'));
  const run = (file, withModel, sink) => {
    const db = join(tmp, 'b.sqlite');
    rmSync(db, { force: true });
    rmSync(db + '-wal', { force: true });
    rmSync(db + '-shm', { force: true });
    const out = sink === 'sqlite' ? ['--db', db] : ['--csv', '/dev/null'];
    const r = spawnSync('/usr/bin/time', ['-f', 'CPU %U %S', process.execPath, join(ROOT, 'bin', 'sensor.js'), '--replay', file, '--profile', 'cic2017', ...out, ...(withModel ? ['--model', model] : ['--no-model'])], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sensor failed: ${r.stderr}`);
    const m = /packets (\d+)\s+flows (\d+).*?([\d.]+) s\s+(\d+) packets\/s/.exec(r.stderr);
    const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
    if (!m || !cpu) throw new Error(`no summary in: ${r.stderr}`);
    return { packets: Number(m[1]), flows: Number(m[2]), seconds: Number(m[3]), pps: Number(m[4]), cpu: Number(cpu[1]) + Number(cpu[2]) };
  };
  for (const file of captures) {
    for (const sink of ['csv', 'sqlite']) {
      const res = { off: [], on: [], cpuOff: [], cpuOn: [] };
      let info;
      for (let i = 0; i < repeat; i++) {
        const a = run(file, false, sink);
        res.off.push(a.pps);
        res.cpuOff.push(a.cpu);
        info = run(file, true, sink);
        res.on.push(info.pps);
        res.cpuOn.push(info.cpu);
      }
      const off = median(res.off);
      const on = median(res.on);
      const cOff = median(res.cpuOff);
      const cOn = median(res.cpuOn);
      console.log(`${file.split('/').pop()} (${info.packets.toLocaleString('en-US')} packets, ${info.flows.toLocaleString('en-US')} flows) -> ${sink}: ` +
        `--no-model ${off.toLocaleString('en-US')} packets/s [${res.off.join(', ')}], model ${on.toLocaleString('en-US')} packets/s [${res.on.join(', ')}]: ` +
        `${(((on - off) / off) * 100).toFixed(1)} %; process CPU ${cOff.toFixed(2)} s -> ${cOn.toFixed(2)} s (+${(cOn - cOff).toFixed(2)} s, model load included)`);
    }
  }
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`load average at end: ${load()}`);
