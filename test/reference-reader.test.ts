// decode/reference-reader.ts: each reading of a frame by the reference tools' packet library is a status of its own,
// so a frame is counted once. The flows these readings make are tested in reference-packet-reading.test.ts.
import { describe, expect, it } from 'vitest';
import { DecodedPacket } from '../src/decode/packet.js';
import { readAsFragment, readFrame, readIntoFlow, ReadStatus, READ_STATUS_NAMES, type ReadingRules } from '../src/decode/reference-reader.js';
import { getProfile, type ProfileName } from '../src/features/profiles.js';
import { arp, ethernet, EtherType, icmp, IpProto, ipv4, ipv6, mpls, udp } from './helpers/frames.js';

function rules(profile: ProfileName, ipv6 = false): ReadingRules {
  const r = getProfile(profile).rules;
  return { readsFrameStartAsIpv4: r.readsFrameStartAsIpv4, icmpErrorsJoinQuotedFlow: r.icmpErrorsJoinQuotedFlow, dropsMiddleFragments: r.dropsMiddleFragments, ipv6 };
}

function read(frame: Uint8Array, profile: ProfileName, ipv6 = false): { status: ReadStatus; pkt: DecodedPacket } {
  const pkt = new DecodedPacket();
  return { status: readFrame(1, frame, 0, frame.length, pkt, rules(profile, ipv6)), pkt };
}

const name = (s: ReadStatus): string => READ_STATUS_NAMES[s]!;

describe('reference reader: one status per frame', () => {
  it('a plain UDP packet is Ok in every profile', () => {
    const frame = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.UDP }, udp({ sport: 5000, dport: 53 }, [1, 2])));
    for (const p of ['cic', 'fixed', 'cic2017'] as const) expect(name(read(frame, p).status)).toBe('decode.ok');
  });

  it('ARP: the frame start read as IPv4 in cic/cic2017 (into a flow), not IP in fixed (decode.non_ip)', () => {
    const frame = ethernet(EtherType.ARP, arp(), { dst: '78:f8:82:d3:fb:c2', src: '00:c0:ca:91:a3:ef' });
    const cic = read(frame, 'cic');
    expect(name(cic.status)).toBe('flow.frame_start_as_ipv4');
    // Bytes 6-7 (the source MAC's 00:c0) read as flags and fragment offset 192: a fragment, no transport header.
    expect([readIntoFlow(cic.status), readAsFragment(cic.status, cic.pkt)]).toEqual([true, true]);
    const fixed = read(frame, 'fixed');
    expect(name(fixed.status)).toBe('decode.non_ip');
    expect(readIntoFlow(fixed.status)).toBe(false);
  });

  it('IPv6: flow.ipv6_disabled unless IPv6 flows are on (then Ok, read by our decoder)', () => {
    const frame = ethernet(EtherType.IPv6, ipv6({ nextHeader: IpProto.UDP }, udp({ sport: 5353, dport: 5353 }, [1])));
    expect(name(read(frame, 'fixed').status)).toBe('flow.ipv6_disabled');
    expect(name(read(frame, 'fixed', true).status)).toBe('decode.ok');
    expect(name(read(frame, 'cic', true).status)).toBe('decode.ok');
  });

  it('IPv4 behind MPLS is IP to us, not to the references: flow.not_ipv4_for_reference', () => {
    const frame = ethernet(EtherType.MPLS, mpls([16], ipv4({ proto: IpProto.UDP }, udp({ sport: 1, dport: 2 }, [0]))));
    for (const p of ['cic', 'fixed'] as const) {
      const { status } = read(frame, p);
      expect(name(status)).toBe('flow.not_ipv4_for_reference');
      expect(readIntoFlow(status)).toBe(false);
    }
  });

  it('a middle fragment (MF set) is placed in a flow by master and the 2017 build, counted as a fragment by the fork', () => {
    const frame = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.UDP, mf: true, fragOffset: 8 }, new Uint8Array(16)));
    const cic = read(frame, 'cic2017');
    expect(name(cic.status)).toBe('flow.fragments_in_flows');
    expect([readIntoFlow(cic.status), readAsFragment(cic.status, cic.pkt)]).toEqual([true, true]);
    expect(name(read(frame, 'fixed').status)).toBe('decode.ip.fragment');
    // The last fragment (MF clear): in a flow in every profile.
    const last = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.UDP, fragOffset: 8 }, new Uint8Array(16)));
    expect(name(read(last, 'fixed').status)).toBe('flow.fragments_in_flows');
  });

  it('an ICMP port unreachable quoting UDP joins the quoted flow in cic/cic2017, stays ICMP (Ok) in fixed', () => {
    const quoted = ipv4({ proto: IpProto.UDP, src: '10.0.0.2', dst: '10.0.0.1' }, udp({ sport: 5000, dport: 53 }, [1, 2, 3, 4]));
    const frame = ethernet(EtherType.IPv4, ipv4({ proto: IpProto.ICMP, src: '10.0.0.1', dst: '10.0.0.2' }, icmp({ type: 3, code: 3 }, quoted)));
    const cic = read(frame, 'cic');
    expect(name(cic.status)).toBe('flow.icmp_quote_as_transport');
    expect([cic.pkt.proto, cic.pkt.srcPort, cic.pkt.dstPort]).toEqual([IpProto.UDP, 5000, 53]);
    const fixed = read(frame, 'fixed');
    expect(name(fixed.status)).toBe('decode.ok');
    expect(fixed.pkt.proto).toBe(IpProto.ICMP);
  });

  it('every status has its own counter name', () => {
    expect(new Set(READ_STATUS_NAMES).size).toBe(READ_STATUS_NAMES.length);
    expect(READ_STATUS_NAMES.length).toBe(ReadStatus.NotIpv4ForReference + 1);
  });
});
