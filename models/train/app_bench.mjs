#!/usr/bin/env node
/**
 * Inference throughput of the application model, as the sensor runs it: the Classifier (onnxruntime-node in its
 * worker thread, 1 intra-op thread), one batch at a time, on the rows app_train.py wrote to CHECK_DIR (real
 * flows with their ports and protocol). Also the attack model on the same rows, and both one after the other
 * (what a run with both models does per batch), so the two can be compared with replay packets/s.
 *
 *   node models/train/app_bench.mjs CHECK_DIR [--app models/cic2017-app.json] [--attack models/cic2017-attack.json] [--seconds 3]
 *
 * Prints one line per (model, batch size): flows/s, and the load average (a shared machine is noisy).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const dir = args[0];
if (!dir || dir.startsWith('--')) {
  process.stderr.write('usage: node models/train/app_bench.mjs CHECK_DIR [--app CARD] [--attack CARD] [--seconds S]\n');
  process.exit(2);
}
const opt = (name, dflt) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : dflt);
const root = new URL('../../', import.meta.url);
const { Classifier } = await import(new URL('dist/classify/classifier.js', root).href);
const { getProfile } = await import(new URL('dist/features/profiles.js', root).href);
const { newFlowRows, numericIdentity } = await import(new URL('dist/engine/flow-batch.js', root).href);
const appCard = opt('app', new URL('models/cic2017-app.json', root).pathname);
const attackCard = opt('attack', new URL('models/cic2017-attack.json', root).pathname);
const seconds = Number(opt('seconds', '3'));

const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
const f64 = (name) => {
  const b = readFileSync(join(dir, name));
  return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
};
const rows = f64('rows.f64');
const ids = f64('ids.f64');
const F = getProfile('cic2017').columns.featureNames.length;
const I = meta.identity.length;

/** A batch of `n` flows cycling through the check rows (a fresh features array: classify() lends it away). */
function batch(n) {
  const b = newFlowRows(n, F);
  b.count = n;
  for (let i = 0; i < n; i++) {
    const r = i % meta.rows;
    b.features.set(rows.subarray(r * F, (r + 1) * F), i * F);
    meta.identity.forEach((field, k) => (numericIdentity(b, field)[i] = ids[r * I + k]));
  }
  return b;
}

async function rate(models, n) {
  const b = batch(n);
  for (let i = 0; i < 5; i++) for (const m of models) await m.probabilities({ ...b, features: b.features.slice() });
  let flows = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (const m of models) await m.probabilities({ ...b, features: b.features.slice() });
    flows += n;
  }
  return flows / ((performance.now() - t0) / 1000);
}

console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${meta.rows} distinct rows`);
const app = await Classifier.load(appCard);
const attack = await Classifier.load(attackCard);
try {
  for (const n of [1024, 4096]) {
    for (const [name, models] of [[app.id, [app]], [attack.id, [attack]], ['both', [app, attack]]]) {
      console.log(`${name.padEnd(22)} batch ${String(n).padStart(4)}: ${Math.round(await rate(models, n)).toLocaleString('en-US')} flows/s`);
    }
  }
} finally {
  await app.close();
  await attack.close();
}
