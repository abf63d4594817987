// Where a run's time goes, thread by thread, over time: the CPU share of every thread of one sensor run in slices of
// the wall time, read from outside the process (so the sampling costs the run nothing and sees the threads that end
// before it does).
//
//   node bench/thread-timeline.mjs [--slice MS] [--from S] -- ARGS...
//
// runs `node bin/sensor.js ARGS`, reads /proc/PID/task/*/schedstat every 10 ms and prints one row per thread that
// used more than 30 ms: its name, its CPU ms in all, then its CPU % in each slice (default 100 ms) from second
// --from on (default 0). Node names every thread "node": tell them apart by order (the main thread first, then V8's
// platform threads, then the threads the run starts: with both models the inference thread, libpcap's read-ahead,
// the SQLite or CSV writer) and by shape (the read-ahead stops when the input ends). bench/thread-cpu.mjs gives the
// totals; this shows what waits for what: e.g. at the end of big.pcap the packet thread ends the open flows while
// the inference thread and the SQLite writer work through them, the writer last and alone.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT, option } from './common.mjs';

const sep = process.argv.indexOf('--');
if (sep < 0) {
  process.stderr.write('usage: node bench/thread-timeline.mjs [--slice MS] [--from S] -- SENSOR-ARGS...\n');
  process.exit(2);
}
const slice = Number(option('slice', '100'));
const from = Number(option('from', '0'));
const child = spawn(process.execPath, [join(ROOT, 'bin', 'sensor.js'), ...process.argv.slice(sep + 1)], { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
child.stderr.on('data', (d) => (stderr += d));
const t0 = performance.now();
/** tid -> { order, name, points: [ms since start, CPU ms] } */
const threads = new Map();
const sample = () => {
  let tids;
  try {
    tids = readdirSync(`/proc/${child.pid}/task`);
  } catch {
    return; // exited
  }
  const t = performance.now() - t0;
  for (const tid of tids) {
    try {
      const cpuMs = Number(readFileSync(`/proc/${child.pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]) / 1e6;
      let e = threads.get(tid);
      if (!e) {
        e = { order: threads.size, name: readFileSync(`/proc/${child.pid}/task/${tid}/comm`, 'latin1').trim(), points: [] };
        threads.set(tid, e);
      }
      e.points.push([t, cpuMs]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
};
const timer = setInterval(sample, 10);
child.on('exit', (code) => {
  clearInterval(timer);
  const wall = performance.now() - t0;
  /** CPU ms the thread had used by time x (its last reading at or before x). */
  const at = (points, x) => {
    let v = 0;
    for (const [t, ms] of points) if (t <= x) v = ms;
    return v;
  };
  console.log(`wall ${(wall / 1000).toFixed(2)} s, exit ${code}; CPU % per thread in ${slice} ms slices from ${from} s`);
  for (const e of [...threads.values()].sort((a, b) => a.order - b.order)) {
    const total = e.points.at(-1)[1];
    if (total < 30) continue;
    const cells = [];
    for (let s = from * 1000; s < wall; s += slice) cells.push(String(Math.round(((at(e.points, s + slice) - at(e.points, s)) / slice) * 100)).padStart(4));
    console.log(`${e.name.padEnd(15).slice(0, 15)} ${String(Math.round(total)).padStart(6)} ms ${cells.join('')}`);
  }
  if (code !== 0) process.stderr.write(stderr);
});
