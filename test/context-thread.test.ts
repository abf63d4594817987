/**
 * The context stage in the inference thread (classify/context-thread.ts) decides what it decides on the main thread:
 * bundled second-lab captures (models/train/data/lab-tools: an HTTP slow-read flood, an nmap scan, a Hydra SSH
 * guessing run, a spoofed SYN flood, a masscan sweep, the benign phase) are made into small batches in process, and each batch goes two ways:
 * - through a run's real inference thread with the stage started in it (FlowClassifier.startContext, VerdictQueue:
 *   what the pipeline does), which relabels and moves the tally on the main thread from the thread's decisions;
 * - through the same model without the stage, then a ContextStage on this thread that relabels the batch itself
 *   and moves the tally (onRelabel): what the pipeline did before the stage moved.
 * Every label, score, kdd, attack label and `context` text, the stage's counts (flows relabelled and keys evicted
 * per detector) and the verdict tally (with the alert sources) must be the same. The default model is made blind
 * (`alertThreshold` 1: it calls nearly every flow benign, as it does a tool it has never seen), so most firing flows
 * are relabelled; the small thresholds make four detectors fire and keys be evicted all the time.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowClassifier } from '../src/classify/classifier.js';
import { ContextStage, DETECTORS, type ContextThresholds } from '../src/classify/context.js';
import { VerdictQueue } from '../src/classify/stage.js';
import { Engine } from '../src/engine/engine.js';
import type { FlowRows } from '../src/engine/flow-batch.js';
import { getProfile } from '../src/features/profiles.js';
import { PcapSource } from '../src/sources/pcap-source.js';
import { ROOT } from './helpers/cli.js';
import { ensureBuilt } from './setup/build.js';

const CAPTURES = ['phase-slowread', 'phase-nmapalt', 'phase-hydrassh', 'phase-synspoof', 'phase-masscan', 'phase-benign'].map((p) => join(ROOT, 'models/train/data/lab-tools', `${p}.pcap.gz`));
const BLIND = { spec: 'cic2017-attack', alertThreshold: 1 };
const SMALL: Partial<ContextThresholds> = { maxKeys: 7, portScanPorts: 3, addressScanHosts: 2, floodFlows: 20, floodWindowS: 5, httpFloodConnections: 5, httpFloodWindowS: 2, bruteForceConnections: 3, scanWindowS: 30 };
const profile = getProfile('cic2017');

/** The captures' flows, one after the other, in batches of 64 (many batches: the thread must keep their order). */
function batches(): FlowRows[] {
  const out: FlowRows[] = [];
  const engine = new Engine({ profile, flowTimeoutUs: 120e6, activityTimeoutUs: 5e6, idleTimeoutUs: 0, maxFlows: 262144, portAwareDirection: false, ipv6: true, batchSize: 64, onFlows: (rows) => out.push(rows) });
  for (const file of CAPTURES) {
    const src = PcapSource.openFile(file);
    for (let n = src.next(); n > 0; n = src.next()) engine.ingestBatch(src.linkType, src.data, src.meta, n);
    src.close();
  }
  engine.finish();
  return out;
}

/** A batch's own copy (its typed arrays copied): each way gets the same flows. */
function copy(rows: FlowRows): FlowRows {
  const c: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rows)) c[k] = ArrayBuffer.isView(v) ? (v as Float64Array).slice() : v;
  return c as unknown as FlowRows;
}

/** What a batch's flows were written with: the verdict columns the stage writes or keeps. */
function written(rows: FlowRows[]): unknown[][] {
  return rows.flatMap((b) => Array.from({ length: b.count }, (_, i) => [b.labels?.[i], b.scores?.[i], b.kdd?.[i], b.attackLabels?.[i], b.attackScores?.[i], b.context?.[i] ?? null]));
}

async function classifyAll(q: VerdictQueue, rows: FlowRows[]): Promise<void> {
  for (const b of rows) q.submit(b);
  for (const b of rows) await q.done(b);
}

describe('context stage in the inference thread = on the main thread', () => {
  let flows: FlowRows[] = [];
  const classifiers: FlowClassifier[] = [];
  beforeAll(() => {
    ensureBuilt(); // the inference thread runs dist/classify/worker.js
    flows = batches();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(classifiers.map((c) => c.close()));
  });

  for (const [name, thresholds] of [
    ['default thresholds', {}],
    ['small thresholds (four detectors fire, keys evicted)', SMALL],
  ] as const) {
    it(`${name}: the same labels, scores, kdd, texts, counts and tally`, async () => {
      const [inThread, alone] = await Promise.all([FlowClassifier.load({ attack: BLIND }), FlowClassifier.load({ attack: BLIND })]);
      classifiers.push(inThread, alone);
      const attack = inThread.attack!;

      // The run's way: the stage in the thread, its decisions applied here.
      const q = new VerdictQueue(inThread, 8, { countAlertSources: true });
      const counts = inThread.startContext(profile.columns, thresholds);
      const a = flows.map(copy);
      await classifyAll(q, a);

      // The stage on this thread, after the verdicts of the model alone.
      const q2 = new VerdictQueue(alone, 8, { countAlertSources: true });
      const stage = new ContextStage({
        columns: profile.columns,
        classes: attack.classes,
        benign: attack.card.benign,
        ...(attack.card.kdd ? { kdd: attack.card.kdd } : {}),
        thresholds,
        onRelabel: (rows, i, label) => q2.tally!.move(rows, i, attack.card.benign, label),
      });
      const b = flows.map(copy);
      await classifyAll(q2, b);
      for (const rows of b) stage.observe(rows);

      const relabelled = written(b).filter((r) => r[5] !== null).length;
      expect(relabelled).toBeGreaterThan(200);
      expect(written(a)).toEqual(written(b));
      expect(counts.counts()).toEqual(stage.counts());
      expect(counts.detectors).toEqual(stage.detectors);
      expect(q.tally!.verdicts()).toEqual(q2.tally!.verdicts());
      expect(q.tally!.topAlertSources(20)).toEqual(q2.tally!.topAlertSources(20));
      const c = stage.counts();
      expect(DETECTORS.reduce((s, d) => s + c.relabelled[d], 0)).toBe(relabelled);
      // None of these captures scans hosts: the address scan fires in context.test.ts only.
      const firing = thresholds === SMALL ? DETECTORS.filter((d) => d !== 'address-scan') : (['port-scan', 'flood', 'http-flood'] as const);
      for (const d of firing) expect(c.relabelled[d], d).toBeGreaterThan(0);
      // maxKeys 7: the tables of the detectors that see many keys forget some all the time.
      if (thresholds === SMALL) for (const d of ['port-scan', 'address-scan', 'flood', 'http-flood'] as const) expect(c.evicted[d], d).toBeGreaterThan(0);
    }, 60_000);
  }

  it('startContext again: a fresh stage for the batches from then on, the earlier ones still judged by the first (a new pipeline over the same model)', async () => {
    const [c, once] = await Promise.all([FlowClassifier.load({ attack: BLIND }), FlowClassifier.load({ attack: BLIND })]);
    classifiers.push(c, once);
    const expected = once.startContext(profile.columns, SMALL);
    await classifyAll(new VerdictQueue(once), flows.map(copy));
    expect(DETECTORS.some((d) => expected.counts().relabelled[d] > 0)).toBe(true);
    // The second stage starts while the first one's batches are still queued in the thread.
    const q = new VerdictQueue(c, 1000);
    const first = c.startContext(profile.columns, SMALL);
    const a = flows.map(copy);
    for (const b of a) q.submit(b);
    const second = c.startContext(profile.columns, SMALL);
    const b = flows.map(copy);
    for (const x of b) q.submit(x);
    for (const x of [...a, ...b]) await q.done(x);
    expect(first.counts()).toEqual(expected.counts());
    expect(second.counts()).toEqual(expected.counts());
    expect(written(b)).toEqual(written(a));
  }, 60_000);
});
