/**
 * One shard's engine, in a worker thread (sharded-engine.ts is the other side). It reads every packet batch the
 * capture thread puts in a shared slot, so its clock and its counters of packets without a flow are the whole
 * stream's, and keeps the flows whose key falls in its shard. Its completed rows go back by transfer, each message
 * with the watermark the merge needs (shard-merge.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Engine } from '../engine/engine.js';
import type { FlowRows } from '../engine/flow-batch.js';
import { getProfile } from '../features/profiles.js';
import type { ProfileName } from '../features/profiles/profile.js';
import { engineConfig, type EngineSettings } from './engine-config.js';
import type { ToShard, FromShard, ShardInit } from './shard-protocol.js';

const init = workerData as ShardInit;
const port = parentPort!;
const slots: { data: Uint8Array; meta: Float64Array }[] = [];

/** 0 while packets write rows; the tick's number while the shard writes rows between batches. */
let tick = 0;
/** Rows sent, and the packet ordinal at the last send (every row written before it has been sent). */
let sent = 0;
let sentAt = 0;

const engine: Engine = new Engine(
  engineConfig(getProfile(init.profile as ProfileName), init.settings as EngineSettings, (rows: FlowRows) => {
    sent += rows.count;
    sentAt = engine.packets;
    // Every column's buffer moves to the capture thread (the engine never reuses a batch it handed over).
    const transfer = new Set<ArrayBuffer>();
    for (const v of Object.values(rows)) if (ArrayBuffer.isView(v)) transfer.add(v.buffer as ArrayBuffer);
    port.postMessage({ type: 'rows', rows, tick } satisfies FromShard, [...transfer]);
  }, { index: init.index, count: init.count }),
);

/** After packets: rows written by packet `sentAt` or later may still wait in the engine's partial batch. */
function afterPackets(): { c: number; t: number; s: number } {
  return engine.flowsWritten === sent ? { c: engine.packets, t: 0, s: Infinity } : { c: sentAt, t: 0, s: -Infinity };
}

port.on('message', (m: ToShard) => {
  switch (m.type) {
    case 'slot':
      slots[m.slot] = { data: new Uint8Array(m.data), meta: new Float64Array(m.meta) };
      break;
    case 'batch': {
      const slot = slots[m.slot]!;
      engine.ingestBatch(m.linkType, slot.data, slot.meta, m.count);
      port.postMessage({ type: 'done', slot: m.slot, mark: afterPackets() } satisfies FromShard);
      break;
    }
    case 'tick': {
      // Rows written by packets first (tick 0), then what the tick ends, each flushed on its own.
      engine.flushRows();
      tick = m.tick;
      if (m.quietUs !== undefined) engine.expireIdleAfterQuiet(m.quietUs);
      if (m.finish !== undefined) engine.finish(m.finish);
      engine.flushRows();
      tick = 0;
      const mark = m.finish !== undefined ? { c: Infinity, t: Infinity, s: Infinity } : { c: engine.packets, t: m.tick, s: Infinity };
      port.postMessage({ type: 'tick', tick: m.tick, mark, accounting: engine.accounting(), activeFlows: engine.activeFlows } satisfies FromShard);
      break;
    }
  }
});
