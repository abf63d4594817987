/**
 * The Java CICFlowMeters' packet reading (jnetpcap 1.4 + CICFlowMeter's PacketReader), as the profiles reproduce
 * it, on hand-built frames: each rule named in README "Feature profiles" and found on nDPI's captures
 * (test/parity-ndpi.test.ts checks them against the reference CSVs). Frames go through the real engine.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { getProfile, type ProfileName } from '../src/features/profiles.js';
import type { FlowRows } from '../src/sinks/flow-rows.js';
import { flowIdentity } from '../src/features/identity-text.js';
import { arp, concat, ethernet, EtherType, Flags, hex, icmp, IpProto, ipv4, ipv6, mpls, tcp, udp } from './helpers/frames.js';

const T0 = 1_600_000_000_000_000;

interface Flow {
  id: string;
  protocol: number;
  f: Record<string, number>;
}

/** Replay `frames` (Ethernet) through an engine in `profile`; every written flow with its cells by name. */
function run(profile: ProfileName, frames: { data: Uint8Array; tsUs: number }[]): { flows: Flow[]; info: Record<string, number>; reasons: Record<string, number> } {
  const p = getProfile(profile);
  const names = p.columns.featureNames;
  const batches: FlowRows[] = [];
  const engine = new Engine({
    profile: p,
    flowTimeoutUs: 120e6,
    activityTimeoutUs: 5e6,
    maxFlows: 64,
    batchSize: 16,
    portAwareDirection: false,
    ipv6: false,
    idleTimeoutUs: 0,
    onFlows: (rows) => batches.push(rows),
  });
  const data = concat(...frames.map((f) => f.data));
  const meta = new Float64Array(frames.length * 6);
  let off = 0;
  frames.forEach((f, i) => {
    meta.set([Math.floor(f.tsUs / 1e6), (f.tsUs % 1e6) * 1000, f.data.length, f.data.length, off, 1], i * 6);
    off += f.data.length;
  });
  engine.ingestBatch(1, data, meta, frames.length);
  engine.finish();
  const flows: Flow[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.count; i++) {
      const f: Record<string, number> = {};
      names.forEach((n, j) => {
        if (!(n in f)) f[n] = b.features[i * names.length + j]!;
      });
      flows.push({ id: flowIdentity(b, i, p.columns.identityFormat).flowId, protocol: b.protocols[i]!, f });
    }
  }
  const a = engine.accounting();
  return { flows, info: a.info, reasons: a.packetsNotInWrittenFlows };
}

const at = (i: number, data: Uint8Array): { data: Uint8Array; tsUs: number } => ({ data, tsUs: T0 + i * 1000 });
const CIC = ['cic', 'cic2017'] as const;
const ALL = ['cic', 'fixed', 'cic2017'] as const;
const fwdPackets = (f: Flow): number => f.f['Total Fwd Packet'] ?? f.f['Total Fwd Packets']!;
const fwdBytes = (f: Flow): number => f.f['Total Length of Fwd Packet'] ?? f.f['Total Length of Fwd Packets']!;
/** The 2017 build prints a canonical Flow ID (endpoints ordered): compare either orientation. */
const unordered = (id: string): string => {
  const [a, b, c, d, e] = id.split('-');
  return a! < b! ? id : [b, a, d, c, e].join('-');
};
const bwdPackets = (f: Flow): number => f.f['Total Bwd packets'] ?? f.f['Total Backward Packets']!;

describe('the frame start read as an IPv4 header (CICFlowMeter master and the 2017 build)', () => {
  // ARP from 02:..:01, destination MAC first byte 0x78: "IHL" 8 (32 bytes), so bytes 12-19 are the addresses.
  const arpTo = (dst: string, padTo?: number): Uint8Array => ethernet(EtherType.ARP, arp(), { dst, src: '00:c0:ca:91:a3:ef', ...(padTo ? { padTo } : {}) });

  it('ARP frames become a protocol-0 flow 8.6.0.1 -> 8.0.6.4 (ethertype and ARP header as addresses)', () => {
    for (const profile of CIC) {
      const r = run(profile, [at(0, arpTo('78:f8:82:d3:fb:c2')), at(1, arpTo('78:f8:82:d3:fb:c2'))]);
      expect(r.flows.map((f) => [f.id.startsWith('8.6.0.1-8.0.6.4') || f.id.startsWith('8.0.6.4-8.6.0.1'), f.protocol, fwdPackets(f)])).toEqual([[true, 0, 2]]);
      expect(r.info['flow.frame_start_as_ipv4']).toBe(2);
    }
    expect(run('fixed', [at(0, arpTo('78:f8:82:d3:fb:c2')), at(1, arpTo('78:f8:82:d3:fb:c2'))]).flows).toEqual([]);
  });

  it('needs IHL >= 5 at byte 0, and a header that fits the frame when the MF bit (byte 6) is set', () => {
    // 00:..: IHL 0. ff:.. broadcast: IHL 15 = 60 bytes > a 42-byte frame; src MAC byte 0 = 0x78 sets MF.
    const ihl0 = ethernet(EtherType.ARP, arp(), { dst: '00:c0:ca:91:5a:01', src: '00:c0:ca:91:a3:ef' });
    const longMf = ethernet(EtherType.ARP, arp(), { dst: 'ff:ff:ff:ff:ff:ff', src: '78:f8:82:d3:fb:c2' });
    const longNoMf = ethernet(EtherType.ARP, arp(), { dst: 'ff:ff:ff:ff:ff:ff', src: 'c4:61:8b:35:82:a9' });
    const r = run('cic', [at(0, ihl0), at(1, ihl0), at(2, longMf), at(3, longMf), at(4, longNoMf), at(5, longNoMf)]);
    expect(r.flows.map(fwdPackets)).toEqual([2]); // only the two MF-clear broadcasts
    expect(r.reasons['decode.non_ip']).toBe(4);
  });

  it('IPv6 frames are read the same way (ethertype 0x86dd -> source 134.221.x.x)', () => {
    const v6 = ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.UDP }, udp({ sport: 5353, dport: 5353 }, [1, 2, 3])), { dst: 'aa:db:03:af:c9:64' });
    for (const profile of CIC) {
      const r = run(profile, [at(0, v6), at(1, v6)]);
      expect(r.flows).toHaveLength(1);
      expect(r.flows[0]!.id.startsWith('134.221.')).toBe(true);
    }
    expect(run('fixed', [at(0, v6), at(1, v6)]).reasons['flow.ipv6_disabled']).toBe(2);
  });
});

describe('Ethernet trailer: the IP total length trims the frame only right after the Ethernet header', () => {
  const syn = (vlan: boolean): Uint8Array =>
    ethernet(EtherType.IPv4, ipv4({ proto: IpProto.TCP }, tcp({ sport: 40000, dport: 80, flags: Flags.ACK })), { padTo: vlan ? 64 : 60, ...(vlan ? { vlans: [{ vid: 7 }] } : {}) });
  it.each(ALL)('%s: a padded 60-byte frame has payload 0 untagged, the 6 padding bytes behind a VLAN tag', (profile) => {
    expect(fwdBytes(run(profile, [at(0, syn(false)), at(1, syn(false))]).flows[0]!)).toBe(0);
    expect(fwdBytes(run(profile, [at(0, syn(true)), at(1, syn(true))]).flows[0]!)).toBe(12);
  });
});

describe('IPv4 total length 0 (a TSO/GRO super-packet)', () => {
  const tso = (vlan: boolean): Uint8Array =>
    ethernet(EtherType.IPv4, ipv4({ proto: IpProto.TCP, totalLength: 0 }, tcp({ sport: 40000, dport: 443, flags: Flags.ACK }, new Uint8Array(3000))), vlan ? { vlans: [{ vid: 7 }] } : {});
  it.each(ALL)('%s: right after Ethernet, no TCP header: a protocol-0 packet between the same addresses', (profile) => {
    const r = run(profile, [at(0, tso(false)), at(1, tso(false))]);
    expect(r.flows.map((f) => [f.id, f.protocol])).toEqual([['10.0.0.1-10.0.0.2-0-0-0', 0]]);
  });
  it.each(ALL)('%s: behind a VLAN tag, TCP with the payload up to the end of the frame', (profile) => {
    const f = run(profile, [at(0, tso(true)), at(1, tso(true))]).flows[0]!;
    expect([f.protocol, f.f['Fwd Packet Length Max']]).toEqual([6, 3000]);
  });
});

describe('tunnels', () => {
  it.each(ALL)('%s: IPv4 in IPv4 is the outer addresses with the inner UDP ports and payload', (profile) => {
    const inner = ipv4({ proto: IpProto.UDP, src: '10.10.100.25', dst: '10.10.101.2' }, udp({ sport: 62367, dport: 17000 }, new Uint8Array(100)));
    const frame = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.IPIP, src: '69.67.35.146', dst: '41.202.46.110' }, inner));
    const f = run(profile, [at(0, frame), at(1, frame)]).flows[0]!;
    expect([unordered(f.id), f.f['Fwd Packet Length Max']]).toEqual([unordered('69.67.35.146-41.202.46.110-62367-17000-17'), 100]);
  });
  it.each(ALL)('%s: IPv4 in IPv6 is the inner IPv4 packet', (profile) => {
    const inner = ipv4({ proto: IpProto.TCP, src: '192.168.0.1', dst: '10.10.10.1' }, tcp({ sport: 64455, dport: 443, flags: Flags.ACK }, [1, 2, 3]));
    const frame = ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.IPIP }, inner));
    const r = run(profile, [at(0, frame), at(1, frame)]);
    expect(r.flows.map((f) => unordered(f.id))).toEqual([unordered('192.168.0.1-10.10.10.1-64455-443-6')]);
  });
  it('IPv4 behind MPLS is not IP to the references: counted, in no flow', () => {
    const frame = ethernet(EtherType.MPLS, mpls([16], ipv4({ proto: IpProto.UDP }, udp({ sport: 1, dport: 2 }))), { dst: '00:00:00:00:00:01' });
    const r = run('fixed', [at(0, frame), at(1, frame)]);
    expect([r.flows.length, r.reasons['flow.not_ipv4_for_reference']]).toEqual([0, 2]);
  });
});

describe('malformed headers the Java side throws on', () => {
  it.each(ALL)('%s: a TCP data offset longer than the IP total length allows: the packet is not TCP', (profile) => {
    const ok = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.TCP }, tcp({ sport: 40000, dport: 80, flags: Flags.ACK })), { padTo: 60 });
    const long = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.TCP }, tcp({ sport: 40000, dport: 80, flags: Flags.ACK, dataOffset: 10 })), { padTo: 60 });
    const tcpFlows = run(profile, [at(0, ok), at(1, long), at(2, ok)]).flows.filter((f) => f.protocol === 6);
    expect(tcpFlows.map((f) => fwdPackets(f) + bwdPackets(f))).toEqual([2]);
  });
  it('an Ethernet type 0x0800 frame is IPv4 whatever its version nibble', () => {
    const v2 = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.UDP, version: 2 }, udp({ sport: 1000, dport: 53 }, [1])));
    expect(run('cic', [at(0, v2), at(1, v2)]).flows.map((f) => f.id)).toEqual(['10.0.0.1-10.0.0.2-1000-53-17']);
  });
});

describe('flow rules', () => {
  it('cic: after a 120 s timeout the new flow\'s first packet counts as forward, whatever its direction', () => {
    const c = { src: '10.0.0.1', dst: '10.0.0.2' };
    const s = { src: '10.0.0.2', dst: '10.0.0.1' };
    const frame = (ip: typeof c, sport: number, dport: number): Uint8Array => ethernet(EtherType.IPv4, ipv4({ proto: IpProto.TCP, ...ip }, tcp({ sport, dport, flags: Flags.ACK, window: ip === c ? 100 : 200 })));
    const r = run('cic', [
      { data: frame(c, 40000, 80), tsUs: T0 },
      { data: frame(c, 40000, 80), tsUs: T0 + 1000 },
      { data: frame(s, 80, 40000), tsUs: T0 + 121e6 }, // starts the second flow, from the server
      { data: frame(s, 80, 40000), tsUs: T0 + 122e6 },
    ]);
    const second = r.flows.find((f) => f.f['Flow Duration'] === 1e6)!;
    expect(second.id.startsWith('10.0.0.1-10.0.0.2')).toBe(true); // the old orientation stays
    expect([fwdPackets(second), bwdPackets(second), second.f['FWD Init Win Bytes']]).toEqual([1, 1, 200]);
  });

  it('cic: an ICMP redirect is a protocol-0 packet; a destination unreachable joins the UDP flow it quotes', () => {
    const quoted = ipv4({ proto: IpProto.UDP, src: '10.0.0.2', dst: '10.0.0.9' }, udp({ sport: 5000, dport: 53 }, [1, 2]));
    const err = (type: number): Uint8Array => ethernet(EtherType.IPv4, ipv4({ proto: IpProto.ICMP, src: '10.0.0.1', dst: '10.0.0.2' }, icmp({ type }, quoted)));
    expect(run('cic', [at(0, err(5)), at(1, err(5))]).flows.map((f) => f.protocol)).toEqual([0]);
    expect(run('cic', [at(0, err(3)), at(1, err(3))]).flows.map((f) => f.id)).toEqual(['10.0.0.1-10.0.0.2-5000-53-17']);
  });

  it('cic2017: the subflow columns are the totals, or 0 for a flow that starts within 1 µs of the epoch', () => {
    const frame = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.UDP }, udp({ sport: 1000, dport: 53 }, [1, 2, 3])));
    const now = run('cic2017', [at(0, frame), at(1, frame)]).flows[0]!;
    const epoch = run('cic2017', [{ data: frame, tsUs: 0 }, { data: frame, tsUs: 500 }]).flows[0]!;
    expect([now.f['Subflow Fwd Packets'], now.f['Subflow Fwd Bytes']]).toEqual([2, 6]);
    expect([epoch.f['Subflow Fwd Packets'], epoch.f['Subflow Fwd Bytes']]).toEqual([0, 0]);
  });

  it('fixed: SCTP flows carry the SCTP ports, a 12-byte header and the rest as payload', () => {
    const sctp = concat(hex('4000 0b80 00000000 00000000'), new Uint8Array(80));
    const frame = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.SCTP }, sctp));
    const f = run('fixed', [at(0, frame)]).flows[0]!;
    expect([f.id, f.f['Fwd Header Length'], f.f['Total Length of Fwd Packet']]).toEqual(['10.0.0.1-10.0.0.2-16384-2944-132', 12, 80]);
  });

  it('fixed: a last fragment (MF clear) joins a protocol-0 flow, a middle one (MF set) does not', () => {
    const frag = (mf: boolean): Uint8Array => ethernet(EtherType.IPv4, ipv4({ proto: IpProto.UDP, fragOffset: 1480, mf }, new Uint8Array(20)));
    const r = run('fixed', [at(0, frag(false)), at(1, frag(true))]);
    expect([r.flows.map((f) => [f.protocol, fwdPackets(f)]), r.reasons['decode.ip.fragment']]).toEqual([[[0, 1]], 1]);
  });
});
