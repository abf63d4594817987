/**
 * The flow table against a model (a Map of string keys): after any sequence of inserts, lookups and removals,
 * both agree on which conversations are present, both directions of a conversation find the same slot, and
 * the creation order (used to evict the oldest flow when full) is the order of insertion.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FlowTable } from '../src/flows/flow-table.js';

const addr = (v: number): Uint32Array => Uint32Array.of(v >>> 0, 0, 0, 0);

/** Load a packet's key; returns the direction-free model key. */
function key(t: FlowTable, a: number, pa: number, b: number, pb: number, proto: number): string {
  t.setKey(addr(a), pa, addr(b), pb, proto, 4);
  const lo = a < b || (a === b && pa <= pb) ? `${a}:${pa}|${b}:${pb}` : `${b}:${pb}|${a}:${pa}`;
  return `${lo}|${proto}`;
}

describe('FlowTable', () => {
  it('finds a conversation from either direction, and only that conversation', () => {
    const t = new FlowTable(8);
    key(t, 0x0a000001, 40000, 0x0a000002, 80, 6);
    const slot = t.insert();
    expect(slot).toBeGreaterThanOrEqual(0);
    key(t, 0x0a000002, 80, 0x0a000001, 40000, 6);
    expect(t.find()).toBe(slot);
    expect(t.srcIsA).toBe(0);
    key(t, 0x0a000001, 40000, 0x0a000002, 80, 17); // other protocol
    expect(t.find()).toBe(-1);
    key(t, 0x0a000001, 40001, 0x0a000002, 80, 6); // other port
    expect(t.find()).toBe(-1);
  });

  it('keeps the two directions of a same-address conversation apart only when asked (cic2017 keys)', () => {
    const t = new FlowTable(8);
    t.setKey(addr(0x7f000001), 37780, addr(0x7f000001), 7000, 6, 4, true);
    const s = t.insert();
    expect(s).toBeGreaterThanOrEqual(0);
    t.setKey(addr(0x7f000001), 7000, addr(0x7f000001), 37780, 6, 4, true);
    expect(t.find()).toBe(-1);
    // Canonical by port as well (cic, fixed): both directions are one conversation.
    const u = new FlowTable(8);
    u.setKey(addr(0x7f000001), 37780, addr(0x7f000001), 7000, 6, 4, false);
    const v = u.insert();
    u.setKey(addr(0x7f000001), 7000, addr(0x7f000001), 37780, 6, 4, false);
    expect(u.find()).toBe(v);
  });

  it('refuses an insert when full and frees slots on removal', () => {
    const t = new FlowTable(2);
    key(t, 1, 1, 2, 2, 6);
    const a = t.insert();
    key(t, 1, 1, 2, 3, 6);
    const b = t.insert();
    key(t, 1, 1, 2, 4, 6);
    expect(t.insert()).toBe(-1);
    expect(t.oldest).toBe(a);
    t.remove(a);
    expect(t.oldest).toBe(b);
    key(t, 1, 1, 2, 4, 6);
    expect(t.insert()).toBe(a);
    expect(t.size).toBe(2);
  });

  it('agrees with a Map model under random operations (collisions, backward-shift deletion, order)', () => {
    const op = fc.record({
      kind: fc.constantFrom('insert', 'remove', 'find', 'renew'),
      // A small key space forces collisions and re-insertions.
      a: fc.integer({ min: 0, max: 6 }),
      b: fc.integer({ min: 0, max: 6 }),
      pa: fc.integer({ min: 0, max: 3 }),
      pb: fc.integer({ min: 0, max: 3 }),
      proto: fc.constantFrom(6, 17),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const cap = 16;
        const t = new FlowTable(cap);
        const model = new Map<string, number>(); // key → slot
        const order: string[] = []; // creation order
        for (const o of ops) {
          const k = key(t, o.a, o.pa, o.b, o.pb, o.proto);
          const found = t.find();
          expect(found).toBe(model.get(k) ?? -1);
          if (o.kind === 'insert' && found < 0) {
            const s = t.insert();
            if (model.size >= cap) expect(s).toBe(-1);
            else {
              expect(s).toBeGreaterThanOrEqual(0);
              model.set(k, s);
              order.push(k);
            }
          } else if (o.kind === 'remove' && found >= 0) {
            t.remove(found);
            model.delete(k);
            order.splice(order.indexOf(k), 1);
          } else if (o.kind === 'renew' && found >= 0) {
            t.renew(found);
            order.splice(order.indexOf(k), 1);
            order.push(k);
          }
          expect(t.size).toBe(model.size);
        }
        // Every key still findable from both directions; the creation order walks the model's order.
        const walked: number[] = [];
        for (let s = t.oldest; s >= 0; s = t.next(s)) walked.push(s);
        expect(walked).toEqual(order.map((k) => model.get(k)));
      }),
      { numRuns: 300 },
    );
  });
});
