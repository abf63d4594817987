/**
 * The shipped model against scikit-learn: models/train/golden-cic2017-attack.json holds held-out rows (raw cic2017
 * profile columns, NaN/Infinity included) with the probabilities scikit-learn's predict_proba gave when the model
 * was trained. The sensor's Classifier (column picking, NaN/Infinity replacement, float32, onnxruntime in its
 * worker) must give the same class and probabilities within 1e-5. No Python needed.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Classifier } from '../src/classify/classifier.js';
import { getProfile } from '../src/features/profiles.js';
import { newFlowRows, type FlowRows } from '../src/sinks/flow-rows.js';
import { ensureBuilt } from './setup/build.js';

interface Golden {
  columns: string[];
  classes: string[];
  alert_threshold: number | null;
  rows: (number | string)[][];
  labels: string[];
  proba: number[][];
}
const golden = JSON.parse(readFileSync(new URL('../models/train/golden-cic2017-attack.json', import.meta.url), 'utf8')) as Golden;
/** The shipped model as the sensor names it: `name@version` from its card. */
const MODEL_ID = `cic2017-attack@${(JSON.parse(readFileSync(new URL('../models/cic2017-attack.json', import.meta.url), 'utf8')) as { version: string }).version}`;
const num = (v: number | string): number => (typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity);

function batch(): FlowRows {
  const F = getProfile('cic2017').columns.featureNames.length;
  const features = new Float64Array(golden.rows.length * F);
  golden.rows.forEach((r, i) => r.forEach((v, j) => (features[i * F + j] = num(v))));
  return { ...newFlowRows(golden.rows.length, 0), count: golden.rows.length, features, kinds: new Uint8Array(golden.rows.length * F) };
}

beforeAll(async () => {
  await ensureBuilt(['src/classify/worker.ts']);
});

describe('shipped model cic2017-attack', () => {
  let c: Classifier;
  beforeAll(async () => {
    c = await Classifier.load('models/cic2017-attack.onnx');
  });
  afterAll(async () => c?.close());

  it('golden rows are raw cic2017 rows, some with NaN/Infinity, every class present', () => {
    expect(golden.columns).toHaveLength(getProfile('cic2017').columns.featureNames.length);
    expect(golden.rows.some((r) => r.some((v) => typeof v === 'string'))).toBe(true);
    expect(new Set(golden.labels)).toEqual(new Set(c.classes));
  });

  it('gives scikit-learn\'s probabilities (within 1e-5) and the card rule\'s verdict on every golden row', async () => {
    const rows = batch();
    const probs = await c.probabilities(rows);
    await c.classify(rows);
    const C = c.classes.length;
    expect(c.classes).toEqual(golden.classes);
    expect(c.threshold).toBe(golden.alert_threshold);
    const benign = golden.classes.indexOf('BENIGN');
    golden.proba.forEach((want, i) => {
      for (let k = 0; k < C; k++) expect(Math.abs(probs[i * C + k]! - want[k]!), `row ${i} class ${golden.classes[k]}`).toBeLessThan(1e-5);
      // The verdict contract, from scikit-learn's probabilities: the best attack class when it reaches the threshold.
      const attack = want.reduce((a, p, k) => (k !== benign && (a < 0 || p > want[a]!) ? k : a), -1);
      const t = golden.alert_threshold;
      if (t !== null && Math.abs(want[attack]! - t) < 1e-6) return; // on the line: float32 may fall either side
      const verdict = t === null ? want.indexOf(Math.max(...want)) : want[attack]! >= t ? attack : benign;
      expect(rows.labels![i], `row ${i}`).toBe(golden.classes[verdict]);
      expect(rows.scores![i]).toBeCloseTo(want[verdict]!, 5);
      // The best attack class, or one within float32 noise of it (most rows give every attack class ~1e-9).
      const nearBest = golden.classes.filter((_, k) => k !== benign && want[attack]! - want[k]! < 1e-5);
      expect(nearBest, `row ${i}`).toContain(rows.attackLabels![i]);
      expect(rows.attackScores![i]).toBeCloseTo(want[attack]!, 5);
    });
    expect(rows.model).toBe(MODEL_ID);
  });

  it('a card that names the same inputs in 2018 and leading-space 2017 spellings gives the same verdicts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sensor-model-'));
    const card = JSON.parse(readFileSync('models/cic2017-attack.json', 'utf8')) as { inputs: string[]; drift_reference: { features: Record<string, unknown> } };
    const spell2018: Record<string, string> = { 'Total Fwd Packets': 'Tot Fwd Pkts', 'Total Backward Packets': 'Tot Bwd Pkts', 'Flow Bytes/s': 'Flow Byts/s', 'Init_Win_bytes_backward': 'Init Bwd Win Byts' };
    const respelled = card.inputs.map((n, i) => spell2018[n] ?? (i % 2 === 0 ? ` ${n}` : n));
    // The drift reference is keyed by the card's input names as spelled there: a card written in these
    // spellings has them there too.
    card.drift_reference.features = Object.fromEntries(card.inputs.map((n, i) => [respelled[i]!, card.drift_reference.features[n]]));
    card.inputs = respelled;
    expect(card.inputs.filter((n) => Object.values(spell2018).includes(n))).toHaveLength(Object.keys(spell2018).length);
    writeFileSync(join(dir, 'm.json'), JSON.stringify(card));
    copyFileSync('models/cic2017-attack.onnx', join(dir, 'm.onnx'));
    const other = await Classifier.load(join(dir, 'm.onnx'));
    try {
      const a = batch();
      const b = batch();
      await c.classify(a);
      await other.classify(b);
      expect(b.labels).toEqual(a.labels);
      expect(Array.from(b.scores!)).toEqual(Array.from(a.scores!));
    } finally {
      await other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
