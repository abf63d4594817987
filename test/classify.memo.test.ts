/**
 * ProbabilityMemo (src/classify/memo.ts): the application model's probabilities remembered per combination of its
 * identity inputs. What a user relies on: every flow gets exactly the probabilities the session would give it, and
 * the session is asked only about combinations not seen before.
 */
import { describe, expect, it } from 'vitest';
import { ProbabilityMemo } from '../src/classify/memo.js';

const C = 3;
/** A stand-in session: probabilities that depend on the row's inputs only, and a log of the rows it was given. */
function session(W: number) {
  const asked: number[][] = [];
  const probsOf = (row: ArrayLike<number>): number[] => {
    const s = Array.from(row).reduce((a, v, j) => a + v * (j + 1), 0);
    return [s % 7, (s * 3) % 11, 1 / (1 + s)].map(Math.fround);
  };
  const run = async (x: Float32Array, n: number): Promise<Float32Array> => {
    const out = new Float32Array(n * C);
    for (let i = 0; i < n; i++) {
      const row = x.subarray(i * W, i * W + W);
      asked.push(Array.from(row));
      out.set(probsOf(row), i * C);
    }
    return out;
  };
  return { asked, run, probsOf };
}

/** identity matrix [count × 3] (srcPort, dstPort, protocol) and the model's input [count × 2] = (dstPort, protocol). */
function batch(rows: [number, number, number][]) {
  const identity = Float64Array.from(rows.flat());
  const input = Float32Array.from(rows.flatMap(([, d, p]) => [d, p]));
  return { count: rows.length, identity, input };
}

describe('ProbabilityMemo', () => {
  it('gives every row the session\'s probabilities, asking the session once per new combination of inputs', async () => {
    const s = session(2);
    const memo = new ProbabilityMemo(C, Int32Array.from([1, 2]));
    const b1 = batch([[1000, 443, 6], [1001, 443, 6], [1002, 53, 17], [1003, 443, 6], [1004, 53, 6]]);
    const p1 = await memo.probabilities(b1.count, b1.identity, 3, b1.input, s.run);
    const b2 = batch([[7, 53, 17], [8, 80, 6], [9, 443, 6], [10, 80, 6]]);
    const p2 = await memo.probabilities(b2.count, b2.identity, 3, b2.input, s.run);
    for (const [b, p] of [[b1, p1], [b2, p2]] as const) {
      for (let i = 0; i < b.count; i++) expect(Array.from(p!.subarray(i * C, i * C + C))).toEqual(s.probsOf(b.input.subarray(i * 2, i * 2 + 2)));
    }
    // Source ports differ on every row but are not inputs: only (443,6), (53,17), (53,6), then (80,6) are computed.
    expect(s.asked).toEqual([[443, 6], [53, 17], [53, 6], [80, 6]]);
    expect(memo.entries).toBe(4);
  });

  it('computes, without remembering, values that are not ports or protocols; returns null when the session\'s output is not the classes\' width', async () => {
    const s = session(1);
    const memo = new ProbabilityMemo(C, Int32Array.from([0]));
    const b = { count: 3, identity: Float64Array.from([2.5, -1, 2.5]), input: Float32Array.from([2.5, -1, 2.5]) };
    const p = await memo.probabilities(b.count, b.identity, 1, b.input, s.run);
    expect(Array.from(p!)).toEqual([2.5, -1, 2.5].flatMap((v) => s.probsOf([v])));
    expect(s.asked).toEqual([[2.5], [-1], [2.5]]);
    expect(memo.entries).toBe(0);
    const wide = new ProbabilityMemo(C + 1, Int32Array.from([0]));
    expect(await wide.probabilities(1, Float64Array.from([5]), 1, Float32Array.from([5]), s.run)).toBeNull();
  });

  it('stops paying its way when most rows are new combinations (a model that reads the client port): no longer useful', async () => {
    const s = session(2);
    const rows = (port: (i: number) => number) => batch(Array.from({ length: 1024 }, (_, i): [number, number, number] => [5000, port(i), 6]));
    const kept = new ProbabilityMemo(C, Int32Array.from([1, 2]));
    for (let b = 0; b < 8; b++) {
      const x = rows(() => 443);
      await kept.probabilities(x.count, x.identity, 3, x.input, s.run);
    }
    expect(kept.useful).toBe(true);
    const dropped = new ProbabilityMemo(C, Int32Array.from([1, 2]));
    for (let b = 0; b < 8; b++) {
      const x = rows((i) => 1024 + b * 1024 + i); // a new port on every flow
      const p = await dropped.probabilities(x.count, x.identity, 3, x.input, s.run);
      for (let i = 0; i < x.count; i++) expect(Array.from(p!.subarray(i * C, i * C + C))).toEqual(s.probsOf(x.input.subarray(i * 2, i * 2 + 2)));
    }
    expect(dropped.useful).toBe(false);
  });

  it('applies only to models whose inputs are all identity values (1 to 3 of them)', () => {
    expect(ProbabilityMemo.applies([-1, -1], [0, 1])).toBe(true);
    expect(ProbabilityMemo.applies([-1, 4], [0, -1])).toBe(false);
    expect(ProbabilityMemo.applies([3, 4], [-1, -1])).toBe(false);
    expect(ProbabilityMemo.applies([-1, -1, -1, -1], [0, 1, 2, 3])).toBe(false);
  });
});
