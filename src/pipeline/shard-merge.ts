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
import { READ_STATUS_NAMES } from '../decode/reference-reader.js';
import type { EngineAccounting } from '../engine/counters.js';
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
  private out: FlowRows | undefined;
  /** The per-row columns of the engine's batches (see newRows). */
  private readonly columns: { name: string; stride: number }[] = [];
  private outSource: string | undefined;
  /** (first ordinal, name) of each capture file, in order: a row written at packet c > first is in that file. */
  private readonly sources: { after: number; name: string }[] = [];
  /** Rows queued here, waiting for another shard's watermark. */
  waiting = 0;
  /** Rows handed on. */
  handed = 0;

  constructor(
    shards: number,
    /** Rows per batch: the engine's (every column of its batches holds this many rows' values) and the output's. */
    private readonly batchFlows: number,
    private readonly emit: (rows: FlowRows) => void,
  ) {
    this.queues = Array.from({ length: shards }, () => []);
    this.marks = Array.from({ length: shards }, () => ({ c: 0, t: 0, s: -Infinity }));
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
    if (this.out !== undefined && this.out.count > 0 && source !== this.outSource) this.flushOut();
    this.outSource = source;
    const out = (this.out ??= this.newRows(src));
    const j = out.count;
    const dst = out as unknown as Record<string, unknown>;
    for (const col of this.columns) {
      const from = (src as unknown as Record<string, unknown>)[col.name];
      if (col.stride === 0) (dst[col.name] as unknown[]).push((from as unknown[])[i]);
      else {
        const a = from as TypedArray;
        const b = dst[col.name] as TypedArray;
        const w = col.stride;
        for (let k = 0; k < w; k++) b[j * w + k] = a[i * w + k]!;
      }
    }
    out.count = j + 1;
    this.handed++;
    if (out.count === this.batchFlows) this.flushOut();
  }

  private flushOut(): void {
    const full = this.out;
    if (full === undefined || full.count === 0) return;
    if (this.outSource !== undefined) full.source = this.outSource;
    this.out = undefined;
    this.emit(full);
  }

  /**
   * An empty batch shaped like the engine's: every per-row column of its batches (flow-batch.ts FlowRows), found
   * from the first one, so a column the engine adds is carried without a change here. A typed array holds
   * `stride` values a row (its length over the engine's batch size); a plain array one element a row.
   */
  private newRows(like: FlowRows): FlowRows {
    if (this.columns.length === 0) {
      for (const [name, v] of Object.entries(like)) {
        if (name === 'order') continue; // the merge's own key, not a column of the output
        if (ArrayBuffer.isView(v)) this.columns.push({ name, stride: (v as TypedArray).length / this.batchFlows });
        else if (Array.isArray(v)) this.columns.push({ name, stride: 0 });
      }
    }
    const rows: Record<string, unknown> = { count: 0 };
    for (const col of this.columns) {
      const v = (like as unknown as Record<string, unknown>)[col.name];
      rows[col.name] = col.stride === 0 ? [] : new ((v as TypedArray).constructor as new (n: number) => TypedArray)(this.batchFlows * col.stride);
    }
    return rows as unknown as FlowRows;
  }
}

type TypedArray = Float64Array | Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

/**
 * The names of the counters every shard counts for every packet (the merge takes shard 0's): every read status,
 * since a frame is read (decode/reference-reader.ts) before its flow key is known, and the DNS answers read and
 * addresses held (every shard keeps the same table of them). The engine's other counters are about flows, so each
 * shard counts its own and they add up.
 */
const COUNTED_FOR_EVERY_PACKET: ReadonlySet<string> = new Set([...READ_STATUS_NAMES, 'flow.dns_answers', 'flow.dns_addresses']);

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
