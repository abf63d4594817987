// Before/after check for a change of the context stage's internals (src/classify/context.ts) that must not change
// what it writes: replays each capture with this checkout and with another build (`--base DIR`: a checkout or a copy
// with its own bin/, dist/, native/build and models/), into SQLite, and compares per flow (rows in write order, the
// flow's identity first, so that a shifted row is an error, not a string of differences) the columns the stage
// writes or reads: `label`, `score`, `kdd`, `context`, and the run's `context.*` counters (flows relabelled, keys
// evicted per detector). Each capture runs once per argument set: the defaults; `--alert-threshold 1` (the model
// calls every flow benign, so every firing flow is relabelled); and that with small thresholds and `maxKeys`, so
// that keys are evicted (and come back) all the time.
//
//   node bench/context-sameness.mjs --base DIR [--head DIR] [--captures a.pcap,b.pcap.gz,...] [--sets all|default,blind,small]
//                                   [--args "--no-app-model"]
//
// --head: the build to check (default this checkout; a copy keeps a long run safe from rebuilds of dist/).
//
// Captures by default: both labs (../shared/data/lab, its run2, models/train/data/lab-tools), six nDPI captures with
// IPv6 (the three with the most IPv6 hosts) and UDP, the bench's flood and big.pcap ($SENSOR_BENCH_DATA). Every run has --ipv6. Prints one line per capture
// and set (flows compared, flows relabelled, differences) and exits 1 on any difference.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import Database from 'better-sqlite3';

import { DATA, ROOT, option } from './common.mjs';

const base = option('base', undefined);
if (!base || !existsSync(join(base, 'bin', 'sensor.js'))) {
  process.stderr.write('context-sameness: --base DIR (a build with bin/sensor.js) is required\n');
  process.exit(2);
}
const head = resolve(option('head', ROOT));
const SHARED = resolve(ROOT, '..', 'shared', 'data');
const inDir = (dir, re) => (existsSync(dir) ? readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => join(dir, f)) : []);
const NDPI = ['reddit.pcap', 'tumblr.pcap', 'quic_interop_V.pcapng', 'bittorrent.pcap', 'ftp.pcap', 'teams.pcap'].map((f) => join(SHARED, 'ndpi', 'pcap', f));
const captures = option('captures', undefined)?.split(',') ?? [
  ...inDir(join(SHARED, 'lab'), /\.pcap\.gz$/),
  ...inDir(join(SHARED, 'lab', 'run2'), /\.pcap\.gz$/),
  ...inDir(join(ROOT, 'models', 'train', 'data', 'lab-tools'), /\.pcap\.gz$/),
  ...NDPI.filter(existsSync),
  join(DATA, 'flood.pcap'),
  join(DATA, 'big.pcap'),
];
const SMALL = JSON.stringify({ maxKeys: 7, portScanPorts: 3, addressScanHosts: 2, floodFlows: 20, floodWindowS: 5, httpFloodConnections: 5, httpFloodWindowS: 2, bruteForceConnections: 3, scanWindowS: 30 });
const SETS = {
  default: [],
  blind: ['--alert-threshold', '1'],
  small: ['--alert-threshold', '1', '--context-thresholds', SMALL],
};
const sets = (option('sets', 'all') === 'all' ? Object.keys(SETS) : option('sets').split(',')).map((s) => [s, SETS[s]]);
const extra = (option('args', '') ?? '').split(' ').filter(Boolean);

const tmp = mkdtempSync(join(tmpdir(), 'context-sameness-'));
const COLUMNS = 'src_ip, src_port, dst_ip, dst_port, protocol, start_us, label, score, kdd, context';

function replay(dir, capture, args, db) {
  rmSync(db, { force: true });
  const r = spawnSync(process.execPath, [join(dir, 'bin', 'sensor.js'), '--replay', capture, '--db', db, '--ipv6', '--quiet', ...args, ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${dir}: ${capture} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  const d = new Database(db, { readonly: true });
  const rows = d.prepare(`SELECT ${COLUMNS} FROM flows ORDER BY id`).raw().all();
  const info = JSON.parse(d.prepare('SELECT counters FROM runs').pluck().get()).info;
  d.close();
  const counters = Object.fromEntries(Object.entries(info).filter(([k]) => k.startsWith('context.')));
  return { rows, counters };
}

let differences = 0;
let flows = 0;
for (const capture of captures) {
  for (const [name, args] of sets) {
    const before = replay(resolve(base), capture, args, join(tmp, 'before.sqlite'));
    const after = replay(head, capture, args, join(tmp, 'after.sqlite'));
    const problems = [];
    if (before.rows.length !== after.rows.length) problems.push(`${before.rows.length} flows before, ${after.rows.length} after`);
    const n = Math.min(before.rows.length, after.rows.length);
    let relabelled = 0;
    for (let i = 0; i < n; i++) {
      const a = before.rows[i];
      const b = after.rows[i];
      if (a[9] !== null) relabelled++;
      // Object.is: a NULL score stays NULL, and a score is compared bit for bit.
      const differ = a.findIndex((x, j) => !Object.is(x, b[j]));
      if (differ >= 0 && problems.length < 5) problems.push(`flow ${i + 1}: ${COLUMNS.split(', ')[differ]} ${JSON.stringify(a[differ])} before, ${JSON.stringify(b[differ])} after`);
      if (differ >= 0) differences++;
    }
    const ca = JSON.stringify(before.counters);
    const cb = JSON.stringify(after.counters);
    if (ca !== cb) problems.push(`counters ${ca} before, ${cb} after`);
    const evicted = Object.entries(after.counters).filter(([k]) => k.endsWith('keys_evicted')).reduce((s, [, v]) => s + v, 0);
    differences += ca !== cb || before.rows.length !== after.rows.length ? 1 : 0;
    flows += n;
    const tag = capture.slice(capture.lastIndexOf('/') + 1);
    process.stdout.write(`${problems.length === 0 ? 'same' : 'DIFF'}  ${tag} [${name}]: ${n} flows, ${relabelled} relabelled, ${evicted} keys evicted${problems.map((p) => `\n  ${p}`).join('')}\n`);
  }
}
rmSync(tmp, { recursive: true, force: true });
process.stdout.write(`${flows} flows compared, ${differences} differences\n`);
process.exit(differences === 0 ? 0 : 1);
