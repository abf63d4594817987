/**
 * Unit tests of `decodeFrame`: hand-built frames for every link layer, IP and transport path and every
 * status at its boundary; then real captures decoded packet by packet and cross-checked against tshark.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFrame, SUPPORTED_LINK_TYPES } from '../src/decode/decode.js';
import { formatIpv4, formatIpv6 } from '../src/features/address-text.js';
import { DecodedPacket, TcpFlag } from '../src/decode/packet.js';
import { DECODE_STATUS_NAMES, DecodeStatus, LinkType } from '../src/decode/status.js';
import {
  AddressFamily,
  arp,
  bsdLoop,
  bsdNull,
  bytes,
  concat,
  EtherType,
  ethernet,
  ethernet8023,
  ethIpv4Tcp,
  ethIpv4Udp,
  Flags,
  hex,
  icmp,
  icmpv6,
  IpProto,
  ipv4,
  ipv4Word,
  ipv6,
  ipv6Words,
  mpls,
  PppProto,
  pppoeSession,
  sll,
  sll2,
  tcp,
  TCP_SYN_OPTIONS,
  udp,
} from './helpers/frames.js';
import { readPcapFile, writePcap } from './helpers/pcap-file.js';

const S = DecodeStatus;
const out = new DecodedPacket();

/** Decode `frame` alone (offset 0, caplen = its length) and return the status. */
function dec(frame: Uint8Array, linkType: number = LinkType.EN10MB, caplen = frame.length): number {
  return decodeFrame(linkType, frame, 0, caplen, out);
}

/** A plain copy of `out` for `toMatchObject`. */
function view(p: DecodedPacket = out): Record<string, unknown> {
  return { ...p, srcAddr: Array.from(p.srcAddr), dstAddr: Array.from(p.dstAddr) };
}

const V4_SRC = ipv4Word('10.0.0.1');
const V4_DST = ipv4Word('10.0.0.2');
const V6_SRC = ipv6Words('fd00::1');
const V6_DST = ipv6Words('fd00::2');

const tcpV4 = (payload = 0): Uint8Array => ipv4({ proto: IpProto.TCP }, tcp({ sport: 1234, dport: 80 }, bytes(payload)));
const udpV6 = (payload = 0): Uint8Array => ipv6({ nextHeader: IpProto.UDP }, udp({ sport: 5353, dport: 53 }, bytes(payload)));

describe('Ethernet / IPv4 / TCP', () => {
  it('decodes a SYN with options: header 32, window, ECE/CWR/NS flags, unsigned seq/ack', () => {
    const flags = Flags.SYN | Flags.ECE | Flags.CWR | Flags.NS;
    const f = ethIpv4Tcp(
      { sport: 40000, dport: 443, seq: 0xfffffff0, ack: 0x80000001, flags, window: 29200, options: hex('020405b4 0101 0402 01030307') },
      [],
      { src: '192.168.1.10', dst: '172.16.254.1' },
    );
    expect(dec(f)).toBe(S.Ok);
    expect(view()).toMatchObject({
      ipVersion: 4,
      proto: 6,
      srcAddr: [ipv4Word('192.168.1.10'), 0, 0, 0],
      dstAddr: [ipv4Word('172.16.254.1'), 0, 0, 0],
      srcPort: 40000,
      dstPort: 443,
      ipOffset: 14,
      ipHeaderBytes: 20,
      ipTotalBytes: 52,
      l4HeaderBytes: 32,
      payloadBytes: 0,
      tcpFlags: 0x1c2,
      tcpWindow: 29200,
      tcpSeq: 0xfffffff0,
      tcpAck: 0x80000001,
      icmpType: -1,
      icmpCode: -1,
      isFragment: 0,
      fragOffset: 0,
    });
    expect(out.srcAddr[0]).toBe(0xc0a8010a); // network order as an unsigned word
    expect(out.tcpFlags & TcpFlag.SYN).toBeTruthy();
  });

  it('counts TCP payload from the IP lengths: a padded 60-byte ACK carries 0 bytes', () => {
    const f = ethernet(EtherType.IPv4, tcpV4(0), { padTo: 60 });
    expect(f.length).toBe(60);
    expect(dec(f)).toBe(S.Ok);
    expect(view()).toMatchObject({ ipTotalBytes: 40, l4HeaderBytes: 20, payloadBytes: 0, tcpFlags: TcpFlag.ACK });
    // 6 bytes of data pad to 60 as well, and still count 6.
    expect(dec(ethernet(EtherType.IPv4, tcpV4(6), { padTo: 60 }))).toBe(S.Ok);
    expect(out.payloadBytes).toBe(6);
  });

  it('a short snaplen shortens payloadBytes; ipTotalBytes still says what was sent', () => {
    const f = ethernet(EtherType.IPv4, tcpV4(1000));
    expect(dec(f, LinkType.EN10MB, 96)).toBe(S.Ok);
    expect(view()).toMatchObject({ ipTotalBytes: 1040, payloadBytes: 96 - 54 });
  });

  it('TCP options past the captured bytes are accepted (CICFlowMeter reads the data offset); payload 0', () => {
    const f = ethIpv4Tcp({ options: TCP_SYN_OPTIONS, flags: Flags.SYN }); // 40-byte TCP header
    expect(dec(f, LinkType.EN10MB, 14 + 20 + 24)).toBe(S.Ok);
    expect(view()).toMatchObject({ l4HeaderBytes: 40, payloadBytes: 0, tcpFlags: TcpFlag.SYN });
  });

  it('reads IPv4 options (IHL 6)', () => {
    const f = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.TCP, options: hex('94040000') }, tcp({}, bytes(5))));
    expect(dec(f)).toBe(S.Ok);
    expect(view()).toMatchObject({ ipHeaderBytes: 24, ipTotalBytes: 49, l4HeaderBytes: 20, payloadBytes: 5 });
  });

  it('treats total length 0 as TSO: the captured length is the packet', () => {
    const f = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.TCP, totalLength: 0 }, tcp({}, bytes(3000))));
    expect(dec(f)).toBe(S.Ok);
    expect(view()).toMatchObject({ ipTotalBytes: 3040, payloadBytes: 3000 });
  });

  it('decodes the first fragment normally and stops at a non-first fragment', () => {
    const first = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.TCP, mf: true }, tcp({ sport: 1, dport: 2 }, bytes(100))));
    expect(dec(first)).toBe(S.Ok);
    expect(view()).toMatchObject({ srcPort: 1, dstPort: 2, isFragment: 1, fragOffset: 0, payloadBytes: 100 });

    const next = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.TCP, fragOffset: 1480 }, bytes(200)));
    expect(dec(next)).toBe(S.Fragment);
    expect(view()).toMatchObject({
      ipVersion: 4,
      proto: 6,
      srcAddr: [V4_SRC, 0, 0, 0],
      dstAddr: [V4_DST, 0, 0, 0],
      srcPort: 0,
      dstPort: 0,
      isFragment: 1,
      fragOffset: 1480,
      l4HeaderBytes: 0,
      payloadBytes: 200,
    });
    // DF alone is not a fragment.
    expect(dec(ethernet(EtherType.IPv4, ipv4({ proto: IpProto.UDP, df: true }, udp())))).toBe(S.Ok);
    expect(out.isFragment).toBe(0);
  });

  it('TCP header inside Ethernet padding (IP total length too short for it) is TruncatedTcp', () => {
    const f = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.TCP, totalLength: 30 }, tcp()), { padTo: 60 });
    expect(dec(f)).toBe(S.TruncatedTcp);
  });

  it('TCP data offset < 5 is TruncatedTcp', () => {
    expect(dec(ethIpv4Tcp({ dataOffset: 4 }))).toBe(S.TruncatedTcp);
    expect(dec(ethIpv4Tcp({ dataOffset: 0 }))).toBe(S.TruncatedTcp);
  });
});

describe('Ethernet / IPv4 / UDP, ICMP and other protocols', () => {
  it('UDP: ports, header 8', () => {
    expect(dec(ethIpv4Udp({ sport: 5353, dport: 53 }, bytes(30)))).toBe(S.Ok);
    expect(view()).toMatchObject({ proto: 17, srcPort: 5353, dstPort: 53, l4HeaderBytes: 8, payloadBytes: 30, tcpFlags: 0, tcpWindow: 0 });
  });

  it('ICMP: type and code, header 8, ports 0', () => {
    expect(dec(ethernet(EtherType.IPv4, ipv4({ proto: IpProto.ICMP }, icmp({ type: 3, code: 13 }, bytes(28)))))).toBe(S.Ok);
    expect(view()).toMatchObject({ proto: 1, icmpType: 3, icmpCode: 13, srcPort: 0, dstPort: 0, l4HeaderBytes: 8, payloadBytes: 28 });
  });

  it('ICMP with only 4..7 bytes: header 4', () => {
    const f = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.ICMP }, [0, 0, 0xff, 0xff, 1, 2]));
    expect(dec(f)).toBe(S.Ok);
    expect(view()).toMatchObject({ icmpType: 0, icmpCode: 0, l4HeaderBytes: 4, payloadBytes: 2 });
  });

  it.each([
    ['GRE', IpProto.GRE],
    ['ESP', IpProto.ESP],
    ['SCTP', IpProto.SCTP],
    ['IPIP', IpProto.IPIP],
    ['IPv6-in-IPv4', IpProto.IPv6],
  ])('%s is Ok on the outer header: no ports, no L4 header, the IP payload is the payload', (_name, proto) => {
    const inner = ipv4({ proto: IpProto.TCP, src: '1.1.1.1', dst: '2.2.2.2' }, tcp({ sport: 7, dport: 9 }));
    expect(dec(ethernet(EtherType.IPv4, ipv4({ proto }, concat([0, 0, 8, 0], inner))))).toBe(S.Ok);
    expect(view()).toMatchObject({ proto, srcAddr: [V4_SRC, 0, 0, 0], srcPort: 0, dstPort: 0, l4HeaderBytes: 0, payloadBytes: 44 });
  });
});

describe('Ethernet encapsulations', () => {
  const expectInner = (_vlanTags: number, ipOffset: number): void => {
    expect(view()).toMatchObject({ ipVersion: 4, proto: 6, srcAddr: [V4_SRC, 0, 0, 0], srcPort: 1234, dstPort: 80, ipOffset, payloadBytes: 10 });
  };

  it('802.1Q', () => {
    expect(dec(ethernet(EtherType.IPv4, tcpV4(10), { vlans: [{ vid: 100 }] }))).toBe(S.Ok);
    expectInner(1, 18);
  });

  it('QinQ: 802.1ad outer + 802.1Q inner, and the old 0x9100', () => {
    expect(dec(ethernet(EtherType.IPv4, tcpV4(10), { vlans: [{ tpid: EtherType.QinQ, vid: 10 }, { vid: 20 }] }))).toBe(S.Ok);
    expectInner(2, 22);
    expect(dec(ethernet(EtherType.IPv4, tcpV4(10), { vlans: [{ tpid: EtherType.QinQOld, vid: 10 }, { vid: 20 }, { vid: 30 }] }))).toBe(S.Ok);
    expectInner(3, 26);
  });

  it('MPLS: one label, two labels, multicast, IPv6 payload', () => {
    expect(dec(ethernet(EtherType.MPLS, mpls([16], tcpV4(10))))).toBe(S.Ok);
    expectInner(0, 18);
    expect(dec(ethernet(EtherType.MPLS, mpls([16, 17], tcpV4(10))))).toBe(S.Ok);
    expectInner(0, 22);
    expect(dec(ethernet(EtherType.MPLSMulticast, mpls([16], tcpV4(10)), { vlans: [{ vid: 5 }] }))).toBe(S.Ok);
    expectInner(1, 22);
    expect(dec(ethernet(EtherType.MPLS, mpls([16, 17, 18], udpV6(4))))).toBe(S.Ok);
    expect(view()).toMatchObject({ ipVersion: 6, proto: 17, srcPort: 5353, ipOffset: 26, srcAddr: V6_SRC, dstAddr: V6_DST, payloadBytes: 4 });
  });

  it('MPLS carrying a pseudowire control word (nibble 0) is NonIp', () => {
    expect(dec(ethernet(EtherType.MPLS, mpls([16], concat([0, 0, 0, 0], ethernet(EtherType.IPv4, tcpV4())))))).toBe(S.NonIp);
  });

  it('PPPoE session: IPv4, IPv6, a compressed protocol field, LCP', () => {
    expect(dec(ethernet(EtherType.PPPoESession, pppoeSession(PppProto.IPv4, tcpV4(10))))).toBe(S.Ok);
    expectInner(0, 22);
    expect(dec(ethernet(EtherType.PPPoESession, pppoeSession(PppProto.IPv4, tcpV4(10)), { vlans: [{ tpid: EtherType.QinQ, vid: 1 }, { vid: 2 }] }))).toBe(S.Ok);
    expectInner(2, 30);
    expect(dec(ethernet(EtherType.PPPoESession, pppoeSession(PppProto.IPv6, udpV6(3))))).toBe(S.Ok);
    expect(view()).toMatchObject({ ipVersion: 6, srcPort: 5353, ipOffset: 22, payloadBytes: 3 });
    // Protocol-field compression (RFC 1661 §6.5): 0x21 as a single byte.
    const pfc = concat([0x11, 0x00, 0x12, 0x34, 0x00, 0x00, 0x21], tcpV4(10));
    expect(dec(ethernet(EtherType.PPPoESession, pfc))).toBe(S.Ok);
    expectInner(0, 21);
    expect(dec(ethernet(EtherType.PPPoESession, pppoeSession(PppProto.LCP, hex('01 01 0004'))))).toBe(S.NonIp);
    expect(dec(ethernet(EtherType.PPPoEDiscovery, hex('1109 0000 0000')))).toBe(S.NonIp);
  });

  it('PPPoE: the IP total length, not the PPPoE length field, bounds the packet (as Suricata)', () => {
    const f = ethernet(EtherType.PPPoESession, pppoeSession(PppProto.IPv4, tcpV4(6)));
    f[14 + 4] = 0; // PPPoE length 42 instead of 48, as zeek's pppoe-over-qinq.pcap has it
    f[14 + 5] = 42;
    expect(dec(f)).toBe(S.Ok);
    expect(out.payloadBytes).toBe(6);
  });

  it('ARP, LLDP and 802.3/LLC frames are NonIp', () => {
    expect(dec(ethernet(EtherType.ARP, arp(), { padTo: 60 }))).toBe(S.NonIp);
    expect(dec(ethernet(EtherType.ARP, arp(), { vlans: [{ vid: 1 }] }))).toBe(S.NonIp);
    expect(dec(ethernet(EtherType.LLDP, bytes(30)))).toBe(S.NonIp);
    expect(dec(ethernet8023())).toBe(S.NonIp);
    expect(dec(ethernet(0x05ff, bytes(40)))).toBe(S.NonIp);
    expect(out.ipVersion).toBe(0);
  });

  it('ethertype and version nibble disagreeing is BadIpVersion', () => {
    expect(dec(ethernet(EtherType.IPv4, udpV6()))).toBe(S.BadIpVersion);
    expect(dec(ethernet(EtherType.IPv6, tcpV4()))).toBe(S.BadIpVersion);
    expect(dec(ethernet(EtherType.IPv4, ipv4({ proto: 6, version: 5 }, tcp())))).toBe(S.BadIpVersion);
  });
});

describe('other link types', () => {
  it('Linux SLL (113) and SLL2 (276)', () => {
    expect(dec(sll(EtherType.IPv4, tcpV4(10)), LinkType.LINUX_SLL)).toBe(S.Ok);
    expect(view()).toMatchObject({ srcPort: 1234, ipOffset: 16, payloadBytes: 10 });
    expect(dec(sll(EtherType.VLAN, concat([0, 7, 0x86, 0xdd], udpV6(2))), LinkType.LINUX_SLL)).toBe(S.Ok);
    expect(view()).toMatchObject({ ipVersion: 6, ipOffset: 20 });
    expect(dec(sll(EtherType.ARP, arp()), LinkType.LINUX_SLL)).toBe(S.NonIp);
    expect(dec(sll(0x0004, bytes(30)), LinkType.LINUX_SLL)).toBe(S.NonIp); // LINUX_SLL_P_802_2

    expect(dec(sll2(EtherType.IPv6, udpV6(2)), LinkType.LINUX_SLL2)).toBe(S.Ok);
    expect(view()).toMatchObject({ ipVersion: 6, srcPort: 5353, ipOffset: 20, payloadBytes: 2 });
    expect(dec(sll2(EtherType.IPv4, tcpV4(10)), LinkType.LINUX_SLL2)).toBe(S.Ok);
    expect(out.ipOffset).toBe(20);
    expect(dec(sll2(EtherType.ARP, arp()), LinkType.LINUX_SLL2)).toBe(S.NonIp);
  });

  it.each([LinkType.RAW, LinkType.DLT_RAW, 14])('raw IP (%i): the version nibble decides', (lt) => {
    expect(dec(tcpV4(10), lt)).toBe(S.Ok);
    expect(view()).toMatchObject({ ipVersion: 4, ipOffset: 0, srcPort: 1234, payloadBytes: 10 });
    expect(dec(udpV6(1), lt)).toBe(S.Ok);
    expect(view()).toMatchObject({ ipVersion: 6, ipOffset: 0, srcPort: 5353 });
    expect(dec(concat([0x50], bytes(39)), lt)).toBe(S.BadIpVersion);
    expect(dec(new Uint8Array(0), lt)).toBe(S.TruncatedIpv4);
  });

  it('raw IPv4 (228) and IPv6 (229) check the version', () => {
    expect(dec(tcpV4(1), LinkType.IPV4)).toBe(S.Ok);
    expect(dec(udpV6(1), LinkType.IPV4)).toBe(S.BadIpVersion);
    expect(dec(udpV6(1), LinkType.IPV6)).toBe(S.Ok);
    expect(out.ipVersion).toBe(6);
    expect(dec(tcpV4(20), LinkType.IPV6)).toBe(S.BadIpVersion);
  });

  it('BSD NULL (0) in both byte orders; AF_INET6 as 24, 28 and 30', () => {
    for (const order of ['le', 'be'] as const) {
      expect(dec(bsdNull(AddressFamily.INET, tcpV4(3), order), LinkType.NULL)).toBe(S.Ok);
      expect(view()).toMatchObject({ ipVersion: 4, ipOffset: 4, srcPort: 1234, payloadBytes: 3 });
      for (const af of [AddressFamily.INET6_BSD, AddressFamily.INET6_FREEBSD, AddressFamily.INET6_DARWIN]) {
        expect(dec(bsdNull(af, udpV6(), order), LinkType.NULL)).toBe(S.Ok);
        expect(out.ipVersion).toBe(6);
      }
      expect(dec(bsdNull(7, tcpV4(), order), LinkType.NULL)).toBe(S.NonIp);
    }
    expect(dec(concat([2, 0, 0, 2], tcpV4()), LinkType.NULL)).toBe(S.NonIp); // neither order
  });

  it('OpenBSD LOOP (108) is network order only', () => {
    expect(dec(bsdLoop(AddressFamily.INET, tcpV4(3)), LinkType.LOOP)).toBe(S.Ok);
    expect(view()).toMatchObject({ ipVersion: 4, ipOffset: 4, payloadBytes: 3 });
    expect(dec(bsdLoop(AddressFamily.INET6_BSD, udpV6()), LinkType.LOOP)).toBe(S.Ok);
    expect(out.ipVersion).toBe(6);
    expect(dec(bsdNull(AddressFamily.INET, tcpV4(), 'le'), LinkType.LOOP)).toBe(S.NonIp);
  });

  it.each([230, 147, 263, -1, 1000])('link type %i is UnsupportedLinkType', (lt) => {
    expect(dec(ethIpv4Tcp(), lt)).toBe(S.UnsupportedLinkType);
    expect(SUPPORTED_LINK_TYPES).not.toContain(lt);
  });
});

describe('IPv6', () => {
  it('plain TCP', () => {
    const f = ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.TCP, src: '2001:db8::10', dst: '2001:db8:1::20' }, tcp({ sport: 80, dport: 5000, flags: Flags.PSH | Flags.ACK }, bytes(100))));
    expect(dec(f)).toBe(S.Ok);
    expect(view()).toMatchObject({
      ipVersion: 6,
      proto: 6,
      srcAddr: ipv6Words('2001:db8::10'),
      dstAddr: ipv6Words('2001:db8:1::20'),
      srcPort: 80,
      dstPort: 5000,
      ipOffset: 14,
      ipHeaderBytes: 40,
      ipTotalBytes: 160,
      l4HeaderBytes: 20,
      payloadBytes: 100,
      tcpFlags: 0x18,
    });
  });

  it('hop-by-hop + destination options + first fragment reach the transport', () => {
    const f = ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.TCP, extensions: [{ type: 0 }, { type: 60, data: bytes(10) }, { type: 44, more: true }] }, tcp({ sport: 1, dport: 2 }, bytes(9))));
    expect(dec(f)).toBe(S.Ok);
    expect(view()).toMatchObject({ proto: 6, srcPort: 1, dstPort: 2, ipHeaderBytes: 40 + 8 + 16 + 8, isFragment: 1, fragOffset: 0, payloadBytes: 9 });
  });

  it('a non-first fragment stops with addresses and the fragmented protocol', () => {
    const f = ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.UDP, extensions: [{ type: 0 }, { type: 44, fragOffset: 1232 }] }, bytes(100)));
    expect(dec(f)).toBe(S.Fragment);
    expect(view()).toMatchObject({ ipVersion: 6, proto: 17, srcAddr: V6_SRC, dstAddr: V6_DST, srcPort: 0, isFragment: 1, fragOffset: 1232, ipHeaderBytes: 56, payloadBytes: 100 });
  });

  it('an atomic fragment (offset 0, M clear) is a whole packet', () => {
    const f = ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.UDP, extensions: [{ type: 44 }] }, udp({ sport: 9 })));
    expect(dec(f)).toBe(S.Ok);
    expect(view()).toMatchObject({ srcPort: 9, isFragment: 0, ipHeaderBytes: 48 });
  });

  it('routing, mobility and AH (length in 4-byte units)', () => {
    const f = ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.UDP, extensions: [{ type: 43, data: bytes(6) }, { type: 135, data: bytes(14) }, { type: 51, icvLength: 12 }] }, udp({ sport: 4500 }, bytes(2))));
    expect(dec(f)).toBe(S.Ok);
    expect(view()).toMatchObject({ proto: 17, srcPort: 4500, ipHeaderBytes: 40 + 8 + 16 + 24, payloadBytes: 2 });
  });

  it('ICMPv6 type/code; ESP stops the walk', () => {
    expect(dec(ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.ICMPv6, extensions: [{ type: 0 }] }, icmpv6({ type: 135, code: 0 }, bytes(16)))))).toBe(S.Ok);
    expect(view()).toMatchObject({ proto: 58, icmpType: 135, icmpCode: 0, l4HeaderBytes: 8, payloadBytes: 16 });
    expect(dec(ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.ESP }, bytes(60))))).toBe(S.Ok);
    expect(view()).toMatchObject({ proto: 50, ipHeaderBytes: 40, l4HeaderBytes: 0, payloadBytes: 60 });
  });

  it('no next header (59): Ok, proto 59, no ports; padding does not count', () => {
    const f = ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.NoNext, extensions: [{ type: 60 }] }), { padTo: 64 });
    expect(dec(f)).toBe(S.Ok);
    expect(view()).toMatchObject({ proto: 59, srcPort: 0, ipHeaderBytes: 48, ipTotalBytes: 48, payloadBytes: 0 });
    expect(dec(ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.NoNext }), { padTo: 60 }))).toBe(S.Ok);
    expect(view()).toMatchObject({ proto: 59, ipTotalBytes: 40, payloadBytes: 0 });
  });

  it('payload length 0 (jumbogram / BIG TCP) uses the captured length', () => {
    const f = ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.TCP, payloadLength: 0 }, tcp({}, bytes(2000))));
    expect(dec(f)).toBe(S.Ok);
    expect(view()).toMatchObject({ ipTotalBytes: 2060, payloadBytes: 2000 });
  });

  it('an extension header running past the payload length is TruncatedIpv6', () => {
    const f = ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.TCP, payloadLength: 4, extensions: [{ type: 0 }] }, tcp()));
    expect(dec(f)).toBe(S.TruncatedIpv6);
  });
});

describe('depth caps', () => {
  const tags = (n: number): { vid: number }[] => Array.from({ length: n }, (_, i) => ({ vid: i + 1 }));
  it('8 VLAN tags pass, 9 are TooDeep', () => {
    expect(dec(ethernet(EtherType.IPv4, tcpV4(), { vlans: tags(8) }))).toBe(S.Ok);
    expect(dec(ethernet(EtherType.IPv4, tcpV4(), { vlans: tags(9) }))).toBe(S.TooDeep);
  });

  it('8 MPLS labels pass, 9 are TooDeep', () => {
    expect(dec(ethernet(EtherType.MPLS, mpls([1, 2, 3, 4, 5, 6, 7, 8], tcpV4())))).toBe(S.Ok);
    expect(out.ipOffset).toBe(14 + 32);
    expect(dec(ethernet(EtherType.MPLS, mpls([1, 2, 3, 4, 5, 6, 7, 8, 9], tcpV4())))).toBe(S.TooDeep);
  });

  it('8 IPv6 extension headers pass, 9 are TooDeep', () => {
    const exts = (n: number): { type: 60 }[] => Array.from({ length: n }, () => ({ type: 60 }) as const);
    expect(dec(ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.UDP, extensions: exts(8) }, udp())))).toBe(S.Ok);
    expect(out.ipHeaderBytes).toBe(40 + 64);
    expect(dec(ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.UDP, extensions: exts(9) }, udp())))).toBe(S.TooDeep);
  });
});

describe('truncation boundaries: one byte short of each header', () => {
  const cases: [string, Uint8Array, number, number, number][] = [
    // name, frame, link type, bytes needed for this header to be complete, status when one byte short
    ['Ethernet', ethIpv4Tcp(), 1, 14, S.TruncatedLink],
    ['802.1Q tag', ethernet(EtherType.IPv4, tcpV4(), { vlans: [{ vid: 1 }] }), 1, 18, S.TruncatedLink],
    ['inner QinQ tag', ethernet(EtherType.IPv4, tcpV4(), { vlans: [{ tpid: EtherType.QinQ, vid: 1 }, { vid: 2 }] }), 1, 22, S.TruncatedLink],
    ['MPLS label stack', ethernet(EtherType.MPLS, mpls([1, 2], tcpV4())), 1, 23, S.TruncatedLink],
    ['MPLS payload nibble', ethernet(EtherType.MPLS, mpls([1], tcpV4())), 1, 19, S.TruncatedLink],
    ['PPPoE + PPP', ethernet(EtherType.PPPoESession, pppoeSession(PppProto.IPv4, tcpV4())), 1, 22, S.TruncatedLink],
    ['SLL', sll(EtherType.IPv4, tcpV4()), LinkType.LINUX_SLL, 16, S.TruncatedLink],
    ['SLL2', sll2(EtherType.IPv4, tcpV4()), LinkType.LINUX_SLL2, 20, S.TruncatedLink],
    ['NULL', bsdNull(2, tcpV4()), LinkType.NULL, 4, S.TruncatedLink],
    ['LOOP', bsdLoop(2, tcpV4()), LinkType.LOOP, 4, S.TruncatedLink],
    ['IPv4 fixed header', ethIpv4Tcp(), 1, 34, S.TruncatedIpv4],
    ['IPv4 options', ethernet(EtherType.IPv4, ipv4({ proto: 6, options: bytes(8) }, tcp())), 1, 42, S.TruncatedIpv4],
    ['raw IPv4 header', tcpV4(), LinkType.RAW, 20, S.TruncatedIpv4],
    ['IPv6 fixed header', ethernet(EtherType.IPv6, udpV6()), 1, 54, S.TruncatedIpv6],
    ['IPv6 hop-by-hop header', ethernet(EtherType.IPv6, ipv6({ nextHeader: 17, extensions: [{ type: 0 }] }, udp())), 1, 62, S.TruncatedIpv6],
    ['IPv6 extension header', ethernet(EtherType.IPv6, ipv6({ nextHeader: 17, extensions: [{ type: 60, data: bytes(14) }] }, udp())), 1, 70, S.TruncatedIpv6],
    ['IPv6 fragment header', ethernet(EtherType.IPv6, ipv6({ nextHeader: 17, extensions: [{ type: 44, more: true }] }, udp())), 1, 62, S.TruncatedIpv6],
    ['raw IPv6 header', udpV6(), LinkType.IPV6, 40, S.TruncatedIpv6],
    ['TCP', ethIpv4Tcp(), 1, 54, S.TruncatedTcp],
    ['TCP over IPv6', ethernet(EtherType.IPv6, ipv6({ nextHeader: 6 }, tcp())), 1, 74, S.TruncatedTcp],
    ['UDP', ethIpv4Udp(), 1, 42, S.TruncatedUdp],
    ['UDP over IPv6', ethernet(EtherType.IPv6, udpV6()), 1, 62, S.TruncatedUdp],
    ['ICMP', ethernet(EtherType.IPv4, ipv4({ proto: 1 }, icmp())), 1, 38, S.TruncatedIcmp],
    ['ICMPv6', ethernet(EtherType.IPv6, ipv6({ nextHeader: 58 }, icmpv6())), 1, 58, S.TruncatedIcmp],
  ];

  it.each(cases)('%s', (_name, frame, lt, need, status) => {
    expect(dec(frame, lt, need - 1)).toBe(status);
    const atBoundary = dec(frame, lt, need);
    expect(atBoundary).not.toBe(status);
    // Every cut shorter than the header fails somewhere at or before this layer.
    for (let len = 0; len < need; len++) expect(dec(frame, lt, len)).not.toBe(S.Ok);
  });

  it('an empty frame on every supported link type is a truncation, never Ok', () => {
    for (const lt of SUPPORTED_LINK_TYPES) {
      const s = decodeFrame(lt, new Uint8Array(0), 0, 0, out);
      expect([S.TruncatedLink, S.TruncatedIpv4, S.TruncatedIpv6]).toContain(s);
    }
  });

  it('IHL < 5 and total length < IHL are TruncatedIpv4', () => {
    expect(dec(ethernet(EtherType.IPv4, ipv4({ proto: 6, ihl: 4 }, tcp())))).toBe(S.TruncatedIpv4);
    expect(dec(ethernet(EtherType.IPv4, ipv4({ proto: 6, totalLength: 19 }, tcp())))).toBe(S.TruncatedIpv4);
    expect(dec(ethernet(EtherType.IPv4, ipv4({ proto: 6, options: bytes(4), totalLength: 22 }, tcp())))).toBe(S.TruncatedIpv4);
    // IHL 15 (60 bytes) in a 40-byte capture.
    expect(dec(ethernet(EtherType.IPv4, ipv4({ proto: 6, ihl: 15, totalLength: 80 }, tcp())))).toBe(S.TruncatedIpv4);
  });
});

describe('buffer discipline', () => {
  it('decodes a frame at an offset inside a larger buffer exactly as alone', () => {
    const f = ethernet(EtherType.IPv6, ipv6({ nextHeader: 6, extensions: [{ type: 0 }] }, tcp({ sport: 3, dport: 4 }, bytes(50))));
    dec(f);
    const alone = view();
    const big = concat(new Uint8Array(1000).fill(0xee), f, new Uint8Array(1000).fill(0xee));
    expect(decodeFrame(1, big, 1000, f.length, out)).toBe(S.Ok);
    expect(view()).toEqual(alone);
  });

  it('never reads past buf.length even when caplen claims more', () => {
    const f = ethIpv4Tcp({}, bytes(100));
    expect(decodeFrame(1, f, 0, f.length + 5000, out)).toBe(S.Ok);
    expect(out.payloadBytes).toBe(100);
    expect(decodeFrame(1, f, 0, 40, out)).toBe(S.TruncatedTcp);
    expect(decodeFrame(1, f, 10, 1 << 30, out)).not.toBe(S.Ok);
    expect(decodeFrame(1, f, f.length + 10, 100, out)).toBe(S.TruncatedLink);
    expect(decodeFrame(1, f, -4, 100, out)).toBe(S.TruncatedLink);
  });

  it('resets every field between packets', () => {
    dec(ethIpv4Tcp({ flags: Flags.SYN, seq: 99, ack: 5, window: 5 }, bytes(9)));
    dec(ethernet(EtherType.IPv4, ipv4({ proto: IpProto.GRE, mf: true }, bytes(4))));
    const fresh = view(new DecodedPacket());
    expect(view()).toEqual({
      ...fresh,
      ipVersion: 4,
      proto: 47,
      srcAddr: [V4_SRC, 0, 0, 0],
      dstAddr: [V4_DST, 0, 0, 0],
      ipOffset: 14,
      ipHeaderBytes: 20,
      ipTotalBytes: 24,
      payloadBytes: 4,
      payloadOffset: 34,
      isFragment: 1,
    });
    dec(ethernet(EtherType.IPv6, udpV6(), { vlans: [{ vid: 1 }] }));
    dec(ethernet(EtherType.ARP, arp()));
    expect(view()).toEqual(fresh);
  });

  it('every status has a counter name', () => {
    for (const code of Object.values(DecodeStatus)) expect(DECODE_STATUS_NAMES[code]).toMatch(/^decode\./);
  });
});

describe('formatIpv4 / formatIpv6', () => {
  it('formats IPv4 words', () => {
    expect(formatIpv4(ipv4Word('192.168.1.10'))).toBe('192.168.1.10');
    expect(formatIpv4(0)).toBe('0.0.0.0');
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
    expect(formatIpv4(-1)).toBe('255.255.255.255');
  });

  it.each([
    ['::', '0:0:0:0:0:0:0:0'],
    ['::1', '0:0:0:0:0:0:0:1'],
    ['2001:db8::1', '2001:0db8:0:0:0:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not compressed
    ['2001:0:0:1::1', '2001:0:0:1:0:0:0:1'], // the longest run
    ['2001:db8::1:0:0:1', '2001:db8:0:0:1:0:0:1'], // the first on a tie
    ['fe80::', 'fe80:0:0:0:0:0:0:0'],
    ['fd00::abcd:ef01', 'fd00::ABCD:EF01'],
    ['::ffff:a00:1', '::ffff:10.0.0.1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ])('%s', (expected, input) => {
    expect(formatIpv6(Uint32Array.from(ipv6Words(input)))).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Cross-check against tshark

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
const REF = '/work/shared/reference';
const CORPUS = '/work/shared/corpus';

interface TsharkRow {
  ipSrc: string;
  ipDst: string;
  ip6Src: string;
  ip6Dst: string;
  tcpSrc: string;
  tcpDst: string;
  udpSrc: string;
  udpDst: string;
  tcpLen: string;
}

/** First-occurrence (outermost) fields of every frame, with IP reassembly off so fragments stay apart. */
function tshark(path: string): TsharkRow[] {
  const fields = ['ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'tcp.len'];
  const args = ['-r', path, '-n', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-T', 'fields', '-E', 'occurrence=f'];
  for (const f of fields) args.push('-e', f);
  const text = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 });
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [ipSrc = '', ipDst = '', ip6Src = '', ip6Dst = '', tcpSrc = '', tcpDst = '', udpSrc = '', udpDst = '', tcpLen = ''] = l.split('\t');
      return { ipSrc, ipDst, ip6Src, ip6Dst, tcpSrc, tcpDst, udpSrc, udpDst, tcpLen };
    });
}

/**
 * Decode every packet of `path` and compare each Ok TCP/UDP packet with tshark: addresses, ports, and TCP
 * payload length (tshark's tcp.len is the captured length on whole packets, the IP-derived one on snaplen-cut
 * ones). Returns the per-status counts and how many packets were compared.
 */
function crossCheck(path: string): { counts: Record<string, number>; compared: number; tsharkPorts: number; problems: string[] } {
  const pcap = readPcapFile(path);
  const rows = tshark(path);
  expect(rows.length).toBe(pcap.records.length);
  const counts: Record<string, number> = {};
  const problems: string[] = [];
  let compared = 0;
  let tsharkPorts = 0;
  pcap.records.forEach((rec, i) => {
    const row = rows[i]!;
    if (row.tcpSrc !== '' || row.udpSrc !== '') tsharkPorts++;
    const s = decodeFrame(pcap.linkType, pcap.data, rec.offset, rec.caplen, out);
    const name = DECODE_STATUS_NAMES[s]!;
    counts[name] = (counts[name] ?? 0) + 1;
    if (s !== S.Ok || (out.proto !== 6 && out.proto !== 17)) return;
    const [tSrc, tDst] = out.proto === 6 ? [row.tcpSrc, row.tcpDst] : [row.udpSrc, row.udpDst];
    if (tSrc === '') {
      problems.push(`frame ${i + 1}: tshark found no ${out.proto === 6 ? 'TCP' : 'UDP'} header`);
      return;
    }
    compared++;
    const v4 = out.ipVersion === 4;
    const src = v4 ? formatIpv4(out.srcAddr[0]!) : formatIpv6(out.srcAddr);
    const dst = v4 ? formatIpv4(out.dstAddr[0]!) : formatIpv6(out.dstAddr);
    const got = `${src} ${dst} ${out.srcPort} ${out.dstPort}`;
    const want = `${v4 ? row.ipSrc : row.ip6Src} ${v4 ? row.ipDst : row.ip6Dst} ${tSrc} ${tDst}`;
    if (got !== want) problems.push(`frame ${i + 1}: ${got} != tshark ${want}`);
    if (out.proto === 6 && row.tcpLen !== '' && out.isFragment === 0) {
      const len = rec.caplen < rec.wirelen ? out.ipTotalBytes - out.ipHeaderBytes - out.l4HeaderBytes : out.payloadBytes;
      if (String(len) !== row.tcpLen) problems.push(`frame ${i + 1}: tcp payload ${len} != tshark tcp.len ${row.tcpLen}`);
    }
  });
  return { counts, compared, tsharkPorts, problems };
}

describe.skipIf(!hasTshark)('real captures vs tshark', () => {
  // Clean whole-packet captures: every packet decodes Ok and tshark agrees on every TCP/UDP one.
  it.each(['zeek-wikipedia.pcap', 'zeek-http-vlan.pcap', 'edge.pcap', 'cic2017-webattack-sqlinj.pcap', 'cic2017-wednesday-tls-flow.pcap'])(
    'reference/%s',
    (name) => {
      const path = join(REF, name);
      if (!existsSync(path)) return;
      const r = crossCheck(path);
      expect(r.problems).toEqual([]);
      expect(r.compared).toBe(r.tsharkPorts); // no TCP/UDP packet was missed
      expect(r.compared).toBeGreaterThan(0);
      const notOk = Object.entries(r.counts).filter(([k]) => k !== 'decode.ok' && k !== 'decode.non_ip');
      expect(notOk).toEqual([]);
    },
  );

  // Link layers, encapsulations and malformed packets from public test suites (skipped when absent).
  it.each([
    ['zeek/http-qinq-0.pcap', 14],
    ['zeek/vlan-qinqinq.pcap', 14],
    ['zeek/mixed-vlan-mpls.pcap', 47],
    ['zeek/mpls-in-vlan.pcap', 3],
    ['zeek/pppoe.pcap', 4],
    ['suricata-verify/pppoe-session-http.pcap', 30],
    ['zeek/linux_dlt_sll2.pcap', 0],
    ['suricata-verify/decode-sll2-01/input.pcap', 5],
    ['ndpi/KakaoTalk_chat.pcap', 346],
    ['ndpi/codm.pcap', 13],
    ['nfstream/raw.pcap', 1],
    ['ndpi/rdp.pcap', 20],
    ['suricata-verify/flow-test-01.pcap', 7],
    ['suricata-verify/frag-ip-tcp.pcap', 1],
    ['zeek/ipv6-http-atomic-frag.pcap', 36],
    ['zeek/ipv6-fragmented-dns.pcap', 5],
    ['zeek/ipv4/fragmented-4.pcap', 3],
    ['zeek/communityid/tcp.pcap', 12],
    ['zeek/tcp/truncated-header.pcap', 24],
    ['zeek/tunnels/Teredo.pcap', 78],
    ['zeek/tunnels/vxlan.pcap', 10],
    ['tcpreplay/test.pcap', 144],
    ['ndpi/fuzz-2006-06-26-2594.pcap', 572],
  ])('corpus/%s', (name, expectCompared) => {
    const path = join(CORPUS, name);
    if (!existsSync(path)) return;
    const r = crossCheck(path);
    expect(r.problems).toEqual([]);
    expect(r.compared).toBe(expectCompared);
  });

  describe('hand-built frames written to pcap', () => {
    const dir = mkdtempSync(join(tmpdir(), 'decode-test-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const sets: [string, number, Uint8Array[]][] = [
      [
        'ethernet',
        LinkType.EN10MB,
        [
          ethIpv4Tcp({ options: TCP_SYN_OPTIONS, flags: Flags.SYN }),
          ethernet(EtherType.IPv4, tcpV4(0), { padTo: 60 }),
          ethernet(EtherType.IPv4, tcpV4(10), { vlans: [{ tpid: EtherType.QinQ, vid: 10 }, { vid: 20 }] }),
          ethernet(EtherType.MPLS, mpls([16, 17], tcpV4(10))),
          ethernet(EtherType.MPLS, mpls([16], udpV6(7))),
          ethernet(EtherType.PPPoESession, pppoeSession(PppProto.IPv4, tcpV4(10))),
          ethernet(EtherType.PPPoESession, pppoeSession(PppProto.IPv6, udpV6(3))),
          ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.TCP, extensions: [{ type: 0 }, { type: 60 }, { type: 51 }] }, tcp({}, bytes(9)))),
          ethIpv4Udp({ sport: 1, dport: 2 }, bytes(20)),
        ],
      ],
      ['sll', LinkType.LINUX_SLL, [sll(EtherType.IPv4, tcpV4(10)), sll(EtherType.IPv6, udpV6(1))]],
      ['sll2', LinkType.LINUX_SLL2, [sll2(EtherType.IPv4, tcpV4(10)), sll2(EtherType.IPv6, udpV6(1))]],
      ['null', LinkType.NULL, [bsdNull(2, tcpV4(1)), bsdNull(2, tcpV4(2), 'be'), bsdNull(30, udpV6(3)), bsdNull(24, udpV6(4), 'be')]],
      ['loop', LinkType.LOOP, [bsdLoop(2, tcpV4(1)), bsdLoop(24, udpV6(2))]],
      ['raw', LinkType.RAW, [tcpV4(1), udpV6(2)]],
      ['ipv4', LinkType.IPV4, [tcpV4(5)]],
      ['ipv6', LinkType.IPV6, [udpV6(5)]],
    ];
    it.each(sets)('%s', (name, lt, frames) => {
      const path = join(dir, `${name}.pcap`);
      writeFileSync(path, writePcap(lt, frames));
      const r = crossCheck(path);
      expect(r.problems).toEqual([]);
      expect(r.compared).toBe(frames.length);
    });
  });
});
