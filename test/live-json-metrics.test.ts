/**
 * The live daemon's JSON lines and Prometheus metrics, as root in two network namespaces joined by a veth pair
 * (test/helpers/live-lab.ts). What a user relies on:
 * - `--json` gets the same flows as a replay of the same frames, each with `in_iface`;
 * - logrotate style: move the JSON file away, SIGHUP: earlier flows are in the moved file, later ones in a new
 *   file, none lost, none twice, flow_id continuing;
 * - `--metrics`: a real HTTP GET of /metrics returns the text exposition format 0.0.4 (every family with # HELP
 *   and # TYPE, counters ending in _total) whose counters agree with what was sent and written;
 * - a metrics address already in use: exit 4 and one line, before anything is written.
 * Skipped, with the reason, when not root or when `ip netns` is not permitted (the option checks run anyway).
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, sensor } from './helpers/cli.js';
import { describeLive, LAB, liveLab } from './helpers/live-lab.js';
import { parseConfig } from '../src/config/schema.js';

const [A, B] = ['zeek-wikipedia', 'cic2017-webattack-sqlinj'].map((n) => join(ROOT, 'fixtures/reference', `${n}.pcap`)) as [string, string];
const dir = mkdtempSync(join(tmpdir(), 'sensor-live-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
const PORT = 9464;

interface Event {
  event_type: string;
  flow_id: number;
  community_id: string;
  src_ip: string;
  src_port: number | null;
  dest_ip: string;
  dest_port: number | null;
  proto: string;
  in_iface?: string;
  flow: { pkts_toserver: number; pkts_toclient: number; bytes_toserver: number; bytes_toclient: number; reason: string };
  verdict: { label: string } | null;
}

function events(path: string): Event[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return text === '' ? [] : text.trimEnd().split('\n').map((l) => JSON.parse(l) as Event);
}

/** Identity and counts of each flow line, sorted: timing left out on purpose (live timing is not the capture's). */
function flowCounts(evs: Event[]): string[] {
  return evs
    .filter((e) => e.event_type === 'flow')
    .map((e) => JSON.stringify([e.community_id, e.src_ip, e.src_port, e.dest_ip, e.dest_port, e.proto, e.flow.pkts_toserver, e.flow.pkts_toclient, e.flow.bytes_toserver, e.flow.bytes_toclient]))
    .sort();
}

async function replayFlows(pcap: string, tag: string): Promise<string[]> {
  const json = join(dir, `replay-${tag}.json`);
  const r = await sensor(['--replay', pcap, '--profile', 'cic2017', '--json', json, '-q'], { timeoutMs: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return flowCounts(events(json));
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format 0.0.4 strictly: every sample's family has # HELP and # TYPE before it. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.trimEnd().split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line))) {
      helps.add(m[1]!);
      continue;
    }
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      expect(helps.has(m[1]!), `# HELP before # TYPE of ${m[1]}`).toBe(true);
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(m, `sample line: ${line}`).not.toBeNull();
    const [, name, labelText, value] = m!;
    const labels: Record<string, string> = {};
    for (const lm of (labelText ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/g)) labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const family = types.has(name!) ? name! : name!.replace(/_(bucket|sum|count)$/, '');
    expect(types.has(family), `# TYPE before the samples of ${name}`).toBe(true);
    samples.push({ name: name!, labels, value: Number(value) });
  }
  for (const [name, type] of types) {
    if (type === 'counter') expect(name, 'a counter ends in _total').toMatch(/_total$/);
    else expect(name).not.toMatch(/_total$/);
  }
  return { types, samples };
}

const sum = (samples: Sample[], name: string): number => samples.filter((s) => s.name === name).reduce((n, s) => n + s.value, 0);

describeLive('live JSON lines and metrics (network namespaces, veth)', LAB, () => {
  // A new namespace's loopback is down: the metrics endpoint listens there.
  const lab = liveLab({ loopback: true });

  /** GET /metrics over HTTP from inside the capture namespace (the daemon serves on that namespace's loopback). */
  const scrape = async (): Promise<{ status: number; type: string; body: string }> => {
    const get =
      "require('node:http').get(process.argv[1],(r)=>{let b='';r.setEncoding('utf8');r.on('data',(d)=>(b+=d));" +
      "r.on('end',()=>process.stdout.write(JSON.stringify({status:r.statusCode,type:r.headers['content-type'],body:b})))})" +
      ".on('error',(e)=>{console.error(e.message);process.exit(1)})";
    const r = await lab.inCapture(process.execPath, ['-e', get, `http://127.0.0.1:${PORT}/metrics`]);
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { status: number; type: string; body: string };
  };

  it('JSON lines across a logrotate-style SIGHUP, and /metrics agreeing with them', async () => {
    const json = join(dir, 'eve.json');
    const db = join(dir, 'live.sqlite');
    const [wantA, wantB] = [await replayFlows(A, 'a'), await replayFlows(B, 'b')];
    const p = lab.startSensor(['--iface', lab.capIf, '--db', db, '--json', json, '--model', 'cic2017-attack', '--metrics', `127.0.0.1:${PORT}`, '--idle-timeout', '1', '--stats-interval', '0']);
    const startLine = await p.waitFor((l) => l.event === 'start', 30_000);
    expect(startLine.metrics).toBe(`http://127.0.0.1:${PORT}/metrics`);

    // A second daemon on the same metrics address: exit 4, one line, before it writes anything.
    const clash = lab.startSensor(['--iface', lab.capIf, '--json', join(dir, 'clash.json'), '--metrics', String(PORT)]);
    const clashExit = await clash.exited;
    expect(clashExit.code).toBe(4);
    expect(clash.stderr).toBe(`sensor: cannot serve metrics on 127.0.0.1:${PORT}: address already in use (EADDRINUSE)\n`);
    expect(existsSync(join(dir, 'clash.json'))).toBe(false);

    const sentA = await lab.send(A);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && flowCounts(events(json)).length < wantA.length) await new Promise((r) => setTimeout(r, 100));
    renameSync(json, `${json}.1`);
    p.child.kill('SIGHUP');
    await p.waitFor((l) => l.event === 'reload' && l.msg === 'reload: outputs reopened');
    const sentB = await lab.send(B);

    // /metrics while running: wait until every frame sent is counted, then read it all at once.
    let m = parseExposition((await scrape()).body);
    const until = Date.now() + 10_000;
    // Flows reach the outputs (and the per-reason and per-verdict counts) within about a second of completing.
    const settled = (): boolean =>
      sum(m.samples, 'sensor_packets_total') >= sentA + sentB && sum(m.samples, 'sensor_flows_ended_total') >= wantA.length + wantB.length;
    while (Date.now() < until && !settled()) {
      await new Promise((r) => setTimeout(r, 200));
      m = parseExposition((await scrape()).body);
    }
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sum(m.samples, 'sensor_packets_total')).toBe(sentA + sentB);
    expect(sum(m.samples, 'sensor_kernel_received_packets_total')).toBeGreaterThanOrEqual(sentA + sentB);
    expect(m.types.get('sensor_kernel_dropped_packets_total')).toBe('counter');
    expect(m.types.get('sensor_interface_dropped_packets_total')).toBe('counter');
    expect(m.types.get('sensor_flows_active')).toBe('gauge');
    expect(m.types.get('sensor_output_queue_batches')).toBe('gauge');
    expect(m.types.get('sensor_inference_seconds')).toBe('histogram');
    const written = sum(m.samples, 'sensor_flows_written_total');
    expect(written).toBe(wantA.length + wantB.length);
    // Every flow handed to the outputs has an end reason and a verdict.
    expect(sum(m.samples, 'sensor_flows_ended_total')).toBe(written);
    expect(sum(m.samples, 'sensor_verdicts_total')).toBe(written);
    expect(m.samples.find((s) => s.name === 'sensor_inference_seconds_count')!.value).toBeGreaterThan(0);
    const inf = m.samples.find((s) => s.name === 'sensor_inference_seconds_bucket' && s.labels.le === '+Inf')!;
    expect(inf.value).toBe(m.samples.find((s) => s.name === 'sensor_inference_seconds_count')!.value);

    const stop = await p.stop('SIGTERM');
    expect(stop.code, p.stderr).toBe(0);
    const before = events(`${json}.1`);
    const after = events(json);
    expect(flowCounts(before)).toEqual(wantA);
    expect(flowCounts(after)).toEqual(wantB);
    const all = [...before, ...after].filter((e) => e.event_type === 'flow');
    expect(all.every((e) => e.in_iface === lab.capIf && e.verdict !== null)).toBe(true);
    // flow_id goes on counting in the new file.
    expect(new Set(all.map((e) => e.flow_id)).size).toBe(all.length);
    expect(Math.min(...after.map((e) => e.flow_id))).toBeGreaterThan(Math.max(...before.map((e) => e.flow_id)));
    // After --idle-timeout 1 nothing is open at the reload; at SIGTERM the rest end as shutdown or earlier.
    expect(all.every((e) => ['fin', 'rst', 'timeout', 'idle', 'shutdown'].includes(e.flow.reason))).toBe(true);
  }, 120_000);
});

describe('metrics and JSON options of the live daemon', () => {
  const base = { interface: 'eth1', json: '/var/log/sensor/eve.json' };
  it('the metrics address: a bare port is loopback; IPv4 and [IPv6] with a port; anything else refused', () => {
    expect(parseConfig({ ...base, metrics: 9464 }, {}, {}).config?.metrics).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseConfig(base, { metrics: '0.0.0.0:9100' }, {}).config?.metrics).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(parseConfig(base, {}, { SENSOR_METRICS: '[::1]:9464' }).config?.metrics).toEqual({ host: '::1', port: 9464 });
    expect(parseConfig({ ...base, metrics: null }, {}, {}).config?.metrics).toBeUndefined();
    for (const bad of ['localhost:9464', '127.0.0.1:0', '300.0.0.1:80', '[::1]', ':9464', 'on']) {
      expect(parseConfig(base, { metrics: bad }, {}).errors, bad).toEqual([
        `--metrics: expected PORT, HOST:PORT or [IPv6]:PORT with a numeric address and a port from 1 to 65535 (e.g. 127.0.0.1:9464), or null for off, got "${bad}"`,
      ]);
    }
  });

  it('jsonAlertsOnly / jsonFeatures without json are refused', () => {
    expect(parseConfig({ interface: 'eth1', db: '/x.sqlite', jsonAlertsOnly: true, jsonFeatures: true }, {}, {}).errors).toEqual([
      'jsonAlertsOnly applies to the JSON output, but no "json" is set',
      'jsonFeatures applies to the JSON output, but no "json" is set',
    ]);
  });

  it('--json-alerts-only without a model exits 2 with one line', async () => {
    // --no-model: live classifies with the default model unless told not to. Bounded: were the option accepted,
    // the daemon would capture until killed.
    const r = await sensor(['--iface', 'lo', '--json', join(dir, 'y.json'), '--json-alerts-only', '--no-model'], { timeoutMs: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('sensor: jsonAlertsOnly needs verdicts, and no model is set (alerts are flows a model calls an attack)\n');
  });

  it('a bad --metrics address exits 2 with one exact line', async () => {
    const r = await sensor(['--iface', 'lo', '--json', join(dir, 'x.json'), '--metrics', '127.0.0.1:99999']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'sensor: --metrics: expected PORT, HOST:PORT or [IPv6]:PORT with a numeric address and a port from 1 to 65535 (e.g. 127.0.0.1:9464), or null for off, got "127.0.0.1:99999"\n',
    );
  });

  it('--json - is refused live (stdout carries the log)', async () => {
    const r = await sensor(['--iface', 'lo', '--json', '-']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--json: expected a JSON lines file path ("-" is not allowed live: stdout carries the JSON log)');
  });

  it('--help lists --json and --metrics', async () => {
    const r = await sensor(['--iface', 'x', '--help']);
    for (const flag of ['--json', '--json-alerts-only', '--json-features', '--sensor-name', '--metrics']) expect(r.stdout).toContain(flag);
  });
});
