/** The messages between the capture thread (sharded-engine.ts) and each shard's worker (shard-worker.ts). */
import type { EngineAccounting } from '../engine/counters.js';
import type { FlowEnd, FlowRows } from '../engine/flow-batch.js';
import type { Watermark } from './shard-merge.js';

export interface ShardInit {
  index: number;
  count: number;
  /** The profile's name (a Profile holds functions: each thread builds its own). */
  profile: string;
  /** The engine settings (pipeline/engine-config.ts EngineSettings). */
  settings: unknown;
}

export type ToShard =
  /** Slot `slot` of the packet ring is (now) these shared buffers. */
  | { type: 'slot'; slot: number; data: SharedArrayBuffer; meta: SharedArrayBuffer }
  /** Slot `slot` holds the next packet batch: read it, then say 'done'. */
  | { type: 'batch'; slot: number; count: number; linkType: number }
  /**
   * Between batches: hand over the partial batch; with `quietUs`, end flows idle at the live clock; with `finish`,
   * end every open flow (the end of input or shutdown). Answered by 'tick' with the shard's counters.
   */
  | { type: 'tick'; tick: number; quietUs?: number; finish?: FlowEnd };

export type FromShard =
  | { type: 'rows'; rows: FlowRows; tick: number }
  | { type: 'done'; slot: number; mark: Watermark }
  | { type: 'tick'; tick: number; mark: Watermark; accounting: EngineAccounting; activeFlows: number };
