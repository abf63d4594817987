/**
 * Feature names across CICFlowMeter versions and datasets, so a model card may list its inputs in the spelling
 * of the data it was trained on: CICFlowMeter master's header, the CIC-IDS2017 CSVs (with or without their
 * leading spaces), CSE-CIC-IDS2018's abbreviations, or the Python port's snake_case keys.
 *
 * The table is CIC-FEATURES.md §1 (shared docs). The canonical name of a feature is CICFlowMeter master's
 * header (`cic` profile); the columns only the corrected fork writes (`fixed` profile) are canonical as they
 * are. A name means the same *quantity* in every spelling; how it is computed is the profile's business, which
 * is why a model card also names its profile.
 */
import type { ProfileColumns } from '../engine/flow-batch.js';
import { SERVER_NAME_CLASS } from './server-name-class.js';
import { PAYLOAD_PROTOCOL_CLASS } from './payload-protocol-class.js';

/** One feature in every spelling: [CIC master, CIC-IDS2017, CSE-CIC-IDS2018, Python port key]. */
type Spellings = readonly [cic: string, y2017: string, y2018: string, py: string];

/** CIC-FEATURES.md §1, rows 8–83 (features), in CICFlowMeter master's order. */
const FEATURES: readonly Spellings[] = [
  ['Flow Duration', 'Flow Duration', 'Flow Duration', 'flow_duration'],
  ['Total Fwd Packet', 'Total Fwd Packets', 'Tot Fwd Pkts', 'tot_fwd_pkts'],
  ['Total Bwd packets', 'Total Backward Packets', 'Tot Bwd Pkts', 'tot_bwd_pkts'],
  ['Total Length of Fwd Packet', 'Total Length of Fwd Packets', 'TotLen Fwd Pkts', 'totlen_fwd_pkts'],
  ['Total Length of Bwd Packet', 'Total Length of Bwd Packets', 'TotLen Bwd Pkts', 'totlen_bwd_pkts'],
  ['Fwd Packet Length Max', 'Fwd Packet Length Max', 'Fwd Pkt Len Max', 'fwd_pkt_len_max'],
  ['Fwd Packet Length Min', 'Fwd Packet Length Min', 'Fwd Pkt Len Min', 'fwd_pkt_len_min'],
  ['Fwd Packet Length Mean', 'Fwd Packet Length Mean', 'Fwd Pkt Len Mean', 'fwd_pkt_len_mean'],
  ['Fwd Packet Length Std', 'Fwd Packet Length Std', 'Fwd Pkt Len Std', 'fwd_pkt_len_std'],
  ['Bwd Packet Length Max', 'Bwd Packet Length Max', 'Bwd Pkt Len Max', 'bwd_pkt_len_max'],
  ['Bwd Packet Length Min', 'Bwd Packet Length Min', 'Bwd Pkt Len Min', 'bwd_pkt_len_min'],
  ['Bwd Packet Length Mean', 'Bwd Packet Length Mean', 'Bwd Pkt Len Mean', 'bwd_pkt_len_mean'],
  ['Bwd Packet Length Std', 'Bwd Packet Length Std', 'Bwd Pkt Len Std', 'bwd_pkt_len_std'],
  ['Flow Bytes/s', 'Flow Bytes/s', 'Flow Byts/s', 'flow_byts_s'],
  ['Flow Packets/s', 'Flow Packets/s', 'Flow Pkts/s', 'flow_pkts_s'],
  ['Flow IAT Mean', 'Flow IAT Mean', 'Flow IAT Mean', 'flow_iat_mean'],
  ['Flow IAT Std', 'Flow IAT Std', 'Flow IAT Std', 'flow_iat_std'],
  ['Flow IAT Max', 'Flow IAT Max', 'Flow IAT Max', 'flow_iat_max'],
  ['Flow IAT Min', 'Flow IAT Min', 'Flow IAT Min', 'flow_iat_min'],
  ['Fwd IAT Total', 'Fwd IAT Total', 'Fwd IAT Tot', 'fwd_iat_tot'],
  ['Fwd IAT Mean', 'Fwd IAT Mean', 'Fwd IAT Mean', 'fwd_iat_mean'],
  ['Fwd IAT Std', 'Fwd IAT Std', 'Fwd IAT Std', 'fwd_iat_std'],
  ['Fwd IAT Max', 'Fwd IAT Max', 'Fwd IAT Max', 'fwd_iat_max'],
  ['Fwd IAT Min', 'Fwd IAT Min', 'Fwd IAT Min', 'fwd_iat_min'],
  ['Bwd IAT Total', 'Bwd IAT Total', 'Bwd IAT Tot', 'bwd_iat_tot'],
  ['Bwd IAT Mean', 'Bwd IAT Mean', 'Bwd IAT Mean', 'bwd_iat_mean'],
  ['Bwd IAT Std', 'Bwd IAT Std', 'Bwd IAT Std', 'bwd_iat_std'],
  ['Bwd IAT Max', 'Bwd IAT Max', 'Bwd IAT Max', 'bwd_iat_max'],
  ['Bwd IAT Min', 'Bwd IAT Min', 'Bwd IAT Min', 'bwd_iat_min'],
  ['Fwd PSH Flags', 'Fwd PSH Flags', 'Fwd PSH Flags', 'fwd_psh_flags'],
  ['Bwd PSH Flags', 'Bwd PSH Flags', 'Bwd PSH Flags', 'bwd_psh_flags'],
  ['Fwd URG Flags', 'Fwd URG Flags', 'Fwd URG Flags', 'fwd_urg_flags'],
  ['Bwd URG Flags', 'Bwd URG Flags', 'Bwd URG Flags', 'bwd_urg_flags'],
  ['Fwd Header Length', 'Fwd Header Length', 'Fwd Header Len', 'fwd_header_len'],
  ['Bwd Header Length', 'Bwd Header Length', 'Bwd Header Len', 'bwd_header_len'],
  ['Fwd Packets/s', 'Fwd Packets/s', 'Fwd Pkts/s', 'fwd_pkts_s'],
  ['Bwd Packets/s', 'Bwd Packets/s', 'Bwd Pkts/s', 'bwd_pkts_s'],
  ['Packet Length Min', 'Min Packet Length', 'Pkt Len Min', 'pkt_len_min'],
  ['Packet Length Max', 'Max Packet Length', 'Pkt Len Max', 'pkt_len_max'],
  ['Packet Length Mean', 'Packet Length Mean', 'Pkt Len Mean', 'pkt_len_mean'],
  ['Packet Length Std', 'Packet Length Std', 'Pkt Len Std', 'pkt_len_std'],
  ['Packet Length Variance', 'Packet Length Variance', 'Pkt Len Var', 'pkt_len_var'],
  ['FIN Flag Count', 'FIN Flag Count', 'FIN Flag Cnt', 'fin_flag_cnt'],
  ['SYN Flag Count', 'SYN Flag Count', 'SYN Flag Cnt', 'syn_flag_cnt'],
  ['RST Flag Count', 'RST Flag Count', 'RST Flag Cnt', 'rst_flag_cnt'],
  ['PSH Flag Count', 'PSH Flag Count', 'PSH Flag Cnt', 'psh_flag_cnt'],
  ['ACK Flag Count', 'ACK Flag Count', 'ACK Flag Cnt', 'ack_flag_cnt'],
  ['URG Flag Count', 'URG Flag Count', 'URG Flag Cnt', 'urg_flag_cnt'],
  ['CWR Flag Count', 'CWE Flag Count', 'CWE Flag Count', 'cwr_flag_count'],
  ['ECE Flag Count', 'ECE Flag Count', 'ECE Flag Cnt', 'ece_flag_cnt'],
  ['Down/Up Ratio', 'Down/Up Ratio', 'Down/Up Ratio', 'down_up_ratio'],
  ['Average Packet Size', 'Average Packet Size', 'Pkt Size Avg', 'pkt_size_avg'],
  ['Fwd Segment Size Avg', 'Avg Fwd Segment Size', 'Fwd Seg Size Avg', 'fwd_seg_size_avg'],
  ['Bwd Segment Size Avg', 'Avg Bwd Segment Size', 'Bwd Seg Size Avg', 'bwd_seg_size_avg'],
  ['Fwd Bytes/Bulk Avg', 'Fwd Avg Bytes/Bulk', 'Fwd Byts/b Avg', 'fwd_byts_b_avg'],
  ['Fwd Packet/Bulk Avg', 'Fwd Avg Packets/Bulk', 'Fwd Pkts/b Avg', 'fwd_pkts_b_avg'],
  ['Fwd Bulk Rate Avg', 'Fwd Avg Bulk Rate', 'Fwd Blk Rate Avg', 'fwd_blk_rate_avg'],
  ['Bwd Bytes/Bulk Avg', 'Bwd Avg Bytes/Bulk', 'Bwd Byts/b Avg', 'bwd_byts_b_avg'],
  ['Bwd Packet/Bulk Avg', 'Bwd Avg Packets/Bulk', 'Bwd Pkts/b Avg', 'bwd_pkts_b_avg'],
  ['Bwd Bulk Rate Avg', 'Bwd Avg Bulk Rate', 'Bwd Blk Rate Avg', 'bwd_blk_rate_avg'],
  ['Subflow Fwd Packets', 'Subflow Fwd Packets', 'Subflow Fwd Pkts', 'subflow_fwd_pkts'],
  ['Subflow Fwd Bytes', 'Subflow Fwd Bytes', 'Subflow Fwd Byts', 'subflow_fwd_byts'],
  ['Subflow Bwd Packets', 'Subflow Bwd Packets', 'Subflow Bwd Pkts', 'subflow_bwd_pkts'],
  ['Subflow Bwd Bytes', 'Subflow Bwd Bytes', 'Subflow Bwd Byts', 'subflow_bwd_byts'],
  ['FWD Init Win Bytes', 'Init_Win_bytes_forward', 'Init Fwd Win Byts', 'init_fwd_win_byts'],
  ['Bwd Init Win Bytes', 'Init_Win_bytes_backward', 'Init Bwd Win Byts', 'init_bwd_win_byts'],
  ['Fwd Act Data Pkts', 'act_data_pkt_fwd', 'Fwd Act Data Pkts', 'fwd_act_data_pkts'],
  ['Fwd Seg Size Min', 'min_seg_size_forward', 'Fwd Seg Size Min', 'fwd_seg_size_min'],
  ['Active Mean', 'Active Mean', 'Active Mean', 'active_mean'],
  ['Active Std', 'Active Std', 'Active Std', 'active_std'],
  ['Active Max', 'Active Max', 'Active Max', 'active_max'],
  ['Active Min', 'Active Min', 'Active Min', 'active_min'],
  ['Idle Mean', 'Idle Mean', 'Idle Mean', 'idle_mean'],
  ['Idle Std', 'Idle Std', 'Idle Std', 'idle_std'],
  ['Idle Max', 'Idle Max', 'Idle Max', 'idle_max'],
  ['Idle Min', 'Idle Min', 'Idle Min', 'idle_min'],
];

/** Columns only the corrected fork writes (`fixed` profile): one spelling each. */
const FIXED_ONLY: readonly string[] = [
  'Fwd RST Flags', 'Bwd RST Flags', 'Bwd Act Data Pkts', 'Bwd Seg Size Min', 'ICMP Code', 'ICMP Type',
  'Fwd TCP Retrans. Count', 'Bwd TCP Retrans. Count', 'Total TCP Retrans. Count', 'Total Connection Flow Time',
];

/**
 * Identity columns that are numbers, so a model may use them (CIC-IDS2017's MachineLearningCSV files keep
 * ` Destination Port`). Canonical name → the FlowIdentity field that holds the value.
 */
export const NUMERIC_IDENTITY = { 'Src Port': 'srcPort', 'Dst Port': 'dstPort', 'Protocol': 'protocol' } as const;
export type NumericIdentityName = keyof typeof NUMERIC_IDENTITY;
const IDENTITY_SPELLINGS: readonly Spellings[] = [
  ['Src Port', 'Source Port', 'Src Port', 'src_port'],
  ['Dst Port', 'Destination Port', 'Dst Port', 'dst_port'],
  ['Protocol', 'Protocol', 'Protocol', 'protocol'],
];
/** Identity columns that are not numbers: a model cannot take them as input. */
const TEXT_IDENTITY: readonly string[] = ['Flow ID', 'Src IP', 'Source IP', 'Dst IP', 'Destination IP', 'Timestamp', 'src_ip', 'dst_ip', 'timestamp'];

/** The comparison key of a spelling: case and runs of whitespace do not matter, nor leading/trailing spaces. */
function key(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLowerCase();
}

const CANONICAL = new Map<string, string>();
function add(spelling: string, canonical: string): void {
  const k = key(spelling);
  const prev = CANONICAL.get(k);
  if (prev !== undefined && prev !== canonical) throw new Error(`feature-names: "${spelling}" would mean both ${prev} and ${canonical}`);
  CANONICAL.set(k, canonical);
}
for (const row of [...FEATURES, ...IDENTITY_SPELLINGS]) for (const s of row) add(s, row[0]);
for (const s of FIXED_ONLY) add(s, s);
const TEXT_IDENTITY_KEYS = new Set(TEXT_IDENTITY.map(key));

/** Every canonical feature name (CIC master's header, then the fork's extra columns). */
export const CANONICAL_FEATURES: readonly string[] = [...FEATURES.map((r) => r[0]), ...FIXED_ONLY];

export type NameLookup =
  | { kind: 'feature'; canonical: string; /** 1 for `X.1` (pandas' name for the second of two `X` columns). */ copy: number }
  | { kind: 'identity'; canonical: NumericIdentityName }
  | { kind: 'server-name' }
  | { kind: 'payload-protocol' }
  | { kind: 'text-identity' }
  | { kind: 'label' }
  | { kind: 'unknown' };

/**
 * What a column name means: a feature (canonical name), a numeric identity column, an identity column that is
 * text, the label, or nothing we know. `Fwd Header Length.1` is pandas' name for the 2017 CSVs' second
 * `Fwd Header Length` column (a copy of the first).
 */
export function lookupFeatureName(name: string): NameLookup {
  const k = key(name);
  if (k === 'label') return { kind: 'label' };
  if (k === key(SERVER_NAME_CLASS)) return { kind: 'server-name' };
  if (k === key(PAYLOAD_PROTOCOL_CLASS)) return { kind: 'payload-protocol' };
  if (TEXT_IDENTITY_KEYS.has(k)) return { kind: 'text-identity' };
  let copy = 0;
  let canonical = CANONICAL.get(k);
  const suffix = /^(.*)\.(\d+)$/.exec(k);
  if (canonical === undefined && suffix) {
    canonical = CANONICAL.get(suffix[1]!);
    copy = Number(suffix[2]);
  }
  if (canonical === undefined) return { kind: 'unknown' };
  if (canonical in NUMERIC_IDENTITY) {
    return copy === 0 ? { kind: 'identity', canonical: canonical as NumericIdentityName } : { kind: 'unknown' };
  }
  return { kind: 'feature', canonical, copy };
}

/** Canonical name of a feature spelling, or undefined when it is not a feature we know. */
export function canonicalFeatureName(name: string): string | undefined {
  const r = lookupFeatureName(name);
  return r.kind === 'feature' || r.kind === 'identity' ? r.canonical : undefined;
}

/** Where a model input comes from in a FlowRows batch. */
export type InputSource =
  | { from: 'feature'; index: number }
  | { from: 'identity'; field: (typeof NUMERIC_IDENTITY)[NumericIdentityName] }
  /** The flow's server name looked up in the card's suffix table (server-name-class.ts). */
  | { from: 'server-name' }
  /** The flow's payload protocol, its place in the card's payload_protocols list (payload-protocol-class.ts). */
  | { from: 'payload-protocol' };

/**
 * Resolve model input names against a profile's columns. Returns one source per name, or every problem at
 * once (`inputs[i]: ...`). Names resolve by canonical meaning, so the 2017 `Total Backward Packets` finds the
 * `cic` profile's `Total Bwd packets`. `X.1` takes the profile's second `X` column when it has one (cic2017's
 * duplicated `Fwd Header Length`), else the first (the same value).
 */
export function resolveInputs(names: readonly string[], columns: ProfileColumns): { sources: InputSource[]; errors: string[] } {
  const byCanonical = new Map<string, number[]>();
  columns.featureNames.forEach((n, i) => {
    const c = canonicalFeatureName(n);
    if (c === undefined) return;
    const list = byCanonical.get(c) ?? [];
    list.push(i);
    byCanonical.set(c, list);
  });
  const sources: InputSource[] = [];
  const errors: string[] = [];
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    const r = lookupFeatureName(name);
    const where = `inputs[${i}]`;
    switch (r.kind) {
      case 'label':
        errors.push(`${where}: "${name}" is the label column, not an input`);
        return;
      case 'text-identity':
        errors.push(`${where}: "${name}" is an identity column that is not a number; it cannot be a model input`);
        return;
      case 'unknown':
        errors.push(`${where}: unknown feature name "${name}" (not a CICFlowMeter column in the master, CIC-IDS2017, CSE-CIC-IDS2018 or Python-port spelling)`);
        return;
      case 'identity':
        sources.push({ from: 'identity', field: NUMERIC_IDENTITY[r.canonical] });
        break;
      case 'server-name':
        sources.push({ from: 'server-name' });
        break;
      case 'payload-protocol':
        sources.push({ from: 'payload-protocol' });
        break;
      case 'feature': {
        const at = byCanonical.get(r.canonical);
        if (at === undefined) {
          errors.push(`${where}: "${name}" (${r.canonical}) is not a column of profile ${columns.name}`);
          return;
        }
        sources.push({ from: 'feature', index: at[Math.min(r.copy, at.length - 1)]! });
        break;
      }
    }
    const k = key(name);
    const prev = seen.get(k);
    if (prev !== undefined) errors.push(`${where}: "${name}" is listed twice (also inputs[${prev}])`);
    else seen.set(k, i);
  });
  return { sources: errors.length === 0 ? sources : [], errors };
}

/** Every spelling this table accepts for a canonical name (for messages that name a missing column). */
export function spellingsOf(canonical: string): string[] {
  const row = [...FEATURES, ...IDENTITY_SPELLINGS].find((r) => r[0] === canonical);
  return row ? [...new Set(row)] : [canonical];
}

/** The spelling families of FEATURES' columns, in order. */
export const SPELLING_FAMILIES = ['CICFlowMeter master', 'CIC-IDS2017', 'CSE-CIC-IDS2018', 'Python port'] as const;
const FAMILIES_OF = new Map<string, number[]>();
for (const row of FEATURES) {
  row.forEach((s, f) => {
    const k = key(s);
    const list = FAMILIES_OF.get(k) ?? [];
    if (!list.includes(f)) list.push(f);
    FAMILIES_OF.set(k, list);
  });
}

/**
 * Which tool's header a list of column names looks like: the family that most names belong to alone (a name
 * several families share says nothing), or null when no name tells.
 */
export function headerFamily(names: readonly string[]): (typeof SPELLING_FAMILIES)[number] | null {
  const votes = [0, 0, 0, 0];
  for (const n of names) {
    const f = FAMILIES_OF.get(key(n));
    if (f && f.length === 1) votes[f[0]!]!++;
  }
  const best = votes.indexOf(Math.max(...votes));
  return votes[best]! > 0 ? SPELLING_FAMILIES[best]! : null;
}
