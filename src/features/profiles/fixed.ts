/**
 * Profile `fixed`: the corrected fork (GintsEngelen/CICFlowMeter 4dd5319, jnetpcap 1.4.r1500): 94 columns.
 * CIC-FEATURES.md §4 "CIC-fix (HEAD)" (its TCP state machine) and §6 (the bugs it fixed).
 */
import { S, Stat } from '../flow-state.js';
import { ACTIVE_IDLE, BULK_SUBFLOW, CIC_IDENTITY, columns, HEAD, MID } from './columns.js';
import { BulkRule, Teardown, type Profile } from './profile.js';
import {
  activeStats, dbl, FIXED_TAIL, int, ints, meanOrNaN, payloadBytes, PSH_URG, RETX, RST_FLAGS, std, writeBulk, writeCounts,
  writeFlagCounts, writeHeadersRatesLengths, writeIats, writeRatios, writeSubflows,
} from './row.js';

const FEATURES = [
  ...HEAD, 'Fwd RST Flags', 'Bwd RST Flags', ...MID, ...BULK_SUBFLOW,
  'FWD Init Win Bytes', 'Bwd Init Win Bytes', 'Fwd Act Data Pkts', 'Bwd Act Data Pkts', 'Fwd Seg Size Min', 'Bwd Seg Size Min',
  ...ACTIVE_IDLE, 'ICMP Code', 'ICMP Type', 'Fwd TCP Retrans. Count', 'Bwd TCP Retrans. Count', 'Total TCP Retrans. Count',
  'Total Connection Flow Time',
];

/** The fork prints 0 where Commons-Math gives NaN (an empty Flow IAT block). */
function nanTo0(v: number): number {
  return Number.isNaN(v) ? 0 : v;
}

export const fixed: Profile = {
  name: 'fixed',
  rules: {
    teardown: Teardown.StateMachine,
    writesSinglePacketFlows: true,
    timeoutSplitFirstIsForward: false, // a continuing connection keeps each packet's direction
    synAckStartsReversed: true,
    flagCountsFromFirstPacketOnly: false,
    directionFlagsPerPacket: true,
    firstPayloadTwice: false,
    actDataCountsFirstPacket: true,
    fixedBackwardColumns: true,
    tracksSubflows: true,
    bulk: BulkRule.Directional,
    countsRetransmissions: true,
    carriesConnectionTime: true,
    noWindow: 0,
    keysByCanonicalFlowId: false,
    readsFrameStartAsIpv4: false, // jnetpcap r1500 does it only rarely (README: known differences)
    icmpErrorsJoinQuotedFlow: false,
    knowsIcmpIgmpSctp: true,
    dropsMiddleFragments: true, // measured on 5 fuzzed packets
  },
  columns: columns('fixed', CIC_IDENTITY, FEATURES, 'NeedManualLabel', { timestamp: 'fixed', canonicalFlowId: false }),
  writeRow(st, b, f, k, o) {
    o = writeCounts(f, k, o, st, b);
    const dur = st[b + S.LAST]! - st[b + S.START]!;
    if (dur !== 0) {
      o = dbl(f, k, o, payloadBytes(st, b) / (dur / 1e6));
      o = dbl(f, k, o, st[b + S.PKTS]! / (dur / 1e6));
    } else {
      o = int(f, k, o, -1);
      o = int(f, k, o, -1);
    }
    const iat = b + S.FLOW_IAT;
    o = dbl(f, k, o, nanTo0(meanOrNaN(st, iat, Stat.MEAN)));
    o = dbl(f, k, o, nanTo0(std(st, iat)));
    o = dbl(f, k, o, nanTo0(meanOrNaN(st, iat, Stat.MAX)));
    o = dbl(f, k, o, nanTo0(meanOrNaN(st, iat, Stat.MIN)));
    o = writeIats(f, k, o, st, b);
    o = ints(f, k, o, st, b, PSH_URG);
    o = ints(f, k, o, st, b, RST_FLAGS);
    o = writeHeadersRatesLengths(f, k, o, st, b);
    o = writeFlagCounts(f, k, o, st, b);
    o = writeRatios(f, k, o, st, b, true);
    o = writeBulk(f, k, o, st, b + S.FBULK_DUR, false);
    o = writeBulk(f, k, o, st, b + S.BBULK_DUR, false);
    o = writeSubflows(f, k, o, st, b, false);
    o = ints(f, k, o, st, b, FIXED_TAIL);
    o = activeStats(f, k, o, st, b + S.ACTIVE);
    o = activeStats(f, k, o, st, b + S.IDLE);
    const icmp = st[b + S.PROTO] === 1;
    o = int(f, k, o, icmp ? st[b + S.ICMP_CODE]! : -1);
    o = int(f, k, o, icmp ? st[b + S.ICMP_TYPE]! : -1);
    o = ints(f, k, o, st, b, RETX);
    o = int(f, k, o, st[b + S.FWD_RETX]! + st[b + S.BWD_RETX]!);
    int(f, k, o, st[b + S.CUM_DURATION]!);
  },
};
