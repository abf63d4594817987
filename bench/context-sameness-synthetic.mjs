// The context stage of this checkout against another build's (`--base DIR`), in process, on random flows made to hit
// what a replay rarely does: IPv6 keys, IPv6 addresses whose last three words are zero next to the IPv4 address of
// the same first word, tiny tables (maxKeys 1, 2, 7, 64: eviction and re-insertion of the same keys all the time),
// scan thresholds of 1, 2, 3, 65 and 70 (above the slab's 64: the Set path), flows arriving out of start order, windows
// short enough for many epochs. Every flow's label, score, kdd and context, and the counts and tracked keys after
// every batch, must be the same.
//
//   node bench/context-sameness-synthetic.mjs --base DIR [--flows 200000] [--seed 1]
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { ROOT, option } from './common.mjs';

const base = option('base', undefined);
if (!base) {
  process.stderr.write('context-sameness-synthetic: --base DIR (a build with dist/) is required\n');
  process.exit(2);
}
const load = (dir, m) => import(pathToFileURL(join(resolve(dir), 'dist', m)).href);
const before = await load(base, 'classify/context.js');
const after = await load(ROOT, 'classify/context.js');
const { newFlowRows } = await load(ROOT, 'engine/flow-batch.js');
const { getProfile } = await load(ROOT, 'features/profiles.js');
const { resolveInputs } = await load(ROOT, 'classify/feature-names.js');

const flowsPerCase = Number(option('flows', '200000'));
let seed = Number(option('seed', '1'));
/** mulberry32: the same flows for both builds and every run. */
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(random() * xs.length)];

const CLASSES = ['BENIGN', 'Bot', 'BruteForce', 'DoS', 'Infiltration', 'PortScan', 'WebAttack'];
const KDD = { BENIGN: 'normal', Bot: 'R2L', BruteForce: 'R2L', DoS: 'DoS', Infiltration: 'U2R', PortScan: 'Probe', WebAttack: 'R2L' };
const columns = getProfile('cic2017').columns;
const F = columns.featureNames.length;
const at = resolveInputs(['Flow Duration', 'Total Fwd Packets', 'Total Backward Packets', 'Total Length of Fwd Packets', 'Total Length of Bwd Packets', 'PSH Flag Count'], columns).sources.map((s) => s.index);

// Addresses: IPv4 words, and IPv6 ones of which some are an IPv4 word followed by three zero words.
const HOSTS = Array.from({ length: 140 }, (_, k) => 0x0a000001 + k);
const ADDRS = [
  ...HOSTS.slice(0, 90).map((w) => ({ v: 4, w: [w, 0, 0, 0] })),
  ...HOSTS.slice(0, 20).map((w) => ({ v: 6, w: [w, 0, 0, 0] })),
  ...HOSTS.slice(80).map((w) => ({ v: 6, w: [0x20010db8, 0, w, 1] })),
];
const PORTS = [21, 22, 80, 443, 8080, 3389, 53, 123, ...Array.from({ length: 40 }, (_, k) => 1000 + k)];

const V4 = ADDRS.filter((a) => a.v === 4);
const V6 = ADDRS.filter((a) => a.v === 6);
/** What the flows do: noise, or one of the detectors' patterns, from actors that change now and then. */
const actors = { scanner: V4[0], target: V4[1], v: 4, port: 80 };
function recast() {
  actors.v = random() < 0.4 ? 6 : 4;
  const pool = actors.v === 4 ? V4 : V6;
  actors.scanner = pick(pool);
  actors.target = pick(pool);
  actors.port = pick(PORTS);
}

function makeBatch(n, clock) {
  const rows = newFlowRows(n, F);
  rows.count = n;
  rows.labels = [];
  rows.scores = new Float64Array(n);
  rows.attackLabels = [];
  rows.attackScores = new Float64Array(n);
  rows.kdd = [];
  for (let i = 0; i < n; i++) {
    if (random() < 0.001) recast();
    const r = random();
    const kind = r < 0.3 ? 'noise' : r < 0.5 ? 'portscan' : r < 0.65 ? 'addrscan' : r < 0.8 ? 'flood' : r < 0.9 ? 'brute' : 'http';
    const v = kind === 'noise' ? (random() < 0.3 ? 6 : 4) : actors.v;
    const pool = v === 4 ? V4 : V6;
    const src = kind === 'noise' || kind === 'flood' ? pick(pool) : actors.scanner;
    const dst = kind === 'noise' || kind === 'addrscan' ? pick(pool) : actors.target;
    for (let j = 0; j < 4; j++) {
      rows.srcAddrs[i * 4 + j] = src.w[j];
      rows.dstAddrs[i * 4 + j] = dst.w[j];
    }
    const proto = kind === 'noise' ? (random() < 0.05 ? 1 : random() < 0.25 ? 17 : 6) : kind === 'portscan' || kind === 'addrscan' || kind === 'flood' ? (random() < 0.2 ? 17 : 6) : 6;
    rows.protocols[i] = proto;
    rows.ipVersions[i] = v;
    rows.srcPorts[i] = 40000 + Math.floor(random() * 1000);
    rows.dstPorts[i] = kind === 'portscan' ? 1 + Math.floor(random() * 120) : kind === 'brute' ? 22 : kind === 'http' ? 80 : kind === 'noise' ? pick(PORTS) : actors.port;
    // Mostly forward in time, some flows starting before earlier ones (flows arrive in end order), some long gaps.
    clock.us += random() < 0.001 ? 60e6 * random() : 8000 * random();
    const start = clock.us - (random() < 0.1 ? 3e6 * random() : 0);
    rows.startUs[i] = start;
    rows.endUs[i] = start + 1000;
    const answered = kind === 'brute' || kind === 'http' || (kind === 'noise' && random() < 0.4) || random() < 0.05;
    const fwdBytes = kind === 'brute' ? 100 : kind === 'noise' && random() < 0.5 ? 100 : 0;
    const duration = kind === 'noise' && random() < 0.1 ? 40e6 : 1e6 * random();
    const feature = [duration, kind === 'flood' ? 1 : 1 + Math.floor(random() * 5), answered ? 2 : 0, fwdBytes, answered ? 200 : 0, kind === 'noise' ? (random() < 0.8 ? 1 : 0) : random() < 0.97 ? 1 : 0];
    at.forEach((k, j) => (rows.features[i * F + k] = feature[j]));
    const label = random() < 0.9 ? 'BENIGN' : pick(CLASSES);
    rows.labels.push(label);
    rows.scores[i] = random();
    rows.attackLabels.push('Bot');
    rows.attackScores[i] = random();
    rows.kdd.push(KDD[label]);
  }
  return rows;
}

const clone = (rows) => ({ ...rows, labels: [...rows.labels], scores: rows.scores.slice(), kdd: [...rows.kdd], context: undefined });

const CASES = [
  {},
  { maxKeys: 16 },
  { maxKeys: 1, portScanPorts: 1, addressScanHosts: 1, floodFlows: 3, httpFloodConnections: 2, bruteForceConnections: 2 },
  { maxKeys: 2, portScanPorts: 2, addressScanHosts: 2, floodFlows: 5, floodWindowS: 0.5, scanWindowS: 1, httpFloodWindowS: 0.3 },
  { maxKeys: 7, portScanPorts: 3, addressScanHosts: 3, floodFlows: 20, floodWindowS: 2, httpFloodConnections: 5, httpFloodWindowS: 1, bruteForceConnections: 3, bruteForceWindowS: 5, scanWindowS: 3 },
  { maxKeys: 64, portScanPorts: 8, addressScanHosts: 30, floodFlows: 50, floodWindowS: 1.5, httpFloodConnections: 10, httpFloodWindowS: 0.7, scanWindowS: 2.5 },
  { maxKeys: 200, portScanPorts: 70, addressScanHosts: 70, scanWindowS: 30 },
  { floodFlows: 30, floodWindowS: 1, httpFloodConnections: 20, httpFloodWindowS: 0.5 },
  { portScanPorts: 65, addressScanHosts: 70, scanWindowS: 60 },
];
let differences = 0;
let compared = 0;
for (const thresholds of CASES) {
  const opts = { columns, classes: CLASSES, benign: 'BENIGN', kdd: KDD, thresholds };
  const a = new before.ContextStage(opts);
  const b = new after.ContextStage(opts);
  const clock = { us: 1.7e15 };
  let relabelled = 0;
  for (let done = 0; done < flowsPerCase; ) {
    const n = Math.min(flowsPerCase - done, 1 + Math.floor(random() * 500));
    const rows = makeBatch(n, clock);
    const ra = clone(rows);
    const rb = clone(rows);
    a.observe(ra);
    b.observe(rb);
    for (let i = 0; i < n; i++) {
      const ca = ra.context?.[i] ?? null;
      if (ca !== null) relabelled++;
      const same = ra.labels[i] === rb.labels[i] && Object.is(ra.scores[i], rb.scores[i]) && ra.kdd[i] === rb.kdd[i] && ca === (rb.context?.[i] ?? null);
      if (!same && differences++ < 10) process.stdout.write(`DIFF ${JSON.stringify(thresholds)} flow ${done + i}: ${ra.labels[i]} ${ca} | ${rb.labels[i]} ${rb.context?.[i] ?? null}\n`);
    }
    const tracked = (s) => before.DETECTORS.map((d) => s.tracked(d)).join(',');
    if (JSON.stringify(a.counts()) !== JSON.stringify(b.counts()) || tracked(a) !== tracked(b)) {
      if (differences++ < 10) process.stdout.write(`DIFF ${JSON.stringify(thresholds)} after ${done + n} flows: ${JSON.stringify(a.counts())} ${tracked(a)} | ${JSON.stringify(b.counts())} ${tracked(b)}\n`);
    }
    done += n;
  }
  compared += flowsPerCase;
  const c = b.counts();
  const sum = (r) => Object.values(r).reduce((s, x) => s + x, 0);
  process.stdout.write(`${JSON.stringify(thresholds)}: ${flowsPerCase} flows, ${relabelled} relabelled, ${sum(c.evicted)} keys evicted (${JSON.stringify(c.relabelled)})\n`);
}
process.stdout.write(`${compared} flows compared, ${differences} differences\n`);
process.exit(differences === 0 ? 0 : 1);
