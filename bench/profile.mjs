// CPU profile of the engine path: `node --cpu-prof` over bench/run.mjs's in-process `engine` stage (libpcap
// read + decodeFrame + Engine.ingestBatch, no sinks), summarised as self time by function.
//
//   node bench/profile.mjs [--quick] [--profile cic|fixed|cic2017] [--no-inline] [--top N] [--keep]
//
// V8 inlines small hot functions into their callers, and a sampling profile then charges their time to the
// caller (decodeFrame's layers show up inside ingestBatch, statAdd inside addPacket). --no-inline runs with
// TurboFan inlining off, which is slower overall but says which source function the time belongs to: read
// both profiles. The `.cpuprofile` can be opened in Chrome DevTools (Performance tab) with --keep.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUN = join(ROOT, 'bench', 'run.mjs');

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const quick = args.includes('--quick');
const profile = opt('--profile', 'cic');
const top = Number(opt('--top', '25'));
const noInline = args.includes('--no-inline');
const keep = args.includes('--keep');

const file = join(process.env.SENSOR_BENCH_DATA || '/var/tmp/sensor-bench', quick ? 'quick.pcap' : 'big.pcap');
if (!existsSync(file)) {
  process.stderr.write(`bench: ${file} is missing: run npm run bench${quick ? ' -- --quick' : ''} once to create it\n`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'sensor-prof-'));
const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'];
if (noInline) nodeArgs.push('--no-turbo-inlining');
const r = spawnSync(process.execPath, [...nodeArgs, RUN, '--stage', 'engine', '--file', file, '--profile', profile], {
  encoding: 'utf8',
});
if (r.status !== 0) {
  process.stderr.write(r.stderr);
  process.exit(1);
}
const stage = JSON.parse(r.stdout.trim().split('\n').pop());
const profFile = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
const prof = JSON.parse(readFileSync(join(dir, profFile), 'utf8'));

// Self time per node from samples/timeDeltas (µs), then grouped by function + location.
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
}
const groups = new Map();
let total = 0;
for (const [id, us] of self) {
  const cf = byId.get(id).callFrame;
  const where = cf.url ? `${cf.url.replace(/^file:\/\//, '').replace(ROOT, '')}:${cf.lineNumber + 1}` : '';
  const key = `${cf.functionName || '(anonymous)'}\t${where}`;
  groups.set(key, (groups.get(key) ?? 0) + us);
  total += us;
}
const rows = [...groups].sort((a, b) => b[1] - a[1]).slice(0, top);
const packets = stage.packets;
console.log(
  `engine stage, profile ${profile}${noInline ? ', TurboFan inlining OFF' : ''}: ${packets.toLocaleString('en-US')} packets in ` +
    `${(stage.ms / 1000).toFixed(2)} s (${(stage.packetsPerSec / 1e6).toFixed(2)} M packets/s under the profiler); ` +
    `${(total / 1000).toFixed(0)} ms sampled`,
);
console.log('self ms   self %   ns/packet  function  location');
for (const [key, us] of rows) {
  const [fn, where] = key.split('\t');
  console.log(
    `${(us / 1000).toFixed(0).padStart(7)}  ${((100 * us) / total).toFixed(1).padStart(6)}%  ${((us * 1000) / packets).toFixed(1).padStart(9)}  ${fn}  ${where}`,
  );
}
if (keep) console.log(`profile kept: ${join(dir, profFile)}`);
else rmSync(dir, { recursive: true, force: true });
