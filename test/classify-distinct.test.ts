/**
 * The inference thread runs each model on a batch's distinct input rows only (input.ts DistinctRows): a flood's
 * repeated flows must get exactly the probabilities, bit for bit, that they get when no row repeats, and rows that
 * differ in any bit of any input (even +0 and -0) must be run apart.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Classifier } from '../src/classify/classifier.js';
import { DistinctRows } from '../src/classify/input.js';
import { DEFAULT_APP_MODEL_NAME, DEFAULT_MODEL_NAME, MODELS_DIR } from '../src/classify/model.js';
import { getProfile } from '../src/features/profiles.js';
import { newFlowRows, type FlowRows } from '../src/sinks/flow-rows.js';

describe('DistinctRows', () => {
  const W = 3;
  const rows = (values: number[][]): Float32Array => Float32Array.from(values.flat());

  it('keeps the first occurrence of each row, in order, and gives every row its distinct row back', () => {
    const x = rows([
      [1, 2, 3],
      [4, 5, 6],
      [1, 2, 3],
      [0, 0, 1],
      [-0, 0, 1], // -0 differs from 0 in its bits: run apart
      [4, 5, 6],
      [1, 2, 3.0000002], // one bit more in the last input
      [1, 2, 3],
    ]);
    const d = new DistinctRows();
    const r = d.reduce(x, 8, W);
    expect(r.count).toBe(5);
    expect(Array.from(r.rows)).toEqual([1, 2, 3, 4, 5, 6, 0, 0, 1, -0, 0, 1, 1, 2, Math.fround(3.0000002)]);
    // Two "classes" per distinct row: its number and ten times it.
    const perDistinct = Float32Array.from([0, 0, 1, 10, 2, 20, 3, 30, 4, 40]);
    expect(Array.from(d.expand(perDistinct, 2))).toEqual([0, 0, 1, 10, 0, 0, 2, 20, 3, 30, 1, 10, 4, 40, 0, 0]);
  });

  it('returns the batch itself when no row repeats, and reuses its arrays from batch to batch', () => {
    const d = new DistinctRows();
    const all = rows([
      [1, 1, 1],
      [2, 2, 2],
    ]);
    const r = d.reduce(all, 2, W);
    expect(r.rows).toBe(all);
    expect(r.count).toBe(2);
    const probs = Float32Array.from([0.25, 0.75, 0.5, 0.5]);
    expect(d.expand(probs, 2)).toBe(probs);
    // The next batch: the first row repeats 1,000 times after a distinct one; the table from before is cleared.
    const many = new Float32Array(1001 * W).fill(7);
    many.set([1, 1, 1], 0);
    const s = d.reduce(many, 1001, W);
    expect(s.count).toBe(2);
    expect(Array.from(d.expand(Float32Array.from([1, 2]), 1).slice(0, 3))).toEqual([1, 2, 2]);
  });
});

describe('the models on batches with repeated rows (the inference thread)', () => {
  const golden = JSON.parse(readFileSync(join(MODELS_DIR, 'train', `golden-${DEFAULT_MODEL_NAME}.json`), 'utf8')) as { rows: (number | string)[][] };
  const num = (v: number | string): number => (typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity);
  const F = getProfile('cic2017').columns.featureNames.length;
  /** A batch of the golden rows picked by `order` (indices into golden.rows), no server names, ports by golden row. */
  const batch = (order: number[]): FlowRows => {
    const features = new Float64Array(order.length * F);
    order.forEach((g, i) => golden.rows[g]!.forEach((v, j) => (features[i * F + j] = num(v))));
    return { ...newFlowRows(order.length, 0), count: order.length, features, kinds: new Uint8Array(order.length * F), dstPorts: Uint16Array.from(order, (g) => [53, 80, 443, 8080][g % 4]!), protocols: Uint8Array.from(order, (g) => (g % 3 === 0 ? 17 : 6)) };
  };
  const loaded: Classifier[] = [];
  afterAll(async () => {
    for (const c of loaded) await c.close();
  });

  it.each([DEFAULT_MODEL_NAME, DEFAULT_APP_MODEL_NAME])('%s: each row gets the probabilities it gets alone, bit for bit', async (name) => {
    const c = await Classifier.load(name);
    loaded.push(c);
    const C = c.classes.length;
    // Every golden row once, each in a batch of its own (nothing to share)...
    const alone: Float32Array[] = [];
    for (let g = 0; g < golden.rows.length; g++) alone.push(await c.probabilities(batch([g])));
    // ...and a 1,024-flow batch where each golden row repeats, in a scrambled order.
    const order = Array.from({ length: 1024 }, (_, i) => (i * 37 + ((i >> 4) % 5)) % golden.rows.length);
    const probs = await c.probabilities(batch(order));
    expect(probs.length).toBe(1024 * C);
    const bits = (p: Float32Array): number[] => Array.from(new Uint32Array(Float32Array.from(p).buffer));
    for (let i = 0; i < order.length; i++) expect(bits(probs.subarray(i * C, (i + 1) * C)), `row ${i} (golden ${order[i]})`).toEqual(bits(alone[order[i]!]!));
  });
});
