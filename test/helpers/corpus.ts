/**
 * Helpers for the tests that replay whole directories of captures (corpus, accounting): run the CLI with a time
 * bound and its peak RSS, list captures, and read a capture's declared link types from its bytes.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { SUPPORTED_LINK_TYPES } from '../../src/decode/decode.js';
import { SENSOR, runCommand, type CliResult } from './cli.js';

const TIME = '/usr/bin/time';

/** A CLI run with its peak resident set size in KiB (from /usr/bin/time), when available. */
export type Run = CliResult & { maxRssKb: number | undefined };

/** Runs the CLI (under /usr/bin/time when present, for the peak RSS), killed after `timeoutMs`. */
export async function runSensor(args: string[], timeoutMs = 60_000): Promise<Run> {
  const rssFile = join(tmpdir(), `sensor-rss-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  const useTime = existsSync(TIME);
  const [cmd, argv] = useTime ? [TIME, ['-o', rssFile, '-f', '%M', process.execPath, SENSOR, ...args]] : [process.execPath, [SENSOR, ...args]];
  const r = await runCommand(cmd, argv, { timeoutMs });
  const { status, stdout, stderr, timedOut } = r;
  let signal = r.signal;
  let maxRssKb: number | undefined;
  if (useTime && existsSync(rssFile)) {
    // time(1) reports a signal-killed child as "Command terminated by signal N" before the number.
    const text = readFileSync(rssFile, 'utf8');
    const sig = /terminated by signal (\d+)/.exec(text);
    if (sig && signal === null) signal = `SIG${sig[1]}` as NodeJS.Signals;
    maxRssKb = Number(text.trim().split('\n').pop());
    rmSync(rssFile, { force: true });
  }
  // time(1) exits 128+N when its child dies of signal N: report that as the signal.
  if (useTime && status !== null && status > 128 && status < 160 && signal === null) signal = `SIG${status - 128}` as NodeJS.Signals;
  return { status, signal, stdout, stderr, timedOut, maxRssKb };
}

/** Every capture file under `root` (pcap, pcapng, cap, plain or .gz), sorted. */
export function captures(root: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(pcap|pcapng|cap)(\.gz)?$/.test(name)) out.push(p);
    }
  };
  walk(root);
  return out;
}

/**
 * The link types a capture declares, read from its bytes: the pcap file header, or every pcapng Interface
 * Description Block. Empty when the header is unreadable (then libpcap refuses the file: exit 3 either way).
 */
export function linkTypesOf(path: string): number[] {
  let b = new Uint8Array(readFileSync(path));
  if (b[0] === 0x1f && b[1] === 0x8b) b = new Uint8Array(gunzipSync(b));
  if (b.length < 24) return [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const m = dv.getUint32(0, true);
  if ([0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0x4d3cb2a1].includes(m)) {
    const le = m === 0xa1b2c3d4 || m === 0xa1b23c4d;
    return [dv.getUint32(20, le) & 0x03ffffff];
  }
  if (m !== 0x0a0d0d0a) return [];
  const le = dv.getUint32(8, true) === 0x1a2b3c4d;
  const types: number[] = [];
  for (let pos = 0; pos + 12 <= b.length; ) {
    const type = dv.getUint32(pos, le);
    const len = dv.getUint32(pos + 4, le);
    if (len < 12 || pos + len > b.length) break;
    if (type === 1) types.push(dv.getUint16(pos + 8, le));
    pos += len;
  }
  return types;
}

/**
 * True when the decoder supports every declared link type, so the CLI must accept the capture. (libpcap reports
 * LINKTYPE_RAW 101 as DLT_RAW 12 on Linux; both are in SUPPORTED_LINK_TYPES.)
 */
export function supportedLinkTypes(types: number[]): boolean {
  return types.length > 0 && types.every((lt) => SUPPORTED_LINK_TYPES.includes(lt));
}
