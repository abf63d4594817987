/**
 * Round eight's rules against Wireshark's reading of real captures (nDPI's and the corpus's in ../shared), each by a
 * mechanism of Wireshark's own: MikroTik's MNDP by its dissector on UDP 5678; TFTP's transfers by following the
 * request to port 69 to the server's new port (conversation tracking, where the sensor pairs DATA of block 1 with
 * its ACK); FTP data connections by following the control connection's PASV/PORT answers (where the sensor reads a
 * connection's first bytes: a file or a listing, so ours are a subset: a download of a file with no known signature
 * is FTP data to Wireshark and nothing to the sensor, as to nDPI). RTPS, which no capture here holds, on a capture
 * built from its specification: DDS's ports move with the domain, and Wireshark finds RTPS by its header on any port.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SHARED, commandWorks, sensor } from './helpers/cli.js';
import { ethIpv4Udp } from './helpers/frames.js';
import { rtps } from './helpers/payload-cases.js';
import { writePcap } from './helpers/pcap-file.js';
import { tsharkFields } from './helpers/tshark.js';
// @ts-expect-error: a plain ES module without types (a script, also run by hand)
import { tupleKey } from '../scripts/server-name-agreement.mjs';

const TSHARK = commandWorks('tshark', ['--version']);
const MNDP = join(SHARED, 'corpus/ndpi/1kxun.pcap');
const TFTP = join(SHARED, 'data/ndpi/pcap/tftp.pcap');
const FTP = join(SHARED, 'data/ndpi/pcap/ftp.pcap');

const dir = mkdtempSync(join(tmpdir(), 'sensor-round8-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Packet {
  key: string;
  from: string;
  protocols: string[];
}

/** tshark's packets of `pcap` (TCP one segment at a time, as the sensor reads them): flow key, sender, layers. */
function packets(pcap: string, filter: string): Packet[] {
  const fields = ['ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'ip.proto', 'ipv6.nxt', 'udp.srcport', 'udp.dstport', 'tcp.srcport', 'tcp.dstport', 'frame.protocols'];
  return tsharkFields(pcap, filter, fields, ['tcp.desegment_tcp_streams:FALSE']).map(([s4, d4, s6, d6, p4, p6, us, ud, ts, td, protocols]) => {
    const src = s4 || s6!;
    const dst = d4 || d6!;
    const sp = Number(us || ts);
    return { key: tupleKey(Number(p4 || p6), src, sp, dst, Number(ud || td)) as string, from: `${src}|${sp}`, protocols: protocols!.split(':') };
  });
}

/** The sensor's flows of `pcap` (profile fixed, IPv6 too) named `protocol`, by key; with `offPort`, those not to it. */
async function named(pcap: string, protocol: string, offPort = -1): Promise<string[]> {
  const db = join(dir, `${pcap.split('/').pop()}.sqlite`);
  rmSync(db, { force: true });
  const r = await sensor(['--replay', pcap, '--db', db, '--profile', 'fixed', '--ipv6', '--no-model', '--no-app-model', '-q']);
  expect(r.status, r.stderr).toBe(0);
  const d = new Database(db, { readonly: true });
  const rows = d.prepare('SELECT protocol, src_ip, src_port, dst_ip, dst_port FROM flows WHERE payload_protocol = ?').all(protocol) as { protocol: number; src_ip: string; src_port: number; dst_ip: string; dst_port: number }[];
  d.close();
  const kept = rows.filter((f) => f.src_port !== offPort && f.dst_port !== offPort);
  return [...new Set(kept.map((f) => tupleKey(f.protocol, f.src_ip, f.src_port, f.dst_ip, f.dst_port) as string))].sort();
}

const present = [MNDP, TFTP, FTP].every((p) => existsSync(p));

describe.skipIf(!TSHARK || !present)(`round eight against tshark${TSHARK ? '' : ' (skipped: tshark is not installed; .ci/run installs it)'}${present ? '' : ' (skipped: ../shared is absent)'}`, () => {
  it('MikroTik MNDP: the flows Wireshark decodes as MNDP, IPv4 and IPv6, exactly', async () => {
    const want = [...new Set(packets(MNDP, 'udp').filter((p) => p.protocols.includes('mndp')).map((p) => p.key))].sort();
    expect(want.length).toBeGreaterThanOrEqual(3);
    expect(await named(MNDP, 'Mikrotik')).toEqual(want);
  });

  it("TFTP's transfers: the flows off port 69 where Wireshark sees data one way and TFTP answers the other", async () => {
    const list = packets(TFTP, 'udp && !(udp.port == 69)').filter((p) => p.protocols.includes('tftp'));
    const byKey = new Map<string, { data: Set<string>; other: Set<string> }>();
    for (const p of list) {
      const e = byKey.get(p.key) ?? { data: new Set<string>(), other: new Set<string>() };
      (p.protocols.includes('data') ? e.data : e.other).add(p.from);
      byKey.set(p.key, e);
    }
    const want = [...byKey].filter(([, e]) => [...e.other].some((f) => !e.data.has(f)) && e.data.size > 0).map(([k]) => k).sort();
    expect(want.length).toBeGreaterThanOrEqual(2);
    // Ours off port 69 (the requests to it are the port rule's, flows of their own).
    expect(await named(TFTP, 'TFTP', 69)).toEqual(want);
  });

  it('FTP_DATA: only connections Wireshark follows as FTP data, the listing among them', async () => {
    const ftpData = new Set(packets(FTP, 'tcp.len > 0').filter((p) => p.protocols.includes('ftp-data')).map((p) => p.key));
    const ours = await named(FTP, 'FTP_DATA');
    expect(ours.length).toBeGreaterThanOrEqual(1);
    for (const k of ours) expect([k, ftpData.has(k)]).toEqual([k, true]);
  });
});

describe.skipIf(!TSHARK)(`RTPS on DDS's computed ports, against tshark${TSHARK ? '' : ' (skipped: tshark is not installed)'}`, () => {
  it('the datagrams Wireshark decodes as RTPS, and only those, are RTPS flows', async () => {
    const pcap = join(dir, 'rtps.pcap');
    const port = (i: number): number => [7400, 7411, 7662, 40000, 50000][i]!;
    const frames = [
      ethIpv4Udp({ sport: 50001, dport: port(0) }, rtps({ id: 0x15 }), { src: '10.0.0.1', dst: '239.255.0.1' }),
      ethIpv4Udp({ sport: 50002, dport: port(1) }, rtps({ minor: 1, id: 0x07, little: false, body: new Array(28).fill(0) }), { src: '10.0.0.1', dst: '10.0.0.2' }),
      ethIpv4Udp({ sport: 50003, dport: port(2) }, rtps({ minor: 4, id: 0x0e, body: new Array(12).fill(7) }), { src: '10.0.0.1', dst: '10.0.0.2' }),
      ethIpv4Udp({ sport: 50004, dport: port(3) }, rtps({ magic: 'rtps' }), { src: '10.0.0.1', dst: '10.0.0.2' }), // lower case: neither
      ethIpv4Udp({ sport: 50005, dport: port(4) }, [...'NOTRTPS-'].map((c) => c.charCodeAt(0)).concat(new Array(40).fill(1)), { src: '10.0.0.1', dst: '10.0.0.2' }),
    ];
    writeFileSync(pcap, writePcap(1, frames));
    const want = [...new Set(packets(pcap, 'udp').filter((p) => p.protocols.includes('rtps')).map((p) => p.key))].sort();
    expect(want.length).toBe(3);
    expect(await named(pcap, 'RTPS')).toEqual(want);
  });
});
