/**
 * The server name through the engine and the CLI, on captures built here: which payload packets are read (the
 * first 4 with payload from each endpoint, also when a profile calls every packet of same-host traffic forward), a
 * flow that starts in a reused slot starts without a name, the counters, the same names with --workers 2, and the
 * name carried to the next flow of a connection the profile cuts in several.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ethIpv4Udp } from './helpers/frames.js';
import { writePcap, type PcapFrame } from './helpers/pcap-file.js';
import { ascii, clientHello, replayNames, tcpConversation } from './helpers/server-names.js';

const dir = mkdtempSync(join(tmpdir(), 'sensor-names-engine-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dnsQuery(name: string): number[] {
  return [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name.split('.').flatMap((l) => [l.length, ...ascii(l)]), 0, 0, 1, 0, 1];
}

const conversation = tcpConversation;

const T0 = 1_700_000_000_000_000;
const filler = (n: number): number[] => new Array(n).fill(0x41);

async function namesOf(frames: PcapFrame[], tag: string, extra: string[] = []): ReturnType<typeof replayNames> {
  const pcap = join(dir, `${tag}.pcap`);
  writeFileSync(pcap, writePcap(1, frames));
  return replayNames(pcap, join(dir, `${tag}.sqlite`), extra);
}

describe('server name: which packets the engine reads', () => {
  it('the 4th payload packet from the client is read, the 5th is not; the server\'s packets count on their own side', async () => {
    const c: [string, number] = ['10.0.0.1', 40001];
    const s: [string, number] = ['10.0.0.2', 443];
    const before = (k: number): [boolean, number[]][] => Array.from({ length: k }, (_, i): [boolean, number[]][] => [[true, filler(5 + i)], [false, filler(9)]]).flat();
    const fourth = conversation(T0, c, s, [...before(3), [true, clientHello('fourth.example')]]);
    const fifth = conversation(T0 + 1e6, ['10.0.0.1', 40002], s, [...before(4), [true, clientHello('fifth.example')]]);
    const { rows, info } = await namesOf([...fourth, ...fifth], 'bound');
    expect(rows.map((r) => [r.src_port, r.server_name])).toEqual([[40001, 'fourth.example'], [40002, null]]);
    expect(info['flow.server_names']).toBe(1);
  });

  it('same-host traffic (one address, a profile that calls it all forward): each endpoint still gets its 4 looks', async () => {
    // As in nDPI's tls_heur__vmess-websocket.pcapng: a SOCKS exchange on 127.0.0.1, then the ClientHello.
    const lo = '127.0.0.1';
    const frames = conversation(T0, [lo, 44532], [lo, 1080], [[true, [5, 1, 0]], [false, [5, 0]], [true, filler(10)], [false, filler(10)], [true, clientHello('www.youtube.com')]]);
    const { rows } = await namesOf(frames, 'same-host');
    expect(rows.map((r) => r.server_name)).toEqual(['www.youtube.com']);
  });

  it('a flow that starts in a freed slot has no name of its own until it sends one; counters count what was dropped or cut', async () => {
    const s: [string, number] = ['10.0.0.2', 80];
    const long = `${'x'.repeat(250)}.example`;
    const frames = [
      ...conversation(T0, ['10.0.0.1', 40010], s, [[true, ascii('GET / HTTP/1.1\r\nHost: first.example\r\n\r\n')]]),
      ...conversation(T0 + 1e6, ['10.0.0.1', 40011], s, [[true, filler(20)], [false, filler(20)]]),
      ...conversation(T0 + 2e6, ['10.0.0.1', 40012], s, [[true, ascii(`GET / HTTP/1.1\r\nHost: ${long}\r\n\r\n`)]]),
      ...conversation(T0 + 3e6, ['10.0.0.1', 40013], s, [[true, [...ascii('GET / HTTP/1.1\r\nHost: bad'), 0x01, ...ascii('.example\r\n\r\n')]]]),
      { data: ethIpv4Udp({ sport: 5353, dport: 5353 }, dnsQuery('printer.local'), { src: '10.0.0.1', dst: '224.0.0.251' }), tsUs: T0 + 4e6 },
    ];
    // --max-flows 1: every flow reuses the one slot.
    const { rows, info } = await namesOf(frames, 'reuse', ['--max-flows', '1']);
    expect(rows.map((r) => r.server_name)).toEqual(['first.example', null, long.slice(0, 253), null, 'printer.local']);
    expect([info['flow.server_names'], info['flow.server_names_truncated'], info['flow.server_names_not_printable']]).toEqual([3, 1, 1]);
    // The same flows and names from two engine threads (each shard has its own one-slot table: compared by flow).
    const two = await namesOf(frames, 'reuse-2', ['--max-flows', '1', '--workers', '2']);
    const byPort = (a: { src_port: number }, b: { src_port: number }): number => a.src_port - b.src_port;
    expect([...two.rows].sort(byPort)).toEqual([...rows].sort(byPort));
    expect(two.info['flow.server_names']).toBe(3);
  });

  it('a connection cut into several flows names each of them; the same ports after 120 s, or a name of its own, do not take it', async () => {
    const c: [string, number] = ['10.0.0.1', 40020];
    const s: [string, number] = ['10.0.0.2', 443];
    // cic2017 ends a flow at the first FIN: the server's FIN and the last ACK make a second flow of the connection.
    const cut = conversation(T0, c, s, [[true, clientHello('cut.example')], [false, filler(30)]]);
    // The same 5-tuple again 200 s later (a new connection after the memory's 120 s, also cut in two): no name.
    const later = conversation(T0 + 200e6, c, s, [[true, filler(10)], [false, filler(10)]]);
    // DNS on one 5-tuple: queries for 118 s, then (the flow timeout, 120 s from the first, cuts a new flow, which
    // takes the name over) queries of its own, whose name replaces it.
    const dns = (t: number, name: string): PcapFrame => ({ data: ethIpv4Udp({ sport: 5300, dport: 53 }, dnsQuery(name), { src: '10.0.0.1', dst: '10.0.0.53' }), tsUs: t });
    const frames = [...cut, ...later, dns(T0 + 1e6, 'one.example'), dns(T0 + 119e6, 'one.example'), dns(T0 + 122e6, 'two.example'), dns(T0 + 123e6, 'two.example')];
    frames.sort((x, y) => x.tsUs - y.tsUs);
    const { rows } = await namesOf(frames, 'carry', ['--profile', 'cic2017']);
    const tcp = rows.filter((r) => r.src_port === 40020 || r.dst_port === 40020).map((r) => r.server_name);
    expect(tcp).toEqual(['cut.example', 'cut.example', null, null]);
    expect(rows.filter((r) => r.src_port === 5300).map((r) => r.server_name)).toEqual(['one.example', 'two.example']);
  });
});
