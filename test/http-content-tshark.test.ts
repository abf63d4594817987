/**
 * The HTTP refinement (HTTP_Download, HTTP_Media: src/decode/payload-protocol.ts httpResponseKind) against
 * Wireshark's reading of the same packets. For captures with HTTP downloads and media (nDPI's in ../shared/data/ndpi,
 * the corpus's), tshark lists every TCP payload packet, one segment at a time as the sensor reads them (TCP
 * reassembly off), with its HTTP request and response flags and its Content-Type. For every sensor flow the sensor
 * calls HTTP, the expected answer is worked out from that list the way the engine looks (the first HTTP packet, then
 * 4 more payload packets each way; the first response with a Content-Type decides) and the media type mapped by the
 * table below, which is the rule's specification written again here. Every such flow must agree.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SHARED, commandWorks, sensor } from './helpers/cli.js';
import { HTTP_DOWNLOAD_TYPES } from './helpers/payload-cases.js';
import { tsharkFields } from './helpers/tshark.js';
// @ts-expect-error: a plain ES module without types (a script, also run by hand)
import { tupleKey } from '../scripts/server-name-agreement.mjs';

const TSHARK = commandWorks('tshark', ['--version']);
const CAPTURES = [
  'data/ndpi/pcap/quickplay.pcap',
  'data/ndpi/pcap/waze.pcap',
  'data/ndpi/pcap/tls_certificate_too_long.pcap',
  'data/ndpi/pcap/starcraft_battle.pcap',
  'data/ndpi/pcap/mpeg-dash.pcap',
  'data/ndpi/pcap/KakaoTalk_talk.pcap',
  'data/ndpi/pcap/http.pcapng',
  'data/ndpi/pcap/http_starting_with_reply.pcapng',
  'corpus/ndpi/1kxun.pcap',
  'corpus/ndpi/mpeg.pcap',
  'corpus/zeek/wikipedia.pcap',
].map((p) => join(SHARED, p));
const LOOK_MORE = 4;

/** The media types that are a download (the rule's list, from its doc comment), lower case. */
const DOWNLOAD = new Set(HTTP_DOWNLOAD_TYPES);
function kindOf(contentType: string): string {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (DOWNLOAD.has(type)) return 'HTTP_Download';
  if (type === 'application/mpeg' || /^(audio|video)\/./.test(type)) return 'HTTP_Media';
  return 'HTTP';
}

interface Segment {
  key: string;
  fromA: string;
  request: boolean;
  response: boolean;
  contentType: string;
}

/** tshark's TCP payload packets of `pcap`, in order, one segment each (no reassembly). */
function segments(pcap: string): Segment[] {
  const fields = ['ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'http.request', 'http.response', 'http.content_type'];
  return tsharkFields(pcap, 'tcp.len > 0', fields, ['tcp.desegment_tcp_streams:FALSE', 'tcp.analyze_sequence_numbers:FALSE']).map(([s4, d4, s6, d6, sp, dp, req, resp, ct]) => {
    const src = s4 || s6!;
    const dst = d4 || d6!;
    return { key: tupleKey(6, src, Number(sp), dst, Number(dp)), fromA: `${src}|${sp}`, request: req !== '', response: resp !== '', contentType: ct ?? '' };
  });
}

/** Per connection key: what the engine's looking should make of it, from tshark's packets (null: never HTTP). */
function expected(list: Segment[]): Map<string, string | null> {
  const byKey = new Map<string, Segment[]>();
  for (const s of list) {
    const segs = byKey.get(s.key);
    if (segs) segs.push(s);
    else byKey.set(s.key, [s]);
  }
  const out = new Map<string, string | null>();
  for (const [key, segs] of byKey) {
    const first = segs.findIndex((s) => s.request || s.response);
    if (first < 0) {
      out.set(key, null);
      continue;
    }
    const decide = (s: Segment): string | null => (s.response && s.contentType !== '' ? kindOf(s.contentType) : null);
    let answer = decide(segs[first]!);
    const seen = new Map<string, number>();
    for (let i = first + 1; answer === null && i < segs.length; i++) {
      const n = (seen.get(segs[i]!.fromA) ?? 0) + 1;
      seen.set(segs[i]!.fromA, n);
      if (n <= LOOK_MORE) answer = decide(segs[i]!);
    }
    out.set(key, answer ?? 'HTTP');
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'sensor-http-content-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!TSHARK)(`HTTP refined by its answer, against tshark${TSHARK ? '' : ' (skipped: tshark is not installed; .ci/run installs it)'}`, () => {
  const present = CAPTURES.every((p) => existsSync(p));
  it.skipIf(!present)(`nDPI's and the corpus's HTTP downloads and media${present ? '' : ' (skipped: ../shared is absent)'}`, async () => {
    const tally: Record<string, number> = {};
    for (const pcap of CAPTURES) {
      const db = join(dir, `${pcap.split('/').pop()}.sqlite`);
      const r = await sensor(['--replay', pcap, '--db', db, '--profile', 'fixed', '--ipv6', '--no-model', '--no-app-model', '-q']);
      expect(r.status, r.stderr).toBe(0);
      const d = new Database(db, { readonly: true });
      const flows = d.prepare("SELECT src_ip, src_port, dst_ip, dst_port, payload_protocol FROM flows WHERE protocol = 6 AND payload_protocol LIKE 'HTTP%'").all() as {
        src_ip: string;
        src_port: number;
        dst_ip: string;
        dst_port: number;
        payload_protocol: string;
      }[];
      d.close();
      const want = expected(segments(pcap));
      const keys = flows.map((f) => tupleKey(6, f.src_ip, f.src_port, f.dst_ip, f.dst_port) as string);
      for (const [i, f] of flows.entries()) {
        // A connection the profile cut into several flows is left out: tshark's packets are the connection's.
        if (keys.filter((k) => k === keys[i]).length > 1) continue;
        const what = `${pcap.split('/').pop()} ${f.src_ip}:${f.src_port} -> ${f.dst_ip}:${f.dst_port}`;
        expect({ flow: what, sensor: f.payload_protocol }).toEqual({ flow: what, sensor: want.get(keys[i]!) });
        tally[f.payload_protocol] = (tally[f.payload_protocol] ?? 0) + 1;
      }
    }
    // The captures hold both refinements and plain HTTP, so the comparison is not empty on any side.
    expect(tally['HTTP_Download']).toBeGreaterThanOrEqual(8);
    expect(tally['HTTP_Media']).toBeGreaterThanOrEqual(2);
    expect(tally['HTTP']).toBeGreaterThanOrEqual(50);
  });
});
