/**
 * The inference thread runs each model on a batch's distinct input rows only (input.ts InputBuilder.distinct): a flood's
 * repeated flows must get exactly the probabilities, bit for bit, that they get when no row repeats, and rows that
 * differ in any bit of any input (even +0 and -0) must be run apart.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Classifier } from '../src/classify/classifier.js';
import { buildModelInput, InputBuilder, type DistinctRows, PAYLOAD_PROTOCOL_INPUT, SERVER_NAME_INPUT, type InputSpec } from '../src/classify/input.js';
import { DEFAULT_APP_MODEL_NAME, DEFAULT_MODEL_NAME, MODELS_DIR } from '../src/classify/model.js';
import { getProfile } from '../src/features/profiles.js';
import { newFlowRows, type FlowRows } from '../src/sinks/flow-rows.js';

describe('DistinctRows, as InputBuilder.distinct fills it', () => {
  const W = 3;
  const spec: InputSpec = { featureIndex: [0, 1, 2], identityIndex: [-1, -1, -1], preprocessing: { nan: -1, posinf: -1, neginf: -1, clip: null, scale: null }, serverNames: null };
  const features = (values: number[][]): Float64Array => Float64Array.from(values.flat());

  it('keeps the first occurrence of each row, in order, and gives every row its distinct row back', () => {
    const x = features([
      [1, 2, 3],
      [4, 5, 6],
      [1, 2, 3],
      [0, 0, 1],
      [-0, 0, 1], // -0 differs from 0 in its bits: run apart
      [4, 5, 6],
      [1, 2, 3.0000002], // one bit more in the last input
      [1, 2, 3],
    ]);
    const d = new InputBuilder([spec]).distinct(x, W, 8, null)[0]!;
    expect(d.kept).toBe(5);
    expect(Array.from(d.rows)).toEqual([1, 2, 3, 4, 5, 6, 0, 0, 1, -0, 0, 1, 1, 2, Math.fround(3.0000002)]);
    // Two "classes" per distinct row: its number and ten times it.
    const perDistinct = Float32Array.from([0, 0, 1, 10, 2, 20, 3, 30, 4, 40]);
    expect(Array.from(d.expand(perDistinct, 2))).toEqual([0, 0, 1, 10, 0, 0, 2, 20, 3, 30, 1, 10, 4, 40, 0, 0]);
  });

  it('keeps every row when none repeats, and reuses its arrays from batch to batch', () => {
    const builder = new InputBuilder([spec]);
    // A first batch: the first row, then another repeated 1,000 times.
    const many = new Float64Array(1001 * W).fill(7);
    many.set([1, 1, 1], 0);
    const s = builder.distinct(many, W, 1001, null)[0]!;
    expect(s.kept).toBe(2);
    const firstRows = s.rows.buffer;
    expect(Array.from(s.expand(Float32Array.from([1, 2]), 1).slice(0, 3))).toEqual([1, 2, 2]);
    // The next batch: no row repeats; the table from before is cleared, the arrays are the same.
    const r = builder.distinct(features([[7, 7, 7], [2, 2, 2]]), W, 2, null)[0]!;
    expect(r.kept).toBe(2);
    expect(Array.from(r.rows)).toEqual([7, 7, 7, 2, 2, 2]);
    expect(r.rows.buffer).toBe(firstRows);
    const probs = Float32Array.from([0.25, 0.75, 0.5, 0.5]);
    expect(Array.from(r.expand(probs, 2))).toEqual([0.25, 0.75, 0.5, 0.5]);
  });
});

describe('InputBuilder.distinct (the inference thread: each distinct row built once)', () => {
  // Three inputs: feature column 2, feature column 0, and the identity matrix's column 0 (a port); NaN and
  // ±Infinity replaced by -1, as the default models' cards say.
  const spec: InputSpec = { featureIndex: [2, 0, -1], identityIndex: [-1, -1, 0], preprocessing: { nan: -1, posinf: -1, neginf: -1, clip: null, scale: null }, serverNames: null };
  const F = 4;
  /** Every row's input from the distinct rows (each row's own input back), as 32-bit words. */
  const perRow = (d: DistinctRows): number[] => Array.from(new Uint32Array(d.expand(d.rows, 3).buffer));
  const built = (features: Float64Array, count: number, identity: Float64Array): number[] => Array.from(new Uint32Array(Float32Array.from(buildModelInput(features, F, count, identity, spec)).buffer));

  it('gives every row exactly the input it is built alone, and runs each distinct input once', () => {
    const features = Float64Array.from(
      [
        [5, 0, 1, 0], // row 0
        [5, 9, 1, 0], // column 1 is not an input: same input as row 0
        [6, 0, 1, 0],
        [5, 0, 1, 0], // row 0 again
        [-0, 0, 1, 0], // -0 and 0 differ in their bits: run apart
        [5, 0, NaN, 0],
        [5, 0, NaN, 0], // another NaN (its payload set below): both become -1, but their sources differ, so they run apart
        [5, 0, Infinity, 0],
        [5, 0, 1, 0], // row 0 with another port (below): run apart
        [5, 0, NaN, 0], // row 5 again
      ].flat(),
    );
    const count = features.length / F;
    new Uint32Array(features.buffer)[2 * (6 * F + 2)] = 1; // row 6's NaN: another payload (a JS NaN value may be canonicalised)
    const identity = Float64Array.from([80, 80, 80, 80, 80, 80, 80, 80, 443, 80].flatMap((port) => [port, 0]));
    const d = new InputBuilder([spec]).distinct(features, F, count, identity)[0]!;
    expect(d.kept).toBe(7);
    expect(Array.from(d.of.subarray(0, count))).toEqual([0, 0, 1, 0, 2, 3, 4, 5, 6, 3]);
    expect(perRow(d)).toEqual(built(features, count, identity));
  });

  it('matches the rows built one by one on a batch of many repeats, with a server name input, batch after batch', () => {
    // Also a Payload Protocol Class input: the engine's protocol id in identity column 1, looked up in the card's list.
    const names: InputSpec = {
      ...spec,
      featureIndex: [1, SERVER_NAME_INPUT, 3, -1, PAYLOAD_PROTOCOL_INPUT],
      identityIndex: [-1, -1, -1, 0, 1],
      serverNames: { suffixes: [['example.com', 0], ['video.net', 1]], classes: 2 },
      payloadProtocols: [0, 3, 1, 2],
    };
    const builder = new InputBuilder([spec, names]);
    const specials = [NaN, Infinity, -Infinity, -0, 0, 1e300, 3.0000001, 3];
    let seed = 7;
    const random = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    for (const count of [1024, 333, 1024]) {
      const features = new Float64Array(count * F);
      const identity = new Float64Array(count * 2);
      const lengths = new Uint8Array(count);
      const text: string[] = [];
      for (let i = 0; i < count; i++) {
        for (let j = 0; j < F; j++) features[i * F + j] = specials[random(specials.length)]! * (random(3) === 0 ? 1 : 0.5);
        identity[2 * i] = [53, 80, 443][random(3)]!;
        identity[2 * i + 1] = random(4);
        const name = ['', 'a.example.com', 'video.net', 'other.org'][random(4)]!;
        lengths[i] = name.length;
        text.push(name);
      }
      const bytes = Uint8Array.from(text.join(''), (c) => c.charCodeAt(0));
      const [a, b] = builder.distinct(features, F, count, identity, { lengths, bytes });
      expect(a!.kept).toBeLessThan(count / 2);
      expect(perRow(a!)).toEqual(built(features, count, identity));
      const alone = buildModelInput(features, F, count, identity, names, { lengths, bytes });
      expect(Array.from(new Uint32Array(b!.expand(b!.rows, 5).buffer))).toEqual(Array.from(new Uint32Array(Float32Array.from(alone).buffer)));
    }
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
