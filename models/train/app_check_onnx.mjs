#!/usr/bin/env node
/**
 * Does the exported application model, run by onnxruntime-node through the sensor's own Classifier (columns picked
 * by name from the cic2017 profile, ports and protocol from the flow identity, the card's NaN/Infinity
 * replacement, float32), give what scikit-learn gave? Every row app_train.py wrote to CHECK_DIR.
 *
 *   node models/train/app_check_onnx.mjs CHECK_DIR      (CHECK_DIR written by app_train.py --check-dir)
 *
 * Prints {"rows", "same_class", "ties", "max_abs_prob_diff"} as JSON; exits 1 when a verdict (the argmax) differs
 * other than at a tie (the two best classes within 1e-6 in scikit-learn) or a probability differs by more than 1e-5.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node models/train/app_check_onnx.mjs CHECK_DIR\n');
  process.exit(2);
}
const { Classifier } = await import(new URL('../../dist/classify/classifier.js', import.meta.url).href);
const { getProfile } = await import(new URL('../../dist/features/profiles.js', import.meta.url).href);
const { newFlowRows, numericIdentity } = await import(new URL('../../dist/engine/flow-batch.js', import.meta.url).href);

const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
const f64 = (name) => {
  const b = readFileSync(join(dir, name));
  return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
};
const rows = f64('rows.f64');
const ids = f64('ids.f64');
const want = f64('proba.f64');
const F = getProfile('cic2017').columns.featureNames.length;
if (meta.columns.length !== F) throw new Error(`check rows have ${meta.columns.length} columns, profile cic2017 has ${F}`);
const I = meta.identity.length;
const c = await Classifier.load(meta.card);
let same = 0;
let ties = 0;
let maxDiff = 0;
const bad = [];
try {
  const C = c.classes.length;
  if (JSON.stringify(c.classes) !== JSON.stringify(meta.classes)) throw new Error(`card classes ${c.classes} != ${meta.classes}`);
  const B = 1024;
  for (let start = 0; start < meta.rows; start += B) {
    const n = Math.min(B, meta.rows - start);
    const batch = newFlowRows(n, F);
    batch.count = n;
    batch.features.set(rows.subarray(start * F, (start + n) * F));
    for (let i = 0; i < n; i++) meta.identity.forEach((field, k) => (numericIdentity(batch, field)[i] = ids[(start + i) * I + k]));
    const probs = await c.probabilities(batch);
    for (let i = 0; i < n; i++) {
      const r = start + i;
      const p = Array.from(want.subarray(r * C, (r + 1) * C));
      let best = 0;
      for (let k = 0; k < C; k++) {
        maxDiff = Math.max(maxDiff, Math.abs(probs[i * C + k] - p[k]));
        if (probs[i * C + k] > probs[i * C + best]) best = k;
      }
      if (best === meta.predicted[r]) same++;
      else {
        const sorted = [...p].sort((a, b) => b - a);
        if (sorted[0] - sorted[1] < 1e-6) ties++;
        else if (bad.length < 5) bad.push({ row: r, sklearn: c.classes[meta.predicted[r]], onnx: c.classes[best], p });
      }
    }
  }
} finally {
  await c.close();
}
process.stdout.write(JSON.stringify({ rows: meta.rows, same_class: same, ties, max_abs_prob_diff: Number(maxDiff.toExponential(3)) }) + '\n');
if (bad.length > 0 || maxDiff > 1e-5) {
  process.stderr.write(`disagreements: ${JSON.stringify(bad)}\n`);
  process.exit(1);
}
