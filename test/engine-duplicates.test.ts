/**
 * A capture in which every packet was recorded twice (as `pending/cic2019-webddos.pcap` of the shared references:
 * a SPAN port that saw each frame on two links). The teardown then carries two copies of each FIN, and CICFlowMeter
 * master's FIN rule (CIC-FEATURES.md §4) decides which flow each copy lands in: the second forward FIN is dropped,
 * the first backward FIN closes the flow, and its copy opens a "tail" flow oriented from the server.
 * Expected values are worked out below from those rules, packet by packet.
 */
import { describe, expect, it } from 'vitest';
import { ethIpv4Tcp, Flags } from './helpers/frames.js';
import { bwdPackets, fwdPackets, runEngine, type TimedFrame } from './engine-harness.js';

const T0 = 1_543_665_889_318_554; // 2018-12-01 12:04:49.318554 UTC, the slice's first packet
const C = { ip: '172.16.0.5', port: 52003 };
const S = { ip: '192.168.50.1', port: 80 };

/** One packet of the connection, sent by the client (`fromClient`) or the server, at T0 + `dt` µs. */
function pkt(dt: number, fromClient: boolean, flags: number, payload = 0, seq = 1000, ack = 5000): TimedFrame {
  const [a, b] = fromClient ? [C, S] : [S, C];
  return {
    tsUs: T0 + dt,
    data: ethIpv4Tcp({ sport: a.port, dport: b.port, flags, seq: fromClient ? seq : ack, ack: fromClient ? ack : seq }, new Uint8Array(payload), { src: a.ip, dst: b.ip }),
  };
}

/** The connection as the slice has it (times in µs from its SYN); each packet followed by its copy 1-3 µs later. */
const ONCE: [number, number, boolean, number, number][] = [
  // [time, copy's time, from client, flags, payload]
  [0, 1, true, Flags.SYN, 0],
  [119, 120, false, Flags.SYN | Flags.ACK, 0],
  [259, 260, true, Flags.ACK, 0],
  [665, 667, true, Flags.ACK | Flags.PSH, 590],
  [774, 776, false, Flags.ACK, 0],
  [1132, 1133, false, Flags.ACK | Flags.PSH, 1073],
  [1233, 1234, true, Flags.ACK, 0],
  [4_517_500, 4_517_501, true, Flags.ACK | Flags.FIN, 0], // the client closes first
  [4_517_649, 4_517_652, false, Flags.ACK | Flags.FIN, 0],
  [4_517_704, 4_517_752, true, Flags.ACK, 0], // the last ACK (the slice's copy is 48 µs later)
];
const TWICE: TimedFrame[] = ONCE.flatMap(([t, t2, c, f, n]) => [pkt(t, c, f, n), pkt(t2, c, f, n)]);

describe('every packet captured twice', () => {
  it('cic: the copy of the client FIN is dropped, the server FIN closes, its copy starts a tail flow', () => {
    const r = runEngine('cic', TWICE);
    expect(r.packets).toBe(20);
    // Flow 1, forward = the client (first SYN). Client: SYN, SYN, ACK, ACK, PSH, PSH, ACK, ACK, FIN = 9 (the FIN's
    // copy is a second forward FIN: dropped). Server: SYN-ACK ×2, ACK ×2, PSH ×2, FIN = 7 (the first backward FIN
    // is added and closes the flow at once: 1 + 1 == 2 under the Bwd+Bwd typo).
    // Flow 2, forward = the server (its FIN's copy at 4,517,652 opens it): then the two last ACKs from the client
    // are backward packets, added because the flow has no backward FIN yet. 3 packets, written at end of input.
    expect(r.flows.map((f) => [f.id.flowId, fwdPackets(f), bwdPackets(f)])).toEqual([
      ['172.16.0.5-192.168.50.1-52003-80-6', 9, 7],
      ['192.168.50.1-172.16.0.5-80-52003-6', 1, 2],
    ]);
    const [main, tail] = r.flows as [(typeof r.flows)[0], (typeof r.flows)[0]];
    expect(main.f['Flow Duration']).toBe(4_517_649); // the first server FIN - the first SYN
    expect(main.f['Total Length of Fwd Packet']).toBe(2 * 590);
    expect(main.f['Total Length of Bwd Packet']).toBe(2 * 1073);
    expect(main.f['Fwd Header Length']).toBe(9 * 20); // TCP headers without options
    expect(main.f['Bwd Header Length']).toBe(7 * 20);
    // Backward times 119, 120, 774, 776, 1132, 1133, 4,517,649: gaps 1, 654, 2, 356, 1, 4,516,516.
    expect(main.f['Bwd IAT Total']).toBe(4_517_649 - 119);
    expect(main.f['Bwd IAT Max']).toBe(4_516_516);
    expect(main.f['Bwd IAT Min']).toBe(1);
    expect(main.f['FIN Flag Count']).toBe(2); // the dropped copy is not counted
    expect(tail.f['Flow Duration']).toBe(4_517_752 - 4_517_652);
    expect(tail.f['Bwd IAT Total']).toBe(48);
    expect(tail.f['Fwd Header Length']).toBe(20);
    expect(tail.f['Bwd Header Length']).toBe(40);
    expect(r.reasons['flow.cic_dropped_fin']).toBe(1);
    expect(r.packetsInWrittenFlows + r.reasons['flow.cic_dropped_fin']!).toBe(20);
  });

  it('cic, the server closing first: its FIN closes, the copy opens a flow the client FIN closes', () => {
    // Swap who sends the first FIN: server FIN (closes flow 1), its copy (opens flow 2, forward = server), client
    // FIN (a backward FIN in flow 2: added, closes it: 2 packets, written), its copy (opens flow 3, forward =
    // client) and the server's last ACKs (backward, added: 3 packets at end of input).
    const serverFirst = TWICE.slice(0, 14).concat([
      pkt(5_000_000, false, Flags.ACK | Flags.FIN), pkt(5_000_002, false, Flags.ACK | Flags.FIN),
      pkt(5_000_181, true, Flags.ACK | Flags.FIN), pkt(5_000_182, true, Flags.ACK | Flags.FIN),
      pkt(5_000_289, false, Flags.ACK), pkt(5_000_291, false, Flags.ACK),
    ]);
    const r = runEngine('cic', serverFirst);
    expect(r.flows.map((f) => [f.id.flowId, fwdPackets(f), bwdPackets(f), f.f['Flow Duration']])).toEqual([
      ['172.16.0.5-192.168.50.1-52003-80-6', 8, 7, 5_000_000],
      ['192.168.50.1-172.16.0.5-80-52003-6', 1, 1, 179],
      ['172.16.0.5-192.168.50.1-52003-80-6', 1, 2, 109],
    ]);
    expect(r.reasons['flow.cic_dropped_fin']).toBe(0);
  });

  it('cic2017: the first FIN ends the flow; the copies form a 2-packet and a 3-packet tail', () => {
    const r = runEngine('cic2017', TWICE);
    // Flow 1 ends at the client's first FIN (added): client 9, server 6. Its copy opens flow 2 (forward = client),
    // which the server's FIN ends (2 packets). The server FIN's copy opens flow 3 with the last two ACKs.
    expect(r.flows.map((f) => [fwdPackets(f), bwdPackets(f), f.f['Flow Duration']])).toEqual([
      [9, 6, 4_517_500],
      [1, 1, 4_517_649 - 4_517_501],
      [1, 2, 4_517_752 - 4_517_652],
    ]);
  });

  it('fixed: no FIN is dropped and the teardown stays in one flow', () => {
    const r = runEngine('fixed', TWICE);
    expect(r.flows.map((f) => [fwdPackets(f), bwdPackets(f)])).toEqual([[12, 8]]);
  });
});
