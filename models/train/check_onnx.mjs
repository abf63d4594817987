#!/usr/bin/env node
/**
 * Does the exported ONNX model, run by onnxruntime-node through the sensor's own Classifier (column picking by
 * name from the cic2017 profile, ports and protocol from the flow identity when the card takes them, the card's
 * NaN/Infinity replacement, float32), give what scikit-learn gave? The attack model (train.py) and the
 * application model (app_train.py) alike: the verdict compared is the one the sensor stores (`label` with the
 * card's alert threshold; `app_label`, the most probable group).
 *
 *   node models/train/check_onnx.mjs CHECK_DIR      (CHECK_DIR written by train.py or app_train.py --check-dir)
 *
 * Prints {"rows", "same_class", "ties", "max_abs_prob_diff"} as JSON; exits 1 when a verdict differs (other than
 * at a tie: two classes, or the best attack probability and the alert threshold, within 1e-6 in scikit-learn) or
 * a probability differs by more than 1e-5.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node models/train/check_onnx.mjs CHECK_DIR\n');
  process.exit(2);
}
const { Classifier } = await import(new URL('../../dist/classify/classifier.js', import.meta.url).href);
const { getProfile } = await import(new URL('../../dist/features/profiles.js', import.meta.url).href);
const { newFlowRows, numericIdentity, setServerNames } = await import(new URL('../../dist/engine/flow-batch.js', import.meta.url).href);
const { PayloadProtocol } = await import(new URL('../../dist/decode/payload-protocol.js', import.meta.url).href);

async function compare(checkDir) {
  const meta = JSON.parse(readFileSync(join(checkDir, 'meta.json'), 'utf8'));
  const f64 = (name) => {
    const b = readFileSync(join(checkDir, name));
    return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
  };
  const rows = f64('rows.f64');
  // The identity inputs (ports, protocol) of each row, when the card takes any: meta.identity names them.
  const identity = meta.identity ?? [];
  const ids = identity.length > 0 ? f64('ids.f64') : null;
  const I = identity.length;
  const want = f64('proba.f64');
  // The flows' server names (app_train.py writes them when the card takes `Server Name Class`), as the engine
  // hands them on: ASCII bytes, SERVER_NAME_MAX a row, and each row's length (0 = none).
  const names = existsSync(join(checkDir, 'names.json')) ? JSON.parse(readFileSync(join(checkDir, 'names.json'), 'utf8')) : null;
  // The flows' payload protocols by name (app_train.py), as the engine hands them on: its protocol id (0 = none).
  const protocols = existsSync(join(checkDir, 'payload-protocols.json')) ? JSON.parse(readFileSync(join(checkDir, 'payload-protocols.json'), 'utf8')) : null;
  const profile = getProfile('cic2017');
  const F = profile.columns.featureNames.length;
  if (meta.columns.length !== F) throw new Error(`check rows have ${meta.columns.length} columns, profile cic2017 has ${F}`);
  const c = await Classifier.load(meta.card);
  try {
    const C = c.classes.length;
    if (JSON.stringify(c.classes) !== JSON.stringify(meta.classes)) throw new Error(`card classes ${c.classes} != ${meta.classes}`);
    let same = 0;
    let ties = 0;
    let maxDiff = 0;
    const bad = [];
    const B = 1024;
    for (let start = 0; start < meta.rows; start += B) {
      const n = Math.min(B, meta.rows - start);
      const batch = newFlowRows(n, F);
      batch.count = n;
      batch.features.set(rows.subarray(start * F, (start + n) * F));
      for (let i = 0; i < n; i++) identity.forEach((field, k) => (numericIdentity(batch, field)[i] = ids[(start + i) * I + k]));
      if (names) setServerNames(batch, names.slice(start, start + n));
      if (protocols) {
        batch.payloadProtocol = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          const p = protocols[start + i];
          if (p !== null && PayloadProtocol[p] === undefined) throw new Error(`row ${start + i}: payload protocol "${p}" is not one the sensor recognises`);
          batch.payloadProtocol[i] = p === null ? 0 : PayloadProtocol[p];
        }
      }
      const probs = await c.probabilities(batch);
      await c.classify(batch);
      for (let i = 0; i < n; i++) {
        const r = start + i;
        const p = Array.from(want.subarray(r * C, (r + 1) * C));
        for (let k = 0; k < C; k++) maxDiff = Math.max(maxDiff, Math.abs(probs[i * C + k] - p[k]));
        // the verdict by the card's rule, which is what the sensor stores: `label` (alert threshold applied), or
        // an application model's `app_label`
        const sk = (meta.verdict ?? meta.predicted)[r];
        const stored = c.card.task === 'application' ? batch.appLabels : batch.labels;
        if (stored[i] === c.classes[sk]) same++;
        else {
          const sorted = [...p].sort((a, b) => b - a);
          const benign = c.classes.indexOf(meta.benign ?? 'BENIGN');
          const bestAttack = Math.max(...p.filter((_, k) => k !== benign));
          const atThreshold = meta.alert_threshold != null && Math.abs(bestAttack - meta.alert_threshold) < 1e-6;
          if (sorted[0] - sorted[1] < 1e-6 || atThreshold) ties++;
          else if (bad.length < 5) bad.push({ row: r, sklearn: c.classes[sk], onnx: stored[i], p });
        }
      }
    }
    return { rows: meta.rows, same_class: same, ties, max_abs_prob_diff: Number(maxDiff.toExponential(3)), disagreements: bad };
  } finally {
    await c.close();
  }
}

const r = await compare(dir);
process.stdout.write(JSON.stringify({ rows: r.rows, same_class: r.same_class, ties: r.ties, max_abs_prob_diff: r.max_abs_prob_diff }) + '\n');
if (r.disagreements.length > 0 || r.max_abs_prob_diff > 1e-5) {
  process.stderr.write(`disagreements: ${JSON.stringify(r.disagreements)}\n`);
  process.exit(1);
}
