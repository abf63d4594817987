/**
 * The retransmission tracker (profile `fixed`) against reference implementations written the obvious way, on
 * random packet sequences over a small flow table (flows opened, ended, their slots reused):
 * - within its bounds it answers exactly as the fork's per-flow HashSet does (a Set of keys per flow);
 * - past the per-flow bound it answers as a two-generation model (a current and an old Set per flow) and counts
 *   every packet the old generation forgets;
 * - with the shared arena exhausted it never calls a packet a retransmission that the Set would not, and it is
 *   exact whenever nothing was counted as untracked.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RetransmissionSet } from '../src/features/retransmissions.js';

interface Pkt {
  dir: number;
  seq: number;
  ack: number;
  len: number;
  window: number;
}

type Op = { kind: 'packet'; slot: number; pkt: Pkt } | { kind: 'end'; slot: number } | { kind: 'renew'; slot: number };

const SLOTS = 6;

/** Few distinct values per field, with the extremes, so that equal packets (and near misses) are common. */
const u32 = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom(0x7fffffff, 0x80000000, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }));
const arbPkt: fc.Arbitrary<Pkt> = fc.record({
  dir: fc.integer({ min: 0, max: 1 }),
  seq: u32,
  ack: u32,
  len: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom(1448, 0xffff)),
  window: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(0xffff)),
});
/** A flow's packets are drawn from a pool, so that a sequence repeats some of them, as retransmissions do. */
const arbOps = (maxLen: number, poolSize: number, endWeight: number): fc.Arbitrary<Op[]> =>
  fc.array(arbPkt, { minLength: 1, maxLength: poolSize, size: 'max' }).chain((pool) =>
    fc.array(
      fc.oneof(
        { weight: 30, arbitrary: fc.record({ kind: fc.constant('packet' as const), slot: fc.integer({ min: 0, max: SLOTS - 1 }), pkt: fc.constantFrom(...pool) }) },
        { weight: 10, arbitrary: fc.record({ kind: fc.constant('packet' as const), slot: fc.integer({ min: 0, max: SLOTS - 1 }), pkt: arbPkt }) },
        { weight: endWeight, arbitrary: fc.record({ kind: fc.constant('end' as const), slot: fc.integer({ min: 0, max: SLOTS - 1 }) }) },
        { weight: endWeight, arbitrary: fc.record({ kind: fc.constant('renew' as const), slot: fc.integer({ min: 0, max: SLOTS - 1 }) }) },
      ),
      { maxLength: maxLen, size: 'max' },
    ),
  );

const keyOf = (p: Pkt): string => `${p.dir}|${p.seq}|${p.ack}|${p.len}|${p.window}`;

/**
 * Runs `ops` through a tracker and a flow-table simulation (serials as the engine assigns them: a new flow in a
 * slot gets a new serial; `end` frees the slot), calling `check` with the tracker's answer for each packet.
 */
function run(
  ops: Op[],
  make: (liveSerials: () => Set<number>) => RetransmissionSet,
  check: (serial: number, pkt: Pkt, answer: boolean) => void,
): RetransmissionSet {
  const serialOf = new Array<number>(SLOTS).fill(0);
  let next = 1;
  const r = make(() => new Set(serialOf.filter((s) => s !== 0)));
  for (const op of ops) {
    if (op.kind === 'end') serialOf[op.slot] = 0;
    else if (op.kind === 'renew') serialOf[op.slot] = next++;
    else {
      if (serialOf[op.slot] === 0) serialOf[op.slot] = next++;
      const s = serialOf[op.slot]!;
      const p = op.pkt;
      check(s, p, r.seen(op.slot, s, p.dir, p.seq, p.ack, p.len, p.window));
    }
  }
  return r;
}

/** The fork: every packet of the flow in one Set. Returns the answer, and records the packet. */
function unbounded(): (serial: number, pkt: Pkt) => boolean {
  const sets = new Map<number, Set<string>>();
  return (serial, pkt) => {
    let set = sets.get(serial);
    if (set === undefined) sets.set(serial, (set = new Set()));
    const k = keyOf(pkt);
    if (set.has(k)) return true;
    set.add(k);
    return false;
  };
}

describe('RetransmissionSet', () => {
  it('answers as a Set of keys per flow, on random sequences within its bounds', () => {
    fc.assert(
      fc.property(arbOps(400, 40, 2), (ops) => {
        const reference = unbounded();
        const r = run(ops, (live) => new RetransmissionSet(1 << 16, live), (serial, pkt, answer) => {
          expect(answer).toBe(reference(serial, pkt));
        });
        expect(r.untracked).toBe(0);
      }),
      { numRuns: 300, endOnFailure: true },
    );
  });

  it('grows a flow to thousands of packets and still finds each one again (tables rehashed)', () => {
    const r = new RetransmissionSet(1 << 16, () => new Set([7]));
    const pkt = (i: number): [number, number, number, number, number] => [i & 1, 1000 + i * 1448, 5000 + (i >> 1), i % 3 === 0 ? 0 : 1448, 502];
    for (let i = 0; i < 5000; i++) expect(r.seen(3, 7, ...pkt(i))).toBe(false);
    for (let i = 0; i < 5000; i++) expect(r.seen(3, 7, ...pkt(i))).toBe(true);
    // Another flow in the same slot starts with an empty memory.
    expect(r.seen(3, 8, ...pkt(0))).toBe(false);
    expect(r.untracked).toBe(0);
  });

  it('past the per-flow bound, remembers as a current and an old generation and counts what it forgets', () => {
    const maxFlowLog = 4; // 16 slots: 12 packets per generation
    const perGeneration = 12;
    let runsThatForgot = 0;
    fc.assert(
      fc.property(arbOps(400, 60, 1), (ops) => {
        const flows = new Map<number, { cur: Set<string>; old: Set<string> | null }>();
        let forgotten = 0;
        const r = run(ops, (live) => new RetransmissionSet(1 << 16, live, maxFlowLog), (serial, pkt, answer) => {
          let f = flows.get(serial);
          if (f === undefined) flows.set(serial, (f = { cur: new Set(), old: null }));
          const k = keyOf(pkt);
          const expected = f.cur.has(k) || (f.old?.has(k) ?? false);
          if (!expected) {
            if (f.cur.size === perGeneration) {
              forgotten += f.old?.size ?? 0;
              f.old = f.cur;
              f.cur = new Set();
            }
            f.cur.add(k);
          }
          expect(answer).toBe(expected);
        });
        expect(r.untracked).toBe(forgotten);
        if (forgotten > 0) runsThatForgot++;
      }),
      { numRuns: 300, endOnFailure: true },
    );
    expect(runsThatForgot).toBeGreaterThan(30); // the bound was reached, not just approached
  });

  it('with the shared arena exhausted, never reports a packet the flow has not sent, and is exact while nothing is untracked', () => {
    let runsExhausted = 0;
    fc.assert(
      fc.property(arbOps(1500, 400, 0), (ops) => {
        const reference = unbounded();
        let wrong = 0;
        let exceeded = false;
        const r = run(ops, (live) => new RetransmissionSet(1024, live, 8), (serial, pkt, answer) => {
          const expected = reference(serial, pkt);
          if (answer && !expected) exceeded = true;
          if (answer !== expected) wrong++;
        });
        expect(exceeded).toBe(false);
        if (r.untracked === 0) expect(wrong).toBe(0);
        else runsExhausted++;
      }),
      { numRuns: 100, endOnFailure: true },
    );
    expect(runsExhausted).toBeGreaterThan(10);
  });

  it('reclaims the tables of flows that ended when the arena is full, so the next flow is tracked exactly', () => {
    const live = new Set<number>([1]);
    // 300 packets take tables of 8 to 512 slots, 1,016 of the arena's 1,024: the next flow's 512 must be flow 1's.
    const r = new RetransmissionSet(1024, () => live, 9);
    for (let i = 0; i < 300; i++) expect(r.seen(0, 1, 0, i, 0, 0, 0)).toBe(false);
    live.delete(1); // flow 1 ends; its slot stays free
    live.add(2);
    for (let i = 0; i < 300; i++) expect(r.seen(1, 2, 0, i, 0, 0, 0)).toBe(false);
    for (let i = 0; i < 300; i++) expect(r.seen(1, 2, 0, i, 0, 0, 0)).toBe(true);
    expect(r.untracked).toBe(0);
  });

  it('does not track a flow that cannot get a first table, and counts its packets', () => {
    const live = new Set<number>();
    const r = new RetransmissionSet(1024, () => live);
    for (let slot = 0; slot < 128; slot++) {
      live.add(slot + 1);
      expect(r.seen(slot, slot + 1, 0, 1, 0, 0, 0)).toBe(false); // 128 first tables of 8 slots fill the arena
    }
    live.add(200);
    expect(r.seen(128, 200, 0, 1, 0, 0, 0)).toBe(false);
    expect(r.seen(128, 200, 0, 1, 0, 0, 0)).toBe(false); // not stored: a repeat is not recognised
    expect(r.untracked).toBe(2);
    for (let slot = 0; slot < 128; slot++) expect(r.seen(slot, slot + 1, 0, 1, 0, 0, 0)).toBe(true);
  });
});
