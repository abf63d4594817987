#!/usr/bin/env node
// `sudo npm run soak -- --minutes N [options]`: the live daemon under steady mixed traffic for N minutes, with a
// flood burst every few minutes, sampled all along; fails when memory grows without bound or a flow is lost.
//
// Setup: two fresh network namespaces joined by a veth pair (MTU 9000, IPv6 off, no address on the sensor's side so
// its kernel adds no packet of its own; removed at the end, even on failure). In one: `sensor --iface` into SQLite,
// with the default model unless --no-model, stats every --interval seconds. Into the other end:
//   - steady: tcpreplay loops the captures (default: the five bundled reference captures: HTTP, TLS, VLAN, a SQL
//     injection, odd frames) at --pps packets/s with --unique-ip, so each loop makes new flows and old ones end;
//   - flood: every --flood-every seconds, --flood-seconds of a SYN flood (65,536 sources to one web server,
//     generated here) at --flood-pps on top of the steady traffic.
// Samples come from the daemon's stats lines (RSS, heap, event-loop delay, batches waiting per stage, kernel drops,
// flows written and active, packets/s); the frames sent are the veth's TX counter.
//
// Checks at the end (exit 1 when one fails, each printed):
//   - the daemon ran throughout and exited 0 on SIGTERM;
//   - no flow lost: every captured packet is in a written flow or under a reason, nothing left open, the database
//     holds exactly the flows and packets the counters say, and the kernel received exactly the frames sent;
//   - memory bounded: after the warm-up (the first quarter, at least 2 minutes when the run is long enough), a
//     least-squares line through RSS may not rise more than max(10 % of the median, 24 MiB) over the rest of the run.
// Writes to --out (default $TMPDIR/sensor-soak-<time>): samples.csv, summary.json, sensor.log (the JSON log),
// soak.sqlite, and soak.png (RSS, event-loop delay, queues, rates, drops over time) when Debian's python3-matplotlib
// is installed. Exit codes: 0 every check passed, 1 a check failed, 2 bad arguments or missing root/tools.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomId, setupSync, sh, teardownSync, vethLab } from './veth-lab.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SENSOR = join(ROOT, 'bin', 'sensor.js');
const require = createRequire(import.meta.url);

const HELP = `Usage: sudo npm run soak -- --minutes N [options]

Runs the live daemon on a veth under steady mixed traffic plus periodic floods, samples it, and checks that memory
stays bounded and no flow is lost. Needs root, iproute2 and tcpreplay.

Options:
  --minutes N         how long to run (required; > 0)
  --pps N             steady rate, packets/s (default 10000)
  --flood-every S     seconds between flood bursts (default 300; 0 = no flood)
  --flood-seconds S   length of a burst (default 10)
  --flood-pps N       rate of a burst, packets/s, on top of the steady rate (default 100000; 0 = top speed)
  --interval S        seconds between samples (the daemon's statsInterval; default 5)
  --pcap FILE         steady traffic capture (repeatable; default: fixtures/reference/*.pcap)
  --no-model          run without the default model
  --out DIR           where the results go (default: $TMPDIR/sensor-soak-<time>)
  --help              this text

Exit codes: 0 every check passed, 1 a check failed (listed), 2 bad arguments, not root, or a tool missing.`;

function parseArgs(argv) {
  const o = { minutes: NaN, pps: 10000, floodEvery: 300, floodSeconds: 10, floodPps: 100000, interval: 5, pcaps: [], model: true, out: undefined };
  const num = (name, v, min) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`--${name} needs a number >= ${min}, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return { help: true };
    else if (a === '--minutes') o.minutes = num('minutes', argv[++i], 0.1);
    else if (a === '--pps') o.pps = num('pps', argv[++i], 1);
    else if (a === '--flood-every') o.floodEvery = num('flood-every', argv[++i], 0);
    else if (a === '--flood-seconds') o.floodSeconds = num('flood-seconds', argv[++i], 1);
    else if (a === '--flood-pps') o.floodPps = num('flood-pps', argv[++i], 0);
    else if (a === '--interval') o.interval = num('interval', argv[++i], 1);
    else if (a === '--pcap') {
      const p = argv[++i];
      if (p === undefined) throw new Error('--pcap needs a file');
      if (!existsSync(p)) throw new Error(`--pcap ${p}: no such file`);
      o.pcaps.push(p);
    } else if (a === '--no-model') o.model = false;
    else if (a === '--out') {
      o.out = argv[++i];
      if (o.out === undefined) throw new Error('--out needs a directory');
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isFinite(o.minutes)) throw new Error('--minutes N is required');
  return o;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`soak: ${e.message}\nRun npm run soak -- --help for the options.\n`);
  process.exit(2);
}
if (opts.help) {
  process.stdout.write(HELP + '\n');
  process.exit(0);
}
if (process.getuid() !== 0) {
  process.stderr.write('soak: needs root (network namespaces, live capture)\n');
  process.exit(2);
}
for (const [cmd, a] of [['ip', '-V'], ['tcpreplay', '--version']]) {
  if (spawnSync(cmd, [a], { stdio: 'ignore' }).error) {
    process.stderr.write(`soak: ${cmd} is not installed (apt-get install -y iproute2 tcpreplay)\n`);
    process.exit(2);
  }
}

const pcaps = opts.pcaps.length > 0 ? opts.pcaps : readdirSync(join(ROOT, 'fixtures/reference')).filter((n) => n.endsWith('.pcap')).sort().map((n) => join(ROOT, 'fixtures/reference', n));
const out = opts.out ?? join(tmpdir(), `sensor-soak-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(out, { recursive: true });

// ---- the lab ----
const lab = vethLab(randomId('k'));
const { capNs: CAP, sndNs: SND, capIf: CAPIF, sndIf: SNDIF } = lab;
const setup = () => setupSync(lab);
const children = new Set();
function teardown() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  teardownSync(lab);
}
process.on('exit', teardown);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Frames the sender's end has transmitted (the veth's TX counter). */
function txPackets() {
  const j = JSON.parse(sh('ip', ['-n', SND, '-s', '-j', 'link', 'show', SNDIF]));
  return j[0].stats64.tx.packets;
}

/** A classic pcap of 65,536 TCP SYNs from distinct sources to 10.99.0.80:80 (60-byte frames). */
function writeFlood(path) {
  const n = 65536;
  const buf = Buffer.alloc(24 + n * (16 + 60));
  buf.writeUInt32LE(0xa1b2c3d4, 0);
  buf.writeUInt16LE(2, 4);
  buf.writeUInt16LE(4, 6);
  buf.writeUInt32LE(262144, 16);
  buf.writeUInt32LE(1, 20);
  let o = 24;
  for (let i = 0; i < n; i++) {
    buf.writeUInt32LE(1_700_000_000, o);
    buf.writeUInt32LE(i, o + 4);
    buf.writeUInt32LE(60, o + 8);
    buf.writeUInt32LE(60, o + 12);
    const f = o + 16;
    Buffer.from('02000000000202000000000108004500002c', 'hex').copy(buf, f); // MACs, IPv4, tot len 44
    buf.writeUInt16BE(i, f + 18); // id
    buf.writeUInt8(64, f + 22); // ttl
    buf.writeUInt8(6, f + 23); // TCP
    buf.writeUInt32BE(((172 << 24) | (16 << 16) | i) >>> 0, f + 26); // 172.16.x.y
    buf.writeUInt32BE((10 << 24) | (99 << 16) | 80, f + 30); // 10.99.0.80
    let sum = 0;
    for (let k = 14; k < 34; k += 2) sum += buf.readUInt16BE(f + k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    buf.writeUInt16BE(~sum & 0xffff, f + 24);
    buf.writeUInt16BE(1024 + (i % 60000), f + 34); // sport
    buf.writeUInt16BE(80, f + 36);
    buf.writeUInt32BE((i * 7919) >>> 0, f + 38); // seq
    buf.writeUInt8(0x60, f + 46); // data offset 6 (MSS option)
    buf.writeUInt8(0x02, f + 47); // SYN
    buf.writeUInt16BE(64240, f + 48);
    Buffer.from('020405b4', 'hex').copy(buf, f + 54);
    o += 16 + 60;
  }
  writeFileSync(path, buf);
}

function startSender(args, files) {
  const c = spawn('ip', ['netns', 'exec', SND, 'tcpreplay', '-q', '-K', ...args, '-i', SNDIF, ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  c.stdout.setEncoding('utf8').on('data', (d) => (text += d));
  c.stderr.setEncoding('utf8').on('data', (d) => (text += d));
  children.add(c);
  const done = new Promise((resolve) => c.on('close', (code, signal) => resolve({ code, signal, text })));
  return { child: c, done };
}

// ---- the run ----
async function main() {
  setup();
  const flood = join(out, 'flood.pcap');
  writeFlood(flood);
  const db = join(out, 'soak.sqlite');
  const sensorArgs = [SENSOR, '--iface', CAPIF, '--db', db, '--stats-interval', String(opts.interval), ...(opts.model ? ['--model', 'cic2017-attack'] : [])];
  const log = createWriteStream(join(out, 'sensor.log'));
  const sensor = spawn('ip', ['netns', 'exec', CAP, process.execPath, ...sensorArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(sensor);
  let stderr = '';
  let partial = '';
  const samples = [];
  let startLine = null;
  let stopLine = null;
  const t0 = performance.now();
  let flooding = false;
  sensor.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  sensor.stdout.setEncoding('utf8').on('data', (d) => {
    log.write(d);
    partial += d;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      let l;
      try {
        l = JSON.parse(line);
      } catch {
        continue;
      }
      if (l.event === 'start') startLine = l;
      else if (l.event === 'stop') stopLine = l;
      else if (l.event === 'stats') {
        const p = l.process ?? {};
        samples.push({
          t_s: +((performance.now() - t0) / 1000).toFixed(1),
          flood: flooding ? 1 : 0,
          packets_per_s: l.packets_per_s,
          flows_per_s: l.flows_per_s,
          flows_active: l.flows_active,
          flows_written: l.flows_written,
          kernel_dropped: l.kernel_dropped,
          interface_dropped: l.interface_dropped,
          drops_in_interval: l.drops_in_interval,
          rss_mib: p.rss_mib,
          heap_used_mib: p.heap_used_mib,
          loop_delay_p99_ms: p.loop_delay_p99_ms,
          loop_delay_max_ms: p.loop_delay_max_ms,
          batches_waiting: p.batches_waiting,
          batches_classifying: p.batches_classifying,
          batches_writing_sqlite: p.batches_writing_sqlite,
        });
      }
    }
  });
  const exited = new Promise((resolve) => sensor.on('close', (code, signal) => resolve({ code, signal })));
  let exitedEarly = null;
  void exited.then((r) => (exitedEarly = r));

  const startDeadline = Date.now() + 30_000;
  while (!startLine && exitedEarly === null && Date.now() < startDeadline) await sleep(50);
  if (!startLine) throw new Error(`the sensor did not start: ${stderr.trim() || 'no start line in 30 s'}`);
  const tx0 = txPackets();
  process.stdout.write(`soak: ${opts.minutes} min, steady ${opts.pps} packets/s from ${pcaps.length} captures, flood ${opts.floodEvery ? `${opts.floodSeconds} s at ${opts.floodPps || 'top speed'} packets/s every ${opts.floodEvery} s` : 'off'}, model ${startLine.model ?? 'none'}; results in ${out}\n`);

  const steady = startSender([`--pps=${opts.pps}`, '--loop=0', '--unique-ip'], pcaps);
  let steadyEnded = null;
  void steady.done.then((r) => (steadyEnded = r));
  const endAt = t0 + opts.minutes * 60_000;
  let nextFlood = opts.floodEvery > 0 ? t0 + Math.min(opts.floodEvery, opts.minutes * 60) * 500 : Infinity; // first one half-way to the period
  let floods = 0;
  let lastReport = 0;
  while (performance.now() < endAt && exitedEarly === null && steadyEnded === null) {
    if (performance.now() >= nextFlood && performance.now() + opts.floodSeconds * 1000 < endAt) {
      flooding = true;
      floods++;
      const burst = startSender([opts.floodPps > 0 ? `--pps=${opts.floodPps}` : '--topspeed', '--loop=1000000'], [flood]);
      await Promise.race([sleep(opts.floodSeconds * 1000), burst.done]);
      burst.child.kill('SIGINT');
      await burst.done;
      children.delete(burst.child);
      flooding = false;
      nextFlood += opts.floodEvery * 1000;
    }
    await sleep(250);
    const s = samples.at(-1);
    if (s && s.t_s - lastReport >= 60) {
      lastReport = s.t_s;
      process.stdout.write(`soak: ${(s.t_s / 60).toFixed(1)} min  rss ${s.rss_mib} MiB  loop p99 ${s.loop_delay_p99_ms} ms  flows written ${s.flows_written}  active ${s.flows_active}  kernel drops ${s.kernel_dropped}\n`);
    }
  }
  const steadyStoppedEarly = steadyEnded;
  steady.child.kill('SIGINT');
  await steady.done;
  children.delete(steady.child);
  await sleep(500);
  const sent = txPackets() - tx0;
  const problems = [];
  if (steadyStoppedEarly !== null) problems.push(`the steady sender stopped during the run: ${steadyStoppedEarly.text.trim()}`);
  if (exitedEarly !== null) problems.push(`the daemon exited during the run (${JSON.stringify(exitedEarly)}): ${stderr.trim()}`);
  sensor.kill('SIGTERM');
  const exit = await Promise.race([exited, sleep(120_000).then(() => ({ code: null, signal: 'timeout' }))]);
  log.end();
  if (exit.code !== 0) problems.push(`the daemon's exit on SIGTERM: ${JSON.stringify(exit)}; stderr: ${stderr.trim()}`);

  // ---- no flow lost ----
  const Database = require('better-sqlite3');
  const conn = new Database(db, { readonly: true });
  const integrity = conn.pragma('integrity_check', { simple: true });
  const run = conn.prepare('SELECT id, counters, ended_at FROM runs ORDER BY id DESC LIMIT 1').get();
  const stored = conn.prepare('SELECT count(*) AS flows, total(total_fwd_packets + total_backward_packets) AS packets FROM flows WHERE run_id = ?').get(run.id);
  conn.close();
  const c = JSON.parse(run.counters);
  const reasons = Object.values(c.packets_not_in_written_flows).reduce((a, b) => a + b, 0);
  const check = (ok, what) => {
    if (!ok) problems.push(what);
  };
  check(integrity === 'ok', `integrity_check: ${integrity}`);
  check(run.ended_at !== null, 'the run has no ended_at');
  check(c.packets_in_written_flows + reasons === c.packets, `accounting: ${c.packets} packets != ${c.packets_in_written_flows} in written flows + ${reasons} by reason`);
  check((c.packets_not_in_written_flows['flow.open_packets'] ?? 0) === 0, `${c.packets_not_in_written_flows['flow.open_packets']} packets left in open flows`);
  check(stored.flows === c.flows, `database holds ${stored.flows} flows, counters say ${c.flows}`);
  check(stored.packets === c.packets_in_written_flows, `database flows hold ${stored.packets} packets, counters say ${c.packets_in_written_flows}`);
  check(c.capture.captured === c.packets, `captured ${c.capture.captured} != packets ${c.packets}`);
  check(c.capture.kernel_received === sent, `the kernel received ${c.capture.kernel_received} frames, ${sent} were sent`);
  check(c.capture.kernel_received === c.capture.captured + c.capture.kernel_dropped + c.capture.unread_at_stop, 'kernel view: received != captured + dropped + unread');
  if (c.info['verdicts.unclassified_flows']) problems.push(`${c.info['verdicts.unclassified_flows']} flows without a verdict`);

  // ---- memory bounded ----
  const warm = Math.max(samples.length >= 8 ? Math.floor(samples.length / 4) : 0, samples.findIndex((s) => s.t_s >= Math.min(120, (opts.minutes * 60) / 4)));
  const tail = samples.slice(Math.max(0, warm)).filter((s) => typeof s.rss_mib === 'number');
  let rss = null;
  if (tail.length >= 4) {
    const n = tail.length;
    const mx = tail.reduce((a, s) => a + s.t_s, 0) / n;
    const my = tail.reduce((a, s) => a + s.rss_mib, 0) / n;
    const slope = tail.reduce((a, s) => a + (s.t_s - mx) * (s.rss_mib - my), 0) / tail.reduce((a, s) => a + (s.t_s - mx) ** 2, 0); // MiB/s
    const span = tail[n - 1].t_s - tail[0].t_s;
    const sorted = tail.map((s) => s.rss_mib).sort((a, b) => a - b);
    const median = sorted[Math.floor(n / 2)];
    const rise = slope * span;
    const allowed = Math.max(0.1 * median, 24);
    rss = { samples_after_warmup: n, median_mib: median, min_mib: sorted[0], max_mib: sorted[n - 1], slope_mib_per_hour: +(slope * 3600).toFixed(2), rise_over_run_mib: +rise.toFixed(1), allowed_rise_mib: +allowed.toFixed(1) };
    check(rise <= allowed, `RSS rises ${rise.toFixed(1)} MiB over ${(span / 60).toFixed(1)} min after warm-up (allowed ${allowed.toFixed(1)}): grows without bound?`);
  } else {
    problems.push(`too few samples after warm-up (${tail.length}) to judge memory: run longer or lower --interval`);
  }

  const max = (k) => samples.reduce((a, s) => Math.max(a, s[k] ?? 0), 0);
  const p = (k, q) => {
    const v = samples.map((s) => s[k]).filter((x) => typeof x === 'number').sort((a, b) => a - b);
    return v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))] : null;
  };
  const summary = {
    minutes: opts.minutes,
    steady_pps: opts.pps,
    captures: pcaps.map((f) => f.replace(ROOT, '')),
    floods,
    flood_seconds: opts.floodSeconds,
    flood_pps: opts.floodPps,
    model: startLine.model,
    sent,
    packets: c.packets,
    flows: c.flows,
    packets_in_written_flows: c.packets_in_written_flows,
    not_in_flows: Object.fromEntries(Object.entries(c.packets_not_in_written_flows).filter(([, v]) => v > 0)),
    kernel_dropped: c.capture.kernel_dropped,
    interface_dropped: c.capture.interface_dropped,
    rss,
    rss_max_mib: max('rss_mib'),
    loop_delay_p99_ms: { median: p('loop_delay_p99_ms', 0.5), max: max('loop_delay_p99_ms') },
    loop_delay_max_ms: max('loop_delay_max_ms'),
    batches_waiting_max: max('batches_waiting'),
    batches_classifying_max: max('batches_classifying'),
    batches_writing_sqlite_max: max('batches_writing_sqlite'),
    flows_active_max: max('flows_active'),
    packets_per_s_max: max('packets_per_s'),
    exit,
    problems,
  };
  writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  const cols = Object.keys(samples[0] ?? { t_s: 0 });
  writeFileSync(join(out, 'samples.csv'), [cols.join(','), ...samples.map((s) => cols.map((k) => s[k] ?? '').join(','))].join('\n') + '\n');
  const plot = spawnSync('/usr/bin/python3', [join(ROOT, 'scripts/soak-plot.py'), join(out, 'samples.csv'), join(out, 'soak.png'), `${opts.minutes} min, ${opts.pps} pps steady, ${floods} floods`], { encoding: 'utf8' });
  const png = plot.status === 0 ? join(out, 'soak.png') : `not drawn (${(plot.stderr || String(plot.error)).trim().split('\n').pop()}; apt-get install python3-matplotlib)`;

  process.stdout.write(`soak: ${sent} frames sent, ${c.packets} captured, ${c.flows} flows written, kernel drops ${c.capture.kernel_dropped}\n`);
  if (rss) process.stdout.write(`soak: RSS after warm-up ${rss.min_mib}-${rss.max_mib} MiB (median ${rss.median_mib}), trend ${rss.slope_mib_per_hour} MiB/h\n`);
  process.stdout.write(`soak: event-loop delay p99 median ${summary.loop_delay_p99_ms.median} ms, worst ${summary.loop_delay_max_ms} ms; most batches waiting ${summary.batches_waiting_max}\n`);
  process.stdout.write(`soak: plot ${png}\n`);
  if (problems.length > 0) {
    process.stdout.write(`soak: FAILED\n${problems.map((x) => `  - ${x}`).join('\n')}\n`);
    return 1;
  }
  process.stdout.write('soak: passed\n');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`soak: ${e.message}\n`);
    process.exit(1);
  },
);
