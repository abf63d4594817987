// `npm run bench`: replay throughput of the real CLI with features + SQLite on, and where the time goes.
//
//   node bench/run.mjs [--quick] [--repeat N] [--profiles cic,fixed,cic2017 | --all-profiles] [--with-model]
//                      [--no-breakdown] [--no-cli] [--no-peers] [--peers-only] [--timeout SECONDS] [--json FILE]
//                      [--keep-db] [--workers 1,2]
//
// What it does, in order:
// 1. Makes sure the captures exist in $SENSOR_BENCH_DATA (default /var/tmp/sensor-bench, outside the checkout:
//    big.pcap is ~1 GB), generating them with the shared generator (`gen_big.py OUT N_FLOWS 1 128`): big.pcap
//    (150,000 flows, ~8.9 M packets, the capture of docs/PEERS.md), quick.pcap (20,000 flows, for --quick) and
//    tiny.pcap (100 flows, the memory baseline); and flood.pcap, the SYN flood of the lab (phase-ddos.pcap.gz of
//    ../shared/data/lab, decompressed so every tool reads the same plain file).
// 1b. Peers, in the same run (--no-peers skips it, --peers-only does only this): per round, every tool once in
//    turn on big.pcap and on the flood: nfpcapd (Debian nfdump) and softflowd (Debian softflowd) against the
//    sensor into SQLite and into CSV (big.pcap: --profile cic --no-model; the flood: the default model). The
//    ratio is taken within each round (peer wall time / sensor wall time = sensor rate / peer rate) and its
//    median printed next to the median absolute figures: the machine's noise hits both sides of a round alike.
//    A peer that is not installed is reported as missing, and the rest runs. `--workers 1,2` (the default) adds,
//    for each N > 1 listed, the sensor into SQLite with `--workers N` to every round.
// 2. Runs `node bin/sensor.js --replay FILE --db TMP --profile P --no-model` (features + SQLite, no classifier;
//    --with-model adds a run of profile cic2017 with the CLI's default model, reported as `cic2017+model`)
//    as a child process under /usr/bin/time and
//    reports packets, flows, wall time, packets/s, CPU ns/packet, peak RSS, SQLite rows/s (rows written over
//    the wall time) and bytes per active flow: (peak RSS on FILE - peak RSS on tiny.pcap) / the peak number of
//    concurrent flows, which the engine stage below measures by sampling `engine.table.size` after each batch.
// 3. The breakdown, each stage a fresh child process of this script (`--stage NAME`) so every stage starts cold
//    and has its own peak RSS:
//      read    PcapSource.next() loop, touching every packet's caplen (the libpcap read floor from JS)
//      decode  + decodeFrame() of every packet into one reused DecodedPacket
//      engine  + Engine.ingestBatch with a no-op onFlows (flow table, features, rows of completed flows)
//      sqlite  + the SQLite sink: cli/replay.js replay() with a SqliteSink, i.e. the CLI without process start-up
//      sink    the SQLite sink alone: rows collected from an engine run first (untimed), then timed
//              open -> write every batch (honouring backpressure) -> flush -> close: the sink's capacity.
//    The difference between consecutive stages is what each layer costs per packet.
//
// Needs dist/ (npm run build) and the native addon (npm install). Measurements on a shared machine are noisy:
// use --repeat and read the medians and ranges; the load average at start and end is printed with them.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, renameSync,
  rmSync, statSync, writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { CLI_DEFAULTS, DATA, ROOT } from './common.mjs';

const DIST = join(ROOT, 'dist');
const SELF = fileURLToPath(import.meta.url);
const PROFILES = ['cic', 'fixed', 'cic2017'];
const STAGES = ['read', 'decode', 'engine', 'sqlite', 'sink'];

/** The captures: generator arguments N_FLOWS SEED SNAPLEN. Same arguments, same bytes. */
const CAPTURES = {
  big: { flows: 150000, file: 'big.pcap' },
  quick: { flows: 20000, file: 'quick.pcap' },
  tiny: { flows: 100, file: 'tiny.pcap' },
};
/** A copy of big.pcap that another tool may have left: used when its SHA-256 is this one (saves ~25 s). */
const BIG_COPY = '/tmp/big.pcap';
const BIG_SIZE = 1067041920;
const BIG_SHA256 = '2c22b981f4130eb011ae20059033e0ba4dedc91641fb79cb7d0177fe3ecbdd17';

/** Completed flows per output batch, as cli/replay.ts uses. */
const BATCH_FLOWS = 1024;

// ---- command line ---------------------------------------------------------------------------------------

function usage(msg) {
  if (msg) process.stderr.write(`bench: ${msg}\n`);
  process.stderr.write(
    'usage: node bench/run.mjs [--quick] [--repeat N] [--profiles cic,fixed,cic2017 | --all-profiles] [--with-model]\n' +
      '                          [--no-breakdown] [--no-cli] [--no-peers] [--peers-only] [--timeout SECONDS] [--json FILE]\n' +
      '                          [--keep-db] [--workers 1,2]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = { quick: false, withModel: false, repeat: 3, profiles: ['cic'], breakdown: true, cli: true, peers: true, peersOnly: false, json: null, keepDb: false, timeoutS: 600, workers: [1, 2] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`expected a value after ${a}`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--repeat') {
      const v = value();
      o.repeat = Number(v);
      if (!Number.isInteger(o.repeat) || o.repeat < 1 || o.repeat > 100) usage(`expected --repeat to be an integer from 1 to 100, got "${v}"`);
    } else if (a === '--profiles') {
      o.profiles = value().split(',').filter(Boolean);
      for (const p of o.profiles) if (!PROFILES.includes(p)) usage(`expected --profiles to list some of ${PROFILES.join(', ')}, got "${p}"`);
    } else if (a === '--all-profiles') o.profiles = [...PROFILES];
    else if (a === '--with-model') o.withModel = true;
    else if (a === '--no-breakdown') o.breakdown = false;
    else if (a === '--no-cli') o.cli = false;
    else if (a === '--no-peers') o.peers = false;
    else if (a === '--peers-only') o.peersOnly = true;
    else if (a === '--json') o.json = value();
    else if (a === '--timeout') {
      const v = value();
      o.timeoutS = Number(v);
      if (!Number.isFinite(o.timeoutS) || o.timeoutS <= 0) usage(`expected --timeout to be a positive number of seconds, got "${v}"`);
    }
    else if (a === '--keep-db') o.keepDb = true;
    else if (a === '--workers') {
      const v = value();
      o.workers = v.split(',').map(Number);
      if (o.workers.some((n) => !Number.isInteger(n) || n < 1 || n > 64)) usage(`expected --workers to list integers from 1 to 64, got "${v}"`);
    }
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown option "${a}"`);
  }
  return o;
}

// ---- captures ---------------------------------------------------------------------------------------------

function findGenerator() {
  const candidates = [
    process.env.SENSOR_GEN_BIG,
    '/work/shared/tools/gen_big.py',
    resolve(ROOT, '..', 'shared', 'tools', 'gen_big.py'),
  ].filter(Boolean);
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(
    'the capture generator gen_big.py was not found (looked in ' + candidates.join(', ') + '). It ships with the ' +
      'shared inputs (shared/tools/gen_big.py next to this checkout); point SENSOR_GEN_BIG at it, or put the capture ' +
      `in ${DATA}/ yourself (gen_big.py big.pcap 150000 1 128).`,
  );
}

function checkPython() {
  const py = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  if (py.error) throw new Error('python3 is needed to generate the benchmark capture: apt-get install python3 python3-numpy');
  if (py.status !== 0) throw new Error('python3-numpy is needed to generate the benchmark capture: apt-get install python3-numpy');
}

function sha256(file) {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** Path of a capture, generated (or copied from a verified /tmp/big.pcap) when absent. */
function ensureCapture(kind) {
  const { flows, file } = CAPTURES[kind];
  const out = join(DATA, file);
  if (existsSync(out)) return out;
  mkdirSync(DATA, { recursive: true });
  const tmp = `${out}.partial`;
  if (kind === 'big' && existsSync(BIG_COPY) && statSync(BIG_COPY).size === BIG_SIZE) {
    log(`bench: copying ${BIG_COPY} (checking it is the benchmark capture first)`);
    if (sha256(BIG_COPY) === BIG_SHA256) {
      copyFileSync(BIG_COPY, tmp);
      renameSync(tmp, out);
      return out;
    }
    log(`bench: ${BIG_COPY} is not the benchmark capture (other SHA-256), generating instead`);
  }
  const gen = findGenerator();
  checkPython();
  log(`bench: generating ${out} (${flows} flows): python3 ${gen} ${file} ${flows} 1 128`);
  const r = spawnSync('python3', [gen, tmp, String(flows), '1', '128'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`gen_big.py failed (exit ${r.status})`);
  }
  renameSync(tmp, out);
  return out;
}

// ---- preflight --------------------------------------------------------------------------------------------

function newestMtime(dir, ext) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p, ext));
    else if (p.endsWith(ext)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function preflight() {
  if (!existsSync(join(DIST, 'cli', 'main.js'))) throw new Error('dist/ is missing: run npm run build first');
  if (!existsSync(join(ROOT, 'native', 'build', 'Release', 'sensor_pcap.node'))) {
    throw new Error('the native addon is not built: run npm install (needs libpcap-dev)');
  }
  if (newestMtime(join(ROOT, 'src'), '.ts') > newestMtime(DIST, '.js')) {
    log('bench: warning: src/ is newer than dist/: this measures the last build (npm run build to refresh)');
  }
}

// ---- in-process stages (run as `node bench/run.mjs --stage NAME --file F --profile P`) -------------------

const dist = (p) => import(pathToFileURL(join(DIST, p)).href);

async function runStage(stage, file, profileName) {
  const { PcapSource } = await dist('sources/pcap-source.js');
  const { getProfile } = await dist('features/profiles.js');
  const profile = getProfile(profileName);
  const res = { stage, file, profile: profileName };
  const cpu0 = process.cpuUsage();
  let t0 = performance.now();

  if (stage === 'read') {
    const src = PcapSource.openFile(file);
    let packets = 0;
    let bytes = 0;
    const meta = src.meta;
    for (let n = src.next(); n > 0; n = src.next()) {
      packets += n;
      for (let i = 0; i < n; i++) bytes += meta[i * 6 + 2];
    }
    src.close();
    Object.assign(res, { packets, capturedBytes: bytes });
  } else if (stage === 'decode') {
    const { decodeFrame } = await dist('decode/decode.js');
    const { DecodedPacket } = await dist('decode/packet.js');
    const pkt = new DecodedPacket();
    const src = PcapSource.openFile(file);
    const lt = src.linkType;
    const data = src.data;
    const meta = src.meta;
    const statuses = new Float64Array(64);
    let packets = 0;
    let check = 0;
    for (let n = src.next(); n > 0; n = src.next()) {
      packets += n;
      for (let i = 0; i < n; i++) {
        const m = i * 6;
        statuses[decodeFrame(lt, data, meta[m + 4], meta[m + 2], pkt)]++;
        check += pkt.payloadBytes; // keeps the decoder's output live
      }
    }
    src.close();
    Object.assign(res, { packets, decodedOk: statuses[0], check });
  } else if (stage === 'engine' || stage === 'sink') {
    const { Engine } = await dist('engine/engine.js');
    const kept = [];
    let rowsOut = 0;
    const engine = new Engine({
      profile,
      ...CLI_DEFAULTS,
      batchSize: BATCH_FLOWS,
      onFlows: (rows) => {
        rowsOut += rows.count;
        if (stage === 'sink') kept.push(rows);
      },
    });
    const src = PcapSource.openFile(file);
    const lt = src.linkType;
    let peakActive = 0;
    for (let n = src.next(); n > 0; n = src.next()) {
      engine.ingestBatch(lt, src.data, src.meta, n);
      const s = engine.table.size;
      if (s > peakActive) peakActive = s;
    }
    src.close();
    const activeAtEnd = engine.table.size;
    const rowsBeforeEnd = rowsOut;
    const tFinish = performance.now();
    engine.finish();
    res.finishMs = performance.now() - tFinish;
    Object.assign(res, { packets: engine.packets, flows: engine.flowsWritten, rowsOut, rowsBeforeEnd, peakActive, activeAtEnd });
    if (stage === 'sink') {
      const { SqliteSink } = await dist('sinks/sqlite.js');
      const dir = mkdtempSync(join(tmpdir(), 'sensor-bench-'));
      const db = join(dir, 'sink.sqlite');
      t0 = performance.now();
      const cpuSink0 = process.cpuUsage();
      const sink = await SqliteSink.open(db, profile.columns, { source: file, mode: 'replay', profile: profileName, argv: [] });
      const tOpen = performance.now();
      for (const rows of kept) {
        const r = sink.write(rows);
        if (r !== undefined) await r;
      }
      await sink.flush();
      const tFlush = performance.now();
      await sink.close(); // expands the feature blocks into flow_features, checkpoints
      const tClose = performance.now();
      const cpuSink = process.cpuUsage(cpuSink0);
      res.sinkOpenMs = tOpen - t0;
      res.sinkWriteMs = tFlush - tOpen;
      res.sinkCloseMs = tClose - tFlush;
      res.sinkAllRowsPerSec = rowsOut / ((tClose - tOpen) / 1000);
      res.sinkRowsPerSec = rowsOut / ((tFlush - tOpen) / 1000);
      res.dbBytes = dbSize(db);
      res.cpuSinkMs = (cpuSink.user + cpuSink.system) / 1000; // process-wide: the main thread and the writer
      rmSync(dir, { recursive: true, force: true });
    }
  } else if (stage === 'sqlite') {
    const { replay, openSources } = await dist('cli/replay.js');
    const { SqliteSink } = await dist('sinks/sqlite.js');
    const dir = mkdtempSync(join(tmpdir(), 'sensor-bench-'));
    const db = join(dir, 'replay.sqlite');
    const sink = await SqliteSink.open(db, profile.columns, { source: file, mode: 'replay', profile: profileName, argv: [] });
    // Note when the input runs out, so the time after it (engine.finish() writing every open flow, and the
    // sink catching up) shows separately from the packet loop.
    const sources = openSources([file], undefined);
    let tInputEnd = NaN;
    for (const src of sources) {
      const next = src.next.bind(src);
      src.next = () => {
        const n = next();
        if (n === 0 && Number.isNaN(tInputEnd)) tInputEnd = performance.now();
        return n;
      };
    }
    const tReplay = performance.now();
    const c = CLI_DEFAULTS;
    const settings = { flowTimeout: c.flowTimeoutUs / 1e6, activityTimeout: c.activityTimeoutUs / 1e6, idleTimeout: c.idleTimeoutUs / 1e6, maxFlows: c.maxFlows, portDirection: c.portAwareDirection, ipv6: c.ipv6 };
    const summary = await replay({ profile, settings, sinks: [{ kind: 'sqlite', sink, key: db, ino: undefined }] }, sources);
    const tReplayEnd = performance.now();
    await sink.close();
    Object.assign(res, {
      packets: summary.packets, flows: summary.flows, replayMs: summary.elapsedMs, dbBytes: dbSize(db),
      loopMs: tInputEnd - tReplay, afterInputMs: tReplayEnd - tInputEnd,
    });
    rmSync(dir, { recursive: true, force: true });
  } else {
    throw new Error(`unknown stage ${stage}`);
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  res.ms = ms;
  res.cpuMs = (cpu.user + cpu.system) / 1000;
  if (stage !== 'sink') res.packetsPerSec = res.packets / (ms / 1000);
  process.stdout.write(JSON.stringify(res) + '\n');
}

function dbSize(db) {
  let total = 0;
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(db + suffix)) total += statSync(db + suffix).size;
  return total;
}

// ---- child processes --------------------------------------------------------------------------------------

const HAVE_TIME = existsSync('/usr/bin/time');

/** Child runs longer than this are stopped and reported as not finished (--timeout). */
let timeLimitMs = 600_000;

/**
 * Run a command; returns its stdout, stderr, wall ms (spawn to exit, so Node start-up included), and peak RSS
 * in KiB and CPU seconds from /usr/bin/time (else VmHWM polled from /proc, CPU unknown). A run that exceeds the
 * time limit is killed (its own process group: /usr/bin/time and node) and resolves with `timedOut: true`.
 */
function measure(cmd, args) {
  return new Promise((resolvePromise, reject) => {
    const dir = mkdtempSync(join(tmpdir(), 'sensor-bench-time-'));
    const timeOut = join(dir, 'time');
    const [c, a] = HAVE_TIME ? ['/usr/bin/time', ['-o', timeOut, '-f', '%M %U %S', cmd, ...args]] : [cmd, args];
    const t0 = performance.now();
    const child = spawn(c, a, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeLimitMs);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let hwm = 0;
    const poll = HAVE_TIME
      ? null
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) hwm = Math.max(hwm, Number(m[1]));
          } catch {
            /* exited */
          }
        }, 20);
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      let rssKiB = hwm;
      let cpuS = NaN;
      if (HAVE_TIME && existsSync(timeOut)) {
        const last = readFileSync(timeOut, 'utf8').trim().split('\n').pop().split(' ').map(Number);
        rssKiB = last[0];
        cpuS = last[1] + last[2];
      }
      rmSync(dir, { recursive: true, force: true });
      if (timedOut) {
        resolvePromise({ timedOut: true, wallMs });
        return;
      }
      if (code !== 0) {
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${stderr}`));
        return;
      }
      resolvePromise({ stdout, stderr, wallMs, rssKiB, cpuS });
    });
  });
}

/** `name` is a profile, or `cic2017+model`: profile cic2017 classified by the CLI's default model. */
async function cliRun(file, name, keepDb) {
  const dir = mkdtempSync(join(tmpdir(), 'sensor-bench-'));
  const db = join(dir, 'flows.sqlite');
  const withModel = name.endsWith('+model');
  const profile = withModel ? name.slice(0, -'+model'.length) : name;
  try {
    const args = [join(ROOT, 'bin', 'sensor.js'), '--replay', file, '--db', db, '--profile', profile];
    if (!withModel) args.push('--no-model');
    const r = await measure(process.execPath, args);
    if (r.timedOut) return { timedOut: true, wallMs: r.wallMs };
    const { packets, flows, rows } = sqliteCounts(db);
    const m = /packets (\d+)\s+flows (\d+)\s+packets in flows (\d+)\s+([\d.]+) s/.exec(r.stderr);
    if (rows !== flows) throw new Error(`the CLI reported ${flows} flows but ${db} holds ${rows} rows`);
    const dbBytes = dbSize(db);
    if (keepDb) log(`bench: kept ${db}`);
    return {
      packets, flows, rows, dbBytes,
      cliElapsedMs: m ? Number(m[4]) * 1000 : NaN,
      wallMs: r.wallMs,
      rssKiB: r.rssKiB,
      cpuS: r.cpuS,
      packetsPerSec: packets / (r.wallMs / 1000),
      rowsPerSec: rows / (r.wallMs / 1000),
      cpuNsPerPacket: (r.cpuS * 1e9) / packets,
    };
  } finally {
    if (!keepDb) rmSync(dir, { recursive: true, force: true });
  }
}

/** Packets and flows as the CLI recorded them in `runs`, and the rows actually in `flows`. */
function sqliteCounts(db) {
  const require = createRequire(join(ROOT, 'package.json'));
  const Database = require('better-sqlite3');
  const d = new Database(db, { readonly: true });
  try {
    const run = d.prepare('SELECT packets, flows FROM runs ORDER BY id DESC LIMIT 1').get();
    const rows = d.prepare('SELECT count(*) AS n FROM flows').get().n;
    return { packets: Number(run.packets), flows: Number(run.flows), rows };
  } finally {
    d.close();
  }
}

async function stageRun(stage, file, profile) {
  const r = await measure(process.execPath, [SELF, '--stage', stage, '--file', file, '--profile', profile]);
  if (r.timedOut) return { stage, profile, timedOut: true, wallMs: r.wallMs };
  const res = JSON.parse(r.stdout.trim().split('\n').pop());
  return { ...res, wallMs: r.wallMs, rssKiB: r.rssKiB, cpuS: r.cpuS };
}

// ---- statistics and printing ------------------------------------------------------------------------------

function log(s) {
  process.stderr.write(s + '\n');
}

function stats(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

const fmt = {
  rate: (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(1)} k`),
  s: (x) => `${(x / 1000).toFixed(2)} s`,
  mib: (kib) => `${(kib / 1024).toFixed(0)} MiB`,
  int: (x) => Math.round(x).toLocaleString('en-US'),
  ns: (x) => `${x.toFixed(0)} ns`,
  b: (x) => `${Math.round(x).toLocaleString('en-US')} B`,
};

/**
 * What the models cost (issues 9 and 10: at most 10 % of replay packets/s): 1 - packets/s with them / without them,
 * within each round (the two runs of a round are minutes apart at most, so the machine's noise hits both alike),
 * then the median and range over the rounds; and the same of the medians.
 */
function modelCost(without, withModels) {
  const perRound = [];
  for (let r = 0; r < Math.min(without.length, withModels.length); r++) {
    const a = without[r];
    const b = withModels[r];
    if (!a?.timedOut && !b?.timedOut && a && b) perRound.push(1 - b.packetsPerSec / a.packetsPerSec);
  }
  const s = stats(perRound);
  if (s.n === 0) return 'the models\' cost: n/a (no round with both runs)';
  const ofMedians = 1 - stats(withModels.map((c) => c.packetsPerSec)).median / stats(without.map((c) => c.packetsPerSec)).median;
  const pc = (x) => `${(x * 100).toFixed(1)} %`;
  return `the models' cost in packets/s: ${pc(ofMedians)} (medians); per round ${pc(s.median)} [${pc(s.min)} – ${pc(s.max)}] over ${s.n} round(s)`;
}

/** "median [min – max]" of a metric over runs. */
function show(runs, pick, f) {
  const s = stats(runs.map(pick));
  if (s.n === 0) return 'n/a';
  if (s.n === 1 || s.min === s.max) return f(s.median);
  return `${f(s.median)} [${f(s.min)} – ${f(s.max)}]`;
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => String(cell).padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

function loadavg() {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

// ---- peers: nfpcapd and softflowd in the same run ----------------------------------------------------------

/** The flood capture: the lab's SYN flood, decompressed once into DATA (every tool reads the same plain file). */
function ensureFlood() {
  const out = join(DATA, 'flood.pcap');
  if (existsSync(out)) return out;
  const candidates = [process.env.SENSOR_LAB_DIR, '/work/shared/data/lab', resolve(ROOT, '..', 'shared', 'data', 'lab')].filter(Boolean);
  const gz = candidates.map((d) => join(d, 'phase-ddos.pcap.gz')).find((f) => existsSync(f));
  if (!gz) return null;
  mkdirSync(DATA, { recursive: true });
  log(`bench: decompressing ${gz} into ${out}`);
  writeFileSync(`${out}.partial`, gunzipSync(readFileSync(gz)));
  renameSync(`${out}.partial`, out);
  return out;
}

/** The full path of a program on PATH (or /usr/sbin, where Debian puts softflowd), or null. */
function which(name) {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin']) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** The tools of one comparison; a peer's `missing` says how to install it. */
function peerTools() {
  const nfpcapd = which('nfpcapd');
  const nfdump = which('nfdump');
  const softflowd = which('softflowd');
  return [
    {
      name: 'nfpcapd',
      label: 'nfpcapd -r FILE -w DIR',
      missing: nfpcapd ? null : 'nfpcapd not found (Debian package nfdump: apt-get install nfdump)',
      async run(file) {
        const dir = mkdtempSync(join(tmpdir(), 'sensor-bench-nfpcapd-'));
        try {
          const r = await measure(nfpcapd, ['-r', file, '-w', dir]);
          if (r.timedOut) return r;
          // Its own flow count (unidirectional records), read back untimed.
          let flows = NaN;
          if (nfdump) {
            const st = spawnSync(nfdump, ['-R', dir, '-I'], { encoding: 'utf8' });
            const m = /^Flows: (\d+)/m.exec(st.stdout ?? '');
            if (m) flows = Number(m[1]);
          }
          const p = /Processed: (\d+)/.exec(r.stderr + r.stdout);
          return { ...r, packets: p ? Number(p[1]) : NaN, flows };
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    },
    {
      name: 'softflowd',
      label: 'softflowd -d -r FILE -m 262144 -n 127.0.0.1:9',
      missing: softflowd ? null : 'softflowd not found (Debian package softflowd: apt-get install softflowd)',
      async run(file) {
        const dir = mkdtempSync(join(tmpdir(), 'sensor-bench-softflowd-'));
        try {
          // The flow table as large as the sensor's (--max-flows default); NetFlow sent to the discard port.
          // softflowd 1.1.0 reading a file blocks for ever in accept() on its control socket when that socket's
          // path is longer than 12 characters (seen here: /tmp/sf12.c runs, /tmp/sf1234.c hangs): keep it short.
          const ctl = `/tmp/sf${String(process.pid % 10000).padStart(4, '0')}`;
          rmSync(ctl, { force: true });
          const r = await measure(softflowd, ['-d', '-r', file, '-m', '262144', '-n', '127.0.0.1:9', '-c', ctl, '-p', join(dir, 'pid')]);
          rmSync(ctl, { force: true });
          if (r.timedOut) return r;
          const out = r.stdout + r.stderr;
          const p = /Packets processed: (\d+)/.exec(out);
          const f = /Flows expired: (\d+)/.exec(out);
          return { ...r, packets: p ? Number(p[1]) : NaN, flows: f ? Number(f[1]) : NaN };
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    },
  ];
}

/** The sensor's runs of one capture: into SQLite and into CSV, same options; into SQLite with each --workers N > 1. */
function sensorTools(kind, workers) {
  const opts = kind === 'flood' ? [] : ['--profile', 'cic', '--no-model'];
  const desc = kind === 'flood' ? 'default model (cic2017)' : '--profile cic --no-model';
  const make = (store, n = 1) => ({
    name: `sensor ${store}${n > 1 ? ` --workers ${n}` : ''}`,
    label: `sensor ${desc} --${store === 'SQLite' ? 'db' : 'csv'} TMP${n > 1 ? ` --workers ${n}` : ''}`,
    sensor: true,
    async run(file) {
      const dir = mkdtempSync(join(tmpdir(), 'sensor-bench-'));
      try {
        const out = join(dir, store === 'SQLite' ? 'flows.sqlite' : 'flows.csv');
        const args = [join(ROOT, 'bin', 'sensor.js'), '--replay', file, ...opts, store === 'SQLite' ? '--db' : '--csv', out, '-q', '--workers', String(n)];
        const r = await measure(process.execPath, args);
        if (r.timedOut) return r;
        let packets;
        let flows;
        if (store === 'SQLite') {
          ({ packets, flows } = sqliteCounts(out));
          const { rows } = sqliteCounts(out);
          if (rows !== flows) throw new Error(`the CLI reported ${flows} flows but ${out} holds ${rows} rows`);
        } else {
          flows = countLines(out) - 1;
          packets = NaN;
        }
        return { ...r, packets, flows };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  });
  return [make('SQLite'), ...workers.filter((n) => n > 1).map((n) => make('SQLite', n)), make('CSV')];
}

function countLines(file) {
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let n = 0;
  try {
    for (let k; (k = readSync(fd, buf, 0, buf.length, null)) > 0; ) for (let i = 0; i < k; i++) if (buf[i] === 10) n++;
  } finally {
    closeSync(fd);
  }
  return n;
}

/** Rounds of every tool on every capture, in turn; returns per capture the tools and their runs. */
async function comparePeers(captures, rounds, workers) {
  const peers = peerTools();
  for (const p of peers) if (p.missing) log(`bench: peer ${p.name} is missing: ${p.missing}; it is left out of the comparison`);
  const results = [];
  for (const { kind, file } of captures) {
    const tools = [...peers.filter((p) => !p.missing), ...sensorTools(kind, workers)];
    const entry = { kind, file, missing: peers.filter((p) => p.missing).map((p) => p.missing), tools: tools.map((t) => ({ name: t.name, label: t.label, sensor: !!t.sensor })), runs: {} };
    for (let r = 0; r < rounds; r++) {
      for (const t of tools) {
        const res = await t.run(file);
        (entry.runs[t.name] ??= []).push(res);
        log(`bench: [${r + 1}/${rounds}] ${kind} ${t.name}: ${res.timedOut ? 'did not finish (stopped)' : `${fmt.s(res.wallMs)}, ${fmt.int(res.flows)} flows`}`);
      }
    }
    results.push(entry);
  }
  return results;
}

function reportPeers(results, rounds) {
  const out = ['', `== same-run comparison: ${rounds} round(s), each runs every tool once in turn; wall = whole process, median [min – max]`];
  for (const e of results) {
    const sensorPackets = e.runs['sensor SQLite']?.find((x) => !x.timedOut)?.packets;
    out.push('');
    out.push(`capture ${e.file}${Number.isFinite(sensorPackets) ? ` (${fmt.int(sensorPackets)} packets)` : ''}`);
    for (const m of e.missing) out.push(`missing peer: ${m}`);
    const peerNames = e.tools.filter((t) => !t.sensor).map((t) => t.name);
    const head = ['tool', 'wall', 'packets/s', 'flows (its own)', 'flows/s', ...peerNames.map((p) => `× ${p}`)];
    const rows = [head];
    for (const t of e.tools) {
      const runs = e.runs[t.name] ?? [];
      const done = runs.filter((x) => !x.timedOut);
      if (done.length === 0) {
        rows.push([t.label, 'did not finish', '', '', '', ...peerNames.map(() => '')]);
        continue;
      }
      // Per round: the peer's wall over this tool's wall = this tool's rate relative to the peer's.
      const ratio = (p) => {
        const pr = e.runs[p] ?? [];
        const xs = runs.map((x, i) => (x.timedOut || !pr[i] || pr[i].timedOut ? NaN : pr[i].wallMs / x.wallMs));
        return show(xs.map((x) => ({ x })), (o) => o.x, (x) => `${x.toFixed(2)}×`);
      };
      rows.push([
        t.label,
        show(done, (x) => x.wallMs, fmt.s),
        show(done, (x) => (sensorPackets ?? x.packets) / (x.wallMs / 1000), fmt.rate),
        fmt.int(stats(done.map((x) => x.flows)).median),
        show(done, (x) => x.flows / (x.wallMs / 1000), fmt.rate),
        ...peerNames.map((p) => (p === t.name ? '' : ratio(p))),
      ]);
    }
    out.push(table(rows));
  }
  out.push('');
  out.push('packets/s = the capture\'s packets (as the sensor counts them) over each tool\'s wall time; flows are each tool\'s own count');
  out.push('(nfpcapd: one-way records; softflowd and the sensor: two-way flows); flows/s for the sensor = rows written into');
  out.push('the store over the whole run (SQLite: every feature in the flows view before exit).');
  process.stdout.write(out.join('\n') + '\n');
}

// ---- main -------------------------------------------------------------------------------------------------

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === '--stage') {
    const get = (k) => argv[argv.indexOf(k) + 1];
    await runStage(argv[1], get('--file'), get('--profile') ?? 'cic');
    return;
  }
  const o = parseArgs(argv);
  timeLimitMs = o.timeoutS * 1000;
  preflight();
  if (o.peers || o.peersOnly) {
    const captures = [{ kind: o.quick ? 'quick' : 'big', file: ensureCapture(o.quick ? 'quick' : 'big') }];
    const flood = ensureFlood();
    if (flood) captures.push({ kind: 'flood', file: flood });
    else log('bench: the lab flood capture (../shared/data/lab/phase-ddos.pcap.gz) is not here: the flood comparison is left out');
    log(`bench: peers, load average ${loadavg()}`);
    const peerResults = await comparePeers(captures, o.repeat, o.workers);
    reportPeers(peerResults, o.repeat);
    log(`bench: load average ${loadavg()} after the peers`);
    if (o.peersOnly) return;
  }
  const file = ensureCapture(o.quick ? 'quick' : 'big');
  const tiny = ensureCapture('tiny');
  const cpus = (await import('node:os')).cpus().length;
  log(`bench: ${file}, profiles ${o.profiles.join(',')}, ${o.repeat} repeat(s), ${cpus} CPUs, load average ${loadavg()}`);

  if (o.withModel) o.profiles = [...o.profiles, 'cic2017+model'];
  const results = { file, profiles: o.profiles, repeat: o.repeat, timeoutS: o.timeoutS, loadStart: loadavg(), cli: {}, tinyCli: {}, stages: {}, tinyEngine: {} };
  const push = (obj, key, v) => (obj[key] ??= []).push(v);
  // A profile that once ran past the time limit is not run again: its later runs would only repeat that.
  const gaveUp = new Set();
  const note = (r, what, p, res, extra) => {
    if (res.timedOut) {
      gaveUp.add(p);
      log(`bench: [${r + 1}/${o.repeat}] ${what} ${p}: did not finish in ${o.timeoutS} s (stopped; ${p} is not run again)`);
    } else log(`bench: [${r + 1}/${o.repeat}] ${what} ${p}: ${extra(res)}`);
  };
  for (let r = 0; r < o.repeat; r++) {
    for (const p of o.profiles) {
      if (gaveUp.has(p)) continue;
      if (o.cli) {
        const big = await cliRun(file, p, o.keepDb);
        push(results.cli, p, big);
        note(r, 'cli', p, big, (x) => `${fmt.rate(x.packetsPerSec)} packets/s, ${fmt.s(x.wallMs)}, ${fmt.mib(x.rssKiB)}`);
        if (gaveUp.has(p)) continue;
        push(results.tinyCli, p, await cliRun(tiny, p, false));
      }
      // The engine stage gives the peak concurrent flows (bytes per active flow needs it), so it always runs;
      // the model run shares cic2017's engine and has no stages of its own.
      if (p.endsWith('+model')) continue;
      const stagesHere = o.breakdown ? STAGES.filter((s) => p === o.profiles[0] || !['read', 'decode'].includes(s)) : ['engine'];
      for (const s of stagesHere) {
        if (gaveUp.has(p) && s !== 'read' && s !== 'decode') continue;
        const res = await stageRun(s, file, p);
        push(results.stages, `${s}:${p}`, res);
        note(r, `stage ${s}`, p, res, (x) => `${fmt.s(x.ms)}${x.packetsPerSec ? `, ${fmt.rate(x.packetsPerSec)} packets/s` : ''}`);
      }
      if (!gaveUp.has(p)) push(results.tinyEngine, p, await stageRun('engine', tiny, p));
    }
  }
  results.loadEnd = loadavg();
  report(results, o);
  if (o.json) {
    writeFileSync(o.json, JSON.stringify(results, null, 2));
    log(`bench: raw results in ${o.json}`);
  }
}

/** Finished runs only; `stopped` counts those that ran past the time limit. */
function finished(runs) {
  const all = runs ?? [];
  const done = all.filter((x) => !x.timedOut);
  return { done, stopped: all.length - done.length };
}

function report(res, o) {
  const out = [];
  const limit = `did not finish within the ${res.timeoutS} s limit (--timeout)`;
  out.push('');
  out.push(`capture ${res.file}`);
  out.push(`${res.repeat} run(s) each; median [min – max]; load average ${res.loadStart} at start, ${res.loadEnd} at end`);
  for (const p of res.profiles) {
    const { done: eng, stopped: engStopped } = finished(res.stages[`engine:${p}`]);
    const tinyEng = res.tinyEngine[p] ?? [];
    const engineOf = finished(res.stages[`engine:${p.replace(/\+model$/, '')}`]).done;
    const peak = stats(engineOf.map((e) => e.peakActive)).median;
    out.push('');
    out.push(`== profile ${p}`);
    if (o.cli) {
      const { done: cli, stopped } = finished(res.cli[p]);
      const tinyCli = res.tinyCli[p] ?? [];
      const cmd = p.endsWith('+model') ? `--profile ${p.replace(/\+model$/, '')} (default model)` : `--profile ${p} --no-model`;
      out.push(`CLI: node bin/sensor.js --replay FILE --db TMP ${cmd}   (wall = spawn to exit, Node start-up included)`);
      if (stopped > 0) out.push(`${stopped} run(s) ${limit}`);
      if (cli.length > 0) {
        const tinyRss = stats(tinyCli.map((t) => t.rssKiB)).median;
        const tinyWall = stats(tinyCli.map((t) => t.wallMs)).median;
        out.push(
          table([
            ['packets', fmt.int(cli[0].packets)],
            ['flows (= SQLite rows)', fmt.int(cli[0].flows)],
            ['wall time', show(cli, (c) => c.wallMs, fmt.s)],
            ['packets/s (wall)', show(cli, (c) => c.packetsPerSec, fmt.rate)],
            ['packets/s (CLI own timer)', show(cli, (c) => c.packets / (c.cliElapsedMs / 1000), fmt.rate)],
            ['CPU per packet (user+sys, all threads)', show(cli, (c) => c.cpuNsPerPacket, fmt.ns)],
            ['SQLite rows/s (rows / wall)', show(cli, (c) => c.rowsPerSec, fmt.rate)],
            ['peak RSS', show(cli, (c) => c.rssKiB, fmt.mib)],
            ['peak RSS on tiny.pcap (baseline)', `${fmt.mib(tinyRss)}, wall ${fmt.s(tinyWall)}`],
            ['peak concurrent flows (engine.table.size)', fmt.int(peak)],
            ['bytes per active flow (RSS - baseline) / peak', show(cli, (c) => ((c.rssKiB - tinyRss) * 1024) / peak, fmt.b)],
            ['database size', show(cli, (c) => c.dbBytes / 2 ** 20, (x) => `${x.toFixed(0)} MiB`)],
          ]),
        );
        if (p.endsWith('+model')) out.push(modelCost(res.cli[p.replace(/\+model$/, '')] ?? [], res.cli[p] ?? []));
      }
    }
    if (engStopped > 0) out.push(`engine stage: ${engStopped} run(s) ${limit}`);
    if (eng.length > 0) {
      const tinyEngRss = stats(tinyEng.map((t) => t.rssKiB)).median;
      out.push(
        `engine only: peak RSS ${show(eng, (e) => e.rssKiB, fmt.mib)} (tiny ${fmt.mib(tinyEngRss)}), ` +
          `${show(eng, (e) => ((e.rssKiB - tinyEngRss) * 1024) / e.peakActive, fmt.b)} per active flow; ` +
          `peak ${fmt.int(peak)} concurrent flows, ${fmt.int(eng[0].activeAtEnd)} still open at end of capture`,
      );
    }
    if (p.endsWith('+model')) continue;
    // read and decode do not depend on the profile: they run once, with the first profile.
    const runsOf = (s) => finished(res.stages[`${s}:${s === 'read' || s === 'decode' ? res.profiles[0] : p}`]).done;
    if (runsOf('engine').length === 0) continue;
    const order = ['read', 'decode', 'engine', 'sqlite'].filter((s) => runsOf(s).length > 0);
    if (o.breakdown && order.length > 1) {
      out.push('');
      out.push('breakdown (in-process, each stage a fresh process; ns/packet = stage wall time / packets):');
      const rows = [['stage', 'packets/s', 'ns/packet', 'added ns/packet', 'CPU ns/packet', 'peak RSS']];
      let prevNs = 0;
      for (const s of order) {
        const runs = runsOf(s);
        const ns = stats(runs.map((x) => (x.ms * 1e6) / x.packets)).median;
        rows.push([
          s === 'read' ? 'read (libpcap via addon)' : `+ ${s}`,
          show(runs, (x) => x.packetsPerSec, fmt.rate),
          show(runs, (x) => (x.ms * 1e6) / x.packets, (x) => x.toFixed(0)),
          s === 'read' ? '' : `+${(ns - prevNs).toFixed(0)}`,
          show(runs, (x) => (x.cpuS * 1e9) / x.packets, (x) => x.toFixed(0)),
          show(runs, (x) => x.rssKiB, fmt.mib),
        ]);
        prevNs = ns;
      }
      out.push(table(rows));
      const e0 = eng[0];
      const sq = finished(res.stages[`sqlite:${p}`]).done;
      if (e0) {
        out.push(
          `end of input: ${fmt.int(e0.rowsOut - e0.rowsBeforeEnd)} of ${fmt.int(e0.rowsOut)} rows are written by engine.finish() ` +
            `(flows still open at EOF); finish() takes ${show(eng, (e) => e.finishMs, (x) => `${x.toFixed(0)} ms`)}` +
            (sq.length > 0 ? `; with SQLite, packet loop ${show(sq, (x) => x.loopMs, fmt.s)}, then ${show(sq, (x) => x.afterInputMs, fmt.s)} after the last packet` : ''),
        );
      }
      const sink = finished(res.stages[`sink:${p}`]).done;
      if (sink.length > 0) {
        out.push(
          `SQLite sink alone (rows prepared in memory first): ${show(sink, (x) => x.sinkRowsPerSec, fmt.rate)} rows/s ` +
            `committed to flow_rows (${show(sink, (x) => x.sinkWriteMs, fmt.s)} for ${fmt.int(sink[0].rowsOut)} rows; open ` +
            `${show(sink, (x) => x.sinkOpenMs, (x) => `${x.toFixed(0)} ms`)}), then close ${show(sink, (x) => x.sinkCloseMs, fmt.s)} ` +
            `(features into flow_features): ${show(sink, (x) => x.sinkAllRowsPerSec, fmt.rate)} rows/s in all`,
        );
      }
    }
  }
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
