// Preloaded into a sensor process (node --import) by test/thread-priority.test.ts: reads every thread's nice value
// (/proc/self/task/TID/stat, field 19) at start, every 5 ms and at exit, then prints to stderr
// `THREAD-NICE {"main": n, "mainAtEnd": n, "others": [highest nice seen of each other thread, in the order they
// appeared]}`: the main thread's nice at start and at exit.
import { readFileSync, readdirSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  const main = String(process.pid);
  const seen = new Map();
  let mainAtStart;
  const sample = () => {
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const s = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        const nice = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[16]);
        seen.set(tid, tid === main ? nice : Math.max(seen.get(tid) ?? -20, nice));
        if (tid === main) mainAtStart ??= nice;
      } catch {
        // the thread ended between the listing and the read
      }
    }
  };
  sample();
  setInterval(sample, 5).unref();
  process.on('exit', () => {
    sample();
    const others = [...seen].filter(([t]) => t !== main).map(([, n]) => n);
    process.stderr.write(`THREAD-NICE ${JSON.stringify({ main: mainAtStart, mainAtEnd: seen.get(main), others })}\n`);
  });
}
