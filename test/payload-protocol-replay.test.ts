/**
 * The payload protocol end to end, as a user gets it: seven nDPI captures (fixtures/payload/: a SIP call with its RTP
 * and RTCP, a Google call's STUN over UDP and TCP turning into DTLS, RTCP compound packets, WhatsApp's chat connections
 * and call, Mumble's pings, an eDonkey exchange, a Cisco SCCP phone registering) replayed by the CLI into
 * SQLite and JSON lines; every flow's `payload_protocol` against nDPI's own verdict for the flow in its result file
 * (copied beside each capture): its protocol, or its first-packet classification, which is what a first-packets rule
 * sees. Also: the JSON field equals the SQLite column, the counter counts the flows, and --workers 2 gives the same
 * column as one engine. The engine-level rules (how many packets are looked at, RTP's two packets, an HTTP flow
 * refined by its answer, a split connection keeping its protocol) on captures built here.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ndpiResultFlows, tupleKey } from '../scripts/server-name-agreement.mjs';
import { agrees, agreesFirst } from '../scripts/payload-protocol-agreement.mjs';
import { PAYLOAD_PROTOCOLS } from '../src/decode/payload-protocol.js';
import { PAYLOAD_LOOK_PACKETS } from '../src/flows/payload-protocols.js';
import { ROOT, sensor } from './helpers/cli.js';
import { ethIpv4Udp } from './helpers/frames.js';
import { writePcap, type PcapFrame } from './helpers/pcap-file.js';
import { clientHello, tcpConversation } from './helpers/server-names.js';

const FIXTURES = join(ROOT, 'fixtures', 'payload');
const CAPTURES = [
  'sip.pcap',
  'stun_dtls_rtp.pcapng',
  'rtcp_multiple_pkts_in_the_same_datagram.pcap',
  'whatsapp_voice_and_message.pcap',
  'mumble.pcapng',
  'edonkey.pcap',
  'sccp_hw_conf_register.pcapng',
];
const dir = mkdtempSync(join(tmpdir(), 'sensor-payload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Flow {
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  protocol: number;
  payload_protocol: string | null;
}

async function replay(pcaps: string[], tag: string, extra: string[]): Promise<{ flows: Flow[]; info: Record<string, number>; json: string[] }> {
  const db = join(dir, `${tag}.sqlite`);
  const json = join(dir, `${tag}.json`);
  const r = await sensor(['--replay', ...pcaps, '--db', db, '--json', json, '--no-model', '--no-app-model', '-q', ...extra]);
  expect(r.status, r.stderr).toBe(0);
  const d = new Database(db, { readonly: true });
  try {
    const flows = d.prepare('SELECT src_ip, src_port, dst_ip, dst_port, protocol, payload_protocol FROM flows ORDER BY id').all() as Flow[];
    const info = (JSON.parse(d.prepare('SELECT counters FROM runs').pluck().get() as string) as { info: Record<string, number> }).info;
    const events = readFileSync(json, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; payload_protocol?: string | null });
    return { flows, info, json: events.filter((e) => e.event_type === 'flow').map((e) => e.payload_protocol as string) };
  } finally {
    d.close();
  }
}

describe('payload protocol on nDPI captures, against nDPI', () => {
  it.each(CAPTURES)('%s: every flow nDPI classified by its payload has the protocol nDPI saw; JSON and the counter agree', async (name) => {
    const { flows, info, json } = await replay([join(FIXTURES, name)], name, ['--profile', 'fixed', '--ipv6']);
    const ndpi = ndpiResultFlows(join(FIXTURES, `${name}.out`), { every: true });
    const byKey = new Map(ndpi.map((n) => [n.key, n]));
    let compared = 0;
    for (const f of flows) {
      const n = byKey.get(tupleKey(f.protocol, f.src_ip, f.src_port, f.dst_ip, f.dst_port));
      if (!n || !n.confidence?.startsWith('DPI')) continue;
      const where = `${f.src_ip}:${f.src_port} -> ${f.dst_ip}:${f.dst_port}/${f.protocol}: nDPI ${n.app} (first packets ${n.fpc}), ours ${f.payload_protocol}`;
      expect(f.payload_protocol !== null && (agrees(f.payload_protocol, n.app) || agreesFirst(f.payload_protocol, n)), where).toBe(true);
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
    // Every nDPI flow it classified by payload as one of our protocols has a sensor flow that says so.
    for (const n of ndpi) {
      const ours = n.app.split('.').some((p) => PAYLOAD_PROTOCOLS.includes(p));
      if (!ours || !n.confidence?.startsWith('DPI')) continue;
      const mine = flows.filter((f) => tupleKey(f.protocol, f.src_ip, f.src_port, f.dst_ip, f.dst_port) === n.key);
      expect(mine.some((f) => f.payload_protocol !== null && (agrees(f.payload_protocol, n.app) || agreesFirst(f.payload_protocol, n))), `nDPI ${n.app} ${n.key}`).toBe(true);
    }
    expect(json).toEqual(flows.map((f) => f.payload_protocol));
    expect(info['flow.payload_protocols']).toBe(flows.filter((f) => f.payload_protocol !== null).length);
  });

  it('the call in sip.pcap: SIP signalling, the RTP stream and its RTCP', async () => {
    const { flows } = await replay([join(FIXTURES, 'sip.pcap')], 'sip-detail', ['--profile', 'fixed']);
    const of = (port: number): (string | null)[] => [...new Set(flows.filter((f) => f.src_port === port).map((f) => f.payload_protocol))];
    expect(of(30000)).toEqual(['RTP']);
    expect(of(30001)).toEqual(['RTCP']); // one packet: nDPI leaves it Unknown, its compound packet is RTCP's rule exactly
    expect(flows.filter((f) => f.dst_port === 5060).length).toBeGreaterThan(3);
  });

  it('--workers 2 gives every flow the same payload protocol as one engine', async () => {
    const pcaps = CAPTURES.map((c) => join(FIXTURES, c));
    const one = await replay(pcaps, 'w1', ['--profile', 'cic2017']);
    const two = await replay(pcaps, 'w2', ['--profile', 'cic2017', '--workers', '2']);
    expect(two.flows).toEqual(one.flows);
    expect(one.flows.filter((f) => f.payload_protocol !== null).length).toBeGreaterThan(5);
    expect(two.info['flow.payload_protocols']).toBe(one.info['flow.payload_protocols']);
  });
});

describe('payload protocol through the engine (captures built here)', () => {
  const T0 = 1_700_000_000_000_000;
  const rtp = (seq: number, ssrc = 0x01020304): number[] => [0x80, 0, seq >> 8, seq & 0xff, 0, 0, 0, seq, ssrc >>> 24, (ssrc >> 16) & 0xff, (ssrc >> 8) & 0xff, ssrc & 0xff, ...new Array(40).fill(0xd5)];
  const udp = (us: number, from: [string, number], to: [string, number], payload: number[]): PcapFrame => ({
    tsUs: us,
    data: ethIpv4Udp({ sport: from[1], dport: to[1] }, payload, { src: from[0], dst: to[0] }),
  });
  async function protocols(frames: PcapFrame[], tag: string, extra: string[] = []): Promise<Flow[]> {
    const pcap = join(dir, `${tag}.pcap`);
    writeFileSync(pcap, writePcap(1, frames));
    return (await replay([pcap], tag, ['--profile', 'fixed', ...extra])).flows;
  }

  it('RTP needs two packets of one direction in sequence; four payload packets each way are looked at, not a fifth', async () => {
    expect(PAYLOAD_LOOK_PACKETS).toBe(4);
    const a: [string, number] = ['10.0.0.1', 40000];
    const b: [string, number] = ['10.0.0.2', 40002];
    const c: [string, number] = ['10.0.0.3', 40004];
    const d: [string, number] = ['10.0.0.4', 40006];
    const noise = (i: number): number[] => [i, 1, 2, 3];
    const frames = [
      // 2 packets that are no RTP, then two in sequence: the 4th payload packet decides.
      ...[0, 1].map((i) => udp(T0 + i, a, b, noise(i))),
      udp(T0 + 10, a, b, rtp(1)),
      udp(T0 + 11, a, b, rtp(2)),
      // 3 packets that are no RTP, then two in sequence: the second is the 5th, not looked at.
      ...[0, 1, 2].map((i) => udp(T0 + 100 + i, c, d, noise(i))),
      udp(T0 + 110, c, d, rtp(1)),
      udp(T0 + 111, c, d, rtp(2)),
      // The two in sequence come one from each side: not a stream.
      udp(T0 + 200, ['10.0.0.5', 40008], ['10.0.0.6', 40010], rtp(1)),
      udp(T0 + 201, ['10.0.0.6', 40010], ['10.0.0.5', 40008], rtp(2)),
    ];
    const flows = await protocols(frames, 'rtp-bound');
    expect(flows.map((f) => [f.src_port, f.payload_protocol])).toEqual([[40000, 'RTP'], [40004, null], [40008, null]]);
  });

  it("an HTTP flow takes what its response's Content-Type says: a download, media, or plain HTTP", async () => {
    const get = [...'GET /f HTTP/1.1\r\nHost: files.example\r\n\r\n'].map((c) => c.charCodeAt(0));
    const answer = (type: string): number[] => [...`HTTP/1.1 200 OK\r\nContent-Type: ${type}\r\nContent-Length: 4\r\n\r\nbody`].map((c) => c.charCodeAt(0));
    const body = new Array(200).fill(0x41);
    const frames = [
      ...tcpConversation(T0, ['10.0.0.1', 40200], ['10.0.0.2', 80], [[true, get], [false, answer('application/octet-stream')]]),
      ...tcpConversation(T0 + 100_000, ['10.0.0.1', 40201], ['10.0.0.2', 80], [[true, get], [false, answer('video/mp4')]]),
      ...tcpConversation(T0 + 200_000, ['10.0.0.1', 40202], ['10.0.0.2', 80], [[true, get], [false, answer('text/html; charset=utf-8')]]),
      // The answer comes after five more packets from the server: past the looking, the flow stays HTTP.
      ...tcpConversation(T0 + 300_000, ['10.0.0.1', 40203], ['10.0.0.2', 80], [[true, get], ...Array.from({ length: 5 }, (): [boolean, number[]] => [false, body]), [false, answer('video/mp4')]]),
    ];
    const flows = await protocols(frames, 'http-answer');
    expect(flows.map((f) => [f.src_port, f.payload_protocol])).toEqual([
      [40200, 'HTTP_Download'],
      [40201, 'HTTP_Media'],
      [40202, 'HTTP'],
      [40203, 'HTTP'],
    ]);
  });

  it('a connection the profile cuts in two keeps its protocol in the second flow (cic2017: the first FIN)', async () => {
    const frames = tcpConversation(T0, ['10.0.0.1', 40100], ['10.0.0.2', 443], [[true, clientHello('a.example')], [false, [0x17, 3, 3, 0, 3, 1, 2, 3]]]);
    const flows = await protocols(frames, 'split', ['--profile', 'cic2017']);
    expect(flows.length).toBeGreaterThan(1);
    expect(flows.map((f) => f.payload_protocol)).toEqual(flows.map(() => 'TLS'));
  });
});
