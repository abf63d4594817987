/**
 * `--json`: EVE-style JSON lines as a user reads them. Every flow line carries the Community ID Wireshark computes
 * for the same conversation (tshark, at test time, on every flow of the bundled captures and on crafted ICMP); the
 * line counts equal the SQLite rows of the same run, alerts equal the rows whose label is not the model's benign
 * class; a reader slower than the sensor gets every line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SENSOR, SHARED, runCommand, sensor } from './helpers/cli.js';
import { EtherType, Flags, IpProto, ethernet, ethIpv4Tcp, ethIpv4Udp, icmp, icmpv6, ipv4, ipv6, udp } from './helpers/frames.js';
import { writePcap } from './helpers/pcap-file.js';
import { FLOW_END_NAMES, type FlowRows } from '../src/sinks/flow-rows.js';
import { JsonSink } from '../src/sinks/json.js';
import { getProfile } from '../src/features/profiles.js';
import { communityId } from '../src/sinks/community-id.js';
import { rowsWithIdentities } from './helpers/flow-rows.js';


const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'sensor-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
const BUNDLED = join(ROOT, 'fixtures/reference');
const PROFILES = ['cic', 'fixed', 'cic2017'] as const;
const BENIGN = (JSON.parse(readFileSync(join(ROOT, 'models/cic2017-attack.json'), 'utf8')) as { benign: string }).benign;

interface FlowEvent {
  timestamp: string;
  flow_id: number;
  event_type: 'flow' | 'alert';
  community_id: string;
  src_ip: string;
  src_port: number | null;
  dest_ip: string;
  dest_port: number | null;
  proto: string;
  sensor: string;
  pcap_file?: string;
  server_name: string | null;
  flow: { pkts_toserver: number; pkts_toclient: number; bytes_toserver: number; bytes_toclient: number; start: string; end: string; age: number; reason: string };
  verdict: { label: string; score: number; model: string; attack_label: string | null; attack_score: number | null; kdd: string | null; context: string | null } | null;
  features?: Record<string, number | null>;
}

function readEvents(path: string): FlowEvent[] {
  const text = readFileSync(path, 'utf8');
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text.trimEnd().split('\n').map((l) => JSON.parse(l) as FlowEvent);
}

/** Microseconds since the epoch of `2023-11-14T22:13:20.123456Z`. */
function isoMicros(s: string): number {
  return Date.parse(`${s.slice(0, 23)}Z`) * 1000 + Number(s.slice(23, 26));
}

const PROTO_NUMBERS: Record<string, number> = { TCP: 6, UDP: 17, ICMP: 1, 'IPv6-ICMP': 58 };

/** Community IDs tshark gives the packets of a capture, by (proto, src, sport, dst, dport) in both directions. */
function tsharkIds(pcap: string): Map<string, Set<string>> {
  const r = spawnSync(
    'tshark',
    ['-r', pcap, '--enable-protocol', 'communityid', '-T', 'fields', '-E', 'occurrence=f',
      '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'ip.proto', '-e', 'ipv6.nxt',
      '-e', 'tcp.srcport', '-e', 'udp.srcport', '-e', 'tcp.dstport', '-e', 'udp.dstport', '-e', 'communityid'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  const ids = new Map<string, Set<string>>();
  for (const line of r.stdout.split('\n')) {
    const [s4, s6, d4, d6, p4, p6, ts, us, td, ud, id] = line.split('\t');
    if (!id) continue;
    const proto = Number(p4 || p6);
    const src = s4 || s6;
    const dst = d4 || d6;
    // Ports of TCP and UDP only: an ICMP error's quoted header has ports too, but the ICMP flow has none.
    const sp = proto === 6 || proto === 17 ? ts || us || '' : '';
    const dp = proto === 6 || proto === 17 ? td || ud || '' : '';
    for (const k of [`${proto}|${src}|${sp}|${dst}|${dp}`, `${proto}|${dst}|${dp}|${src}|${sp}`]) {
      const set = ids.get(k) ?? new Set<string>();
      set.add(id);
      ids.set(k, set);
    }
  }
  return ids;
}

function flowKey(e: FlowEvent): string {
  return `${PROTO_NUMBERS[e.proto] ?? e.proto}|${e.src_ip}|${e.src_port ?? ''}|${e.dest_ip}|${e.dest_port ?? ''}`;
}

/** Every flow line's Community ID equals the one tshark gives its packets; returns the flows checked. */
function expectSameIds(events: FlowEvent[], ids: Map<string, Set<string>>, what: string): number {
  let checked = 0;
  for (const e of events) {
    // The CIC profiles read a broadcast ARP frame as an IPv4 header (README): no IP packet has that tuple.
    if (e.src_ip === '8.6.0.1' && e.dest_ip === '8.0.6.4') continue;
    const want = ids.get(flowKey(e));
    expect(want, `${what}: tshark has no packet of flow ${flowKey(e)}`).toBeDefined();
    expect([...want!], `${what}: flow ${flowKey(e)}`).toEqual([e.community_id]);
    checked++;
  }
  return checked;
}

function sqliteCounts(db: string): { flows: number; alerts: number; packetsInFlows: number } {
  const d = new Database(db, { readonly: true });
  try {
    const flows = (d.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n;
    const alerts = (d.prepare('SELECT count(*) AS n FROM flows WHERE label IS NOT NULL AND label <> ?').get(BENIGN) as { n: number }).n;
    const counters = JSON.parse((d.prepare('SELECT counters FROM runs ORDER BY id DESC LIMIT 1').get() as { counters: string }).counters) as { packets_in_written_flows: number };
    return { flows, alerts, packetsInFlows: counters.packets_in_written_flows };
  } finally {
    d.close();
  }
}

/** Replays `pcap` into SQLite and JSON in one run; checks the JSON against the database; returns the events. */
async function replayBoth(pcap: string, profile: string, tag: string, extra: string[] = []): Promise<FlowEvent[]> {
  const db = join(dir, `${tag}.sqlite`);
  const json = join(dir, `${tag}.json`);
  const model = profile === 'cic2017' ? [] : ['--no-model'];
  const r = await sensor(['--replay', pcap, '--profile', profile, ...model, '--ipv6', '--db', db, '--json', json, '--sensor-name', 'test-sensor', ...extra]);
  expect(r.status, r.stderr).toBe(0);
  const events = readEvents(json);
  const flows = events.filter((e) => e.event_type === 'flow');
  const alerts = events.filter((e) => e.event_type === 'alert');
  const c = sqliteCounts(db);
  expect(flows.length, `${tag}: flow lines = SQLite rows`).toBe(c.flows);
  expect(alerts.length, `${tag}: alert lines = SQLite rows labelled other than ${BENIGN}`).toBe(c.alerts);
  // The packet counts of the flow lines add up to the packets the run put in written flows.
  expect(flows.reduce((n, e) => n + e.flow.pkts_toserver + e.flow.pkts_toclient, 0)).toBe(c.packetsInFlows);
  expect(new Set(flows.map((e) => e.flow_id)).size).toBe(flows.length);
  // server_name: SQLite's, flow for flow (null, not absent, when the flow has none).
  const d = new Database(db, { readonly: true });
  const names = d.prepare('SELECT server_name FROM flows ORDER BY id').pluck().all();
  d.close();
  expect(flows.map((e) => e.server_name)).toEqual(names);
  // Checked in plain code and asserted once: the shared captures have 100,000s of lines.
  const wrong = (what: string, bad: (e: FlowEvent) => boolean): void => {
    const first = events.find(bad);
    expect(first, `${tag}: ${what}`).toBeUndefined();
  };
  const modelId = profile === 'cic2017' ? /^cic2017-attack@/ : null;
  wrong('reason is a documented one', (e) => !FLOW_END_NAMES.includes(e.flow.reason));
  wrong('sensor and pcap_file', (e) => e.sensor !== 'test-sensor' || e.pcap_file !== pcap);
  wrong('timestamp is ISO 8601 UTC with µs', (e) => !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(e.timestamp) || e.timestamp !== e.flow.end);
  wrong('age = end - start', (e) => isoMicros(e.flow.end) - isoMicros(e.flow.start) !== Math.round(e.flow.age * 1e6));
  wrong('verdict present exactly with a model', (e) => (modelId ? !modelId.test(e.verdict?.model ?? '') : e.verdict !== null));
  wrong('an alert is not benign', (e) => e.event_type === 'alert' && e.verdict!.label === BENIGN);
  // The best attack class is there for every classified flow, and an alert's label is it, unless the context stage
  // relabelled a flow the model called benign (then `context` says why).
  wrong('attack_label and attack_score with every verdict', (e) => e.verdict !== null && (e.verdict.attack_label === null || typeof e.verdict.attack_score !== 'number'));
  wrong('an alert is its best attack class', (e) => e.event_type === 'alert' && e.verdict!.label !== e.verdict!.attack_label && e.verdict!.context === null);
  wrong('context only with a relabelled alert, with its score null', (e) => e.verdict !== null && e.verdict.context !== null && (e.event_type === 'flow' ? e.verdict.label === BENIGN : e.verdict.score !== null));
  // Every alert has its flow's line, same flow_id and Community ID.
  const byId = new Map(flows.map((f) => [f.flow_id, f]));
  wrong('an alert has its flow line', (e) => e.event_type === 'alert' && byId.get(e.flow_id)?.community_id !== e.community_id);
  return events;
}

describe.skipIf(!hasTshark)('Community ID equals Wireshark\'s, and JSON counts equal SQLite\'s, on the bundled captures', () => {
  const pcaps = readdirSync(BUNDLED).filter((f) => f.endsWith('.pcap')).sort();
  it.each(pcaps)('%s', async (name) => {
    const pcap = join(BUNDLED, name);
    const ids = tsharkIds(pcap);
    for (const profile of PROFILES) {
      const events = await replayBoth(pcap, profile, `${basename(name, '.pcap')}-${profile}`);
      const checked = expectSameIds(events.filter((e) => e.event_type === 'flow'), ids, `${name} ${profile}`);
      expect(checked).toBeGreaterThan(0);
    }
  });

  it('ICMP and ICMPv6 requests, replies and one-way messages (types stand in for ports), both address orders, one address', async () => {
    const frames: Uint8Array[] = [];
    // A timestamp message carries three 4-byte timestamps (tshark reads a shorter one as malformed).
    const v4 = (src: string, dst: string, type: number, code = 0): Uint8Array =>
      ethernet(EtherType.IPv4, ipv4({ proto: IpProto.ICMP, src, dst }, icmp({ type, code }, type === 13 || type === 14 ? new Uint8Array(12) : [])));
    const v6 = (src: string, dst: string, type: number, code = 0): Uint8Array =>
      // Neighbour solicitations and advertisements carry a 16-byte target address, errors the packet they are about.
      ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.ICMPv6, src, dst }, icmpv6({ type, code, rest: 0 }, type === 135 || type === 136 ? new Uint8Array(16) : type < 128 ? ipv6({ nextHeader: IpProto.UDP, src: dst, dst: src }, udp()) : [])));
    // A pair of addresses per exchange, so each is its own flow in every profile.
    frames.push(v4('10.1.0.1', '10.1.0.2', 8), v4('10.1.0.2', '10.1.0.1', 0)); // echo
    frames.push(v4('10.2.0.9', '10.2.0.1', 13), v4('10.2.0.1', '10.2.0.9', 14)); // timestamp, larger address first
    frames.push(v4('10.3.0.9', '10.3.0.1', 3, 1), v4('10.3.0.9', '10.3.0.1', 3, 1)); // unreachable: one-way
    frames.push(v4('10.4.0.1', '10.4.0.9', 11, 0), v4('10.4.0.1', '10.4.0.9', 11, 0)); // time exceeded: one-way
    frames.push(v6('fd00::9', 'fd00::1', 135), v6('fd00::1', 'fd00::9', 136)); // neighbour solicitation/advert
    frames.push(v6('fd01::1', 'fd01::2', 128), v6('fd01::2', 'fd01::1', 129)); // echo
    frames.push(v6('fd02::9', 'fd02::1', 1, 4), v6('fd02::9', 'fd02::1', 1, 4)); // unreachable: one-way
    // Both ends on one address: the smaller port goes first.
    frames.push(ethIpv4Udp({ sport: 5000, dport: 53 }, [1], { src: '10.5.0.1', dst: '10.5.0.1' }), ethIpv4Udp({ sport: 53, dport: 5000 }, [2], { src: '10.5.0.1', dst: '10.5.0.1' }));
    const pcap = join(dir, 'icmp.pcap');
    writeFileSync(pcap, writePcap(1, frames.map((data, i) => ({ data, tsUs: 1_700_000_000_000_000 + i * 1000 }))));
    const ids = tsharkIds(pcap);
    const events = await replayBoth(pcap, 'fixed', 'icmp');
    expect(events.map((e) => e.proto).sort()).toEqual(['ICMP', 'ICMP', 'ICMP', 'ICMP', 'IPv6-ICMP', 'IPv6-ICMP', 'IPv6-ICMP', 'UDP']);
    expect(expectSameIds(events, ids, 'crafted ICMP')).toBe(8);
  });
});

describe('Community ID v1', () => {
  it('is the same from either end of a conversation, and changes with the seed', () => {
    const a = { srcIp: '192.168.1.2', dstIp: '10.0.0.1', proto: 6, srcPort: 51000, dstPort: 443 };
    const b = { srcIp: '10.0.0.1', dstIp: '192.168.1.2', proto: 6, srcPort: 443, dstPort: 51000 };
    expect(communityId(a)).toBe(communityId(b));
    expect(communityId(a, 1)).not.toBe(communityId(a));
    expect(communityId({ ...a, srcIp: '::ffff:192.168.1.2', dstIp: '2001:db8::1' })).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
  });
});

describe.skipIf(!existsSync(join(SHARED, 'reference')))('JSON counts equal SQLite\'s on the shared reference captures', () => {
  const shared = existsSync(join(SHARED, 'reference'))
    ? readdirSync(join(SHARED, 'reference')).filter((f) => /\.pcap(\.gz)?$/.test(f) && !existsSync(join(BUNDLED, f))).sort()
    : [];
  it.each(shared)('%s (cic2017, default model)', async (name) => {
    await replayBoth(join(SHARED, 'reference', name), 'cic2017', `shared-${name}`);
  });
});

describe('a slow reader of --json - gets every line', () => {
  it('the replay waits for the pipe instead of dropping lines', async () => {
    // 3,000 two-packet UDP conversations: about 2 MB of JSON, 30 times what a pipe holds.
    const frames = [];
    for (let i = 0; i < 3000; i++) {
      const ip = { src: `10.9.${i >> 8}.${i & 255}`, dst: '10.8.0.1' };
      const t = 1_700_000_000_000_000 + i * 1000;
      frames.push({ data: ethIpv4Udp({ sport: 20000 + (i % 40000), dport: 53 }, [1, 2, 3, 4], ip), tsUs: t });
      frames.push({ data: ethIpv4Udp({ sport: 53, dport: 20000 + (i % 40000) }, [5, 6, 7, 8], { src: ip.dst, dst: ip.src }), tsUs: t + 10 });
    }
    const pcap = join(dir, 'many.pcap');
    writeFileSync(pcap, writePcap(1, frames));
    const db = join(dir, 'slow.sqlite');
    // The reader sleeps 1 s before reading anything, then takes one chunk every 5 ms, and counts lines.
    const reader =
      "let n=0;process.stdin.pause();setTimeout(()=>{process.stdin.on('data',d=>{process.stdin.pause();for(const c of d)if(c===10)n++;" +
      "setTimeout(()=>process.stdin.resume(),5)});process.stdin.resume()},1000);process.stdin.on('end',()=>console.log(n))";
    const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const cmd = `${q(process.execPath)} ${q(SENSOR)} --replay ${q(pcap)} --no-model --db ${q(db)} --json - -q | ${q(process.execPath)} -e ${q(reader)}`;
    const r = await runCommand('bash', ['-o', 'pipefail', '-c', cmd], { timeoutMs: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(Number(r.stdout.trim())).toBe(3000);
    expect(sqliteCounts(db).flows).toBe(3000);
  });
});

describe('live: a file that cannot keep up loses whole batches, counted, never silently', () => {
  it('past dropAboveBytes a batch is dropped and counted; written + dropped = every line', async () => {
    const fifo = join(dir, 'stalled.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // A reader that opens the FIFO and reads nothing for 2 s, then everything.
    const reader = spawn('sh', ['-c', `exec 3<'${fifo}'; sleep 2; wc -l <&3`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let counted = '';
    reader.stdout.setEncoding('utf8').on('data', (d: string) => (counted += d));
    const columns = getProfile('cic').columns;
    let dropEvents = 0;
    const sink = new JsonSink(fifo, columns, { sensor: 's', iface: 'eth9', append: true, dropAboveBytes: 256 * 1024, onDrop: () => dropEvents++ });
    const F = columns.featureNames.length;
    const batch = (n: number, base: number): FlowRows =>
      rowsWithIdentities(
        Array.from({ length: n }, (_, i) => ({
          srcIp: '10.0.0.1', srcPort: base + i, dstIp: '10.0.0.2', dstPort: 80, protocol: 6, startUs: 1_700_000_000_000_000, endUs: 1_700_000_000_100_000,
        })),
        F,
      );
    const batches = 40;
    for (let b = 0; b < batches; b++) {
      // Live never waits: write() returns nothing to await.
      expect(sink.write(batch(100, b * 100))).toBeUndefined();
    }
    expect(sink.linesDropped).toBeGreaterThan(0);
    expect(dropEvents).toBeGreaterThan(0);
    expect(sink.lines.flow + sink.linesDropped).toBe(batches * 100);
    await sink.close();
    await new Promise((resolve) => reader.on('close', resolve));
    expect(Number(counted.trim())).toBe(sink.lines.flow);
  });
});

describe('flow.reason says why each flow ended', () => {
  const T0 = 1_700_000_000_000_000;
  const S = 1_000_000;
  const tcpAt = (t: number, sport: number, flags: number, fwd = true): { data: Uint8Array; tsUs: number } => ({
    data: ethIpv4Tcp(fwd ? { sport, dport: 80, flags } : { sport: 80, dport: sport, flags }, [], fwd ? { src: '10.0.0.1', dst: '10.0.0.2' } : { src: '10.0.0.2', dst: '10.0.0.1' }),
    tsUs: T0 + t,
  });
  const udpAt = (t: number, sport: number): { data: Uint8Array; tsUs: number } => ({
    data: ethIpv4Udp({ sport, dport: 53 }, [1], { src: '10.0.0.1', dst: '10.0.0.2' }),
    tsUs: T0 + t,
  });
  const reasons = async (tag: string, frames: { data: Uint8Array; tsUs: number }[], args: string[]): Promise<string[]> => {
    const pcap = join(dir, `${tag}.pcap`);
    writeFileSync(pcap, writePcap(1, [...frames].sort((x, y) => x.tsUs - y.tsUs)));
    const json = join(dir, `${tag}.json`);
    const r = await sensor(['--replay', pcap, '--no-model', '--profile', 'cic', '--json', json, ...args]);
    expect(r.status, r.stderr).toBe(0);
    return readEvents(json).map((e) => `${e.src_port === 80 ? e.dest_port : e.src_port} ${e.flow.reason}`).sort();
  };

  it('fin, rst, timeout, idle, end_of_capture (cic rules, --flow-timeout 10 --idle-timeout 3)', async () => {
    const frames = [
      tcpAt(0, 1001, Flags.SYN), tcpAt(0.1 * S, 1001, Flags.SYN | Flags.ACK, false), tcpAt(0.2 * S, 1001, Flags.RST),
      tcpAt(0, 1002, Flags.ACK), tcpAt(0.1 * S, 1002, Flags.ACK, false), tcpAt(0.3 * S, 1002, Flags.FIN | Flags.ACK, false),
      // A packet a second for 12 s: the flow timeout (10 s from the first packet) splits it; the rest ends with the file.
      ...Array.from({ length: 13 }, (_, k) => udpAt(k * S, 1003)),
      // Silent for 4.5 s > the idle timeout: idle; the two later packets end with the file.
      udpAt(0, 1004), udpAt(0.5 * S, 1004), udpAt(5 * S, 1004), udpAt(5.5 * S, 1004),
    ];
    expect(await reasons('reasons', frames, ['--flow-timeout', '10', '--idle-timeout', '3'])).toEqual(
      ['1001 rst', '1002 fin', '1003 end_of_capture', '1003 timeout', '1004 end_of_capture', '1004 idle'].sort(),
    );
  });

  it('evicted when the flow table is full (--max-flows 1)', async () => {
    const frames = [udpAt(0, 2001), udpAt(0.1 * S, 2001), udpAt(0.2 * S, 2002), udpAt(0.3 * S, 2002)];
    expect(await reasons('evicted', frames, ['--max-flows', '1'])).toEqual(['2001 evicted', '2002 end_of_capture']);
  });
});

describe('command line', () => {
  it('--json-features puts every CIC column under features, NaN/Infinity as null', async () => {
    const json = join(dir, 'features.json');
    const r = await sensor(['--replay', join(BUNDLED, 'edge.pcap'), '--no-model', '--profile', 'cic2017', '--json', json, '--json-features']);
    expect(r.status, r.stderr).toBe(0);
    const events = readEvents(json);
    expect(events.length).toBeGreaterThan(0);
    const keys = Object.keys(events[0]!.features!);
    // cic2017 has 85 columns: 7 identity, 77 features, `Fwd Header Length` twice: the second is `Fwd Header Length.1`.
    expect(keys).toContain('Fwd Header Length');
    expect(keys).toContain('Fwd Header Length.1');
    expect(keys.length).toBe(77);
    for (const e of events) expect(e.features!['Total Fwd Packets']).toBe(e.flow.pkts_toserver);
  });

  it('bad combinations exit 2 with one exact line each', async () => {
    const edge = join(BUNDLED, 'edge.pcap');
    let r = await sensor(['--replay', edge, '--db', join(dir, 'x.sqlite'), '--json-features']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('sensor: --json-features applies to the JSON output, but no --json is set\n');
    r = await sensor(['--replay', edge, '--json', '-', '--csv', '-']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('sensor: --json and --csv name the same file, "-": give each its own\n');
    r = await sensor(['--replay', edge, '--no-model', '--json', join(dir, 'a.json'), '--json-alerts-only']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('sensor: --json-alerts-only needs verdicts, and this run has no model (alerts are flows a model calls an attack)\n');
  });

  it('an unwritable --json path exits 4 before reading, naming it', async () => {
    const path = join(dir, 'no-such-dir', 'eve.json');
    const r = await sensor(['--replay', join(BUNDLED, 'edge.pcap'), '--no-model', '--json', path]);
    expect(r.status).toBe(4);
    expect(r.stderr).toBe(`sensor: cannot create ${path}: directory does not exist\n`);
  });

  it('--help documents the JSON options', async () => {
    const r = await sensor(['--help']);
    for (const flag of ['--json', '--json-alerts-only', '--json-features', '--sensor-name']) expect(r.stdout).toContain(flag);
  });
});
