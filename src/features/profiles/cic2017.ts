/**
 * Profile `cic2017`: the February 2018 build (ahlashkari eaa853d) that produced the published CIC-IDS2017 rows: 85
 * columns under the dataset's names. CIC-FEATURES.md §9 lists how it differs from master.
 */
import { S } from '../flow-state.js';
import { ACTIVE_IDLE, columns, DATASET_IDENTITY, HEAD } from './columns.js';
import { BulkRule, Teardown, type Profile } from './profile.js';
import {
  activeStats, CIC_TAIL, int, ints, TOTALS, writeHeadersRatesLengths, writeMasterRatesAndIats, writeRatios, zeros,
} from './row.js';

/** The CIC-IDS2017 dataset's own names (the 2017 build's output, as published), `Fwd Header Length` twice. */
const FEATURES = [
  'Flow Duration', 'Total Fwd Packets', 'Total Backward Packets', 'Total Length of Fwd Packets', 'Total Length of Bwd Packets',
  ...HEAD.slice(5, 29), 'Fwd PSH Flags', 'Bwd PSH Flags', 'Fwd URG Flags', 'Bwd URG Flags',
  'Fwd Header Length', 'Bwd Header Length', 'Fwd Packets/s', 'Bwd Packets/s',
  'Min Packet Length', 'Max Packet Length', 'Packet Length Mean', 'Packet Length Std', 'Packet Length Variance',
  'FIN Flag Count', 'SYN Flag Count', 'RST Flag Count', 'PSH Flag Count', 'ACK Flag Count', 'URG Flag Count',
  'CWE Flag Count', 'ECE Flag Count', 'Down/Up Ratio', 'Average Packet Size', 'Avg Fwd Segment Size', 'Avg Bwd Segment Size',
  'Fwd Header Length', 'Fwd Avg Bytes/Bulk', 'Fwd Avg Packets/Bulk', 'Fwd Avg Bulk Rate', 'Bwd Avg Bytes/Bulk',
  'Bwd Avg Packets/Bulk', 'Bwd Avg Bulk Rate', 'Subflow Fwd Packets', 'Subflow Fwd Bytes', 'Subflow Bwd Packets',
  'Subflow Bwd Bytes', 'Init_Win_bytes_forward', 'Init_Win_bytes_backward', 'act_data_pkt_fwd', 'min_seg_size_forward',
  ...ACTIVE_IDLE,
];
/** The 2017 build prints its eight flag counters in a HashMap's order, not the header's (CIC-FEATURES.md §9). */
const CIC2017_FLAG_ORDER = [0x04 /* RST */, 0x08 /* PSH */, 0x40 /* ECE */, 0x02 /* SYN */, 0x10 /* ACK */, 0x01 /* FIN */, 0x20 /* URG */, 0x80 /* CWR */];

export const cic2017: Profile = {
  name: 'cic2017',
  rules: {
    teardown: Teardown.FirstFin, // §9.1
    writesSinglePacketFlows: false,
    timeoutSplitFirstIsForward: true, // §9.8
    synAckStartsReversed: false,
    flagCountsFromFirstPacketOnly: true, // §9.2
    directionFlagsPerPacket: false, // §9.3
    firstPayloadTwice: true,
    actDataCountsFirstPacket: false,
    fixedBackwardColumns: false, // §9.7
    tracksSubflows: false, // §9.4, §9.6
    bulk: BulkRule.None, // §9.5
    countsRetransmissions: false,
    carriesConnectionTime: false,
    noWindow: -1, // §9.7
    keysByCanonicalFlowId: true, // §9.8
    readsFrameStartAsIpv4: true,
    icmpErrorsJoinQuotedFlow: true,
    knowsIcmpIgmpSctp: false,
    dropsMiddleFragments: false,
  },
  columns: columns('cic2017', DATASET_IDENTITY, FEATURES, 'No Label', { timestamp: 'cic2017', canonicalFlowId: true }),
  writeRow(st, b, f, k, o) {
    o = writeMasterRatesAndIats(f, k, o, st, b);
    o = writeHeadersRatesLengths(f, k, o, st, b);
    // Flag counts come from the first packet only, in the scrambled order.
    const first = st[b + S.FIRST_FLAGS]!;
    for (let i = 0; i < CIC2017_FLAG_ORDER.length; i++) o = int(f, k, o, (first & CIC2017_FLAG_ORDER[i]!) !== 0 ? 1 : 0);
    o = writeRatios(f, k, o, st, b, false);
    o = int(f, k, o, st[b + S.FWD_HDR]!); // the dataset's second "Fwd Header Length"
    o = zeros(f, k, o, 6); // bulk: the state only ever saw the first packet
    // The subflow detector only sees the first packet, with the misplaced parenthesis `t - last / 1e6 > 1.0`:
    // the count is 1 (subflow columns = the totals) unless the flow starts within 1 µs of the epoch, then 0.
    const t0 = st[b + S.START]!;
    o = t0 - t0 / 1e6 > 1.0 ? ints(f, k, o, st, b, TOTALS) : zeros(f, k, o, 4);
    o = ints(f, k, o, st, b, CIC_TAIL);
    o = activeStats(f, k, o, st, b + S.ACTIVE);
    activeStats(f, k, o, st, b + S.IDLE);
  },
};
