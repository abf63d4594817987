/**
 * Profile `cic`: CICFlowMeter master (ahlashkari 98a5eba, jnetpcap 1.4.r1425), bugs included: 84 columns.
 * CIC-FEATURES.md §4 (its FIN/RST logic) and §6 (the bugs present in "CIC-orig HEAD").
 */
import { S } from '../flow-state.js';
import { ACTIVE_IDLE, BULK_SUBFLOW, CIC_IDENTITY, columns, HEAD, MID } from './columns.js';
import { BulkRule, Teardown, type Profile } from './profile.js';
import {
  CIC_TAIL, row, writeBulk, writeFlagCounts, writeHeadersRatesLengths, writeMasterRatesAndIats, writeRatios, writeSubflows,
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
  writeRow(st, b, features, kinds, off) {
    const r = row.at(features, kinds, off);
    writeMasterRatesAndIats(r, st, b);
    writeHeadersRatesLengths(r, st, b);
    writeFlagCounts(r, st, b);
    writeRatios(r, st, b, false);
    writeBulk(r, st, b + S.FBULK_DUR, true);
    writeBulk(r, st, b + S.BBULK_DUR, true);
    writeSubflows(r, st, b, true);
    r.ints(st, b, CIC_TAIL);
    r.activeStats(st, b + S.ACTIVE);
    r.activeStats(st, b + S.IDLE);
  },
};
