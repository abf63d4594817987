/**
 * What the server-name tests share: a TLS ClientHello naming a server, a TCP conversation carrying payloads, and a
 * run's flow names and counters read back from its SQLite database.
 */
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { sensor } from './cli.js';
import { Flags, ethIpv4Tcp } from './frames.js';
import type { PcapFrame } from './pcap-file.js';

export const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
export const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];

/** A minimal TLS ClientHello record with one server_name (RFC 8446 §4.1.2, RFC 6066 §3). */
export function clientHello(name: string): number[] {
  const sni = [0, ...u16(name.length), ...ascii(name)];
  const ext = [0, 0, ...u16(sni.length + 2), ...u16(sni.length), ...sni];
  const body = [3, 3, ...new Array(32).fill(7), 0, ...u16(2), 0x13, 0x01, 1, 0, ...u16(ext.length), ...ext];
  const hs = [1, 0, ...u16(body.length), ...body];
  return [0x16, 3, 1, ...u16(hs.length), ...hs];
}

/** A TCP conversation: handshake, then `payloads` ([from client?, bytes]) in order, then FIN/ACK both ways, 1 ms apart. */
export function tcpConversation(t0: number, client: [string, number], server: [string, number], payloads: [boolean, number[]][]): PcapFrame[] {
  const frames: PcapFrame[] = [];
  let t = t0;
  const seg = (fromClient: boolean, flags: number, payload: number[] = []): void => {
    const [s, d] = fromClient ? [client, server] : [server, client];
    frames.push({ data: ethIpv4Tcp({ sport: s[1], dport: d[1], flags }, payload, { src: s[0], dst: d[0] }), tsUs: (t += 1000) });
  };
  seg(true, Flags.SYN);
  seg(false, Flags.SYN | Flags.ACK);
  seg(true, Flags.ACK);
  for (const [fromClient, p] of payloads) seg(fromClient, Flags.ACK | Flags.PSH, p);
  seg(true, Flags.FIN | Flags.ACK);
  seg(false, Flags.FIN | Flags.ACK);
  seg(true, Flags.ACK);
  return frames;
}

export interface NamedFlow {
  src_port: number;
  dst_port: number;
  server_name: string | null;
}

/**
 * Replay `pcap` into the SQLite database `db` (profile `fixed`, no models, and `extra`), expecting exit 0; the
 * flows' ports and server names in order, and the run's informational counters.
 */
export async function replayNames(pcap: string, db: string, extra: string[] = []): Promise<{ rows: NamedFlow[]; info: Record<string, number> }> {
  const r = await sensor(['--replay', pcap, '--db', db, '--profile', 'fixed', '--no-model', '--no-app-model', '-q', ...extra]);
  expect(r.status, r.stderr).toBe(0);
  const d = new Database(db, { readonly: true });
  try {
    const rows = d.prepare('SELECT src_port, dst_port, server_name FROM flows ORDER BY id').all() as NamedFlow[];
    const info = (JSON.parse(d.prepare('SELECT counters FROM runs').pluck().get() as string) as { info: Record<string, number> }).info;
    return { rows, info };
  } finally {
    d.close();
  }
}
