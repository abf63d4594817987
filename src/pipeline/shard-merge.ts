/**
 * Merging the shards' completed flows back into the order one engine writes them, and their counters into one
 * engine's counters (sharded-engine.ts runs one engine per shard in worker threads).
 *
 * The order. One engine writes a flow when a packet ends it, or between input batches (the idle expiry of a quiet
 * link, the end of input), when it walks its open flows oldest first. So every row gets a key (c, t, s):
 *   c = the ordinal of the packet at which the flow was written (the last packet read, between batches),
 *   t = 0 for a row a packet wrote; for a row written between batches, the number of that tick (1, 2, ...),
 *   s = the ordinal of the flow's first packet (the flow table's creation order, which the end walks).
 * A packet belongs to one shard, so rows of different shards never tie on (c, 0); between batches every shard
 * walks its own open flows in creation order and s interleaves them as the one table would have. Each shard sends
 * its rows in its own order, with a watermark: every row of its below that key has been sent. A row is handed on
 * when it is the smallest head and below the watermark of every shard with nothing queued.
 */
import { DECODE_STATUS_NAMES } from '../decode/status.js';
import { ENGINE_COUNTED_BEFORE_KEY, ENGINE_COUNTER_NAMES, type EngineAccounting } from '../engine/counters.js';
import type { FlowRows } from '../engine/flow-batch.js';

/** A shard's watermark: its rows with a smaller key (c, t, s) have all been sent. */
export interface Watermark {
  c: number;
  t: number;
  s: number;
}

/** Nothing more will come from the shard. */
export const DONE: Watermark = { c: Infinity, t: Infinity, s: Infinity };

interface Queued {
  rows: FlowRows;
  tick: number;
  next: number;
}

function below(c: number, t: number, s: number, w: Watermark): boolean {
  return c < w.c || (c === w.c && (t < w.t || (t === w.t && s < w.s)));
}

export class ShardMerge {
  private readonly queues: Queued[][];
  private readonly marks: Watermark[];
  private out: FlowRows;
  private outSource: string | undefined;
  /** (first ordinal, name) of each capture file, in order: a row written at packet c > first is in that file. */
  private readonly sources: { after: number; name: string }[] = [];
  /** Rows queued here, waiting for another shard's watermark. */
  waiting = 0;
  /** Rows handed on. */
  handed = 0;

  constructor(
    shards: number,
    private readonly featureCount: number,
    private readonly batchFlows: number,
    private readonly emit: (rows: FlowRows) => void,
  ) {
    this.queues = Array.from({ length: shards }, () => []);
    this.marks = Array.from({ length: shards }, () => ({ c: 0, t: 0, s: -Infinity }));
    this.out = this.newRows();
  }

  /** Rows from here on (written after packet `after`) completed in capture file `name`. */
  setSource(after: number, name: string): void {
    this.sources.push({ after, name });
  }

  /** A batch of shard `shard`'s rows (rows.order set), all written by packets (tick 0) or all in tick `tick`. */
  add(shard: number, rows: FlowRows, tick: number): void {
    if (rows.count === 0) return;
    this.queues[shard]!.push({ rows, tick, next: 0 });
    this.waiting += rows.count;
  }

  /** Shard `shard` has sent every row below `mark`. */
  advance(shard: number, mark: Watermark): void {
    this.marks[shard] = mark;
  }

  /** Hand on every row that no shard can now precede; `flush` also hands on the partial output batch. */
  release(flush = false): void {
    const queues = this.queues;
    for (;;) {
      let best = -1;
      let bc = 0;
      let bt = 0;
      let bs = 0;
      for (let w = 0; w < queues.length; w++) {
        const q = queues[w]!;
        if (q.length === 0) continue;
        const head = q[0]!;
        const c = head.rows.order![2 * head.next]!;
        const s = head.rows.order![2 * head.next + 1]!;
        if (best < 0 || c < bc || (c === bc && (head.tick < bt || (head.tick === bt && s < bs)))) {
          best = w;
          bc = c;
          bt = head.tick;
          bs = s;
        }
      }
      if (best < 0) break;
      let free = true;
      for (let w = 0; w < queues.length && free; w++) {
        if (w !== best && queues[w]!.length === 0 && !below(bc, bt, bs, this.marks[w]!)) free = false;
      }
      if (!free) break;
      const q = queues[best]!;
      const head = q[0]!;
      this.copyRow(head.rows, head.next, bc);
      if (++head.next === head.rows.count) q.shift();
      this.waiting--;
    }
    if (flush) this.flushOut();
  }

  private sourceOf(c: number): string | undefined {
    let name: string | undefined;
    for (let i = this.sources.length - 1; i >= 0; i--) {
      if (c > this.sources[i]!.after || i === 0) {
        name = this.sources[i]!.name;
        break;
      }
    }
    return name;
  }

  private copyRow(src: FlowRows, i: number, c: number): void {
    const source = this.sources.length > 0 ? this.sourceOf(c) : undefined;
    // A batch never spans two capture files (JSON `pcap_file`), as with one engine.
    if (this.out.count > 0 && source !== this.outSource) this.flushOut();
    this.outSource = source;
    const out = this.out;
    const j = out.count;
    const fc = this.featureCount;
    const from = i * fc;
    const to = j * fc;
    for (let k = 0; k < fc; k++) {
      out.features[to + k] = src.features[from + k]!;
      out.kinds[to + k] = src.kinds[from + k]!;
    }
    out.ids.push(src.ids[i]!);
    out.endReasons![j] = src.endReasons![i]!;
    out.ipProtos![j] = src.ipProtos![i]!;
    out.icmpTypes![j] = src.icmpTypes![i]!;
    out.icmpCodes![j] = src.icmpCodes![i]!;
    out.count = j + 1;
    this.handed++;
    if (out.count === this.batchFlows) this.flushOut();
  }

  private flushOut(): void {
    if (this.out.count === 0) return;
    const full = this.out;
    if (this.outSource !== undefined) full.source = this.outSource;
    this.out = this.newRows();
    this.emit(full);
  }

  private newRows(): FlowRows {
    const n = this.batchFlows;
    const fc = this.featureCount;
    return {
      count: 0,
      ids: [],
      features: new Float64Array(n * fc),
      kinds: new Uint8Array(n * fc),
      endReasons: new Uint8Array(n),
      ipProtos: new Uint8Array(n),
      icmpTypes: new Uint8Array(n),
      icmpCodes: new Uint8Array(n),
    };
  }
}

/** The names of the counters every shard counts for every packet (the merge takes shard 0's). */
const COUNTED_FOR_EVERY_PACKET: ReadonlySet<string> = new Set([
  ...DECODE_STATUS_NAMES,
  ...ENGINE_COUNTER_NAMES.filter((_, i) => ENGINE_COUNTED_BEFORE_KEY.has(i)),
]);

function mergeGroup(groups: Record<string, number>[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const name of Object.keys(groups[0]!)) {
    merged[name] = COUNTED_FOR_EVERY_PACKET.has(name) ? groups[0]![name]! : groups.reduce((sum, g) => sum + (g[name] ?? 0), 0);
  }
  return merged;
}

/**
 * One engine's accounting from the shards': every shard reads every packet, so the packets read and the reasons
 * counted before the flow lookup are any one shard's; flows, their packets and the per-flow reasons add up.
 */
export function mergeAccounting(shards: readonly EngineAccounting[]): EngineAccounting {
  const first = shards[0]!;
  return {
    packets: first.packets,
    flows: shards.reduce((n, a) => n + a.flows, 0),
    packetsInWrittenFlows: shards.reduce((n, a) => n + a.packetsInWrittenFlows, 0),
    packetsNotInWrittenFlows: mergeGroup(shards.map((a) => a.packetsNotInWrittenFlows)),
    info: mergeGroup(shards.map((a) => a.info)),
  };
}
