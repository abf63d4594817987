// Live capture benchmark (not a CI assertion): the highest packet rate `sensor --iface` takes with zero drops,
// next to `tcpdump -B` on the same setup.
//
//   sudo node bench/live.mjs [--pcap FILE] [--seconds S] [--rates 100000,200000,...] [--senders N]
//                            [--buffer-mib N] [--sender fastsend|tcpreplay] [--json FILE] [--workers N]
//
// --workers N is passed to the sensor (its engine sharded over N worker threads; default 1).
//
// --sender fastsend (the default when a C compiler is present) uses bench/fastsend.c, sendmmsg on an AF_PACKET
// socket, 256 frames per call: tcpreplay writes one frame per call and tops out near 0.37 M packets/s here.
//
// Setup: two fresh network namespaces joined by a veth pair (MTU 9000, IPv6 off, removed at the end even on
// failure). The receiver runs in one namespace (the sensor with --db, or tcpdump -w /dev/null), tcpreplay
// sends a looped capture into the other end, preloaded in memory (-K), at each --pps rate for about S seconds,
// then at --topspeed; with --senders N, N tcpreplay processes share the rate (one sender process tops out near
// 300-400 k packets/s on veth here). Per step: packets sent and the rate tcpreplay achieved, packets the receiver got, kernel
// drops (pcap_stats ps_drop) and interface drops. For the sensor these come from its runs table
// (counters.capture), for tcpdump from its exit summary. The sensor gets SIGTERM 0.3 s after the sender ends (its
// stop drains the kernel's open block); tcpdump gets SIGINT 1.5 s after (it does not drain, so the wait lets its
// last block, 1 s timeout, reach it: otherwise those packets would be counted as its loss).
// The receiver's CPU while the sender runs (/proc/PID/stat, all threads) is reported as cores used and CPU ns per
// packet: with the sender as the ceiling, that is what says how much rate the receiver has left. (Kernel work done
// in the sender's softirq context, including copying into the capture ring, is not in it.) A step "passes" when nothing was dropped and every
// packet sent was received.
//
// Default capture: $SENSOR_BENCH_DATA/tiny.pcap (default /var/tmp/sensor-bench/) (5,006 packets cut to 128 bytes, 100 flows; made by bench/run.mjs),
// else fixtures/reference/zeek-wikipedia.pcap. Both CPUs of a small machine are shared by sender, kernel and
// receiver, so the sender's own ceiling bounds what can be measured: the report says what tcpreplay achieved.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomId, setupSync, sh, teardownSync, vethLab } from '../scripts/veth-lab.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SENSOR = join(ROOT, 'bin', 'sensor.js');
const require = createRequire(import.meta.url);

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const BENCH_DATA = process.env.SENSOR_BENCH_DATA || '/var/tmp/sensor-bench';
const defaultPcap = existsSync(join(BENCH_DATA, 'tiny.pcap'))
  ? join(BENCH_DATA, 'tiny.pcap')
  : join(ROOT, 'fixtures/reference/zeek-wikipedia.pcap');
const PCAP = arg('pcap', defaultPcap);
const SECONDS = Number(arg('seconds', '3'));
const RATES = arg('rates', '100000,200000,400000,600000,800000,1000000,1500000').split(',').map(Number);
const BUFFER_MIB = Number(arg('buffer-mib', '64'));
const JSON_OUT = arg('json', undefined);
const SENDERS = Number(arg('senders', '1'));
const WORKERS = arg('workers', '1');
const FASTSEND = join(ROOT, 'bench/data/fastsend');
const SENDER = arg('sender', spawnSync('cc', ['--version'], { stdio: 'ignore' }).error ? 'tcpreplay' : 'fastsend');
if (SENDER === 'fastsend' && !existsSync(FASTSEND)) {
  const cc = spawnSync('cc', ['-O2', '-o', FASTSEND, join(ROOT, 'bench/fastsend.c')], { encoding: 'utf8' });
  if (cc.status !== 0) {
    console.error(`bench/live.mjs: cannot build bench/fastsend.c: ${cc.stderr}`);
    process.exit(2);
  }
}

if (process.getuid() !== 0) {
  console.error('bench/live.mjs: needs root (network namespaces, capture)');
  process.exit(2);
}
for (const [cmd, a] of [['tcpreplay', '--version'], ['tcpdump', '--version'], ['ip', '-V'], ['capinfos', '-h']]) {
  if (spawnSync(cmd, [a], { stdio: 'ignore' }).error) {
    console.error(`bench/live.mjs: ${cmd} is not installed (apt-get install -y tcpreplay tcpdump iproute2 tshark)`);
    process.exit(2);
  }
}

const lab = vethLab(randomId('b'));
const { capNs: CAP, sndNs: SND, capIf: CAPIF, sndIf: SNDIF } = lab;
const dir = mkdtempSync(join(tmpdir(), 'sensor-bench-live-'));
const setup = () => setupSync(lab);
const teardown = () => teardownSync(lab);
process.on('exit', teardown);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system, all threads) a process has used so far, from /proc/PID/stat. */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** Runs the sender while measuring the receiver's CPU: ns of receiver CPU per packet, and its share of a core. */
async function sendMeasured(pid, pps, packetsInFile) {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  const s = await send(pps, packetsInFile);
  const cpu = cpuSeconds(pid) - c0;
  const wall = (performance.now() - t0) / 1000;
  return { ...s, receiverCpuCores: +(cpu / wall).toFixed(2), receiverCpuNsPerPacket: Math.round((cpu * 1e9) / s.sent) };
}

function start(args) {
  const child = spawn('ip', ['netns', 'exec', CAP, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (d) => (out.stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (out.stderr += d));
  const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out, exited };
}

async function waitFor(pred, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await sleep(20);
  }
  return false;
}

/** Sends ~SECONDS of traffic at `pps` (0 = top speed) from SENDERS parallel tcpreplay processes. */
async function send(pps, packetsInFile) {
  const each = pps ? pps / SENDERS : 1_500_000 / SENDERS;
  const loops = Math.max(1, Math.round((each * SECONDS) / packetsInFile));
  const rate = pps ? [`--pps=${Math.round(each)}`] : ['--topspeed'];
  const t0 = performance.now();
  const runs = await Promise.all(
    Array.from({ length: SENDERS }, () =>
      new Promise((resolve) => {
        const args =
          SENDER === 'fastsend'
            ? [FASTSEND, SNDIF, PCAP, String(loops), String(pps ? Math.round(each) : 0)]
            : ['tcpreplay', '-q', '-K', ...rate, `--loop=${loops}`, '-i', SNDIF, PCAP];
        const c = spawn('ip', ['netns', 'exec', SND, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        c.stdout.setEncoding('utf8').on('data', (d) => (text += d));
        c.stderr.setEncoding('utf8').on('data', (d) => (text += d));
        const timer = setTimeout(() => c.kill('SIGKILL'), (SECONDS * 20 + 30) * 1000);
        c.on('close', () => {
          clearTimeout(timer);
          resolve(text);
        });
      }),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  let sent = 0;
  let failed = 0;
  for (const text of runs) {
    sent += Number(/Actual: (\d+) packets/.exec(text)?.[1] ?? NaN);
    failed += Number(/Failed packets:\s+(\d+)/.exec(text)?.[1] ?? 0);
  }
  // Aggregate rate over the wall time of the slowest sender (tcpreplay's own "Rated" is per process).
  return { sent, achievedPps: Math.round(sent / seconds), sendFailed: failed };
}

async function stepSensor(pps, packetsInFile, n) {
  const db = join(dir, `sensor-${n}.sqlite`);
  const p = start([process.execPath, SENSOR, '--iface', CAPIF, '--db', db, '--stats-interval', '0', '--buffer-size', String(BUFFER_MIB), '--workers', WORKERS]);
  if (!(await waitFor(() => p.out.stdout.includes('"event":"start"'), 15_000))) throw new Error(`sensor did not start: ${p.out.stderr}`);
  const s = await sendMeasured(p.child.pid, pps, packetsInFile);
  await sleep(300);
  p.child.kill('SIGTERM');
  const code = await p.exited;
  if (code !== 0) throw new Error(`sensor exited ${code}: ${p.out.stderr}`);
  const Database = require('better-sqlite3');
  const conn = new Database(db, { readonly: true });
  const row = conn.prepare('SELECT counters FROM runs ORDER BY id DESC LIMIT 1').get();
  conn.close();
  const c = JSON.parse(row.counters);
  return { ...s, received: c.packets, kernelDropped: c.capture.kernel_dropped, ifDropped: c.capture.interface_dropped, flows: c.flows };
}

async function stepTcpdump(pps, packetsInFile) {
  const p = start(['tcpdump', '-n', '-B', String(BUFFER_MIB * 1024), '-s', '262144', '-i', CAPIF, '-w', '/dev/null']);
  if (!(await waitFor(() => p.out.stderr.includes('listening on'), 15_000))) throw new Error(`tcpdump did not start: ${p.out.stderr}`);
  const s = await sendMeasured(p.child.pid, pps, packetsInFile);
  await sleep(1500);
  p.child.kill('SIGINT');
  await p.exited;
  const num = (re) => Number(re.exec(p.out.stderr)?.[1] ?? NaN);
  return {
    ...s,
    received: num(/(\d+) packets captured/),
    kernelDropped: num(/(\d+) packets dropped by kernel/),
    ifDropped: num(/(\d+) packets dropped by interface/) || 0,
  };
}

const packetsInFile = Number(/Number of packets:\s+(\d+)/.exec(sh('capinfos', ['-c', '-M', PCAP]))?.[1]);
const load = () => spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.trim();
console.log(JSON.stringify({ pcap: PCAP, packetsInFile, seconds: SECONDS, senders: SENDERS, sender: SENDER, bufferMiB: BUFFER_MIB, loadavg: load(), cpus: (await import('node:os')).cpus().length }));
setup();
const results = [];
let n = 0;
try {
  for (const pps of [...RATES, 0]) {
    for (const tool of ['sensor', 'tcpdump']) {
      const r = tool === 'sensor' ? await stepSensor(pps, packetsInFile, n++) : await stepTcpdump(pps, packetsInFile);
      const ok = r.kernelDropped === 0 && r.ifDropped === 0 && r.received === r.sent;
      const line = { tool, requestedPps: pps || 'topspeed', ...r, zeroLoss: ok };
      results.push(line);
      console.log(JSON.stringify(line));
    }
  }
} finally {
  teardown();
}
const best = (tool) =>
  results.filter((r) => r.tool === tool && r.zeroLoss).reduce((m, r) => (r.achievedPps > m ? r.achievedPps : m), 0);
const summary = { loadavgEnd: load(), highestZeroLossPps: { sensor: best('sensor'), tcpdump: best('tcpdump') } };
console.log(JSON.stringify(summary));
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ results, summary }, null, 2));
