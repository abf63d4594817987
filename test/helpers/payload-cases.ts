/**
 * What the payload-protocol tests share: the case shape, byte builders, the checks every group of rules runs on its
 * cases (nothing past `end` is read, a truncation never names another protocol, random bytes are never taken), and
 * the check that the matcher allocates nothing once warm.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import fc from 'fast-check';
import { expect } from 'vitest';
import { matchPayload, PAYLOAD_PROTOCOLS, payloadProtocolName } from '../../src/decode/payload-protocol.js';

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

/**
 * The media types an HTTP response names for the refinement HTTP_Download (httpResponseKind's doc comment: the types
 * nDPI files under Download), written again from that specification for the tests, lower case.
 */
export const HTTP_DOWNLOAD_TYPES: readonly string[] = [
  'application/octet-stream',
  'application/x-tar',
  'application/x-zip',
  'application/x-bzip',
  'application/java-vm',
  'application/vnd.ms-cab-compressed',
  'application/vnd.microsoft.portable-executable',
  'application/x-msdownload',
  'application/x-dosexec',
];

export const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
export const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
export const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
export const le16 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff];
export const le32 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
export const fill = (n: number, v = 0x5a): number[] => new Array(n).fill(v);

/**
 * An RTPS message (OMG DDSI-RTPS 2.5 §9.4.4-9.4.5): the 20-byte header of version 2.`minor`, then one submessage
 * `id` (flags with E, little-endian, by default) whose body is `body` and length `length` (default its size).
 */
export function rtps(opts: { magic?: string; major?: number; minor?: number; id?: number; little?: boolean; body?: number[]; length?: number } = {}): number[] {
  const body = opts.body ?? fill(44, 0x11);
  const len = opts.length ?? body.length;
  const little = opts.little ?? true;
  return [...ascii(opts.magic ?? 'RTPS'), opts.major ?? 2, opts.minor ?? 3, 0x01, 0x0f, ...fill(12, 0xc3), opts.id ?? 0x15, little ? 0x05 : 0x04, ...(little ? le16(len) : u16(len)), ...body];
}

const portsOf = (c: PayloadCase): [number, number] => c.ports ?? [50000, 40000];

/**
 * Every case and every truncation of it gets the same answer when `tails` (bytes a rule might be tempted to read:
 * line ends, zeros, a name's continuation) follow its range in the buffer: nothing past `end` is read.
 */
export function expectNothingReadPastEnd(cases: readonly PayloadCase[], tails: readonly number[][]): void {
  for (const c of cases) {
    const [sp, dp] = portsOf(c);
    for (let n = 0; n <= c.bytes.length; n++) {
      const alone = matchPayload(Uint8Array.from(c.bytes.slice(0, n)), 0, n, c.proto, sp, dp);
      for (const tail of tails) {
        const big = Uint8Array.from([...c.bytes.slice(0, n), ...tail]);
        expect([c.what, n, matchPayload(big, 0, n, c.proto, sp, dp)]).toEqual([c.what, n, alone]);
      }
    }
  }
}

/**
 * No truncation of a matching case throws, and none is another protocol than the case's own; with `among`, only an
 * answer among those protocols counts (a cut message may look like an older group's protocol).
 */
export function expectTruncationsNameNoOther(cases: readonly PayloadCase[], among?: readonly string[]): void {
  for (const c of cases) {
    const [sp, dp] = portsOf(c);
    const buf = Uint8Array.from(c.bytes);
    for (let n = 0; n < buf.length; n++) {
      const got = payloadProtocolName(matchPayload(buf, 0, n, c.proto, sp, dp));
      if (c.want !== null && got !== null && (among === undefined || among.includes(got))) expect([c.what, n, got]).toEqual([c.what, n, c.want]);
    }
  }
}

/** Random payloads to `ports`, over TCP and UDP, never throw, give a known id, and are none of the `added` protocols. */
export function expectRandomBytesTakeNone(added: readonly string[], ports: readonly number[]): void {
  const names = new Set(added);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.constantFrom(...ports), fc.boolean(), (bytes, dp, tcp) => {
      const id = matchPayload(bytes, 0, bytes.length, tcp ? TCP : UDP, 50000, dp);
      expect(id >= 0 && id <= PAYLOAD_PROTOCOLS.length).toBe(true);
      expect(names.has(payloadProtocolName(id) ?? '')).toBe(false);
    }),
    { numRuns: 3000 },
  );
}

/**
 * Random bytes behind each of `heads` (a rule's fixed first bytes, the transport, and the destination port, 40000 when
 * none is given) never make one of the `added` protocols: every rule needs more than its first bytes.
 */
export function expectRandomTailsTakeNone(added: readonly string[], heads: readonly (readonly [number[], number, number?])[]): void {
  const names = new Set(added);
  fc.assert(
    fc.property(fc.constantFrom(...heads), fc.uint8Array({ minLength: 0, maxLength: 200 }), ([head, proto, dp], rest) => {
      const bytes = Uint8Array.from([...head, ...rest]);
      expect(names.has(payloadProtocolName(matchPayload(bytes, 0, bytes.length, proto, 50000, dp ?? 40000)) ?? '')).toBe(false);
    }),
    { numRuns: 3000 },
  );
}

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
  return collectionsDuring(run, Math.ceil(calls / (payloads.length + random.length)));
}

/**
 * The garbage collections (their start times) while `run(rounds)` runs, after a warm-up of `run(5000)`; up to three
 * attempts, the first without any kept (a collection the test runner's own work causes may fall in one).
 */
export async function collectionsDuring(run: (rounds: number) => number, rounds: number): Promise<number[]> {
  run(5000); // warm: the JIT's first tiers box numbers
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
