// CPU time of every thread of a sensor run, including the threads that end before the process does (the
// inference, SQLite and CSV writer threads), where a .cpuprofile has only the main thread and the profiled workers.
//
//   node bench/thread-cpu.mjs [--runs N] -- ARGS...
//
// runs `node --import bench/thread-cpu.mjs bin/sensor.js ARGS` N times (default 3). As a preload, this file reads
// /proc/self/task/*/schedstat (ns; stat's 10 ms ticks where there is none) every 20 ms and at exit, keeps each
// thread's last reading (so a thread that ends before the process loses up to 20 ms) and prints to stderr
// `THREAD-CPU {"main": ms, "t1": ms, ..., "total": ms}`: the other threads in the order they appeared. Node 20 names
// every thread "node", so they are told apart by that order: in a replay, t1-t4 are V8's platform threads (garbage
// collection, compilation), then the threads the run starts (with both models: the inference thread, the libpcap
// read-ahead thread, then the SQLite or CSV writer); compare runs without a model or an output to tell which is which.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

const self = fileURLToPath(import.meta.url);
const asPreload = process.argv[1] !== self;

/**
 * A thread's CPU time in ms: schedstat's run time (ns; 0.1 ms kept), else stat's utime + stime (10 ms ticks).
 */
function threadMs(tid) {
  try {
    return Math.round(Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1').split(' ')[0]) / 1e5) / 10;
  } catch {
    const s = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  }
}

if (asPreload && isMainThread) {
  const mainTid = String(process.pid);
  const seen = new Map(); // tid -> { ms, order }
  let order = 0;
  const sample = () => {
    let tids;
    try {
      tids = readdirSync('/proc/self/task');
    } catch {
      return;
    }
    for (const tid of tids) {
      try {
        const ms = threadMs(tid);
        const e = seen.get(tid) ?? { ms: 0, order: order++ };
        e.ms = ms;
        seen.set(tid, e);
      } catch {
        // ended between readdir and read
      }
    }
  };
  const timer = setInterval(sample, 20);
  timer.unref();
  process.on('exit', () => {
    sample();
    const out = { main: 0 };
    let n = 0;
    for (const [tid, e] of [...seen].sort((a, b) => a[1].order - b[1].order)) {
      if (tid === mainTid) out.main += e.ms;
      else out[`t${++n}`] = e.ms;
    }
    const u = process.cpuUsage();
    out.total = Math.round((u.user + u.system) / 1000);
    process.stderr.write(`THREAD-CPU ${JSON.stringify(out)}\n`);
  });
} else if (!asPreload) {
  const args = process.argv.slice(2);
  const sep = args.indexOf('--');
  const runs = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 3;
  const rest = sep >= 0 ? args.slice(sep + 1) : [];
  const root = fileURLToPath(new URL('..', import.meta.url));
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const p = spawnSync(process.execPath, ['--import', pathToFileURL(self).href, join(root, 'bin', 'sensor.js'), ...rest], { encoding: 'utf8' });
    const line = p.stderr.split('\n').find((l) => l.startsWith('THREAD-CPU '));
    console.log(`wall ${((performance.now() - t0) / 1000).toFixed(2)} s, CPU ms by thread: ${line?.slice(11) ?? p.stderr.trim()}`);
  }
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
