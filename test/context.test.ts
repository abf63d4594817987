/**
 * The context stage (src/classify/context.ts) on small synthetic flow sequences whose outcome follows from each
 * detector's rule and its default threshold, its memory bound, and its independence from how flows are batched.
 */
import { describe, expect, it } from 'vitest';
import { CONTEXT_DEFAULTS, ContextStage, contextThresholdsErrors, type ContextOptions } from '../src/classify/context.js';
import { resolveInputs } from '../src/classify/feature-names.js';
import { getProfile, type ProfileName } from '../src/features/profiles.js';
import { newFlowRows, type FlowRows } from '../src/sinks/flow-rows.js';

const CLASSES = ['BENIGN', 'Bot', 'BruteForce', 'DoS', 'Infiltration', 'PortScan', 'WebAttack'];
const KDD = { BENIGN: 'normal', Bot: 'R2L', BruteForce: 'R2L', DoS: 'DoS', Infiltration: 'U2R', PortScan: 'Probe', WebAttack: 'R2L' };

/** One synthetic flow: what the detectors read. Times in seconds; addresses as dotted IPv4 or as IPv6 text. */
interface Flow {
  src: string;
  dst: string;
  sport?: number;
  dport: number;
  proto?: 6 | 17;
  start: number;
  duration?: number;
  fwdPkts?: number;
  bwdPkts?: number;
  fwdBytes?: number;
  bwdBytes?: number;
  /** The flow begins with a SYN (a new connection; default true). */
  syn?: boolean;
  /** The model's verdict (default BENIGN). */
  label?: string;
}

const ip = (s: string): number => s.split('.').reduce((a, b) => a * 256 + Number(b), 0) >>> 0;

/** An address's 4 words (IPv4: its word, then zeros) and IP version; IPv6 text with at most one `::`. */
function address(s: string): { words: number[]; version: 4 | 6 } {
  if (!s.includes(':')) return { words: [ip(s), 0, 0, 0], version: 4 };
  const [head, tail] = s.split('::') as [string, string | undefined];
  const groups = (x: string | undefined): number[] => (x ? x.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return { words: [0, 1, 2, 3].map((w) => ((all[2 * w]! << 16) | all[2 * w + 1]!) >>> 0), version: 6 };
}

/** The flows as a batch of `profile` rows carrying the model's verdicts. */
function batch(flows: Flow[], profile: ProfileName = 'cic2017'): FlowRows {
  const columns = getProfile(profile).columns;
  const F = columns.featureNames.length;
  const syn = profile === 'cic2017' ? 'PSH Flag Count' : 'SYN Flag Count';
  const at = resolveInputs(['Flow Duration', 'Total Fwd Packets', 'Total Backward Packets', 'Total Length of Fwd Packets', 'Total Length of Bwd Packets', syn], columns).sources.map((s) =>
    s.from === 'feature' ? s.index : -1,
  );
  const rows = newFlowRows(flows.length, F);
  rows.count = flows.length;
  rows.labels = [];
  rows.scores = new Float64Array(flows.length).fill(0.9);
  rows.attackLabels = [];
  rows.attackScores = new Float64Array(flows.length).fill(0.1);
  rows.kdd = [];
  flows.forEach((f, i) => {
    const src = address(f.src);
    rows.srcAddrs.set(src.words, i * 4);
    rows.dstAddrs.set(address(f.dst).words, i * 4);
    rows.srcPorts[i] = f.sport ?? 40000 + (i % 20000);
    rows.dstPorts[i] = f.dport;
    rows.protocols[i] = f.proto ?? 6;
    rows.ipVersions[i] = src.version;
    rows.startUs[i] = f.start * 1e6;
    rows.endUs[i] = (f.start + (f.duration ?? 0.001)) * 1e6;
    const v = [(f.duration ?? 0.001) * 1e6, f.fwdPkts ?? 1, f.bwdPkts ?? 0, f.fwdBytes ?? 0, f.bwdBytes ?? 0, f.syn === false ? 0 : 1];
    at.forEach((k, j) => (rows.features[i * F + k] = v[j]!));
    rows.labels!.push(f.label ?? 'BENIGN');
    rows.attackLabels!.push('Bot');
    rows.kdd!.push(KDD[(f.label ?? 'BENIGN') as keyof typeof KDD]);
  });
  return rows;
}

function stage(opts: Partial<ContextOptions> = {}, profile: ProfileName = 'cic2017'): ContextStage {
  return new ContextStage({ columns: getProfile(profile).columns, classes: CLASSES, benign: 'BENIGN', kdd: KDD, ...opts });
}

/** Run the flows through a fresh stage (in batches of `size`); the labels and contexts written. */
function run(flows: Flow[], opts: Partial<ContextOptions> = {}, size = flows.length): { labels: string[]; context: (string | null)[]; rows: FlowRows[]; s: ContextStage } {
  const s = stage(opts);
  const rows: FlowRows[] = [];
  for (let i = 0; i < flows.length; i += Math.max(1, size)) {
    const b = batch(flows.slice(i, i + size));
    s.observe(b);
    rows.push(b);
  }
  return {
    labels: rows.flatMap((b) => b.labels as string[]),
    context: rows.flatMap((b) => b.context ?? new Array<null>(b.count).fill(null)),
    rows,
    s,
  };
}

const count = (labels: string[], label: string): number => labels.filter((l) => l === label).length;

/** `n` SYNs from `src` to ports of `dst`, unanswered (or rejected: no payload), 0.1 s apart. */
function portScan(n: number, src = '10.0.0.5', dst = '10.0.0.9', t0 = 0): Flow[] {
  return Array.from({ length: n }, (_, k) => ({ src, dst, dport: 1000 + k, start: t0 + k * 0.1, fwdPkts: 1, bwdPkts: 1 }));
}

describe('context stage: port and address scans (Zeek scan.zeek thresholds)', () => {
  it('a scan of 30 ports of one host fires from the 15th distinct port on; the flows before keep the model\'s verdict', () => {
    const r = run(portScan(30));
    expect(r.labels.slice(0, CONTEXT_DEFAULTS.portScanPorts - 1)).toEqual(new Array(14).fill('BENIGN'));
    expect(r.labels.slice(14)).toEqual(new Array(16).fill('PortScan'));
    expect(r.context[29]).toBe('port-scan: 10.0.0.5 → 15+ ports of 10.0.0.9, 30 failed connections in 2.9 s');
    expect(r.s.counts().relabelled['port-scan']).toBe(16);
  });

  it('10 ports does not fire; nor do 30 answered connections (payload both ways)', () => {
    expect(count(run(portScan(10)).labels, 'PortScan')).toBe(0);
    const answered = portScan(30).map((f) => ({ ...f, fwdPkts: 4, bwdPkts: 4, fwdBytes: 100, bwdBytes: 300 }));
    expect(count(run(answered).labels, 'PortScan')).toBe(0);
  });

  it('connection tails (no SYN: the server closing connections to the client\'s ephemeral ports) are no scan', () => {
    const tails = portScan(40, '10.0.0.9', '10.0.0.5').map((f) => ({ ...f, syn: false, fwdPkts: 2 }));
    expect(count(run(tails).labels, 'PortScan')).toBe(0);
  });

  it('a scan that goes on past its window keeps firing and cites the window in which it crossed the threshold', () => {
    const long = portScan(40).map((f, k) => ({ ...f, start: k * 10 })); // 30 ports per 5 min
    const r = run(long);
    expect(r.labels.slice(14)).toEqual(new Array(26).fill('PortScan'));
    expect(r.context[39]).toBe('port-scan: 10.0.0.5 → 15+ ports of 10.0.0.9, 30 failed connections in 290 s (the window before)');
  });

  it('the same 30 ports spread over more than the 5-minute window do not fire', () => {
    const slow = portScan(30).map((f, k) => ({ ...f, start: k * 30 })); // 14 ports per 5 min at most
    expect(count(run(slow).labels, 'PortScan')).toBe(0);
  });

  it('one port on 30 hosts fires (address scan from the 25th host); on 10 hosts it does not', () => {
    const sweep = (n: number): Flow[] => Array.from({ length: n }, (_, k) => ({ src: '10.0.0.5', dst: `10.0.1.${k + 1}`, dport: 445, start: k * 0.2 }));
    const r = run(sweep(30));
    expect(count(r.labels, 'PortScan')).toBe(30 - CONTEXT_DEFAULTS.addressScanHosts + 1);
    expect(r.context[29]).toMatch(/^address-scan: 10\.0\.0\.5 → port 445 of 25\+ hosts, 30 failed connections in 5\.8 s$/);
    expect(count(run(sweep(10)).labels, 'PortScan')).toBe(0);
  });

  it('unanswered UDP counts as failed (a UDP port scan)', () => {
    const udp = portScan(20).map((f) => ({ ...f, proto: 17 as const, fwdBytes: 0 }));
    expect(count(run(udp).labels, 'PortScan')).toBe(20 - 15 + 1);
  });
});

describe('context stage: brute force (Zeek SSH guessing: 30 in 30 min)', () => {
  const logins = (n: number, gap: number, port = 22): Flow[] =>
    Array.from({ length: n }, (_, k) => ({ src: '10.0.0.66', dst: '10.0.0.10', dport: port, start: k * gap, duration: 2, fwdPkts: 12, bwdPkts: 10, fwdBytes: 1800, bwdBytes: 2400 }));

  it('40 short answered SSH connections in 4 minutes fire from the 30th on, as BruteForce, with kdd in step', () => {
    const r = run(logins(40, 6));
    expect(r.labels.indexOf('BruteForce')).toBe(29);
    expect(count(r.labels, 'BruteForce')).toBe(11);
    expect(r.context[39]).toBe('brute-force: 10.0.0.66 → 10.0.0.10:22, 40 short logins in 234 s');
    expect(r.rows[0]!.kdd![39]).toBe('R2L');
    expect(Number.isNaN(r.rows[0]!.scores![39])).toBe(true); // the label is the context's, not a probability
    expect(r.rows[0]!.attackLabels![39]).toBe('Bot'); // the model's own best attack class stays
    expect(r.rows[0]!.attackScores![39]).toBe(0.1);
  });

  it('the same 40 logins one every 3 minutes (an admin, a cron job) do not fire; nor do long sessions', () => {
    expect(count(run(logins(40, 180)).labels, 'BruteForce')).toBe(0);
    expect(count(run(logins(40, 6).map((f) => ({ ...f, duration: 115 }))).labels, 'BruteForce')).toBe(0);
  });

  it('a busy benign client with 300 answered HTTPS connections to a CDN in 10 minutes fires nothing', () => {
    const cdn = Array.from({ length: 300 }, (_, k): Flow => ({
      src: '192.168.1.20', dst: `151.101.${k % 4}.1`, dport: 443, start: k * 2, duration: 1.5, fwdPkts: 15, bwdPkts: 40, fwdBytes: 2000, bwdBytes: 60000,
    }));
    const r = run(cdn);
    expect(count(r.labels, 'BENIGN')).toBe(300);
    expect(r.rows[0]!.context).toBeUndefined();
  });
});

describe('context stage: floods', () => {
  it('2,000 spoofed SYNs to one web server in 10 s: DoS from the 1,024th flow; 500 do not fire', () => {
    const syns = (n: number): Flow[] =>
      Array.from({ length: n }, (_, k) => ({ src: `${11 + (k % 200)}.${(k >> 8) & 255}.${k & 255}.7`, dst: '10.0.0.10', dport: 80, start: k * 0.005, fwdPkts: 1, bwdPkts: 2 }));
    const r = run(syns(2000));
    expect(r.labels.indexOf('DoS')).toBe(CONTEXT_DEFAULTS.floodFlows - 1);
    expect(count(r.labels, 'DoS')).toBe(2000 - 1023);
    expect(r.context[1999]).toBe('flood: 2000 unanswered flows (0 answered) to 10.0.0.10:80 in 10 s');
    // Once the flood fires, its flows no longer make per-source keys (a new source every flow would churn them).
    expect(r.s.tracked('port-scan')).toBe(1023);
    expect(count(run(syns(500)).labels, 'DoS')).toBe(0);
  });

  it('ACK floods (no SYN) count too; answered flows (a busy server) do not', () => {
    const acks = Array.from({ length: 1500 }, (_, k): Flow => ({ src: '10.9.9.9', sport: k, dst: '10.0.0.10', dport: 443, start: k * 0.01, syn: false, fwdPkts: 1, bwdPkts: 1 }));
    expect(count(run(acks).labels, 'DoS')).toBe(1500 - 1023);
    const busy = acks.map((f) => ({ ...f, syn: true, fwdPkts: 6, bwdPkts: 6, fwdBytes: 500, bwdBytes: 5000, src: `10.1.${f.sport! >> 8}.${f.sport! & 255}` }));
    expect(count(run(busy).labels, 'DoS')).toBe(0);
  });

  it('a busy web server, 3,000 answered connections in 30 s each with its closing tail flow (tiny, unanswered), is no flood', () => {
    const flows: Flow[] = [];
    for (let k = 0; k < 3000; k++) {
      const src = `10.3.${k >> 8}.${k & 255}`;
      flows.push({ src, sport: 50000, dst: '10.0.0.10', dport: 80, start: k * 0.01, duration: 0.02, fwdPkts: 5, bwdPkts: 5, fwdBytes: 300, bwdBytes: 9000 });
      flows.push({ src, sport: 50000, dst: '10.0.0.10', dport: 80, start: k * 0.01 + 0.02, syn: false, fwdPkts: 2, bwdPkts: 1 });
    }
    expect(count(run(flows).labels, 'DoS')).toBe(0);
  });

  it('150 connections from one source to one web server in 5 s: an HTTP flood from the 100th; 60 do not fire', () => {
    const hits = (n: number): Flow[] =>
      Array.from({ length: n }, (_, k) => ({ src: '10.0.0.66', dst: '10.0.0.10', dport: 80, start: k * (5 / n), duration: 0.02, fwdPkts: 5, bwdPkts: 4, fwdBytes: 300, bwdBytes: 900 }));
    const r = run(hits(150));
    expect(r.labels.indexOf('DoS')).toBe(CONTEXT_DEFAULTS.httpFloodConnections - 1);
    expect(r.context[149]).toMatch(/^http-flood: 10\.0\.0\.66 → 10\.0\.0\.10:80, 150 connections in 5 s$/);
    expect(count(run(hits(60)).labels, 'DoS')).toBe(0);
  });
});

describe('context stage: what it changes and what it keeps', () => {
  it('flows the model called attacks keep their verdict; only benign-called evidence is relabelled', () => {
    const flows = portScan(30).map((f, k) => ({ ...f, label: k % 2 === 0 ? 'DoS' : 'BENIGN' }));
    const r = run(flows);
    for (let k = 0; k < 30; k += 2) expect(r.labels[k]).toBe('DoS');
    for (let k = 1; k < 30; k += 2) expect(r.labels[k]).toBe(k >= 14 ? 'PortScan' : 'BENIGN');
    expect(r.context.filter((c) => c !== null)).toHaveLength(8);
  });

  it('the labels do not depend on how the flows are batched', () => {
    const flows = [...portScan(40), ...portScan(40, '10.0.0.6', '10.0.0.8', 1)].sort((a, b) => a.start - b.start);
    const whole = run(flows);
    for (const size of [1, 7, 33]) {
      const r = run(flows, {}, size);
      expect(r.labels).toEqual(whole.labels);
      expect(r.context).toEqual(whole.context);
    }
  });

  it('tells the tally of every relabelled flow', () => {
    const moved: string[] = [];
    run(portScan(20), { onRelabel: (_rows, _i, label) => moved.push(label) });
    expect(moved).toEqual(new Array(6).fill('PortScan'));
  });

  it('a detector whose class the model does not have stays off', () => {
    const s = stage({ classes: ['BENIGN', 'DoS'] });
    expect(s.detectors).toEqual(['flood', 'http-flood']);
    const b = batch(portScan(30));
    s.observe(b);
    expect(b.labels).toEqual(new Array(30).fill('BENIGN'));
  });

  it('reads each profile\'s own columns (cic and fixed count SYN flags; cic2017 prints them shifted)', () => {
    for (const profile of ['cic', 'fixed', 'cic2017'] as const) {
      const s = stage({}, profile);
      const b = batch(portScan(20), profile);
      s.observe(b);
      expect(count(b.labels as string[], 'PortScan')).toBe(6);
    }
  });

  it('keeps at most maxKeys keys per detector and counts what it forgets', () => {
    // 1,000 sources each failing one connection: 1,000 port-scan and address-scan keys, 100 kept.
    const flows = Array.from({ length: 1000 }, (_, k): Flow => ({ src: `10.2.${k >> 8}.${k & 255}`, dst: '10.0.0.9', dport: 22, start: k * 0.001 }));
    const r = run(flows, { thresholds: { maxKeys: 100 } });
    expect(r.s.tracked('port-scan')).toBe(100);
    expect(r.s.tracked('address-scan')).toBe(100);
    expect(r.s.counts().evicted['port-scan']).toBe(900);
    expect(r.s.counts().evicted['address-scan']).toBe(900);
    expect(r.s.tracked('flood')).toBe(1);
    // A scan still fires after the table has been churned through.
    const after = run([...flows, ...portScan(20, '10.0.0.5', '10.0.0.9', 2)], { thresholds: { maxKeys: 100 } });
    expect(count(after.labels, 'PortScan')).toBe(6);
  });
});

describe('context stage: keys (IPv6, eviction, distinct values)', () => {
  it('an IPv6 port scan fires from the 15th port, the reason in IPv6 text; an IPv6 sweep counts hosts that differ in their last bits', () => {
    const r = run(portScan(20, '2001:db8::5', '2001:db8::9'));
    expect(count(r.labels, 'PortScan')).toBe(20 - 15 + 1);
    expect(r.context[19]).toBe('port-scan: 2001:db8::5 → 15+ ports of 2001:db8::9, 20 failed connections in 1.9 s');
    const sweep = Array.from({ length: 30 }, (_, k): Flow => ({ src: '2001:db8::5', dst: `2001:db8::1:${k + 1}`, dport: 445, start: k * 0.2 }));
    const s = run(sweep);
    expect(count(s.labels, 'PortScan')).toBe(30 - 25 + 1);
    expect(s.context[29]).toBe('address-scan: 2001:db8::5 → port 445 of 25+ hosts, 30 failed connections in 5.8 s');
  });

  it('an IPv4 address and the IPv6 address with the same first 32 bits (the rest zero) are different keys', () => {
    // 10.0.0.5 is 0x0a000005: as IPv6, a00:5::. 10 ports on each: no host has 15.
    const v6 = portScan(10, 'a00:5::', 'a00:9::', 1).map((f) => ({ ...f, dport: f.dport + 10 }));
    expect(count(run([...portScan(10), ...v6]).labels, 'PortScan')).toBe(0);
    const sweep = (n: number, v: 4 | 6): Flow[] => Array.from({ length: n }, (_, k) => ({ src: v === 4 ? '10.0.0.5' : 'a00:5::', dst: v === 4 ? `10.0.1.${k + 1}` : `a00:1${k + 1}::`, dport: 445, start: k * 0.2 }));
    expect(count(run([...sweep(20, 4), ...sweep(20, 6)]).labels, 'PortScan')).toBe(0);
  });

  it('a key forgotten (maxKeys full) and seen again counts from nothing, and can fire again', () => {
    // maxKeys 2: the scanner's 10 ports, then two other sources' failures forget it; its next 14 ports are not 15.
    const others = ['10.0.0.6', '10.0.0.7'].map((src, k): Flow => ({ src, dst: '10.0.0.9', dport: 80, start: 2 + k * 0.1 }));
    const back = portScan(15, '10.0.0.5', '10.0.0.9', 3).map((f) => ({ ...f, dport: f.dport + 100 }));
    const r = run([...portScan(10), ...others, ...back], { thresholds: { maxKeys: 2 } });
    expect(r.labels.slice(0, 26)).toEqual(new Array(26).fill('BENIGN'));
    expect(r.labels[26]).toBe('PortScan');
    expect(r.context[26]).toBe('port-scan: 10.0.0.5 → 15+ ports of 10.0.0.9, 15 failed connections in 1.4 s');
    expect(r.s.tracked('port-scan')).toBe(2);
    expect(r.s.counts().evicted['port-scan']).toBe(2);
  });
});

describe('context thresholds (config)', () => {
  it('accepts known keys with positive values and names every problem', () => {
    expect(contextThresholdsErrors({ portScanPorts: 20, floodWindowS: 0.5 })).toEqual([]);
    expect(contextThresholdsErrors({ portScanPort: 20, floodFlows: 1.5, scanWindowS: -1 })).toEqual([
      `a known threshold (${Object.keys(CONTEXT_DEFAULTS).join(', ')}), not "portScanPort"`,
      '"floodFlows" a positive integer, not 1.5',
      '"scanWindowS" a positive number of seconds, not -1',
    ]);
    expect(contextThresholdsErrors([])).toEqual(['an object of context thresholds']);
  });

  it('a threshold given changes the rule: portScanPorts 40 leaves a 30-port scan alone', () => {
    expect(count(run(portScan(30), { thresholds: { portScanPorts: 40 } }).labels, 'PortScan')).toBe(0);
  });
});
