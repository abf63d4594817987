/**
 * One test per profile difference of CIC-FEATURES.md §6 (the bugs, per version) and §9 (the 2017 build): frames
 * built by hand, fed straight to the engine, one rule checked in every profile it separates. The expected values
 * come from the rule as the document states it, worked out in the comments.
 */
import { describe, expect, it } from 'vitest';
import { ethIpv4Tcp, ethIpv4Udp, Flags } from './helpers/frames.js';
import { bwdPackets, fwdPackets, runEngine, type TimedFrame, type WrittenFlow } from './engine-harness.js';

const T0 = 1_700_000_000_000_000; // 2023-11-14 22:13:20 UTC
const C = { ip: '10.0.0.1', port: 40000 };
const S = { ip: '10.0.0.2', port: 80 };
const { SYN, ACK, FIN, RST, PSH, URG } = Flags;

/** A TCP packet at T0 + `ms` milliseconds, from the client (`c`) or the server. */
function tcp(ms: number, c: boolean, flags: number, payload = 0, window = 1000): TimedFrame {
  const [a, b] = c ? [C, S] : [S, C];
  return { tsUs: T0 + ms * 1000, data: ethIpv4Tcp({ sport: a.port, dport: b.port, flags, window }, new Uint8Array(payload), { src: a.ip, dst: b.ip }) };
}
function udp(ms: number, c: boolean, payload: number): TimedFrame {
  const [a, b] = c ? [C, S] : [S, C];
  return { tsUs: T0 + ms * 1000, data: ethIpv4Udp({ sport: a.port, dport: b.port }, new Uint8Array(payload), { src: a.ip, dst: b.ip }) };
}
const HANDSHAKE = [tcp(0, true, SYN), tcp(1, false, SYN | ACK), tcp(2, true, ACK)];
const counts = (flows: WrittenFlow[]): [number, number][] => flows.map((f) => [fwdPackets(f), bwdPackets(f)]);
/** A cell under its CICFlowMeter name or, for cic2017, the dataset's. */
const cell = (f: WrittenFlow, name: string, dataset = name): number => f.f[name] ?? f.f[dataset]!;

describe('flow end (§6 bugs 1, 2; §9.1)', () => {
  // Client FIN at 10 ms, server FIN at 11 ms, client's last ACK at 12 ms.
  const teardown = [...HANDSHAKE, tcp(10, true, FIN | ACK), tcp(11, false, FIN | ACK), tcp(12, true, ACK)];

  it('cic: the first backward FIN ends the flow; the last ACK alone is a 1-packet flow, not written', () => {
    const r = runEngine('cic', teardown);
    expect(counts(r.flows)).toEqual([[3, 2]]);
    expect(r.reasons['flow.unwritten_packets']).toBe(1);
  });
  it('fixed: FIN, FIN, ACK only make the flow ready to end: one flow of 6', () => {
    expect(counts(runEngine('fixed', teardown).flows)).toEqual([[4, 2]]);
  });
  it('cic2017: the first FIN in either direction ends the flow; the rest is a 2-packet tail flow', () => {
    // Tail: the server FIN opens it (forward = server), the client ACK is backward.
    expect(counts(runEngine('cic2017', teardown).flows)).toEqual([[3, 1], [1, 1]]);
  });

  const reset = [...HANDSHAKE, tcp(10, false, RST), tcp(11, true, ACK), tcp(12, true, ACK)];
  it('RST: ends the flow at once (cic), marks it ready (fixed: later non-SYN packets still join), nothing (cic2017)', () => {
    expect(counts(runEngine('cic', reset).flows)).toEqual([[2, 2], [2, 0]]);
    expect(counts(runEngine('fixed', reset).flows)).toEqual([[4, 2]]);
    expect(counts(runEngine('cic2017', reset).flows)).toEqual([[4, 2]]);
  });
  it('fixed: after a RST the next SYN starts a new flow', () => {
    const r = runEngine('fixed', [...reset, tcp(20, true, SYN)]);
    expect(counts(r.flows)).toEqual([[4, 2], [1, 0]]);
  });
});

describe('which packets count (§6 bugs 3, 5, 6, 8, 10, 12)', () => {
  // Client: SYN, then PSH|URG with 100 bytes, then PSH with 50 bytes; server: SYN-ACK (window 700), ACK with
  // 300 bytes (window 900), ACK with 0 bytes (window 0).
  const data = [
    tcp(0, true, SYN),
    tcp(1, false, SYN | ACK, 0, 700),
    tcp(2, true, PSH | URG | ACK, 100),
    tcp(3, false, ACK, 300, 900),
    tcp(4, true, PSH | ACK, 50),
    tcp(5, false, ACK, 0, 0),
  ];
  const flow = (p: 'cic' | 'fixed' | 'cic2017'): WrittenFlow => runEngine(p, data).flows[0]!;

  it('bug 3: Fwd PSH/URG Flags look at the first packet only (cic, cic2017); the fork counts each packet', () => {
    for (const p of ['cic', 'cic2017'] as const) expect([flow(p).f['Fwd PSH Flags'], flow(p).f['Fwd URG Flags']]).toEqual([0, 0]);
    expect([flow('fixed').f['Fwd PSH Flags'], flow('fixed').f['Fwd URG Flags']]).toEqual([2, 1]);
  });
  it('bug 5: the first payload enters Packet Length twice (cic, cic2017): mean over 7 values, not 6', () => {
    // Payloads 0, 0, 100, 300, 50, 0: Σ 450. Twice-counted first payload (0): 450 / 7; once: 450 / 6 = 75.
    expect(flow('cic').f['Packet Length Mean']).toBeCloseTo(450 / 7, 12);
    expect(flow('cic2017').f['Packet Length Mean']).toBeCloseTo(450 / 7, 12);
    expect(flow('fixed').f['Packet Length Mean']).toBe(75);
  });
  it('bug 6: Down/Up Ratio is integer division in cic and cic2017, real in the fork', () => {
    const r = [...data, tcp(6, false, ACK)]; // 3 forward, 4 backward: 4 / 3
    expect(runEngine('cic', r).flows[0]!.f['Down/Up Ratio']).toBe(1);
    expect(runEngine('cic2017', r).flows[0]!.f['Down/Up Ratio']).toBe(1);
    expect(runEngine('fixed', r).flows[0]!.f['Down/Up Ratio']).toBeCloseTo(4 / 3, 12);
  });
  it('bug 8: Bwd Init Win Bytes is the last backward window (cic, cic2017), the first non-zero in the fork', () => {
    expect(cell(flow('cic'), 'Bwd Init Win Bytes')).toBe(0);
    expect(cell(flow('cic2017'), 'Bwd Init Win Bytes', 'Init_Win_bytes_backward')).toBe(0);
    expect(cell(flow('fixed'), 'Bwd Init Win Bytes')).toBe(700);
  });
  it('bug 12: Fwd Act Data Pkts leaves out the first packet (cic) and counts it in the fork', () => {
    const firstHasData = [tcp(0, true, PSH | ACK, 10), tcp(1, false, ACK), tcp(2, true, PSH | ACK, 20)];
    expect(runEngine('cic', firstHasData).flows[0]!.f['Fwd Act Data Pkts']).toBe(1);
    expect(runEngine('fixed', firstHasData).flows[0]!.f['Fwd Act Data Pkts']).toBe(2);
  });
  it('bug 10: a flow of one packet is written by the fork only', () => {
    const lone = [tcp(0, true, SYN)];
    expect(runEngine('cic', lone).flows).toEqual([]);
    expect(runEngine('cic2017', lone).flows).toEqual([]);
    expect(counts(runEngine('fixed', lone).flows)).toEqual([[1, 0]]);
  });
  it('the fork orients a flow that starts with a SYN-ACK from its destination', () => {
    const late = [tcp(0, false, SYN | ACK), tcp(1, true, ACK), tcp(2, true, ACK)];
    expect(runEngine('fixed', late).flows[0]!.id.srcIp).toBe(C.ip);
    expect(runEngine('cic', late).flows[0]!.id.srcIp).toBe(S.ip);
  });
});

describe('bulk and subflows (§6 bugs 7, 9; §9.4, §9.5)', () => {
  // Four forward packets of 100 bytes, 10 ms apart: one forward bulk of 400 bytes over 30 ms.
  const bulk = [tcp(0, true, ACK, 100), tcp(10, true, ACK, 100), tcp(20, true, ACK, 100), tcp(30, true, ACK, 100), tcp(40, false, ACK)];
  it('bug 7: master files a forward bulk under Bwd (long division); the fork under Fwd; cic2017 has none', () => {
    const cic = runEngine('cic', bulk).flows[0]!.f;
    expect([cic['Fwd Bytes/Bulk Avg'], cic['Bwd Bytes/Bulk Avg'], cic['Bwd Packet/Bulk Avg'], cic['Bwd Bulk Rate Avg']]).toEqual([0, 400, 4, Math.trunc(400 / 0.03)]);
    const fixed = runEngine('fixed', bulk).flows[0]!.f;
    expect([fixed['Fwd Bytes/Bulk Avg'], fixed['Fwd Bulk Rate Avg'], fixed['Bwd Bytes/Bulk Avg']]).toEqual([400, 400 / 0.03, 0]);
    const c17 = runEngine('cic2017', bulk).flows[0]!.f;
    expect([c17['Fwd Avg Bytes/Bulk'], c17['Bwd Avg Bytes/Bulk']]).toEqual([0, 0]);
  });
  it('subflows: 0 without a gap over 1 s (cic), totals/gaps with one (cic, fixed), the totals in cic2017', () => {
    const gap = [tcp(0, true, ACK, 10), tcp(1, false, ACK, 20), tcp(1500, true, ACK, 30)]; // one gap > 1 s
    expect(runEngine('cic', gap.slice(0, 2)).flows[0]!.f['Subflow Fwd Bytes']).toBe(0);
    // One gap: sfCount 1, so Subflow = total / 1. Forward bytes 10 + 30.
    expect(runEngine('cic', gap).flows[0]!.f['Subflow Fwd Bytes']).toBe(40);
    expect(runEngine('fixed', gap).flows[0]!.f['Subflow Fwd Bytes']).toBe(40);
    expect(runEngine('cic2017', gap.slice(0, 2)).flows[0]!.f['Subflow Fwd Bytes']).toBe(10);
  });
});

describe('the 2017 build (§9)', () => {
  it('§9.2: Flag Count columns from the first packet only, in the hash map order', () => {
    // First packet SYN: the SYN bit is printed under "PSH Flag Count"; the later ACKs are not counted.
    const f = runEngine('cic2017', HANDSHAKE).flows[0]!.f;
    expect([f['FIN Flag Count'], f['SYN Flag Count'], f['PSH Flag Count'], f['ACK Flag Count']]).toEqual([0, 0, 1, 0]);
    const cic = runEngine('cic', HANDSHAKE).flows[0]!.f;
    expect([cic['SYN Flag Count'], cic['ACK Flag Count']]).toEqual([2, 2]);
  });
  it('§9.7: the window columns are -1 when nothing set them (UDP); 0 in master', () => {
    const dns = [udp(0, true, 30), udp(1, false, 90)];
    const f = runEngine('cic2017', dns).flows[0]!.f;
    expect([f['Init_Win_bytes_forward'], f['Init_Win_bytes_backward']]).toEqual([-1, -1]);
    const cic = runEngine('cic', dns).flows[0]!.f;
    expect([cic['FWD Init Win Bytes'], cic['Bwd Init Win Bytes']]).toEqual([0, 0]);
  });
  it('§9.8: a same-host conversation is two flows (canonical Flow ID), one all-forward flow in master', () => {
    const local = (ms: number, c: boolean): TimedFrame => ({
      tsUs: T0 + ms * 1000,
      data: ethIpv4Tcp({ sport: c ? 40000 : 80, dport: c ? 80 : 40000 }, [], { src: '127.0.0.1', dst: '127.0.0.1' }),
    });
    const talk = [local(0, true), local(1, false), local(2, true), local(3, false)];
    expect(counts(runEngine('cic', talk).flows)).toEqual([[4, 0]]);
    expect(counts(runEngine('cic2017', talk).flows)).toEqual([[2, 0], [2, 0]]);
  });
  it('§9.6: Active/Idle: the 2017 build skips the 1 s subflow updates; an idle gap is recorded before a packet', () => {
    // Packets at 0, 6 s, 7.5 s: the gap 0→6 s (> 5 s) is an idle period in both; no active period before it.
    const slow = [tcp(0, true, ACK), tcp(6000, false, ACK), tcp(7500, true, ACK)];
    for (const p of ['cic', 'cic2017'] as const) {
      const f = runEngine(p, slow).flows[0]!.f;
      expect([f['Idle Mean'], f['Active Mean']]).toEqual([6e6, 0]);
    }
  });
});

describe('timeout split (§4, §9.8) and rates at zero duration (§1)', () => {
  it('after 120 s the new flow counts its first packet as forward in cic and cic2017; the fork keeps directions', () => {
    const long = [tcp(0, true, ACK), tcp(1, false, ACK), tcp(121_000, false, ACK), tcp(121_001, true, ACK)];
    expect(counts(runEngine('cic', long).flows)).toEqual([[1, 1], [2, 0]]);
    expect(counts(runEngine('cic2017', long).flows)).toEqual([[1, 1], [2, 0]]);
    expect(counts(runEngine('fixed', long).flows)).toEqual([[1, 1], [1, 1]]);
  });
  it('Flow Bytes/s at zero duration: Infinity in master, -1 in the fork', () => {
    const same = [tcp(0, true, ACK, 10), tcp(0, false, ACK, 10)];
    expect(runEngine('cic', same).flows[0]!.f['Flow Bytes/s']).toBe(Infinity);
    expect(runEngine('fixed', same).flows[0]!.f['Flow Bytes/s']).toBe(-1);
  });
});
