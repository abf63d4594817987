// End of capture in slices (Engine.finishSome, what the pipeline calls so that the model and the outputs start on
// the first batches of a flood while the engine ends the rest): the same flows, in the same order, as finish().
import { describe, expect, it } from 'vitest';
import { ethIpv4Tcp, ethIpv4Udp, Flags } from './helpers/frames.js';
import { runEngine, type TimedFrame } from './engine-harness.js';

const T0 = 1_700_000_000_000_000;

/** A SYN flood's kind of traffic: `n` SYNs from distinct ports that never get an answer, plus a UDP exchange. */
function flood(n: number): TimedFrame[] {
  const frames: TimedFrame[] = [];
  for (let i = 0; i < n; i++) {
    const src = `10.0.${i % 3}.${1 + (i % 200)}`;
    for (let k = 0; k < 2; k++) {
      frames.push({ tsUs: T0 + i * 1000 + k * 300, data: ethIpv4Tcp({ sport: 1024 + i, dport: 80, flags: Flags.SYN }, [], { src, dst: '10.9.9.9' }) });
    }
  }
  frames.push({ tsUs: T0 + n * 1000, data: ethIpv4Udp({ sport: 53, dport: 5353 }, new Uint8Array(20), { src: '10.9.9.9', dst: '10.0.0.1' }) });
  frames.push({ tsUs: T0 + n * 1000 + 5, data: ethIpv4Udp({ sport: 5353, dport: 53 }, new Uint8Array(30), { src: '10.0.0.1', dst: '10.9.9.9' }) });
  return frames;
}

describe('finishSome', () => {
  for (const profile of ['cic', 'fixed', 'cic2017'] as const) {
    it(`${profile}: ends at most the budget of flows per call and writes what finish() writes`, () => {
      const frames = flood(45);
      const whole = runEngine(profile, frames);
      const sliced = runEngine(profile, frames, { finishSlice: 7 });
      expect(whole.flows.length).toBe(46);
      expect(sliced.flows).toEqual(whole.flows);
      expect({ ...sliced, flows: [], finishSlices: undefined }).toEqual({ ...whole, flows: [], finishSlices: undefined });
      // 46 open flows, 7 a call: six full slices, then the last 4 and done.
      expect(sliced.finishSlices).toEqual([7, 7, 7, 7, 7, 7, 4]);
    });
  }
});
