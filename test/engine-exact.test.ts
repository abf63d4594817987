/**
 * One small flow worked out by hand, every cell of interest at its exact value (profile `cic`), and the
 * accumulators' running statistics (Welford, as Commons-Math does it) against a plain two-pass computation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { statAdd } from '../src/features/accumulators.js';
import { Stat } from '../src/features/flow-state.js';
import { ethIpv4Tcp, Flags } from './helpers/frames.js';
import { runEngine, type TimedFrame } from './engine-harness.js';

const T0 = 1_700_000_000_000_000; // 2023-11-14 22:13:20 UTC (a PM hour: 10:13:20 PM)
const { ACK, PSH } = Flags;

function tcp(us: number, fromClient: boolean, flags: number, payload: number, window: number): TimedFrame {
  const [sp, dp, src, dst] = fromClient ? [40000, 80, '10.0.0.1', '10.0.0.2'] : [80, 40000, '10.0.0.2', '10.0.0.1'];
  return { tsUs: T0 + us, data: ethIpv4Tcp({ sport: sp, dport: dp, flags, window }, new Uint8Array(payload), { src, dst }) };
}

describe('a four-packet flow, every value by hand (cic)', () => {
  // t (µs)   dir  flags    payload  window
  //       0  fwd  PSH|ACK      100    1000
  //   1,000  bwd  ACK          200    2000
  //   4,000  fwd  ACK            0    1000
  //  10,000  bwd  PSH|ACK      300    3000
  const flows = runEngine('cic', [
    tcp(0, true, PSH | ACK, 100, 1000),
    tcp(1000, false, ACK, 200, 2000),
    tcp(4000, true, ACK, 0, 1000),
    tcp(10_000, false, PSH | ACK, 300, 3000),
  ]).flows;

  it('is one flow written at end of capture', () => {
    expect(flows.length).toBe(1);
    expect(flows[0]!.id).toMatchObject({ flowId: '10.0.0.1-10.0.0.2-40000-80-6', srcPort: 40000, dstPort: 80, protocol: 6, timestamp: '14/11/2023 10:13:20 PM' });
  });

  it('has the values of the rules, cell by cell', () => {
    const f = flows[0]!.f;
    expect(f).toMatchObject({
      'Flow Duration': 10_000, // last - first
      'Total Fwd Packet': 2,
      'Total Bwd packets': 2,
      'Total Length of Fwd Packet': 100, // 100 + 0
      'Total Length of Bwd Packet': 500, // 200 + 300
      'Fwd Packet Length Max': 100,
      'Fwd Packet Length Min': 0,
      'Fwd Packet Length Mean': 50,
      'Bwd Packet Length Mean': 250,
      'Flow Bytes/s': 60_000, // 600 bytes / 0.01 s
      'Flow Packets/s': 400, // 4 / 0.01 s
      'Flow IAT Max': 6000, // gaps 1000, 3000, 6000
      'Flow IAT Min': 1000,
      'Fwd IAT Total': 4000, // one forward gap
      'Fwd IAT Mean': 4000,
      'Fwd IAT Std': 0, // one sample: 0
      'Bwd IAT Total': 9000,
      'Fwd PSH Flags': 1, // the first packet only (bug 3)
      'Bwd PSH Flags': 0,
      'Fwd Header Length': 40, // 2 × 20-byte TCP headers
      'Bwd Header Length': 40,
      'Fwd Packets/s': 200, // 2 / 0.01 s
      'Bwd Packets/s': 200,
      // Packet Length over 100 (the first payload twice, bug 5), 100, 200, 0, 300: n = 5, Σ 700, mean 140.
      'Packet Length Min': 0,
      'Packet Length Max': 300,
      'Packet Length Mean': 140,
      'PSH Flag Count': 2,
      'ACK Flag Count': 4,
      'Down/Up Ratio': 1, // 2 / 2
      'Average Packet Size': 175, // Σ 700 of the Packet Length samples / 4 packets
      'Fwd Segment Size Avg': 50,
      'Bwd Segment Size Avg': 250,
      'Subflow Fwd Packets': 0, // no gap over 1 s: sfCount 0 gives 0
      'FWD Init Win Bytes': 1000,
      'Bwd Init Win Bytes': 3000, // the last backward window (bug 8)
      'Fwd Act Data Pkts': 0, // the first packet is left out (bug 12) and the other forward one has no payload
      'Fwd Seg Size Min': 20, // the minimum TCP header length
      'Idle Mean': 0,
    });
    // Packet Length variance: deviations from 140 are -40, -40, 60, -140, 160; squares 1600 + 1600 + 3600 +
    // 19600 + 25600 = 52000; sample variance 52000 / 4 = 13000; std √13000.
    expect(f['Packet Length Variance']).toBeCloseTo(13_000, 9);
    expect(f['Packet Length Std']).toBeCloseTo(Math.sqrt(13_000), 9);
    // Flow IAT mean 10000/3 (Welford's running mean is within an ulp of the division).
    expect(f['Flow IAT Mean']).toBeCloseTo(10_000 / 3, 9);
    // Flow IAT std: mean 10000/3; deviations -7000/3, -1000/3, 8000/3; squares sum 114e6/9; / 2 = 57e6/9.
    expect(f['Flow IAT Std']).toBeCloseTo(Math.sqrt(57e6 / 9), 6);
    // Bwd IAT: a single gap of 9000.
    expect([f['Bwd IAT Mean'], f['Bwd IAT Max'], f['Bwd IAT Min']]).toEqual([9000, 9000, 9000]);
    // Kinds: counts print as Java longs, statistics as doubles.
    expect([flows[0]!.kind['Flow Duration'], flows[0]!.kind['Fwd Packet Length Mean'], flows[0]!.kind['Fwd Header Length']]).toEqual([0, 1, 0]);
  });
});

describe('running statistics (statAdd) against a two-pass computation', () => {
  it('n, sum, mean, M2, min and max agree for any samples', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e9, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 200 }), (xs) => {
        const st = new Float64Array(Stat.WIDTH);
        for (const x of xs) statAdd(st, 0, x);
        const n = xs.length;
        const sum = xs.reduce((a, b) => a + b, 0);
        const mean = sum / n;
        const m2 = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
        const scale = Math.max(1, ...xs.map(Math.abs));
        expect(st[Stat.N]).toBe(n);
        expect(st[Stat.MIN]).toBe(Math.min(...xs));
        expect(st[Stat.MAX]).toBe(Math.max(...xs));
        expect(Math.abs(st[Stat.SUM]! - sum)).toBeLessThanOrEqual(1e-9 * scale * n);
        expect(Math.abs(st[Stat.MEAN]! - mean)).toBeLessThanOrEqual(1e-9 * scale);
        // M2 is a sum of squares: relative to its own size, or to the scale² when the samples are (nearly) equal.
        expect(Math.abs(st[Stat.M2]! - m2)).toBeLessThanOrEqual(1e-8 * Math.max(m2, scale * scale * 1e-6) * n);
      }),
      { numRuns: 300 },
    );
  });

  it('is exact on integers small enough (packet sizes, µs gaps)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 65_535 }), { minLength: 1, maxLength: 100 }), (xs) => {
        const st = new Float64Array(Stat.WIDTH);
        for (const x of xs) statAdd(st, 0, x);
        const n = xs.length;
        const sum = xs.reduce((a, b) => a + b, 0);
        expect(st[Stat.SUM]).toBe(sum);
        // The sample variance from the two-pass sum of squares, within float rounding.
        const mean = sum / n;
        const m2 = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
        expect(Math.abs(st[Stat.M2]! - m2)).toBeLessThanOrEqual(1e-9 * Math.max(1, m2));
      }),
    );
  });
});
