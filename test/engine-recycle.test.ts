/**
 * Engine.recycle(): the pipeline gives each written batch back to the engine, which fills it again instead of
 * allocating a new one. A reused batch must carry nothing of its previous flows: every row an engine writes with
 * reuse must equal, column by column, the row a fresh engine writes without it (small batches, so most are reused).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { getProfile, type ProfileName } from '../src/features/profiles.js';
import type { FlowRows } from '../src/engine/flow-batch.js';
import { parsePcap } from './helpers/pcap-file.js';

const ROOT = join(import.meta.dirname, '..');
/** Bundled captures with TCP, UDP, ICMP, IPv6, TLS and HTTP names, DNS answers: every column gets values. */
const CAPTURES = ['fixtures/reference/edge.pcap', 'fixtures/reference/cic2017-webattack-sqlinj.pcap', 'fixtures/reference/zeek-wikipedia.pcap'];

/** Every array of a batch, cut to its rows, as plain arrays (the snapshot taken before the batch is given back). */
function snapshot(rows: FlowRows): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(rows)) {
    if (!ArrayBuffer.isView(v)) continue;
    const a = v as unknown as ArrayLike<number>;
    const perRow = a.length / 4; // batchSize 4 below
    out[k] = Array.from({ length: rows.count * perRow }, (_, i) => a[i]!);
  }
  return out;
}

function replay(profile: ProfileName, file: string, recycle: boolean): { rows: Record<string, number[]>[]; buffers: Set<ArrayBufferLike> } {
  const pcap = parsePcap(readFileSync(join(ROOT, file)));
  const written: Record<string, number[]>[] = [];
  /** The distinct feature buffers the batches were written into. */
  const buffers = new Set<ArrayBufferLike>();
  let engine: Engine | undefined = undefined;
  engine = new Engine({
    profile: getProfile(profile),
    flowTimeoutUs: 120e6,
    activityTimeoutUs: 5e6,
    maxFlows: 4096,
    batchSize: 4,
    portAwareDirection: false,
    ipv6: true,
    idleTimeoutUs: 0,
    onFlows: (rows) => {
      written.push(snapshot(rows));
      buffers.add(rows.features.buffer);
      if (recycle) engine!.recycle(rows);
    },
  });
  const meta = new Float64Array(pcap.records.length * 6);
  pcap.records.forEach((r, i) => {
    const sec = Math.floor(r.tsUs / 1e6);
    meta.set([sec, (r.tsUs - sec * 1e6) * 1000, r.caplen, r.wirelen, r.offset, 1], i * 6);
  });
  engine.ingestBatch(pcap.linkType, pcap.data, meta, pcap.records.length);
  engine.finish();
  return { rows: written, buffers };
}

describe('a batch given back to the engine (recycle) is written again as if new', () => {
  for (const profile of ['cic', 'fixed', 'cic2017'] as const) {
    it(`${profile}: the same rows, every column, with and without reuse`, () => {
      for (const file of CAPTURES) {
        const fresh = replay(profile, file, false);
        const reused = replay(profile, file, true);
        expect(fresh.rows.length, file).toBeGreaterThan(1); // several batches: all but the first reuse one
        expect(reused.rows, file).toEqual(fresh.rows);
        // Reused indeed: the engine takes its next batch before handing the full one over, so two batches' buffers
        // take turns, where a fresh engine writes each batch into new ones.
        expect(fresh.buffers.size, file).toBe(fresh.rows.length);
        expect(reused.buffers.size, file).toBe(Math.min(2, fresh.rows.length));
      }
    });
  }
});
