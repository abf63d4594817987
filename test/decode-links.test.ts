/**
 * The link layers beyond Ethernet/SLL/raw/loopback: PPP (9), PPP in HDLC framing (50), PPPoE without Ethernet
 * (51), Cisco HDLC (104), FDDI (10), 802.11 (105), radiotap (127), PPI (192) and NFLOG (239). Hand-built frames
 * from the specifications (each header byte written out below), every truncation boundary, then the real
 * captures of the corpus decoded packet by packet and compared with tshark.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeFrame, SUPPORTED_LINK_TYPES } from '../src/decode/decode.js';
import { formatIpv4, formatIpv6 } from '../src/features/address-text.js';
import { DecodedPacket } from '../src/decode/packet.js';
import { DecodeStatus, LinkType } from '../src/decode/status.js';
import { arp, bytes, concat, EtherType, hex, IpProto, ipv4, ipv4Word, ipv6, PppProto, pppoeSession, tcp, udp } from './helpers/frames.js';
import { readPcapFile } from './helpers/pcap-file.js';
import { SHARED } from './helpers/cli.js';

const S = DecodeStatus;
const out = new DecodedPacket();
const dec = (frame: Uint8Array, lt: number, caplen = frame.length): number => decodeFrame(lt, frame, 0, caplen, out);

const tcpV4 = (payload = 0): Uint8Array => ipv4({ proto: IpProto.TCP }, tcp({ sport: 1234, dport: 80 }, bytes(payload)));
const udpV6 = (payload = 0): Uint8Array => ipv6({ nextHeader: IpProto.UDP }, udp({ sport: 5353, dport: 53 }, bytes(payload)));
const be16 = (v: number): number[] => [v >> 8, v & 0xff];
const le16 = (v: number): number[] => [v & 0xff, v >> 8];
const le32 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
/** LLC/SNAP header (RFC 1042): AA AA 03, OUI 00 00 00, ethertype. */
const snap = (type: number): number[] => [0xaa, 0xaa, 0x03, 0, 0, 0, ...be16(type)];
const MAC = [2, 0, 0, 0, 0, 1];

/** Every prefix of `frame` shorter than `upTo` bytes decodes as `status`. */
function everyPrefix(frame: Uint8Array, lt: number, upTo: number, status: number): void {
  for (let n = 0; n < upTo; n++) expect([n, dec(frame, lt, n)]).toEqual([n, status]);
}

describe('PPP (9)', () => {
  it('bare 2-byte protocol, HDLC-like ff 03 framing, and a compressed 1-byte protocol', () => {
    expect(dec(concat(be16(PppProto.IPv4), tcpV4(5)), LinkType.PPP)).toBe(S.Ok);
    expect(out).toMatchObject({ ipVersion: 4, ipOffset: 2, srcPort: 1234, dstPort: 80, payloadBytes: 5 });
    expect(dec(concat([0xff, 0x03], be16(PppProto.IPv6), udpV6(3)), LinkType.PPP)).toBe(S.Ok);
    expect(out).toMatchObject({ ipVersion: 6, ipOffset: 4, srcPort: 5353, payloadBytes: 3 });
    expect(dec(concat([0x21], tcpV4(1)), LinkType.PPP)).toBe(S.Ok); // protocol-field compression
    expect(out.ipOffset).toBe(1);
    expect(dec(concat([0xff, 0x03, 0x57], udpV6()), LinkType.PPP)).toBe(S.Ok);
    expect(out.ipOffset).toBe(3);
  });
  it('LCP and other protocols are not IP; a cut protocol field is a truncated link header', () => {
    expect(dec(concat([0xff, 0x03], be16(PppProto.LCP), bytes(10)), LinkType.PPP)).toBe(S.NonIp);
    expect(dec(concat(be16(0x002d), bytes(10)), LinkType.PPP)).toBe(S.NonIp); // Van Jacobson compressed TCP/IP
    everyPrefix(concat([0xff, 0x03], be16(PppProto.IPv4), tcpV4()), LinkType.PPP, 4, S.TruncatedLink);
    expect(dec(concat([0xff, 0x03], be16(PppProto.IPv4), tcpV4()), LinkType.PPP, 4)).toBe(S.TruncatedIpv4);
  });
});

describe('PPP serial (50), PPPoE without Ethernet (51), Cisco HDLC (104)', () => {
  it('PPP_SERIAL: HDLC-framed PPP, or Cisco framing (0x0f/0x8f, control, ethertype)', () => {
    expect(dec(concat([0xff, 0x03], be16(PppProto.IPv4), tcpV4(2)), LinkType.PPP_SERIAL)).toBe(S.Ok);
    expect(out.ipOffset).toBe(4);
    expect(dec(concat([0x0f, 0x00], be16(EtherType.IPv4), tcpV4(2)), LinkType.PPP_SERIAL)).toBe(S.Ok);
    expect(out.ipOffset).toBe(4);
  });
  it('PPP_ETHER: the PPPoE session header first', () => {
    expect(dec(pppoeSession(PppProto.IPv4, tcpV4(7)), LinkType.PPP_ETHER)).toBe(S.Ok);
    expect(out).toMatchObject({ ipVersion: 4, ipOffset: 8, payloadBytes: 7 });
    expect(dec(pppoeSession(PppProto.IPv6, udpV6(1)), LinkType.PPP_ETHER)).toBe(S.Ok);
    expect(dec(pppoeSession(PppProto.LCP, bytes(8)), LinkType.PPP_ETHER)).toBe(S.NonIp);
    everyPrefix(pppoeSession(PppProto.IPv4, tcpV4()), LinkType.PPP_ETHER, 8, S.TruncatedLink);
  });
  it('C_HDLC: unicast and broadcast address, IPv4, IPv6, MPLS; SLARP is not IP', () => {
    expect(dec(concat([0x0f, 0x00], be16(EtherType.IPv4), tcpV4(3)), LinkType.C_HDLC)).toBe(S.Ok);
    expect(out).toMatchObject({ ipOffset: 4, srcAddr: new Uint32Array([ipv4Word('10.0.0.1'), 0, 0, 0]), payloadBytes: 3 });
    expect(dec(concat([0x8f, 0x00], be16(EtherType.IPv6), udpV6(3)), LinkType.C_HDLC)).toBe(S.Ok);
    expect(dec(concat([0x0f, 0x00], be16(EtherType.MPLS), [0, 0x01, 0x01, 0x40], tcpV4()), LinkType.C_HDLC)).toBe(S.Ok);
    expect(out.ipOffset).toBe(8);
    expect(dec(concat([0x8f, 0x00], be16(0x8035), bytes(20)), LinkType.C_HDLC)).toBe(S.NonIp); // SLARP
    everyPrefix(concat([0x0f, 0x00], be16(EtherType.IPv4), tcpV4()), LinkType.C_HDLC, 4, S.TruncatedLink);
  });
});

describe('FDDI (10) and 802.11 (105) through LLC/SNAP', () => {
  const fddi = (payload: ArrayLike<number>): Uint8Array => concat([0x50], MAC, MAC, payload);
  it('FDDI: 13-byte header, then SNAP with the ethertype', () => {
    expect(dec(fddi(concat(snap(EtherType.IPv4), tcpV4(4))), LinkType.FDDI)).toBe(S.Ok);
    expect(out).toMatchObject({ ipOffset: 21, payloadBytes: 4 });
    expect(dec(fddi(concat(snap(EtherType.ARP), arp())), LinkType.FDDI)).toBe(S.NonIp);
    expect(dec(fddi(concat([0x42, 0x42, 0x03], bytes(30))), LinkType.FDDI)).toBe(S.NonIp); // STP over LLC
    everyPrefix(fddi(concat(snap(EtherType.IPv4), tcpV4())), LinkType.FDDI, 21, S.TruncatedLink);
  });

  // Frame control byte 0: subtype << 4 | type << 2; type 2 = data. Byte 1: flags (to-DS 1, from-DS 2, protected 0x40, order 0x80).
  const wifi = (fc0: number, fc1: number, extra: number[], payload: ArrayLike<number>): Uint8Array =>
    concat([fc0, fc1, 0, 0], MAC, MAC, MAC, [0, 0], extra, payload);
  it('data (24-byte header), QoS data (+2), four addresses (+6), QoS with HT control (+4)', () => {
    expect(dec(wifi(0x08, 0x01, [], concat(snap(EtherType.IPv4), tcpV4(2))), LinkType.IEEE802_11)).toBe(S.Ok);
    expect(out).toMatchObject({ ipOffset: 32, payloadBytes: 2 });
    expect(dec(wifi(0x88, 0x02, [0, 0], concat(snap(EtherType.IPv6), udpV6(1))), LinkType.IEEE802_11)).toBe(S.Ok);
    expect(out).toMatchObject({ ipVersion: 6, ipOffset: 34 });
    expect(dec(wifi(0x08, 0x03, MAC, concat(snap(EtherType.IPv4), tcpV4())), LinkType.IEEE802_11)).toBe(S.Ok);
    expect(out.ipOffset).toBe(38);
    expect(dec(wifi(0x88, 0x81, [0, 0, 1, 2, 3, 4], concat(snap(EtherType.IPv4), tcpV4())), LinkType.IEEE802_11)).toBe(S.Ok);
    expect(out.ipOffset).toBe(38);
  });
  it('management, control, null-function, protected and A-MSDU frames are not IP', () => {
    const body = concat(snap(EtherType.IPv4), tcpV4());
    expect(dec(wifi(0x80, 0x00, [], bytes(40)), LinkType.IEEE802_11)).toBe(S.NonIp); // beacon
    expect(dec(hex('d4 00 0000 020000000001'), LinkType.IEEE802_11)).toBe(S.NonIp); // ACK (control, 10 bytes)
    expect(dec(wifi(0x48, 0x01, [], []), LinkType.IEEE802_11)).toBe(S.NonIp); // null function
    expect(dec(wifi(0x08, 0x41, [], body), LinkType.IEEE802_11)).toBe(S.NonIp); // protected
    expect(dec(wifi(0x88, 0x01, [0x80, 0], body), LinkType.IEEE802_11)).toBe(S.NonIp); // A-MSDU present
  });
  it('a data frame cut inside its header or the SNAP header is a truncated link header', () => {
    everyPrefix(wifi(0x88, 0x01, [0, 0], concat(snap(EtherType.IPv4), tcpV4())), LinkType.IEEE802_11, 34, S.TruncatedLink);
  });

  // radiotap: version 0, pad, length (LE), present bitmap(s) (LE), fields.
  it('radiotap (127): header length from the header, extended present bitmaps, the data-pad flag', () => {
    const body = concat(snap(EtherType.IPv4), tcpV4(3));
    const rt = [0, 0, ...le16(8), ...le32(0)]; // no fields
    expect(dec(concat(rt, wifi(0x08, 0x01, [], body)), LinkType.IEEE802_11_RADIO)).toBe(S.Ok);
    expect(out).toMatchObject({ ipOffset: 40, payloadBytes: 3 });
    // TSFT (bit 0) + flags (bit 1) with two present words (12 bytes so far): TSFT is 8-aligned (16..24), flags at 24.
    const rt2 = [0, 0, ...le16(25), ...le32(0x80000003), ...le32(0), 0, 0, 0, 0, ...bytes(8), 0x00];
    expect(dec(concat(rt2, wifi(0x08, 0x01, [], body)), LinkType.IEEE802_11_RADIO)).toBe(S.Ok);
    expect(out.ipOffset).toBe(25 + 24 + 8);
    // Flags with data pad (0x20): a 26-byte QoS header is padded to 28.
    const rt3 = [0, 0, ...le16(9), ...le32(0x00000002), 0x20];
    expect(dec(concat(rt3, wifi(0x88, 0x01, [0, 0, 0xee, 0xee], body)), LinkType.IEEE802_11_RADIO)).toBe(S.Ok);
    expect(out.ipOffset).toBe(9 + 28 + 8);
    expect(dec(concat([1, 0, ...le16(8), ...le32(0)], wifi(0x08, 0x01, [], body)), LinkType.IEEE802_11_RADIO)).toBe(S.NonIp); // version 1
    expect(dec(concat([0, 0, ...le16(4), ...le32(0)], wifi(0x08, 0x01, [], body)), LinkType.IEEE802_11_RADIO)).toBe(S.TruncatedLink); // length < 8
    everyPrefix(concat(rt, wifi(0x08, 0x01, [], body)), LinkType.IEEE802_11_RADIO, 40, S.TruncatedLink);
  });
});

describe('PPI (192)', () => {
  const ppi = (dlt: number, frame: ArrayLike<number>, len = 8): Uint8Array => concat([0, 0, ...le16(len), ...le32(dlt)], bytes(len - 8), frame);
  it('decodes the inner frame by its own link type; offsets count from the PPI header', () => {
    const eth = concat([2, 0, 0, 0, 0, 2], MAC, be16(EtherType.IPv4), tcpV4(6));
    expect(dec(ppi(LinkType.EN10MB, eth), LinkType.PPI)).toBe(S.Ok);
    expect(out).toMatchObject({ ipOffset: 22, payloadBytes: 6 });
    expect(dec(ppi(LinkType.EN10MB, eth, 32), LinkType.PPI)).toBe(S.Ok); // with 24 bytes of PPI fields
    expect(out.ipOffset).toBe(46);
    expect(dec(ppi(LinkType.IEEE802_11, concat([0x08, 0x01, 0, 0], MAC, MAC, MAC, [0, 0], snap(EtherType.IPv4), tcpV4())), LinkType.PPI)).toBe(S.Ok);
    expect(dec(ppi(230, bytes(40)), LinkType.PPI)).toBe(S.UnsupportedLinkType);
    expect(dec(ppi(LinkType.PPI, ppi(LinkType.EN10MB, eth)), LinkType.PPI)).toBe(S.TooDeep);
    everyPrefix(ppi(LinkType.EN10MB, eth), LinkType.PPI, 22, S.TruncatedLink);
  });
});

describe('NFLOG (239)', () => {
  // TLV: length (header included) and type in the capturing host's byte order (little-endian here), padded to 4.
  const tlv = (type: number, value: ArrayLike<number>): Uint8Array => {
    const len = 4 + value.length;
    return concat(le16(len), le16(type), value, new Uint8Array((4 - (len % 4)) % 4));
  };
  const nflog = (family: number, ...tlvs: Uint8Array[]): Uint8Array => concat([family, 0, 0, 1], ...tlvs);
  it('finds the payload TLV (type 9) after the others; AF_INET and AF_INET6', () => {
    const f = nflog(2, tlv(1, [8, 0, 1, 0]), tlv(10, bytes(5)), tlv(9, tcpV4(11)));
    expect(dec(f, LinkType.NFLOG)).toBe(S.Ok);
    expect(out).toMatchObject({ ipVersion: 4, ipOffset: 4 + 8 + 12 + 4, srcPort: 1234, payloadBytes: 11 });
    expect(dec(nflog(10, tlv(9, udpV6(2))), LinkType.NFLOG)).toBe(S.Ok);
    expect(out).toMatchObject({ ipVersion: 6, ipOffset: 8 });
  });
  it('no payload TLV is not IP; a TLV longer than the frame or shorter than 4 bytes is a truncated link header', () => {
    expect(dec(nflog(2, tlv(1, [8, 0, 1, 0])), LinkType.NFLOG)).toBe(S.NonIp);
    expect(dec(nflog(2, concat(le16(256), le16(1), bytes(4))), LinkType.NFLOG)).toBe(S.TruncatedLink);
    expect(dec(nflog(2, concat(le16(2), le16(1), bytes(8))), LinkType.NFLOG)).toBe(S.TruncatedLink);
    expect(dec(nflog(2, tlv(1, [8, 0, 1, 0]), bytes(2)), LinkType.NFLOG)).toBe(S.TruncatedLink);
    everyPrefix(nflog(2, tlv(9, tcpV4())), LinkType.NFLOG, 4, S.TruncatedLink);
  });
  it('a payload cut by the snaplen still yields the packet (truncation is judged by the IP decoder)', () => {
    const f = nflog(2, tlv(9, tcpV4(100)));
    expect(dec(f, LinkType.NFLOG, 8 + 40 + 10)).toBe(S.Ok);
    expect(out.payloadBytes).toBe(10);
  });
});

it('every link type above is in SUPPORTED_LINK_TYPES (the CLI accepts the capture)', () => {
  for (const lt of [9, 10, 50, 51, 104, 105, 127, 192, 239]) expect(SUPPORTED_LINK_TYPES).toContain(lt);
});

// ---- real captures vs tshark ------------------------------------------------------------------------------

const CORPUS = join(SHARED, 'corpus');
const hasTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;

/**
 * For every packet: tshark's first IPv4/IPv6 addresses and TCP/UDP ports (reassembly off) against ours. A packet
 * counts as IP for tshark when it shows an address; we must decode exactly those, with the same fields.
 */
function compareWithTshark(path: string): { ipPackets: number; ours: number; problems: string[] } {
  const fields = ['ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport'];
  const args = ['-r', path, '-n', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-T', 'fields', '-E', 'occurrence=f'];
  for (const f of fields) args.push('-e', f);
  const rows = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
  const pcap = readPcapFile(path);
  expect(rows.length).toBe(pcap.records.length);
  const problems: string[] = [];
  let ipPackets = 0;
  let ours = 0;
  pcap.records.forEach((rec, i) => {
    const [s4 = '', d4 = '', s6 = '', d6 = '', ts = '', td = '', us = '', ud = ''] = rows[i]!;
    const want = s4 !== '' ? `${s4} ${d4}` : s6 !== '' ? `${s6} ${d6}` : '';
    if (want !== '') ipPackets++;
    const st = decodeFrame(pcap.linkType, pcap.data, rec.offset, rec.caplen, out);
    const decoded = st === S.Ok || st === S.Fragment;
    if (decoded) ours++;
    if (decoded !== (want !== '')) return problems.push(`frame ${i + 1}: status ${st}, tshark "${want}"`);
    if (!decoded) return;
    const v4 = out.ipVersion === 4;
    const got = v4 ? `${formatIpv4(out.srcAddr[0]!)} ${formatIpv4(out.dstAddr[0]!)}` : `${formatIpv6(out.srcAddr)} ${formatIpv6(out.dstAddr)}`;
    if (got !== want) problems.push(`frame ${i + 1}: ${got} != tshark ${want}`);
    const ports = out.proto === 6 ? `${ts} ${td}` : out.proto === 17 ? `${us} ${ud}` : '';
    if (st === S.Ok && ports !== '' && ports !== `${out.srcPort} ${out.dstPort}`) problems.push(`frame ${i + 1}: ports ${out.srcPort} ${out.dstPort} != tshark ${ports}`);
  });
  return { ipPackets, ours, problems };
}

describe.skipIf(!hasTshark || !existsSync(CORPUS))('corpus captures of these link types vs tshark', () => {
  it.each([
    'ndpi/dlt_ppp.pcap',
    'suricata-verify/frag-ppp-ipv6-tcp.pcap',
    'suricata-verify/hdlc-http_1tx.pcap',
    'zeek/nflog-http.pcap',
    'zeek/nflog-bad-tlv-len.pcap',
    'ndpi/someip_sd_sample.pcap',
    'zeek/llc.pcap',
    'zeek/radiotap.pcap',
    'zeek/wlanmon.pcap',
  ])('%s', (name) => {
    const r = compareWithTshark(join(CORPUS, name));
    expect(r.problems).toEqual([]);
    expect(r.ours).toBe(r.ipPackets);
  });
});
