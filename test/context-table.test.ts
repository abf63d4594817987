/**
 * The context stage's key tables (src/classify/context.ts: KeyTable, DistinctValues) against the plainest model of
 * what they must do (a Map of counts with its keys in first-seen order, a Set of values): open addressing is right
 * only if lookups, evictions (backward-shift deletion) and growth keep every key findable, whatever the hashes. The
 * hashes here are chosen to collide (every key on one or three slots, at the end of the slots so that probing wraps
 * around to the start), besides well-spread ones.
 */
import { describe, expect, it } from 'vitest';
import { BEFORE_WORDS, B_COUNT, B_SPAN_US, COUNT, DistinctValues, EPOCH_START_US, FIRED, HAS_BEFORE, KeyTable } from '../src/classify/context.js';

/** A seeded generator (mulberry32), for a fixed random sequence of keys. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HASHES: [string, (k: number) => number][] = [
  ['one hash for all (the last slot: every probe run wraps)', () => -1],
  ['three hashes at the end of the slots', (k) => -1 - (k % 3)],
  ['spread', (k) => Math.imul(k + 1, 0x9e3779b1)],
];

/** A key of `words` words made from `k`: keys that differ only in their last word. */
function keyOf(k: number, words: number): Uint32Array {
  const key = new Uint32Array(words).fill(7);
  key[words - 1] = k;
  return key;
}

describe('context KeyTable (open addressing, first-seen eviction)', () => {
  const cases = [...HASHES.flatMap(([name, hash]) => [1, 5, 16, 1100].map((maxKeys) => ({ name, hash, maxKeys }))), { name: HASHES[2]![0], hash: HASHES[2]![1], maxKeys: 70000 }];
  for (const { name, hash, maxKeys } of cases) {
    {
      it(`${name}, maxKeys ${maxKeys}: every key tracked is found with its count, the oldest forgotten first`, () => {
        const words = 9;
        const t = new KeyTable(words, 1e15, maxKeys);
        const counts = new Map<number, number>(); // insertion order = first-seen order
        let evicted = 0;
        const next = random(maxKeys);
        const universe = maxKeys * 3;
        // 70,000: past the entries a table starts with (65,536), so it grows (and rehashes) once.
        const steps = maxKeys > 1024 ? maxKeys * 2 : 3000;
        let wrong = 0;
        for (let step = 0; step < steps; step++) {
          const k = Math.floor(next() * universe);
          const e = t.touch(keyOf(k, words), hash(k), step);
          t.state[e * t.rec + COUNT]++;
          if (!counts.has(k)) {
            if (counts.size === maxKeys) {
              counts.delete(counts.keys().next().value!);
              evicted++;
            }
            counts.set(k, 0);
          }
          counts.set(k, counts.get(k)! + 1);
          if (t.state[e * t.rec + COUNT] !== counts.get(k)) wrong++;
          if (step % (maxKeys > 1024 ? maxKeys : 97) === 0 || step === steps - 1) {
            expect([t.size, t.evicted]).toEqual([counts.size, evicted]);
            for (let j = 0; j < universe; j++) {
              const found = t.find(keyOf(j, words), hash(j));
              if ((found >= 0 ? t.state[found * t.rec + COUNT] : undefined) !== counts.get(j)) wrong++;
            }
            expect(wrong).toBe(0);
          }
        }
        expect(evicted).toBeGreaterThan(0);
      });
    }
  }

  it('the same key evicted and seen again starts afresh, as a new key, in the newest place', () => {
    const t = new KeyTable(5, 1e15, 2);
    const [a, b, c] = [1, 2, 3].map((k) => keyOf(k, 5));
    const ea = t.touch(a!, 0, 0);
    t.state[ea * t.rec + COUNT] = 10;
    t.state[ea * t.rec + FIRED] = 1;
    t.touch(b!, 0, 1);
    t.touch(c!, 0, 2); // forgets a
    expect(t.find(a!, 0)).toBe(-1);
    const again = t.touch(a!, 0, 3); // forgets b, the oldest now
    expect([COUNT, FIRED, HAS_BEFORE].map((f) => t.state[again * t.rec + f])).toEqual([0, 0, 0]);
    expect(t.find(b!, 0)).toBe(-1);
    expect(t.find(c!, 0)).toBeGreaterThanOrEqual(0);
    expect([t.size, t.evicted]).toEqual([2, 2]);
  });

  it('a new window restarts the counts; a key that fired keeps firing if its flows kept coming, citing the window before', () => {
    const t = new KeyTable(5, 100, 8);
    const key = keyOf(1, 5);
    const state = (e: number, ...fields: number[]): number[] => fields.map((f) => t.state[e * t.rec + f]!);
    let e = t.touch(key, 5, 1000);
    t.state[e * t.rec + COUNT] = 40;
    t.state[e * t.rec + FIRED] = 1;
    t.touch(key, 5, 1050);
    e = t.touch(key, 5, 1100); // 100 after the epoch's start: a new one, 50 after the last flow
    expect(state(e, COUNT, FIRED, HAS_BEFORE, EPOCH_START_US)).toEqual([0, 1, 1, 1100]);
    expect([t.before[e * BEFORE_WORDS + B_COUNT], t.before[e * BEFORE_WORDS + B_SPAN_US]]).toEqual([40, 50]);
    e = t.touch(key, 5, 1400); // a gap longer than the window: no longer firing
    expect(state(e, FIRED, HAS_BEFORE)).toEqual([0, 0]);
  });
});

describe('context DistinctValues (a scan key\'s distinct ports or hosts)', () => {
  const host = (...w: number[]): Uint32Array => Uint32Array.from(w);

  it('counts distinct values up to the cap, each compared on all its words; a new window and a reused entry start empty', () => {
    const d = new DistinctValues(4, 3, 4);
    expect(d.add(0, host(10, 0, 0, 0), 0)).toBe(1);
    expect(d.add(0, host(10, 0, 0, 0), 0)).toBe(1);
    expect(d.add(0, host(10, 0, 0, 1), 0)).toBe(2); // differs in the last word only
    expect(d.add(0, host(10, 0, 0, 1), 0)).toBe(2);
    expect(d.add(1, host(10, 0, 0, 0), 0)).toBe(1); // another entry's values are its own
    expect(d.add(0, host(0, 0, 0, 10), 0)).toBe(3);
    expect(d.add(0, host(99, 0, 0, 0), 0)).toBe(3); // full
    d.clear(0);
    expect(d.add(0, host(0, 0, 0, 10), 0)).toBe(1);
    expect(d.add(0, host(10, 0, 0, 1), 0)).toBe(2); // the old slab's values are not counted again
    expect(d.add(0, host(10, 0, 0, 0), 0)).toBe(3);
  });

  it('a cap of 1 still counts a second value (the first was kept apart from the others)', () => {
    const d = new DistinctValues(1, 1, 1);
    expect([d.add(0, host(1), 0), d.add(0, host(1), 0), d.add(0, host(2), 0), d.add(0, host(3), 0)]).toEqual([1, 1, 2, 2]);
  });

  it('above the slab (a threshold over 64): the same counts, from a Set', () => {
    for (const cap of [64, 70]) {
      const d = new DistinctValues(4, cap, 2);
      const next = random(cap);
      const seen = new Set<string>();
      for (let k = 0; k < 500; k++) {
        const v = host(1, 0, Math.floor(next() * 3), Math.floor(next() * 40));
        if (seen.size < cap) seen.add(v.join());
        expect(d.add(1, v, 0)).toBe(seen.size);
      }
      expect(seen.size).toBe(cap);
    }
  });
});
