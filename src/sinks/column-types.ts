/**
 * The SQLite type of each feature column, derived here from the column's name: the core only says how a cell is
 * printed (CellKind), and a column's type must be the same for every profile that shares the name.
 */

/** Columns that hold counts in every profile (INTEGER); every other feature may be a double somewhere (REAL). */
const INTEGER_COLUMNS: ReadonlySet<string> = new Set([
  'Flow Duration', 'Total Fwd Packet', 'Total Bwd packets', 'Total Fwd Packets', 'Total Backward Packets',
  'Fwd PSH Flags', 'Bwd PSH Flags', 'Fwd URG Flags', 'Bwd URG Flags', 'Fwd RST Flags', 'Bwd RST Flags',
  'Fwd Header Length', 'Bwd Header Length', 'FIN Flag Count', 'SYN Flag Count', 'RST Flag Count', 'PSH Flag Count',
  'ACK Flag Count', 'URG Flag Count', 'CWR Flag Count', 'CWE Flag Count', 'ECE Flag Count',
  'FWD Init Win Bytes', 'Bwd Init Win Bytes', 'Init_Win_bytes_forward', 'Init_Win_bytes_backward',
  'Fwd Act Data Pkts', 'Bwd Act Data Pkts', 'act_data_pkt_fwd', 'Fwd Seg Size Min', 'Bwd Seg Size Min', 'min_seg_size_forward',
  'ICMP Code', 'ICMP Type', 'Fwd TCP Retrans. Count', 'Bwd TCP Retrans. Count', 'Total TCP Retrans. Count', 'Total Connection Flow Time',
]);

export type SqliteColumnType = 'INTEGER' | 'REAL';

/** Per feature name: INTEGER for counts, REAL where any profile prints a double. */
export function sqliteColumnTypes(featureNames: readonly string[]): SqliteColumnType[] {
  return featureNames.map((f) => (INTEGER_COLUMNS.has(f) ? 'INTEGER' : 'REAL'));
}
