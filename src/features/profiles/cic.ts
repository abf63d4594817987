/**
 * Profile `cic`: CICFlowMeter master (ahlashkari 98a5eba, jnetpcap 1.4.r1425), bugs included: 84 columns.
 * CIC-FEATURES.md §4 (its FIN/RST logic) and §6 (the bugs present in "CIC-orig HEAD").
 */
import { S } from '../flow-state.js';
import { ACTIVE_IDLE, BULK_SUBFLOW, CIC_IDENTITY, columns, HEAD, MID } from './columns.js';
import { BulkRule, Teardown, type Profile } from './profile.js';
import {
  activeStats, CIC_TAIL, ints, writeBulk, writeFlagCounts, writeHeadersRatesLengths, writeMasterRatesAndIats, writeRatios,
  writeSubflows,
} from './row.js';

const FEATURES = [...HEAD, ...MID, ...BULK_SUBFLOW, 'FWD Init Win Bytes', 'Bwd Init Win Bytes', 'Fwd Act Data Pkts', 'Fwd Seg Size Min', ...ACTIVE_IDLE];

export const cic: Profile = {
  name: 'cic',
  rules: {
    teardown: Teardown.MasterFinTypo,
    writesSinglePacketFlows: false, // bug 10
    timeoutSplitFirstIsForward: true, // BasicFlow.firstPacket sets the source before the old one is restored
    synAckStartsReversed: false,
    flagCountsFromFirstPacketOnly: false,
    directionFlagsPerPacket: false, // bug 3
    firstPayloadTwice: true, // bug 5
    actDataCountsFirstPacket: false, // bug 12
    fixedBackwardColumns: false, // bug 8: Bwd Init Win Bytes is the last backward window
    tracksSubflows: true,
    bulk: BulkRule.AllBackward, // bug 7
    countsRetransmissions: false,
    carriesConnectionTime: false,
    noWindow: 0,
    keysByCanonicalFlowId: false,
    readsFrameStartAsIpv4: true,
    icmpErrorsJoinQuotedFlow: true,
    knowsIcmpIgmpSctp: false,
    dropsMiddleFragments: false,
  },
  columns: columns('cic', CIC_IDENTITY, FEATURES, 'NeedManualLabel', { timestamp: 'cic', canonicalFlowId: false }),
  writeRow(st, b, f, k, o) {
    o = writeMasterRatesAndIats(f, k, o, st, b);
    o = writeHeadersRatesLengths(f, k, o, st, b);
    o = writeFlagCounts(f, k, o, st, b);
    o = writeRatios(f, k, o, st, b, false);
    o = writeBulk(f, k, o, st, b + S.FBULK_DUR, true);
    o = writeBulk(f, k, o, st, b + S.BBULK_DUR, true);
    o = writeSubflows(f, k, o, st, b, true);
    o = ints(f, k, o, st, b, CIC_TAIL);
    o = activeStats(f, k, o, st, b + S.ACTIVE);
    activeStats(f, k, o, st, b + S.IDLE);
  },
};
