/**
 * What the payload-protocol tests share: the case shape, byte builders, and the check that the matcher allocates
 * nothing once warm.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { matchPayload } from '../../src/decode/payload-protocol.js';

export const TCP = 6;
export const UDP = 17;

/** One payload, its transport and ports (client, server; default 50000 → 40000), and the protocol it must be. */
export interface PayloadCase {
  what: string;
  bytes: number[];
  proto: number;
  ports?: [number, number];
  want: string | null;
}

export const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
export const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
export const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
export const le16 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff];
export const le32 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
export const fill = (n: number, v = 0x5a): number[] => new Array(n).fill(v);

/**
 * The garbage collections that ran while `calls` matchPayload calls went over `cases` (and `random`, as TCP and UDP
 * alternately), after a warm-up: [] when the rules allocate nothing. A rule that allocates does so on every call, so
 * it collects in every attempt; one collection in one attempt can be the JIT's own (a late tier-up of a rarely taken
 * rule compiles code on the heap), so up to three attempts are made and the last one's collections returned.
 */
export async function collectionsDuringCalls(cases: readonly PayloadCase[], calls: number, random: readonly Uint8Array[] = []): Promise<number[]> {
  const payloads = cases.map((c) => ({ proto: c.proto, sp: c.ports?.[0] ?? 50000, dp: c.ports?.[1] ?? 40000, buf: Uint8Array.from(c.bytes) }));
  const run = (rounds: number): number => {
    let sum = 0;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < payloads.length; i++) {
        const c = payloads[i]!;
        sum += matchPayload(c.buf, 0, c.buf.length, c.proto, c.sp, c.dp);
      }
      for (let i = 0; i < random.length; i++) sum += matchPayload(random[i]!, 0, random[i]!.length, r & 1 ? TCP : UDP, 50000, (r & 7) === 0 ? 53 : 40000);
    }
    return sum;
  };
  run(5000); // warm: the JIT's first tiers box numbers
  const rounds = Math.ceil(calls / (payloads.length + random.length));
  let during: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const starts: number[] = [];
    const obs = new PerformanceObserver((list) => starts.push(...list.getEntries().map((e) => e.startTime)));
    obs.observe({ entryTypes: ['gc'] });
    const t0 = performance.now();
    run(rounds);
    const t1 = performance.now();
    await new Promise((r) => setTimeout(r, 50)); // gc entries are delivered asynchronously
    obs.disconnect();
    // Only collections during the calls count (the test runner's own messages may allocate while we wait).
    during = starts.filter((t) => t >= t0 && t <= t1);
    if (during.length === 0) break;
  }
  return during;
}
