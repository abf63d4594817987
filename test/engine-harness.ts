/**
 * Feed hand-built frames straight into the engine (no CLI, no capture file) and read back each written flow's
 * cells by column name: the harness of the engine's unit tests.
 */
import { Engine } from '../src/engine/engine.js';
import { getProfile, type ProfileName } from '../src/features/profiles.js';
import type { FlowIdentity, FlowRows } from '../src/engine/flow-batch.js';
import { concat } from './helpers/frames.js';
import { flowIdentity } from '../src/features/identity-text.js';

/** One frame and its capture time, µs since the epoch. */
export interface TimedFrame {
  data: Uint8Array;
  tsUs: number;
}

export interface WrittenFlow {
  id: FlowIdentity;
  /** Cells by column name (the first of a duplicated name: cic2017's second `Fwd Header Length` is the same value). */
  f: Record<string, number>;
  /** CellKind per column name (0 = Java long, 1 = Java double). */
  kind: Record<string, number>;
  endReason: number;
}

export interface EngineRun {
  flows: WrittenFlow[];
  /** Packet reasons and informational counters, as `Engine.accounting()` gives them. */
  reasons: Record<string, number>;
  info: Record<string, number>;
  packets: number;
  packetsInWrittenFlows: number;
  /** With finishSlice: the flows written by each finishSome call. */
  finishSlices?: number[];
}

export interface RunOptions {
  flowTimeoutUs?: number;
  activityTimeoutUs?: number;
  portAwareDirection?: boolean;
  idleTimeoutUs?: number;
  ipv6?: boolean;
  /** End of capture through finishSome(finishSlice) until it says done (as the pipeline does), not finish(). */
  finishSlice?: number;
}

/** Replay Ethernet `frames` through an engine of `profile` with the CLI's defaults, then end of capture. */
export function runEngine(profile: ProfileName, frames: TimedFrame[], opts: RunOptions = {}): EngineRun {
  const p = getProfile(profile);
  const names = p.columns.featureNames;
  const batches: FlowRows[] = [];
  const engine = new Engine({
    profile: p,
    flowTimeoutUs: opts.flowTimeoutUs ?? 120e6,
    activityTimeoutUs: opts.activityTimeoutUs ?? 5e6,
    maxFlows: 64,
    batchSize: 4,
    portAwareDirection: opts.portAwareDirection ?? false,
    ipv6: opts.ipv6 ?? false,
    idleTimeoutUs: opts.idleTimeoutUs ?? 0,
    onFlows: (rows) => batches.push(rows),
  });
  const data = concat(...frames.map((f) => f.data));
  const meta = new Float64Array(frames.length * 6);
  let off = 0;
  frames.forEach((f, i) => {
    const sec = Math.floor(f.tsUs / 1e6);
    meta.set([sec, (f.tsUs - sec * 1e6) * 1000, f.data.length, f.data.length, off, 1], i * 6);
    off += f.data.length;
  });
  engine.ingestBatch(1, data, meta, frames.length);
  let finishSlices: number[] | undefined;
  if (opts.finishSlice === undefined) engine.finish();
  else {
    finishSlices = [];
    for (let done = false; !done; ) {
      const before = engine.flowsWritten;
      done = engine.finishSome(opts.finishSlice);
      finishSlices.push(engine.flowsWritten - before);
    }
  }
  const flows: WrittenFlow[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.count; i++) {
      const f: Record<string, number> = {};
      const kind: Record<string, number> = {};
      names.forEach((n, j) => {
        if (n in f) return;
        f[n] = b.features[i * names.length + j]!;
        kind[n] = b.kinds[i * names.length + j]!;
      });
      flows.push({ id: flowIdentity(b, i, p.columns.identityFormat), f, kind, endReason: b.endReasons![i]! });
    }
  }
  const a = engine.accounting();
  return { flows, reasons: a.packetsNotInWrittenFlows, info: a.info, packets: a.packets, packetsInWrittenFlows: a.packetsInWrittenFlows, ...(finishSlices ? { finishSlices } : {}) };
}

/** Total Fwd/Bwd packets under either naming (CICFlowMeter's or the CIC-IDS2017 dataset's). */
export const fwdPackets = (f: WrittenFlow): number => f.f['Total Fwd Packet'] ?? f.f['Total Fwd Packets']!;
export const bwdPackets = (f: WrittenFlow): number => f.f['Total Bwd packets'] ?? f.f['Total Backward Packets']!;
