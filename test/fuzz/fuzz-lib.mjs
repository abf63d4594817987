// Mutation fuzzing of the capture reader and the engine: the pieces shared by `npm run fuzz` (test/fuzz/run.mjs)
// and the bounded CI run (test/fuzz.test.ts). Runs the compiled code in dist/ (npm run build) and the addon.
//
// One iteration: take a real capture (the shared corpus, the bundled reference captures), mutate it with a
// deterministic PRNG seeded by the iteration's seed (header fields that libpcap trusts, record lengths,
// timestamps, block lengths, byte flips, truncation, splices), write it to a scratch file, then
//   - open it with PcapSource: it either opens or throws CaptureError (anything else is a failure);
//   - read every batch (random batch sizes, so the native spill path runs) into an Engine with a random profile
//     and options (a small --max-flows, so eviction runs too): nothing may throw;
//   - check what a user relies on: every packet read is accounted for (in a written flow or under a reason),
//     no flow has a negative duration or inter-arrival time unless a packet went back in time (counted as
//     flow.time_backwards; the references keep such times), and the input ends (a bounded number of batches).
// Every `cliEvery`-th iteration also runs the real CLI on the file: exit 0, or exit 3 with exactly one stderr
// line naming the file; never another code, a signal or a hang.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist');
const SENSOR = join(ROOT, 'bin', 'sensor.js');

const { PcapSource } = await import(join(DIST, 'sources', 'pcap-source.js'));
const { CaptureError } = await import(join(DIST, 'sources', 'batch.js'));
const { Engine } = await import(join(DIST, 'engine', 'engine.js'));
const { getProfile, PROFILE_NAMES } = await import(join(DIST, 'features', 'profiles.js'));
const { flowIdentity } = await import(join(DIST, 'features', 'identity-text.js'));

/** Deterministic PRNG (mulberry32): the same seed gives the same mutated file. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n); // 0 .. n-1
  next.pick = (arr) => arr[Math.floor(next() * arr.length)];
  next.chance = (p) => next() < p;
  return next;
}

/** Seed captures: every pcap/pcapng (plain or .gz) under the given directories, up to `maxBytes` each. */
export function loadSeeds(dirs, maxBytes = 600_000) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (/\.(pcap|pcapng|cap)(\.gz)?$/.test(name) && st.size <= maxBytes) out.push({ name: p, bytes: new Uint8Array(readFileSync(p)) });
    }
  };
  for (const d of dirs) if (existsSync(d)) walk(d);
  return out;
}

/** The default seed directories: the shared corpus and reference captures (when present) and fixtures/. */
export function defaultSeedDirs() {
  return [join(ROOT, '..', 'shared', 'corpus'), join(ROOT, 'fixtures', 'reference')];
}

// ---- structure-aware views of a capture --------------------------------------------------------------------

/** Classic pcap: byte order and the offsets of its record headers (walked while they look sane). */
function pcapLayout(b) {
  if (b.length < 24) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const m = dv.getUint32(0, true);
  let le;
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d) le = true;
  else if (m === 0xd4c3b2a1 || m === 0x4d3cb2a1) le = false;
  else return null;
  const recs = [];
  let pos = 24;
  while (pos + 16 <= b.length && recs.length < 100_000) {
    recs.push(pos);
    const cap = dv.getUint32(pos + 8, le);
    if (cap > b.length - pos - 16) break;
    pos += 16 + cap;
  }
  return { kind: 'pcap', le, dv, recs };
}

/** pcapng: byte order (from the first SHB) and the offsets and types of its blocks. */
function pcapngLayout(b) {
  if (b.length < 28) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0, true) !== 0x0a0d0d0a) return null;
  const le = dv.getUint32(8, true) === 0x1a2b3c4d;
  const blocks = [];
  let pos = 0;
  while (pos + 12 <= b.length && blocks.length < 100_000) {
    const type = dv.getUint32(pos, le);
    const len = dv.getUint32(pos + 4, le);
    blocks.push({ pos, type, len });
    if (len < 12 || len % 4 !== 0 || len > b.length - pos) break;
    pos += len;
  }
  return { kind: 'pcapng', le, dv, blocks };
}

const INTERESTING_32 = [0, 1, 2, 3, 4, 15, 16, 24, 28, 68, 0x7f, 0xff, 0x100, 0xffff, 0x10000, 262144, 262145, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const LINK_TYPES = [0, 1, 9, 10, 12, 14, 50, 51, 101, 104, 105, 108, 113, 127, 192, 228, 229, 230, 239, 276, 147, 0xffff, 0x0fffffff];

/**
 * Mutates a copy of `input` with 1-4 random mutations; returns the bytes and a short description of what was
 * done (saved next to a failing input).
 */
export function mutate(input, r, others = []) {
  let b = new Uint8Array(input);
  const done = [];
  const n = 1 + r.int(4);
  for (let k = 0; k < n; k++) {
    const pcap = pcapLayout(b);
    const ng = pcap ? null : pcapngLayout(b);
    const choice = r.int(14);
    const u32 = (pos, v, le) => {
      if (pos + 4 <= b.length) new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(pos, v >>> 0, le);
    };
    if (choice <= 4 && pcap && pcap.recs.length > 0) {
      const rec = r.pick(pcap.recs);
      const le = pcap.le;
      switch (choice) {
        case 0: {
          const cap = pcap.dv.getUint32(rec + 8, le);
          const v = r.chance(0.5) ? r.pick(INTERESTING_32) : r.pick([cap + 1, cap * 2, b.length, b.length - rec, cap + r.int(64) - 32]);
          u32(rec + 8, v, le);
          done.push(`caplen@${rec}=${v >>> 0}`);
          break;
        }
        case 1: {
          const cap = pcap.dv.getUint32(rec + 8, le);
          const v = r.pick([0, cap > 0 ? cap - 1 : 0, r.pick(INTERESTING_32)]);
          u32(rec + 12, v, le);
          done.push(`wirelen@${rec}=${v >>> 0}`);
          break;
        }
        case 2: {
          const sec = r.pick([0, 1, 0x7fffffff, 0x80000000, 0xffffffff, pcap.dv.getUint32(rec, le) - 1 - r.int(100000)]);
          u32(rec, sec, le);
          if (r.chance(0.5)) u32(rec + 4, r.pick([0, 999999, 1000000, 999999999, 1000000000, 0xffffffff]), le);
          done.push(`ts@${rec}=${sec >>> 0}`);
          break;
        }
        case 3: {
          // Time runs backwards: reverse the timestamps of a run of records.
          const i = r.int(pcap.recs.length);
          const j = Math.min(pcap.recs.length, i + 2 + r.int(200));
          const ts = pcap.recs.slice(i, j).map((p) => [pcap.dv.getUint32(p, le), pcap.dv.getUint32(p + 4, le)]);
          ts.reverse();
          pcap.recs.slice(i, j).forEach((p, x) => {
            u32(p, ts[x][0], le);
            u32(p + 4, ts[x][1], le);
          });
          done.push(`reverse-ts ${i}..${j}`);
          break;
        }
        default: {
          const which = r.int(3);
          if (which === 0) u32(16, r.pick([0, 1, 68, 0xffffffff, 0x7fffffff, 262145]), le);
          else if (which === 1) u32(20, r.pick(LINK_TYPES), le);
          else u32(4, r.pick([0x00040002, 0x00020004, 0x00010001, 0xffffffff, 0]), le); // version
          done.push(`pcap-header-${['snaplen', 'linktype', 'version'][which]}`);
        }
      }
      continue;
    }
    if (choice <= 4 && ng && ng.blocks.length > 0) {
      const blk = r.pick(ng.blocks);
      const le = ng.le;
      const sel = r.int(5);
      if (sel === 0) u32(blk.pos + 4, r.pick([0, 4, 12, 13, blk.len + 4, blk.len - 4, 0xffffffff, ...INTERESTING_32]), le);
      else if (sel === 1 && blk.len >= 12) u32(blk.pos + blk.len - 4, r.pick(INTERESTING_32), le); // trailing length
      else if (blk.type === 6 && sel === 2) u32(blk.pos + 20, r.pick([...INTERESTING_32, blk.len]), le); // EPB caplen
      else if (blk.type === 6 && sel === 3) u32(blk.pos + 12, r.pick(INTERESTING_32), le); // EPB ts high
      else if (blk.type === 1) {
        if (r.chance(0.5) && blk.pos + 10 <= b.length) new DataView(b.buffer).setUint16(blk.pos + 8, r.pick(LINK_TYPES) & 0xffff, le);
        else u32(blk.pos + 12, r.pick(INTERESTING_32), le); // snaplen
      } else u32(blk.pos, r.pick([1, 2, 3, 5, 6, 0x0a0d0d0a, 0x80000001, 0xdeadbeef]), le); // block type
      done.push(`pcapng-block@${blk.pos}#${sel}`);
      continue;
    }
    switch (choice) {
      case 5:
      case 6: {
        const flips = 1 + r.int(16);
        const span = r.chance(0.5) ? Math.min(b.length, 128) : b.length;
        for (let i = 0; i < flips && span > 0; i++) b[r.int(span)] ^= 1 << r.int(8);
        done.push(`flip×${flips}${span === b.length ? '' : '(head)'}`);
        break;
      }
      case 7: {
        const len = r.int(b.length + 1);
        b = b.slice(0, len);
        done.push(`truncate=${len}`);
        break;
      }
      case 8: {
        if (b.length < 2) break;
        const a = r.int(b.length);
        const l = 1 + r.int(Math.min(4096, b.length - a));
        const at = r.int(b.length);
        b = concat(b.subarray(0, at), b.subarray(a, a + l), b.subarray(at));
        done.push(`dup ${a}+${l}@${at}`);
        break;
      }
      case 9: {
        if (b.length < 2) break;
        const a = r.int(b.length);
        const l = 1 + r.int(Math.min(4096, b.length - a));
        b = concat(b.subarray(0, a), b.subarray(a + l));
        done.push(`del ${a}+${l}`);
        break;
      }
      case 10: {
        const at = r.int(b.length + 1);
        const junk = new Uint8Array(1 + r.int(64)).map(() => r.int(256));
        b = concat(b.subarray(0, at), junk, b.subarray(at));
        done.push(`insert ${junk.length}@${at}`);
        break;
      }
      case 11: {
        if (others.length === 0) break;
        const o = r.pick(others).bytes;
        const a = r.int(o.length);
        const l = r.int(Math.min(65536, o.length - a) + 1);
        b = concat(b, o.subarray(a, a + l));
        done.push(`splice ${l}`);
        break;
      }
      default: {
        // Overwrite a 4-byte word with an interesting value at a random aligned offset.
        if (b.length >= 4) {
          const pos = r.int(b.length >> 2) << 2;
          u32(pos, r.pick(INTERESTING_32), r.chance(0.5));
          done.push(`word@${pos}`);
        }
      }
    }
  }
  return { bytes: b, what: done.join(', ') };
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The mutated input of iteration `seed`: seed file chosen by the seed, gzip layers handled as a user would have them. */
export function makeInput(seeds, seed) {
  const r = rng(seed);
  const s = seeds[r.int(seeds.length)];
  let bytes = s.bytes;
  const gz = bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  let regzip = false;
  if (gz && r.chance(0.7)) {
    bytes = new Uint8Array(gunzipSync(bytes));
    regzip = r.chance(0.3);
  } else if (!gz && r.chance(0.03)) {
    regzip = true;
  }
  let { bytes: out, what } = mutate(bytes, r, seeds);
  if (regzip) {
    out = new Uint8Array(gzipSync(out, { level: 1 }));
    // Sometimes damage or cut the compressed stream itself.
    if (r.chance(0.3)) out = out.slice(0, r.int(out.length + 1));
    what += ', gzip';
  }
  return { bytes: out, what: `${s.name}: ${what}`, r };
}

/**
 * Reads `path` through PcapSource into an Engine, in-process. Returns a list of problems (empty = fine).
 * `r` chooses batch sizes, profile and engine options.
 */
export function checkInProcess(path, r, { maxBatches = 200_000, maxMs = 20_000 } = {}) {
  const problems = [];
  const batchBytes = r.chance(0.3) ? 64 + r.int(4096) : undefined;
  const batchPackets = r.chance(0.3) ? 1 + r.int(64) : undefined;
  let src;
  try {
    src = PcapSource.openFile(path, { ...(batchBytes ? { batchBytes } : {}), ...(batchPackets ? { batchPackets } : {}) });
  } catch (e) {
    if (e instanceof CaptureError) {
      if (/\n/.test(e.message) || !e.message.includes(path)) problems.push(`CaptureError message not one line naming the file: ${JSON.stringify(e.message)}`);
      return problems;
    }
    return [`open threw ${e?.name}: ${e?.message}`];
  }
  const profile = getProfile(r.pick(PROFILE_NAMES));
  const F = profile.columns.featureNames.length;
  const durCol = profile.columns.featureNames.indexOf('Flow Duration');
  const iatMinCol = profile.columns.featureNames.indexOf('Flow IAT Min');
  let rowsSeen = 0;
  // Negative times are right only when a packet went back in time (the references keep its timestamp).
  const negativeTime = [];
  const engine = new Engine({
    profile,
    flowTimeoutUs: r.pick([120e6, 120e6, 1e6, 1]),
    activityTimeoutUs: 5e6,
    idleTimeoutUs: r.pick([0, 0, 0, 2e6]),
    maxFlows: r.pick([4096, 1000, 16, 1]), // small tables: cheap to create, and eviction runs
    batchSize: r.pick([1024, 7, 1]),
    portAwareDirection: r.chance(0.2),
    ipv6: r.chance(0.5),
    onFlows: (rows) => {
      for (let i = 0; i < rows.count; i++) {
        rowsSeen++;
        const dur = rows.features[i * F + durCol];
        const flowId = flowIdentity(rows, i, profile.columns.identityFormat).flowId;
        if (Number.isNaN(dur)) problems.push(`flow ${flowId}: Flow Duration ${dur}`);
        if (dur < 0) negativeTime.push(`flow ${flowId}: Flow Duration ${dur}`);
        const iatMin = rows.features[i * F + iatMinCol];
        if (iatMin < 0) negativeTime.push(`flow ${flowId}: Flow IAT Min ${iatMin}`);
        if (rows.endUs[i] < rows.startUs[i]) negativeTime.push(`flow ${flowId}: ends before it starts`);
      }
    },
  });
  const t0 = performance.now();
  let read = 0;
  let batches = 0;
  try {
    for (;;) {
      const n = src.next();
      if (n === 0) break;
      if (++batches > maxBatches || performance.now() - t0 > maxMs) {
        problems.push(`input does not end: ${batches} batches, ${read} packets in ${Math.round(performance.now() - t0)} ms`);
        break;
      }
      read += n;
      engine.ingestBatch(src.linkType, src.data, src.meta, n);
    }
    engine.finish();
  } catch (e) {
    problems.push(`threw while reading: ${e?.stack ?? e}`);
  } finally {
    src.close();
  }
  const w = src.warning;
  if (w !== undefined && (typeof w !== 'string' || /\n/.test(w))) problems.push(`warning not one line: ${JSON.stringify(w)}`);
  const a = engine.accounting();
  if (a.info['flow.time_backwards'] === 0) problems.push(...negativeTime);
  const reasons = Object.values(a.packetsNotInWrittenFlows).reduce((x, y) => x + y, 0);
  if (a.packets !== read) problems.push(`engine saw ${a.packets} packets, reader returned ${read}`);
  if (a.packetsInWrittenFlows + reasons !== a.packets) {
    problems.push(`accounting: ${a.packets} read != ${a.packetsInWrittenFlows} in flows + ${reasons} by reason ${JSON.stringify(a.packetsNotInWrittenFlows)}`);
  }
  if (a.flows !== rowsSeen) problems.push(`engine wrote ${a.flows} flows, onFlows saw ${rowsSeen}`);
  return problems.slice(0, 10);
}

/** Runs the real CLI on `path`: exit 0 (warnings allowed), or exit 3 with one stderr line naming the file. */
export function checkCli(path, outDir, timeoutMs = 60_000) {
  const csv = join(outDir, 'cli-out.csv');
  const run = () => spawnSync(process.execPath, [SENSOR, '--replay', path, '--csv', csv, '--no-model', '-q'], { encoding: 'utf8', timeout: timeoutMs });
  let res = run();
  // Other people rebuild dist/ and the addon in this checkout while a long fuzz run goes on: a half-written
  // build is not the input's fault. Try once more after a pause.
  if (res.status === 1 && /native addon (not built|failed to load)|SyntaxError|ERR_MODULE_NOT_FOUND/.test(res.stderr)) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5000);
    res = run();
  }
  const lines = res.stderr.split('\n').filter((l) => l !== '');
  if (res.error?.code === 'ETIMEDOUT' || res.signal === 'SIGTERM') return [`CLI did not finish in ${timeoutMs} ms`];
  if (res.signal) return [`CLI killed by ${res.signal}: ${res.stderr.slice(0, 500)}`];
  if (res.status === 0) {
    const bad = lines.filter((l) => !l.startsWith('sensor: warning: '));
    return bad.length ? [`exit 0 with unexpected stderr: ${bad.slice(0, 3).join(' | ')}`] : [];
  }
  if (res.status === 3) {
    if (lines.length !== 1 || !lines[0].startsWith('sensor: ') || !lines[0].includes(path)) return [`exit 3 without one line naming the file: ${JSON.stringify(res.stderr.slice(0, 500))}`];
    return [];
  }
  return [`CLI exit ${res.status}: ${res.stderr.slice(0, 800)}`];
}

/**
 * Runs iterations `first .. first+count-1` (seed = baseSeed + i). Calls `onFailure({seed, what, problems, bytes})`
 * for each failing input and `onProgress(done)` now and then. `scratch` is the file each input is written to.
 */
export function runIterations({ seeds, baseSeed, first = 0, count, scratch, outDir, cliEvery = 0, onFailure, onProgress, onInput }) {
  let done = 0;
  let lastReport = performance.now();
  for (let i = first; i < first + count; i++) {
    const seed = (baseSeed + i) >>> 0;
    const { bytes, what, r } = makeInput(seeds, seed);
    writeFileSync(scratch, bytes);
    onInput?.(seed);
    let problems = checkInProcess(scratch, r);
    if (cliEvery > 0 && i % cliEvery === cliEvery - 1) problems = problems.concat(checkCli(scratch, outDir));
    if (problems.length > 0) onFailure({ seed, what, problems, bytes });
    done++;
    const now = performance.now();
    if (onProgress && now - lastReport > 1000) {
      lastReport = now;
      onProgress(done);
    }
  }
  onProgress?.(done);
  return done;
}
