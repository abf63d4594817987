/**
 * The sensor's server names against Wireshark's: for captures with TLS, QUIC, HTTP and DNS (bundled, and nDPI's in
 * ../shared), every flow's server_name in SQLite is the first tls.handshake.extensions_server_name (tshark decrypts
 * QUIC's Initial packets too), http.host or
 * dns.qry.name tshark shows for the flow's 5-tuple within the flow's time (scripts/server-name-agreement.mjs, which
 * also reports agreement over all nDPI captures), normalised as the sensor stores names, or both have none.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, SHARED, commandWorks } from './helpers/cli.js';
// @ts-expect-error: a plain ES module without types (a script, also run by hand)
import { compareWithNdpi, compareWithTshark, ndpiNames, sensorFlows, tsharkNames } from '../scripts/server-name-agreement.mjs';

const TSHARK = commandWorks('tshark', ['--version']);
const NDPI = join(SHARED, 'data/ndpi');
const BUNDLED = ['zeek-wikipedia', 'zeek-http-vlan', 'cic2017-wednesday-tls-flow'].map((n) => join(ROOT, 'fixtures/reference', `${n}.pcap`));
/**
 * QUIC: drafts 23, 27/28 and 29, mvfst's draft-22 and draft-27, Google's T050, 63 interop servers (reserved
 * versions); Google QUIC's CHLO in Q043, Q046 and (encrypted) Q050.
 */
const QUIC_NDPI = ['quic-23.pcap', 'quic-28.pcap', 'quic-29.pcap', 'quic-mvfst-22.pcap', 'quic-mvfst-27.pcapng', 'quic_t50.pcap', 'quic_interop_V.pcapng', 'quic_q43.pcap', 'quic_q46_b.pcap', 'gquic.pcap'].map((n) => join(NDPI, 'pcap', n));
const FROM_NDPI = ['443-curl.pcap', '443-safari.pcap', 'google_ssl.pcap', 'http.pcapng', 'dns_ambiguous_names.pcap', 'tls_port_80.pcapng', 'tls_heur__vmess-websocket.pcapng', 'sites.pcapng'].map((n) => join(NDPI, 'pcap', n));

interface Compared {
  verdict: string;
  sensor: string | null;
  tshark: string | null;
  event: { kind: string } | null;
  flow: { src_ip: string; src_port: number; dst_ip: string; dst_port: number; protocol: number };
}

/** Every flow of the captures compared; returns the named flows per kind ('tls', 'quic', 'gquic', 'http', 'dns'). */
function check(pcaps: string[]): Record<string, number> {
  const named: Record<string, number> = {};
  for (const pcap of pcaps) {
    const rows = compareWithTshark(sensorFlows(pcap), tsharkNames(pcap)) as Compared[];
    for (const r of rows) {
      const f = r.flow;
      const what = `${pcap.split('/').pop()} ${f.src_ip}:${f.src_port} -> ${f.dst_ip}:${f.dst_port}/${f.protocol}`;
      expect({ flow: what, sensor: r.sensor }).toEqual({ flow: what, sensor: r.tshark });
      if (r.verdict === 'same') named[r.event!.kind] = (named[r.event!.kind] ?? 0) + 1;
    }
  }
  return named;
}

describe.skipIf(!TSHARK)(`server names against tshark${TSHARK ? '' : ' (skipped: tshark is not installed; .ci/run installs it)'}`, () => {
  it('bundled captures: HTTP Host, DNS and mDNS query names, a TLS SNI', () => {
    const named = check(BUNDLED);
    expect(named.http).toBeGreaterThanOrEqual(10);
    expect(named.dns).toBeGreaterThanOrEqual(16);
    expect(named.tls).toBeGreaterThanOrEqual(1);
  });

  const present = FROM_NDPI.every((p) => existsSync(p));
  it.skipIf(!present)(`nDPI captures: curl and browser TLS, QUIC, HTTP, DNS, TLS on port 80 and after SOCKS on 127.0.0.1${present ? '' : ' (skipped: ../shared/data/ndpi is absent)'}`, () => {
    const named = check(FROM_NDPI);
    expect(named.tls).toBeGreaterThanOrEqual(55);
    expect(named.http).toBeGreaterThanOrEqual(2);
    expect(named.dns).toBeGreaterThanOrEqual(10);
    expect(named.quic).toBe(4); // sites.pcapng's QUIC flows
    // nDPI's own Hostname/SNI for the same flows: the same names where it reads the same field.
    const ndpi = FROM_NDPI.flatMap((p) => compareWithNdpi(sensorFlows(p), ndpiNames(join(NDPI, 'result', `${p.split('/').pop()}.out`))) as { verdict: string }[]);
    expect(ndpi.filter((n) => n.verdict === 'same').length).toBeGreaterThanOrEqual(70);
  });

  const quicPresent = QUIC_NDPI.every((p) => existsSync(p));
  it.skipIf(!quicPresent)(`nDPI's QUIC captures: every version the sensor reads, the same names as tshark${quicPresent ? '' : ' (skipped: ../shared/data/ndpi is absent)'}`, () => {
    const named = check(QUIC_NDPI);
    expect(named.quic).toBeGreaterThanOrEqual(69);
    expect(named.gquic).toBe(3);
  });
});
