/**
 * The context stage: after the model, before the outputs. The model judges each flow alone; an attack tool it has
 * never seen often makes flows that look ordinary one by one, while its SOURCE behaves like no ordinary client over
 * a time window (Zeek's scan.zeek and SSH password-guessing policies work this way, with thresholds). This stage
 * keeps bounded per-source / per-destination counts over windows of flow START time and, when a detector's
 * threshold is crossed, gives the flows of its evidence that the model called benign (below the alert threshold)
 * the detector's class as their label, with a `context` text saying why. The model's own best attack class and
 * probability stay in attackLabels/attackScores; the relabelled flow's score is NaN (NULL: the label is not a
 * probability of the model).
 *
 * Detectors (defaults in CONTEXT_DEFAULTS, each with its reason):
 * - port scan (PortScan): one source's failed connections (TCP: no payload either way; UDP: no answer payload) to
 *   many distinct ports of one host, or to one port of many hosts;
 * - brute force (BruteForce): many short answered connections from one source to the login ports of one server;
 * - flood (DoS): very many tiny unanswered flows (no answer payload, at most 3 packets sent) to one
 *   destination:port, whatever their sources (a spoofed flood has thousands), beyond the flows it answered;
 * - HTTP flood (DoS): very many connections from one source to the web ports of one server.
 *
 * Windows are Zeek's sumstats epochs: a key counts from its first flow's start for `window` seconds, then starts
 * counting again. Once a key has fired, it stays firing while its flows keep coming (no gap longer than the
 * window). Flows arrive in END order; one whose start is before its key's epoch counts in the current epoch.
 *
 * A flow is judged once, when it passes: it is relabelled when, counting it, its key is firing. The flows that
 * came before the threshold was crossed have been written already and keep the model's verdict. This depends only
 * on the order of the flows (not on how they are batched), so replay, live and `--workers N` give the same labels.
 *
 * Memory: each detector tracks at most `maxKeys` keys; when full, the key seen first is forgotten and counted
 * (`evicted`). A key's set of distinct ports or hosts holds at most
 * the threshold's number of entries. Pure: no I/O; per flow it allocates at most one key string (and, for a new
 * key, its state), and the reason's text only for a flow it relabels.
 */
import type { FlowRows, ProfileColumns } from '../engine/flow-batch.js';
import { formatIpv4, formatIpv6 } from '../features/address-text.js';
import { resolveInputs } from './feature-names.js';

export interface ContextThresholds {
  /** Distinct ports of one host with failed connections from one source, within scanWindowS. */
  portScanPorts: number;
  /** Distinct hosts with failed connections on one port from one source, within scanWindowS. */
  addressScanHosts: number;
  scanWindowS: number;
  /** Short answered connections from one source to the login ports of one server, within bruteForceWindowS. */
  bruteForceConnections: number;
  bruteForceWindowS: number;
  /** A login attempt's connection lasts less than this (s). */
  bruteForceMaxDurationS: number;
  /** Tiny unanswered flows to one destination:port, any source, within floodWindowS. */
  floodFlows: number;
  floodWindowS: number;
  /** Connections from one source to the web ports of one server, within httpFloodWindowS. */
  httpFloodConnections: number;
  httpFloodWindowS: number;
  /** Keys tracked per detector (memory bound). */
  maxKeys: number;
}

/**
 * Defaults and why (README "Context stage"). None was tuned on the attack captures.
 * - Scans: Zeek's scan.zeek (Scan::port_scan_threshold 15, Scan::addr_scan_threshold 25, both intervals 5 min).
 * - Brute force: Zeek's SSH policy (SSH::password_guesses_limit 30, SSH::guessing_timeout 30 min); "short": a
 *   scripted login (or the few attempts sshd's MaxAuthTries 6 allows on one connection) ends in seconds, an
 *   interactive session or a transfer lasts longer, and a long connection cut by the 120 s flow timeout gives
 *   flows of the whole timeout.
 * - Flood: Zeek has no flood policy. 1,024 is a default Linux listener's SYN backlog (net.ipv4.tcp_max_syn_backlog
 *   on any machine with more than a little memory), and 60 s about how long a half-open connection holds its
 *   place there (the SYN-ACK is retried 5 times, 1+2+4+8+16+32 s): that many half-open or unanswered flows to one
 *   service within that time fill it.
 * - HTTP flood: a browser opens at most 6 connections to one server and reuses them for minutes (RFC 9112 §9.4
 *   asks clients to limit them); 100 new connections in 10 s from one source is an order of magnitude beyond.
 * - maxKeys 65,536 per detector: a few MB at most (a key is a short string and a few numbers).
 */
export const CONTEXT_DEFAULTS: Readonly<ContextThresholds> = Object.freeze({
  portScanPorts: 15,
  addressScanHosts: 25,
  scanWindowS: 300,
  bruteForceConnections: 30,
  bruteForceWindowS: 1800,
  bruteForceMaxDurationS: 30,
  floodFlows: 1024,
  floodWindowS: 60,
  httpFloodConnections: 100,
  httpFloodWindowS: 10,
  maxKeys: 65536,
});

/** Ports where one connection is one login (or a few): FTP, SSH, Telnet, POP3, IMAP, SMTP submission, IMAPS, POP3S, MSSQL, Oracle, MySQL, RDP, PostgreSQL, VNC, Redis, MongoDB. */
export const LOGIN_PORTS: ReadonlySet<number> = new Set([21, 22, 23, 110, 143, 465, 587, 993, 995, 1433, 1521, 3306, 3389, 5432, 5900, 6379, 27017]);
/** Web servers' ports. */
export const WEB_PORTS: ReadonlySet<number> = new Set([80, 443, 8000, 8008, 8080, 8443, 8888]);

export const DETECTORS = ['port-scan', 'address-scan', 'brute-force', 'flood', 'http-flood'] as const;
export type DetectorName = (typeof DETECTORS)[number];

/** The class each detector gives (the model's class names). */
export const DETECTOR_CLASS: Readonly<Record<DetectorName, string>> = {
  'port-scan': 'PortScan',
  'address-scan': 'PortScan',
  'brute-force': 'BruteForce',
  flood: 'DoS',
  'http-flood': 'DoS',
};

/** What the detectors read of a flow: the profile's columns for packets and payload bytes each way, and the duration. */
const FEATURES = ['Flow Duration', 'Total Fwd Packets', 'Total Backward Packets', 'Total Length of Fwd Packets', 'Total Length of Bwd Packets'];

/**
 * The column that is non-zero when the flow's first packet (or, `cic`/`fixed`, any of its packets) has SYN: a new
 * TCP connection, not the tail of one (the profiles end a flow at the first FIN, and the rest of that connection is
 * a flow of its own, often from the server). The 2017 build prints its flag counters in a hash map's order: its
 * `PSH Flag Count` is the first packet's SYN (CIC-FEATURES.md §9 item 2).
 */
const SYN_COLUMN: Readonly<Record<string, string>> = { cic: 'SYN Flag Count', fixed: 'SYN Flag Count', cic2017: 'PSH Flag Count' };

interface KeyState {
  epochStartUs: number;
  lastStartUs: number;
  /** The earliest and latest flow start counted in this epoch (flows arrive in end order), for the text. */
  firstInEpochUs: number;
  lastInEpochUs: number;
  /** Flows of the evidence in this epoch. */
  count: number;
  /** Flood: answered flows to the destination in this epoch (they offset as many tiny ones). */
  answered: number;
  /**
   * Distinct ports or hosts in this epoch (scans), at most the threshold's number: the first one inline, a Set
   * only from the second (a spoofed flood makes a key per source, each with one flow).
   */
  first: number | string | null;
  distinct: Set<number | string> | null;
  fired: boolean;
  /** The evidence of the window before, when the key fired there and still fires (for the text). */
  before: Evidence | null;
}

/** What a key counted in one window, for the `context` text. */
interface Evidence {
  count: number;
  answered: number;
  distinct: number;
  spanUs: number;
  /** From the window before this one (the key fired there and its flows kept coming). */
  before: boolean;
}

/** The evidence to cite: this window's when it crossed the threshold itself, else the window's before. */
function evidence(s: KeyState, crossed: boolean): Evidence {
  if (!crossed && s.before !== null) return s.before;
  return { count: s.count, answered: s.answered, distinct: distinctCount(s), spanUs: s.lastInEpochUs - s.firstInEpochUs, before: false };
}

function distinctCount(s: KeyState): number {
  return s.distinct !== null ? s.distinct.size : s.first !== null ? 1 : 0;
}

/** Adds `value` to the key's distinct values (up to `cap`); returns how many there are. */
function addDistinct(s: KeyState, value: number | string, cap: number): number {
  if (s.first === null) s.first = value;
  else if (s.distinct === null) {
    if (value !== s.first) s.distinct = new Set([s.first, value]);
  } else if (s.distinct.size < cap) s.distinct.add(value);
  return distinctCount(s);
}

const inWindow = (e: Evidence): string => `in ${seconds(e.spanUs)}${e.before ? ' (the window before)' : ''}`;

/** One detector's keys and their states, at most `maxKeys` (the first seen forgotten first). */
class KeyTable {
  readonly states = new Map<string | number, KeyState>();
  evicted = 0;
  /**
   * The keys in the order they were first seen, a ring once full (`head` = the oldest). Not the Map's own order:
   * finding a Map's first key after many deletions walks over every deleted entry (86 µs a flow in a spoofed flood).
   */
  private readonly ring: (string | number)[] = [];
  private head = 0;
  constructor(
    private readonly windowUs: number,
    private readonly maxKeys: number,
  ) {}

  /** The state of `key` for a flow starting at `startUs`, its epoch restarted when the window has passed. */
  touch(key: string | number, startUs: number): KeyState {
    let s = this.states.get(key);
    if (s !== undefined && startUs >= s.epochStartUs + this.windowUs) {
      // A new epoch: count again; still firing only if the flows kept coming (no gap longer than the window).
      s.fired = s.fired && startUs - s.lastStartUs <= this.windowUs;
      s.before = s.fired ? { ...evidence(s, true), before: true } : null;
      s.epochStartUs = startUs;
      s.firstInEpochUs = startUs;
      s.lastInEpochUs = startUs;
      s.count = 0;
      s.answered = 0;
      s.first = null;
      s.distinct = null;
    }
    if (s === undefined) {
      if (this.ring.length < this.maxKeys) this.ring.push(key);
      else {
        this.states.delete(this.ring[this.head]!);
        this.ring[this.head] = key;
        this.head = (this.head + 1) % this.maxKeys;
        this.evicted++;
      }
      s = { epochStartUs: startUs, lastStartUs: startUs, firstInEpochUs: startUs, lastInEpochUs: startUs, count: 0, answered: 0, first: null, distinct: null, fired: false, before: null };
      this.states.set(key, s);
    }
    if (startUs > s.lastStartUs) s.lastStartUs = startUs;
    if (startUs < s.firstInEpochUs) s.firstInEpochUs = startUs;
    if (startUs > s.lastInEpochUs) s.lastInEpochUs = startUs;
    return s;
  }
}

/** Counts of a run, for the `runs` counters (`info`): flows relabelled per detector, keys evicted per detector. */
export interface ContextCounts {
  relabelled: Record<DetectorName, number>;
  evicted: Record<DetectorName, number>;
}

export interface ContextOptions {
  columns: ProfileColumns;
  /** The attack model's classes and its benign class: detectors whose class the model does not have stay off. */
  classes: readonly string[];
  benign: string;
  /** The model card's class → KDD category, to keep `kdd` in step with the new label. */
  kdd?: Readonly<Record<string, string>>;
  thresholds?: Partial<ContextThresholds>;
  /** Told of each relabelled flow (the verdict tally moves it from the benign class to `label`). */
  onRelabel?: (rows: FlowRows, i: number, label: string) => void;
}

function addressKey(addrs: Uint32Array, version: number, i: number): number | string {
  const o = i * 4;
  return version === 4 ? addrs[o]! : `${addrs[o]},${addrs[o + 1]},${addrs[o + 2]},${addrs[o + 3]}`;
}

/** An address and a TCP/UDP port as one key: a number for IPv4 (exact: under 2^49), text for IPv6. */
function serviceKey(addr: number | string, proto: number, port: number): number | string {
  return typeof addr === 'number' ? addr * 131072 + (proto === 17 ? 65536 : 0) + port : `${addr}|${proto}|${port}`;
}

function addressText(addrs: Uint32Array, version: number, i: number): string {
  return version === 4 ? formatIpv4(addrs[i * 4]!) : formatIpv6(addrs.subarray(i * 4, i * 4 + 4));
}

export class ContextStage {
  readonly thresholds: Readonly<ContextThresholds>;
  private readonly at: number[];
  private readonly stride: number;
  private readonly tables: Record<DetectorName, KeyTable>;
  /** Detectors whose class the model has. */
  private readonly on: Record<DetectorName, boolean>;
  private readonly relabelled: Record<DetectorName, number> = { 'port-scan': 0, 'address-scan': 0, 'brute-force': 0, flood: 0, 'http-flood': 0 };

  constructor(private readonly opts: ContextOptions) {
    const t = { ...CONTEXT_DEFAULTS, ...opts.thresholds };
    this.thresholds = Object.freeze(t);
    const syn = SYN_COLUMN[opts.columns.name];
    if (syn === undefined) throw new Error(`context stage: no SYN column known for profile ${opts.columns.name}`);
    const { sources, errors } = resolveInputs([...FEATURES, syn], opts.columns);
    if (errors.length > 0) throw new Error(`context stage: profile ${opts.columns.name}: ${errors.join('; ')}`);
    this.at = sources.map((s) => (s.from === 'feature' ? s.index : -1));
    this.stride = opts.columns.featureNames.length;
    const us = (s: number): number => s * 1e6;
    this.tables = {
      'port-scan': new KeyTable(us(t.scanWindowS), t.maxKeys),
      'address-scan': new KeyTable(us(t.scanWindowS), t.maxKeys),
      'brute-force': new KeyTable(us(t.bruteForceWindowS), t.maxKeys),
      flood: new KeyTable(us(t.floodWindowS), t.maxKeys),
      'http-flood': new KeyTable(us(t.httpFloodWindowS), t.maxKeys),
    };
    const on = {} as Record<DetectorName, boolean>;
    for (const d of DETECTORS) on[d] = opts.classes.includes(DETECTOR_CLASS[d]) && DETECTOR_CLASS[d] !== opts.benign;
    this.on = on;
  }

  /** Detectors that run (their class is one of the model's). */
  get detectors(): DetectorName[] {
    return DETECTORS.filter((d) => this.on[d]);
  }

  counts(): ContextCounts {
    const evicted = {} as Record<DetectorName, number>;
    for (const d of DETECTORS) evicted[d] = this.tables[d].evicted;
    return { relabelled: { ...this.relabelled }, evicted };
  }

  /** Keys tracked now, per detector (for tests of the bound). */
  tracked(d: DetectorName): number {
    return this.tables[d].states.size;
  }

  /**
   * Every flow of a classified batch, in order: counted, and relabelled (labels, scores, kdd, context) when it is
   * evidence of a firing detector and the model called it benign. A batch without verdicts is counted only.
   */
  observe(rows: FlowRows): void {
    const t = this.thresholds;
    const f = rows.features;
    const [durAt, fwdPktsAt, , fwdBytesAt, bwdBytesAt, synAt] = this.at as [number, number, number, number, number, number];
    for (let i = 0; i < rows.count; i++) {
      const proto = rows.protocols[i]!;
      if (proto !== 6 && proto !== 17) continue; // ports mean something only for TCP and UDP
      const base = i * this.stride;
      const fwdBytes = f[base + fwdBytesAt]!;
      const bwdBytes = f[base + bwdBytesAt]!;
      const fwdPkts = f[base + fwdPktsAt]!;
      const durationUs = f[base + durAt]!;
      const v = rows.ipVersions[i]!;
      const src = addressKey(rows.srcAddrs, v, i);
      const dst = addressKey(rows.dstAddrs, v, i);
      const dport = rows.dstPorts[i]!;
      const start = rows.startUs[i]!;
      // Source and destination as one key, made at most once a flow (the port-scan, brute-force and HTTP-flood keys).
      let pair: string | null = null;
      // A new connection (TCP: it began with a SYN) or a UDP exchange; not the tail of a connection.
      const opens = proto === 17 || f[base + synAt]! > 0;
      // Zeek's failed connection: nothing was exchanged (a SYN unanswered or rejected; UDP without an answer).
      const failed = opens && bwdBytes === 0 && (proto === 17 || fwdBytes === 0);
      // The reason's text is made only for a flow that will be relabelled (the model called it benign): reason().
      const benignCalled = rows.labels !== undefined && rows.labels[i] === this.opts.benign;
      // The first detector that fires for the flow, its key's state and whether this flow crossed its threshold.
      let fire: DetectorName | null = null;
      let fired: KeyState | null = null;
      let crossed = false;

      const tiny = bwdBytes === 0 && fwdPkts <= 3;
      if ((tiny || bwdBytes > 0) && this.on.flood) {
        const s = this.tables.flood.touch(serviceKey(dst, proto, dport), start);
        // An answered flow offsets one tiny flow: every connection a busy server answers may leave a tiny tail
        // flow of its own (its closing packets after the flow that ended at the first FIN).
        if (tiny) s.count++;
        else s.answered++;
        const over = s.count - s.answered >= t.floodFlows;
        if (over) s.fired = true;
        if (tiny && s.fired) {
          fire = 'flood';
          fired = s;
          crossed = over;
        }
      }
      // A tiny flow of a flood under way is that flood's evidence: the per-source detectors skip it, so that a
      // spoofed flood (a new source every flow) does not fill their tables with one-flow sources.
      if (fire === null) {
        if (failed && this.on['port-scan']) {
          const s = this.tables['port-scan'].touch((pair ??= `${src}|${dst}`), start);
          s.count++;
          const over = addDistinct(s, dport, t.portScanPorts) >= t.portScanPorts;
          if (over) s.fired = true;
          if (s.fired && fire === null) {
            fire = 'port-scan';
            fired = s;
            crossed = over;
          }
        }
        if (failed && this.on['address-scan']) {
          const s = this.tables['address-scan'].touch(serviceKey(src, proto, dport), start);
          s.count++;
          const over = addDistinct(s, dst, t.addressScanHosts) >= t.addressScanHosts;
          if (over) s.fired = true;
          if (s.fired && fire === null) {
            fire = 'address-scan';
            fired = s;
            crossed = over;
          }
        }
        if (proto === 6 && opens && LOGIN_PORTS.has(dport) && this.on['brute-force'] && fwdBytes > 0 && bwdBytes > 0 && durationUs < t.bruteForceMaxDurationS * 1e6) {
          const s = this.tables['brute-force'].touch((pair ??= `${src}|${dst}`), start);
          const over = ++s.count >= t.bruteForceConnections;
          if (over) s.fired = true;
          if (s.fired && fire === null) {
            fire = 'brute-force';
            fired = s;
            crossed = over;
          }
        }
        if (proto === 6 && opens && WEB_PORTS.has(dport) && this.on['http-flood']) {
          const s = this.tables['http-flood'].touch((pair ??= `${src}|${dst}`), start);
          const over = ++s.count >= t.httpFloodConnections;
          if (over) s.fired = true;
          if (s.fired && fire === null) {
            fire = 'http-flood';
            fired = s;
            crossed = over;
          }
        }
      }
      if (fire !== null && benignCalled) this.relabel(rows, i, fire, reason(fire, evidence(fired!, crossed), rows, i));
    }
  }

  private relabel(rows: FlowRows, i: number, d: DetectorName, why: string): void {
    const label = DETECTOR_CLASS[d];
    rows.labels![i] = label;
    if (rows.scores) rows.scores[i] = NaN;
    if (rows.kdd) rows.kdd[i] = this.opts.kdd?.[label] ?? null;
    if (!rows.context) rows.context = new Array<string | null>(rows.count).fill(null);
    rows.context[i] = why;
    this.relabelled[d]++;
    this.opts.onRelabel?.(rows, i, label);
  }
}

/** The `context` text of flow `i`, relabelled by detector `d` on evidence `e`. */
function reason(d: DetectorName, e: Evidence, rows: FlowRows, i: number): string {
  const v = rows.ipVersions[i]!;
  const src = addressText(rows.srcAddrs, v, i);
  const dst = addressText(rows.dstAddrs, v, i);
  const dport = rows.dstPorts[i]!;
  switch (d) {
    case 'flood':
      return `flood: ${e.count} unanswered flows (${e.answered} answered) to ${dst}:${dport} ${inWindow(e)}`;
    case 'port-scan':
      return `port-scan: ${src} → ${e.distinct}+ ports of ${dst}, ${e.count} failed connections ${inWindow(e)}`;
    case 'address-scan':
      return `address-scan: ${src} → port ${dport} of ${e.distinct}+ hosts, ${e.count} failed connections ${inWindow(e)}`;
    case 'brute-force':
      return `brute-force: ${src} → ${dst}:${dport}, ${e.count} short logins ${inWindow(e)}`;
    case 'http-flood':
      return `http-flood: ${src} → ${dst}:${dport}, ${e.count} connections ${inWindow(e)}`;
  }
}

/** `62 s`, `0.4 s`: the span of the flows' starts counted in the key's window. */
function seconds(us: number): string {
  const s = Math.max(0, us) / 1e6;
  return `${s >= 10 ? Math.round(s) : Math.round(s * 10) / 10} s`;
}

/** The thresholds' config checks: every key known and a positive number (integers for counts). Returns the problems. */
export function contextThresholdsErrors(v: unknown): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return ['an object of context thresholds'];
  const errors: string[] = [];
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (!(k in CONTEXT_DEFAULTS)) {
      errors.push(`a known threshold (${Object.keys(CONTEXT_DEFAULTS).join(', ')}), not "${k}"`);
      continue;
    }
    const integer = !/S$/.test(k);
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0 || (integer && !Number.isInteger(x))) {
      errors.push(`"${k}" ${integer ? 'a positive integer' : 'a positive number of seconds'}, not ${JSON.stringify(x)}`);
    }
  }
  return errors;
}
