/**
 * Options beyond the reference tools, off by default so that parity holds: --port-direction, --idle-timeout,
 * --ipv6. Each is checked on a capture whose expected flows follow from the packets themselves.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sensor } from './helpers/cli.js';
import { loadCsv } from './helpers/parity.js';
import { ethIpv4Tcp, ethIpv4Udp, Flags } from './helpers/frames.js';
import { writePcap } from './helpers/pcap-file.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
const T0 = 1_700_000_000_000_000;

async function flows(pcap: string, args: string[]): Promise<Map<string, string>[]> {
  const csv = join(dir, `out-${Math.random().toString(36).slice(2)}.csv`);
  const r = await sensor(['--replay', pcap, '--csv', csv, '-q', ...args]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return loadCsv(csv).rows;
}

/** A loopback TCP exchange 127.0.0.1:40000 <-> 127.0.0.1:8080: 3 client packets, 2 server packets. */
function loopbackCapture(): string {
  const c = { src: '127.0.0.1', dst: '127.0.0.1' };
  const frames = [
    { data: ethIpv4Tcp({ sport: 40000, dport: 8080, flags: Flags.SYN }, [], c), tsUs: T0 },
    { data: ethIpv4Tcp({ sport: 8080, dport: 40000, flags: Flags.SYN | Flags.ACK }, [], c), tsUs: T0 + 100 },
    { data: ethIpv4Tcp({ sport: 40000, dport: 8080, flags: Flags.ACK }, [], c), tsUs: T0 + 200 },
    { data: ethIpv4Tcp({ sport: 40000, dport: 8080, flags: Flags.ACK | Flags.PSH }, new Uint8Array(10), c), tsUs: T0 + 300 },
    { data: ethIpv4Tcp({ sport: 8080, dport: 40000, flags: Flags.ACK | Flags.PSH }, new Uint8Array(20), c), tsUs: T0 + 400 },
  ];
  const path = join(dir, 'loopback.pcap');
  writeFileSync(path, writePcap(1, frames));
  return path;
}

describe('--port-direction', () => {
  const pcap = loopbackCapture();
  it('off (reference behaviour): every packet of a same-address conversation counts as forward', async () => {
    const [f, ...rest] = await flows(pcap, ['--profile', 'fixed']);
    expect(rest).toHaveLength(0);
    expect(f!.get('Total Fwd Packet')).toBe('5');
    expect(f!.get('Total Bwd packets')).toBe('0');
  });
  it('on: the server side is backward', async () => {
    const [f] = await flows(pcap, ['--profile', 'fixed', '--port-direction']);
    expect(f!.get('Src Port')).toBe('40000');
    expect(f!.get('Total Fwd Packet')).toBe('3');
    expect(f!.get('Total Bwd packets')).toBe('2');
    expect(Number(f!.get('Total Length of Bwd Packet'))).toBe(20);
  });
});

describe('--idle-timeout', () => {
  // One UDP conversation: packets at 0 s, 10 s, 11 s, 50 s.
  const frames = [0, 10, 11, 50].map((s) => ({ data: ethIpv4Udp({ sport: 5000, dport: 53 }, new Uint8Array(4)), tsUs: T0 + s * 1e6 }));
  const pcap = join(dir, 'udp-gaps.pcap');
  writeFileSync(pcap, writePcap(1, frames));
  it('off: one flow of 4 packets', async () => {
    const rows = await flows(pcap, ['--profile', 'fixed']);
    expect(rows.map((r) => r.get('Total Fwd Packet'))).toEqual(['4']);
  });
  it('5 s: a silence longer than 5 s ends the flow (3 flows: 1, 2 and 1 packets)', async () => {
    const rows = await flows(pcap, ['--profile', 'fixed', '--idle-timeout', '5']);
    expect(rows.map((r) => Number(r.get('Total Fwd Packet'))).sort()).toEqual([1, 1, 2]);
  });
});

describe('--ipv6', () => {
  // fixtures/reference/edge.pcap holds one IPv6 UDP exchange fd00::1:40005 -> fd00::2:53 and its reply.
  const edge = 'fixtures/reference/edge.pcap';
  it('off: no IPv6 flow (the references discard IPv6)', async () => {
    const rows = await flows(edge, ['--profile', 'fixed']);
    expect(rows.some((r) => r.get('Src IP')!.includes(':'))).toBe(false);
  });
  it('on: the IPv6 exchange is one flow with a forward and a backward packet', async () => {
    const rows = await flows(edge, ['--profile', 'fixed', '--ipv6']);
    const v6 = rows.filter((r) => r.get('Src IP')!.includes(':'));
    expect(v6).toHaveLength(1);
    expect(v6[0]!.get('Src IP')).toBe('fd00::1');
    expect(v6[0]!.get('Dst Port')).toBe('53');
    expect(v6[0]!.get('Total Fwd Packet')).toBe('1');
    expect(v6[0]!.get('Total Bwd packets')).toBe('1');
  });
});
