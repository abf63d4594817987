/**
 * Hostile Ethernet frames for the wire: real packets (the bundled reference captures, plus the shared corpus when
 * present) damaged the way an attacker or a broken NIC would, one named mutation per frame, from a seeded PRNG
 * (the fuzzer's mulberry32, so a seed gives the same frames again). Used by test/live-hostile.test.ts, which sends
 * them through a veth at full speed at the live daemon.
 *
 * Every frame is between 14 bytes (an Ethernet header: a packet socket will not send less) and `maxLen` (the
 * veth's MTU plus the header: a longer one is refused by the sender's kernel and never reaches the wire), and a
 * frame that starts a VLAN tag is long enough for Linux to deliver it (see mutateFrame).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { concat } from './frames.js';
import { readPcapFile } from './pcap-file.js';

/** Deterministic PRNG (mulberry32), as test/fuzz/fuzz-lib.mjs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Ethernet frames of every classic pcap (link type 1) under `dirs`, files up to `maxBytes`. */
export function ethernetSeedFrames(dirs: string[], maxBytes = 2_000_000): Uint8Array[] {
  const out: Uint8Array[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (/\.(pcap|cap)(\.gz)?$/.test(name) && st.size <= maxBytes) {
        let f;
        try {
          f = readPcapFile(p);
        } catch {
          continue; // pcapng or damaged: not a seed
        }
        if (f.linkType !== 1) continue;
        for (const r of f.records) if (r.caplen >= 34) out.push(f.data.slice(r.offset, r.offset + r.caplen));
      }
    }
  };
  for (const d of dirs) if (existsSync(d)) walk(d);
  return out;
}

/** The mutations, by name: each takes a copy of a real frame and returns the damaged frame. */
export const MUTATIONS = [
  'truncate', // cut anywhere after the Ethernet header: inside VLAN, IP, TCP/UDP/ICMP headers
  'ip-total-length', // IPv4 total length 0, < IHL, or far beyond the frame
  'ip-ihl', // IHL 0..4 (shorter than the fixed header) or 15 (options past the frame)
  'ip-version', // the version nibble disagrees with the ethertype
  'tcp-data-offset', // TCP data offset 0..4 or 15
  'udp-length', // UDP length 0..7 or 65535
  'fragment', // MF set and/or a fragment offset: non-first fragments have no ports
  'vlan-stack', // 9..40 stacked 802.1Q/802.1ad tags, beyond what the decoder accepts
  'ipv6-ext-chain', // IPv6 with a long chain of hop-by-hop/destination-options headers
  'ipv6-payload-length', // IPv6 payload length 0 or 65535
  'ethertype', // an ethertype nobody decodes, or an 802.3 length
  'flip', // 1-16 random bit flips in the first 64 bytes
] as const;
export type Mutation = (typeof MUTATIONS)[number];

const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const put16 = (b: Uint8Array, o: number, v: number): void => {
  if (o + 2 <= b.length) {
    b[o] = (v >>> 8) & 0xff;
    b[o + 1] = v & 0xff;
  }
};

/** Offset of the IPv4 header in an Ethernet frame (after any VLAN tags), or -1. */
function ipv4Offset(f: Uint8Array): number {
  let o = 12;
  while (o + 2 <= f.length && (be16(f, o) === 0x8100 || be16(f, o) === 0x88a8)) o += 4;
  return o + 2 <= f.length && be16(f, o) === 0x0800 ? o + 2 : -1;
}

/** Applies `m` to a copy of `frame`; returns the new frame (a mutation that does not apply still changes bytes). */
export function mutateFrame(frame: Uint8Array, m: Mutation, r: () => number, maxLen: number): Uint8Array {
  const int = (n: number): number => Math.floor(r() * n);
  let f = frame.slice();
  const ip = ipv4Offset(f);
  const ihl = ip >= 0 ? (f[ip]! & 0x0f) * 4 : 0;
  const l4 = ip + ihl;
  switch (m) {
    case 'truncate':
      f = f.slice(0, 14 + int(Math.max(1, Math.min(f.length - 14, 80))));
      break;
    case 'ip-total-length':
      if (ip >= 0) put16(f, ip + 2, [0, 1, 19, ihl - 1, f.length + 1000, 0xffff][int(6)]!);
      else f[12] ^= 0xff;
      break;
    case 'ip-ihl':
      if (ip >= 0) f[ip] = (f[ip]! & 0xf0) | [0, 1, 4, 15][int(4)]!;
      else f = f.slice(0, 16);
      break;
    case 'ip-version':
      if (ip >= 0) f[ip] = ([0, 6, 7, 15][int(4)]! << 4) | (f[ip]! & 0x0f);
      else f[14] = 0x45;
      break;
    case 'tcp-data-offset':
      if (ip >= 0 && f[ip + 9] === 6 && l4 + 13 <= f.length) f[l4 + 12] = ([0, 1, 4, 15][int(4)]! << 4) | (f[l4 + 12]! & 0x0f);
      else f = f.slice(0, Math.max(14, f.length - 1 - int(20)));
      break;
    case 'udp-length':
      if (ip >= 0 && f[ip + 9] === 17) put16(f, l4 + 4, [0, 7, 0xffff][int(3)]!);
      else if (ip >= 0) f[ip + 9] = 17; // now "UDP" over whatever the payload was
      break;
    case 'fragment':
      if (ip >= 0) put16(f, ip + 6, (r() < 0.5 ? 0x2000 : 0) | (1 + int(0x1fff)));
      break;
    case 'vlan-stack': {
      const tags = 9 + int(32);
      const ins = new Uint8Array(tags * 4);
      for (let i = 0; i < tags; i++) {
        ins[i * 4] = i === 0 && r() < 0.5 ? 0x88 : 0x81;
        ins[i * 4 + 1] = i === 0 && ins[0] === 0x88 ? 0xa8 : 0x00;
        ins[i * 4 + 2] = int(16);
        ins[i * 4 + 3] = int(256);
      }
      f = concat(f.subarray(0, 12), ins, f.subarray(12));
      break;
    }
    case 'ipv6-ext-chain': {
      // Ethernet + IPv6 header (next header 0 = hop-by-hop) + a chain of 8-byte option headers ending in TCP.
      const depth = 6 + int(20);
      const v6 = new Uint8Array(40 + depth * 8 + 20);
      v6[0] = 0x60;
      put16(v6, 4, depth * 8 + 20);
      v6[6] = 0; // hop-by-hop
      v6[7] = 64;
      for (let i = 8; i < 40; i++) v6[i] = int(256);
      for (let d = 0; d < depth; d++) v6[40 + d * 8] = d === depth - 1 ? 6 : r() < 0.5 ? 0 : 60;
      f = concat(f.subarray(0, 12), [0x86, 0xdd], v6);
      break;
    }
    case 'ipv6-payload-length': {
      const v6 = new Uint8Array(40 + 20);
      v6[0] = 0x60;
      put16(v6, 4, r() < 0.5 ? 0 : 0xffff);
      v6[6] = r() < 0.5 ? 6 : 17;
      for (let i = 8; i < 60; i++) v6[i] = int(256);
      f = concat(f.subarray(0, 12), [0x86, 0xdd], v6.subarray(0, 40 + int(21)));
      break;
    }
    case 'ethertype':
      put16(f, 12, [0x0000, 0x05dc, 0x88cc, 0x86dd, 0x0800, 0xffff, 0x8847, 0x8864][int(8)]!);
      break;
    case 'flip': {
      const n = 1 + int(16);
      for (let i = 0; i < n; i++) {
        const at = int(Math.min(64, f.length));
        f[at] = f[at]! ^ (1 << int(8));
      }
      break;
    }
  }
  if (f.length > maxLen) f = f.slice(0, maxLen);
  // Linux's receive path takes the first VLAN tag off before any capture sees the frame (skb_vlan_untag), and
  // drops a frame with fewer than 6 bytes after the tag's TPID: such a frame cannot reach a sensor on Linux, so
  // it is padded to 20 bytes instead (the file fuzzer and the decoder tests cover the shorter ones).
  if (f.length < 20 && (be16(f, 12) === 0x8100 || be16(f, 12) === 0x88a8)) f = concat(f, new Uint8Array(20 - f.length));
  return f;
}

/**
 * `count` hostile frames from `seeds`: each is one of MUTATIONS (in turn, so each appears count/12 times) applied
 * to a seed frame chosen by the PRNG; every fourth frame is left intact, so flows are still being made while the
 * garbage goes through. Returns the frames and how many of each mutation were made.
 */
export function hostileFrames(seeds: Uint8Array[], count: number, seed: number, maxLen = 9014): { frames: Uint8Array[]; made: Record<string, number> } {
  if (seeds.length === 0) throw new Error('hostileFrames: no seed frames');
  const r = rng(seed);
  const frames: Uint8Array[] = [];
  const made: Record<string, number> = {};
  let k = 0;
  for (let i = 0; i < count; i++) {
    const base = seeds[Math.floor(r() * seeds.length)]!;
    if (i % 4 === 3) {
      frames.push(base.length > maxLen ? base.slice(0, maxLen) : base);
      made.intact = (made.intact ?? 0) + 1;
      continue;
    }
    const m = MUTATIONS[k++ % MUTATIONS.length]!;
    frames.push(mutateFrame(base, m, r, maxLen));
    made[m] = (made[m] ?? 0) + 1;
  }
  return { frames, made };
}
