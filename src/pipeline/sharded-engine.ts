/**
 * `--workers N`: the engine's work spread over N worker threads, one engine per shard of the flows (a flow's shard
 * is from its canonical, direction-independent key's hash), with the same rows, in the same order, and the same
 * counters as one engine.
 *
 * The capture thread copies each packet batch once into a slot of a ring of shared buffers and tells every shard
 * about it; every shard decodes every packet (so each one's clock, the packet time that drives timeouts and
 * expiry, is the whole stream's, and each counts the packets without a flow, of which the merge keeps one count)
 * and keeps the packets of its own flows. A slot is reused when every shard is done with it, so at most
 * RING_SLOTS batches are in flight and a slow shard slows the capture thread down instead of growing a queue.
 * Rows come back by transfer and merge into one engine's order (shard-merge.ts); the verdicts and the outputs stay
 * on this side, in the pipeline, as with one engine.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EngineAccounting } from '../engine/counters.js';
import { FlowEnd, type FlowRows } from '../engine/flow-batch.js';
import { META_STRIDE, Meta } from '../engine/packet-batch.js';
import type { Profile } from '../features/profiles.js';
import { BATCH_FLOWS, type EngineSettings } from './engine-config.js';
import { mergeAccounting, ShardMerge } from './shard-merge.js';
import type { FromShard, ShardInit, ToShard } from './shard-protocol.js';

/** Packet batches in flight between the capture thread and the shards. */
const RING_SLOTS = 8;
/** Rows held by the merge for a shard that has not sent its partial batch yet, before it is asked to. */
const MAX_WAITING_ROWS = 32 * BATCH_FLOWS;

/** Resolves the compiled worker script: next to this module (dist/), else dist/pipeline/ (sources under vitest). */
function workerUrl(): URL {
  const sibling = new URL('./shard-worker.js', import.meta.url);
  if (sibling.protocol !== 'file:' || existsSync(fileURLToPath(sibling))) return sibling;
  const built = new URL('../../dist/pipeline/shard-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error(`shard worker script not found (${fileURLToPath(sibling)} or ${fileURLToPath(built)}): run "npm run build"`);
}

interface Slot {
  data: Uint8Array;
  meta: Float64Array;
  /** Shards still reading it. */
  busy: number;
}

export class ShardedEngine {
  readonly shards: number;
  /** Packets handed to the shards. */
  packets = 0;
  private readonly workers: Worker[] = [];
  private readonly merge: ShardMerge;
  private readonly slots: Slot[] = [];
  private slotWaiter: (() => void) | undefined;
  private tickNo = 0;
  private readonly ticks = new Map<number, { left: number; resolve: () => void; reject: (e: Error) => void }>();
  private readonly shardAccounting: (EngineAccounting | undefined)[];
  private readonly shardActive: number[];
  private failure: Error | undefined;
  private closed = false;

  constructor(profile: Profile, settings: EngineSettings, shards: number, onFlows: (rows: FlowRows) => void) {
    this.shards = shards;
    this.merge = new ShardMerge(shards, BATCH_FLOWS, onFlows);
    this.shardAccounting = new Array<EngineAccounting | undefined>(shards).fill(undefined);
    this.shardActive = new Array<number>(shards).fill(0);
    const url = workerUrl();
    const plain: EngineSettings = {
      flowTimeout: settings.flowTimeout,
      activityTimeout: settings.activityTimeout,
      idleTimeout: settings.idleTimeout,
      maxFlows: settings.maxFlows,
      portDirection: settings.portDirection,
      ipv6: settings.ipv6,
    };
    for (let i = 0; i < shards; i++) {
      const init: ShardInit = { index: i, count: shards, profile: profile.columns.name, settings: plain };
      const w = new Worker(url, { workerData: init });
      w.on('message', (m: FromShard) => this.onMessage(i, m));
      w.on('error', (e) => this.fail(new Error(`flow shard ${i} failed: ${e.message}`)));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`flow shard ${i} exited (code ${code})`));
      });
      this.workers.push(w);
    }
    for (let s = 0; s < RING_SLOTS; s++) this.slots.push(this.newSlot(s, 4 * 1024 * 1024, 8192));
    void this.tick({}).catch(() => undefined); // each shard's counters, before the first batch ends
  }

  /** Rows handed on to the pipeline. */
  get flowsWritten(): number {
    return this.merge.handed;
  }

  /** Flows open in the shards' tables (as of the last tick). */
  get activeFlows(): number {
    return this.shardActive.reduce((a, b) => a + b, 0);
  }

  /** Rows the merge holds for a shard that lags (its partial batch). */
  get rowsWaiting(): number {
    return this.merge.waiting;
  }

  /** Copy one packet batch into a free slot for every shard; waits (a promise) only while every slot is in use. */
  ingestBatch(linkType: number, data: Uint8Array, meta: Float64Array, n: number): void | Promise<void> {
    this.throwIfFailed();
    if (n === 0) return;
    const slot = this.slots.findIndex((s) => s.busy === 0);
    if (slot < 0) {
      // The source's buffers stay valid until its next call, which waits for this.
      return new Promise<void>((resolve, reject) => {
        this.slotWaiter = () => {
          this.slotWaiter = undefined;
          try {
            resolve(this.ingestBatch(linkType, data, meta, n));
          } catch (e) {
            reject(e as Error);
          }
        };
      });
    }
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const m = i * META_STRIDE;
      const end = meta[m + Meta.Offset]! + meta[m + Meta.CapLen]!;
      if (end > bytes) bytes = end;
    }
    let s = this.slots[slot]!;
    if (bytes > s.data.length || n * META_STRIDE > s.meta.length) {
      s = this.newSlot(slot, Math.max(bytes, s.data.length), Math.max(n, s.meta.length / META_STRIDE));
      this.slots[slot] = s;
    }
    s.data.set(data.subarray(0, bytes));
    s.meta.set(meta.subarray(0, n * META_STRIDE));
    s.busy = this.shards;
    this.packets += n;
    const msg: ToShard = { type: 'batch', slot, count: n, linkType };
    for (const w of this.workers) w.postMessage(msg);
    // A shard with few flows holds its partial batch; past a bound, ask every shard for theirs.
    if (this.merge.waiting > MAX_WAITING_ROWS && this.ticks.size === 0) void this.tick({}).catch(() => undefined);
  }

  /** The live clock: end flows idle for the idle timeout at the latest packet's time plus `quietUs`. */
  expireIdleAfterQuiet(quietUs: number): void {
    void this.tick({ quietUs }).catch(() => undefined);
  }

  /** Hand over every row completed so far (resolves once they are with the pipeline). */
  flushRows(): Promise<void> {
    return this.tick({});
  }

  /** A new capture file starts after the packets handed over so far. */
  setSource(name: string): void {
    this.merge.setSource(this.packets, name);
  }

  /** End every open flow, hand over every row, stop the shards. */
  async finish(reason: FlowEnd = FlowEnd.EndOfCapture): Promise<void> {
    await this.tick({ finish: reason });
    await this.close();
  }

  /** A shard thread that failed ends the run: its flows are lost. */
  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** Stop the shard threads (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** One engine's accounting (shard-merge.ts mergeAccounting), as of each shard's last tick. */
  accounting(): EngineAccounting {
    const known = this.shardAccounting.filter((a): a is EngineAccounting => a !== undefined);
    if (known.length < this.shards) {
      return { packets: 0, flows: 0, packetsInWrittenFlows: 0, packetsNotInWrittenFlows: {}, info: {} };
    }
    return mergeAccounting(known);
  }

  private tick(what: { quietUs?: number; finish?: FlowEnd }): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const tick = ++this.tickNo;
    const msg: ToShard = { type: 'tick', tick, ...what };
    const done = new Promise<void>((resolve, reject) => this.ticks.set(tick, { left: this.shards, resolve, reject }));
    for (const w of this.workers) w.postMessage(msg);
    return done;
  }

  private newSlot(slot: number, bytes: number, packets: number): Slot {
    const data = new SharedArrayBuffer(bytes);
    const meta = new SharedArrayBuffer(packets * META_STRIDE * 8);
    const msg: ToShard = { type: 'slot', slot, data, meta };
    for (const w of this.workers) w.postMessage(msg);
    return { data: new Uint8Array(data), meta: new Float64Array(meta), busy: 0 };
  }

  private onMessage(shard: number, m: FromShard): void {
    switch (m.type) {
      case 'rows':
        this.merge.add(shard, m.rows, m.tick);
        break;
      case 'done': {
        this.merge.advance(shard, m.mark);
        this.merge.release();
        const s = this.slots[m.slot]!;
        if (--s.busy === 0) this.slotWaiter?.();
        break;
      }
      case 'tick': {
        this.merge.advance(shard, m.mark);
        this.shardAccounting[shard] = m.accounting;
        this.shardActive[shard] = m.activeFlows;
        const t = this.ticks.get(m.tick)!;
        if (--t.left === 0) {
          // Every shard is past this tick: all it ended is here; hand over the partial batch, as one engine does.
          this.merge.release(true);
          this.ticks.delete(m.tick);
          t.resolve();
        } else this.merge.release();
        break;
      }
    }
  }

  private fail(e: Error): void {
    if (this.failure || this.closed) return;
    this.failure = e;
    for (const t of this.ticks.values()) t.reject(e);
    this.ticks.clear();
    this.slotWaiter?.();
    void this.close();
  }
}
