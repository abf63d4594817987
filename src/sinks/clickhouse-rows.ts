/**
 * The ClickHouse `flows_<profile>` table: its columns, and a batch of flows encoded as RowBinary for one INSERT.
 *
 * RowBinary, not a text format: ClickHouse 18.16 (Debian 12's package) parses floats in text formats with a fast
 * routine that is off by one ulp for about one value in eight of small or large magnitude (measured: 24,666 of
 * 200,006 random doubles came back different through TabSeparated); little-endian doubles arrive exact, so the
 * stored features equal SQLite's bit for bit.
 *
 * Each row carries where it came from (`sensor`, `run_id`, `batch`, `row`): `(run_id, batch, row)` is unique,
 * which is how the sink finds out, after an insert whose answer was lost, which rows the server already has.
 */
import { sqlColumnNames } from './sqlite.js';
import { sqliteColumnTypes } from './column-types.js';
import type { FlowRows, ProfileColumns } from './flow-rows.js';
import { payloadProtocolOf, serverName, serverNameSource } from '../engine/flow-batch.js';
import type { IdentityText } from '../features/identity-text.js';

/** The RowBinary encodings used here; a column's ClickHouse type is one of these. */
export type ChType = 'String' | 'Int32' | 'Int64' | 'UInt32' | 'UInt64' | 'Float64' | 'Nullable(String)' | 'Nullable(Float64)';

export interface ChColumn {
  name: string;
  type: ChType;
}

/** Bookkeeping columns in front of the flow: who wrote the row, in which run, batch and position. */
const ORIGIN: readonly ChColumn[] = [
  { name: 'sensor', type: 'String' },
  { name: 'run_id', type: 'String' },
  { name: 'batch', type: 'UInt64' },
  { name: 'row', type: 'UInt32' },
];

/** Identity and times, as SQLite has them. */
const IDENTITY: readonly ChColumn[] = [
  { name: 'flow_id', type: 'String' },
  { name: 'src_ip', type: 'String' },
  { name: 'src_port', type: 'Int32' },
  { name: 'dst_ip', type: 'String' },
  { name: 'dst_port', type: 'Int32' },
  { name: 'protocol', type: 'Int32' },
  { name: 'start_us', type: 'Int64' },
  { name: 'end_us', type: 'Int64' },
  { name: 'timestamp', type: 'String' },
];

/** The application model's verdict (added after the others: clickhouse.ts adds them to an older table). */
export const APP_VERDICT: readonly ChColumn[] = [
  { name: 'app_label', type: 'Nullable(String)' },
  { name: 'app_score', type: 'Nullable(Float64)' },
  { name: 'app_model', type: 'Nullable(String)' },
];

/** Why the context stage relabelled the flow (classify/context.ts), NULL when it did not; added last, as in SQLite. */
export const CONTEXT_COLUMNS: readonly ChColumn[] = [{ name: 'context', type: 'Nullable(String)' }];

/** The flow's server name (TLS SNI, HTTP Host, DNS query name), NULL when none, as SQLite has it; after the verdicts. */
export const SERVER_NAME: readonly ChColumn[] = [{ name: 'server_name', type: 'Nullable(String)' }];

/** Where the server name came from ('flow', 'carried', 'dns'), NULL without a name, as SQLite has it; added last. */
export const SERVER_NAME_SOURCE: readonly ChColumn[] = [{ name: 'server_name_source', type: 'Nullable(String)' }];

/** The protocol recognised from the flow's first payload bytes ('TLS', 'RTP'...), NULL when none, as SQLite has it; added last. */
export const PAYLOAD_PROTOCOL: readonly ChColumn[] = [{ name: 'payload_protocol', type: 'Nullable(String)' }];

/** Columns a table of an earlier version may lack, in table order: clickhouse.ts adds them (NULL in old rows). */
export const ADDED_LATER: readonly ChColumn[] = [...APP_VERDICT, ...SERVER_NAME, ...CONTEXT_COLUMNS, ...SERVER_NAME_SOURCE, ...PAYLOAD_PROTOCOL];

/** Verdicts, NULL without a model, as SQLite has them. */
const VERDICT: readonly ChColumn[] = [
  { name: 'label', type: 'Nullable(String)' },
  { name: 'score', type: 'Nullable(Float64)' },
  { name: 'model', type: 'Nullable(String)' },
  { name: 'attack_label', type: 'Nullable(String)' },
  { name: 'attack_score', type: 'Nullable(Float64)' },
  { name: 'kdd', type: 'Nullable(String)' },
  ...APP_VERDICT,
];

/** Table name for a profile's flows: one table per profile, since each has its own feature columns. */
export function flowsTable(profile: string): string {
  return `flows_${profile}`;
}

/**
 * Every column of the table, in insert order: origin, identity, one per feature (SQLite's names: lowercase,
 * `_` for anything else, cic2017's second `Fwd Header Length` is `fwd_header_length_1`; Int64 for the profile's
 * integer columns, Float64 for the rest), verdicts.
 */
export function flowColumns(columns: ProfileColumns): ChColumn[] {
  const names = sqlColumnNames(columns.featureNames);
  const types = sqliteColumnTypes(columns.featureNames);
  const fixed = new Set([...ORIGIN, ...IDENTITY, ...VERDICT, ...SERVER_NAME, ...CONTEXT_COLUMNS, ...SERVER_NAME_SOURCE, ...PAYLOAD_PROTOCOL].map((c) => c.name));
  const features = names.map((name, i): ChColumn => {
    if (fixed.has(name)) throw new Error(`profile ${columns.name}: feature column ${name} collides with a fixed column`);
    return { name, type: types[i] === 'INTEGER' ? 'Int64' : 'Float64' };
  });
  return [...ORIGIN, ...IDENTITY, ...features, ...VERDICT, ...SERVER_NAME, ...CONTEXT_COLUMNS, ...SERVER_NAME_SOURCE, ...PAYLOAD_PROTOCOL];
}

/** `CREATE TABLE IF NOT EXISTS`: MergeTree, one part per insert (no partition key: see clickhouse.ts). */
export function createTableSql(database: string, table: string, cols: readonly ChColumn[]): string {
  const body = cols.map((c) => `  \`${c.name}\` ${c.type}`).join(',\n');
  return (
    `CREATE TABLE IF NOT EXISTS \`${database}\`.\`${table}\` (\n${body},\n  \`inserted_at\` DateTime DEFAULT now()\n)\n` +
    'ENGINE = MergeTree() ORDER BY (sensor, run_id, batch, row)'
  );
}

/** Growable little-endian byte buffer. */
class Writer {
  buf = Buffer.allocUnsafe(1 << 16);
  at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }

  i32(v: number): void {
    this.room(4);
    this.at = this.buf.writeInt32LE(v, this.at);
  }

  u32(v: number): void {
    this.room(4);
    this.at = this.buf.writeUInt32LE(v, this.at);
  }

  /** A JS integer as a 64-bit two's complement (exact within ±2^53). */
  i64(v: number): void {
    this.room(8);
    const hi = Math.floor(v / 4294967296);
    this.buf.writeUInt32LE(v - hi * 4294967296, this.at);
    this.buf.writeInt32LE(hi, this.at + 4);
    this.at += 8;
  }

  f64(v: number): void {
    this.room(8);
    this.at = this.buf.writeDoubleLE(v, this.at);
  }

  /** LEB128 length, then UTF-8 bytes. */
  str(s: string): void {
    const n = Buffer.byteLength(s);
    this.room(n + 5);
    let len = n;
    while (len >= 0x80) {
      this.buf[this.at++] = (len & 0x7f) | 0x80;
      len >>>= 7;
    }
    this.buf[this.at++] = len;
    this.at += this.buf.write(s, this.at, 'utf8');
  }

  nullableStr(s: string | null | undefined): void {
    if (s === null || s === undefined) this.u8(1);
    else {
      this.u8(0);
      this.str(s);
    }
  }

  nullableF64(v: number | undefined): void {
    if (v === undefined) this.u8(1);
    else {
      this.u8(0);
      this.f64(v);
    }
  }
}

/** One batch as it is inserted (and spooled): the RowBinary rows and where each row starts. */
export interface EncodedBatch {
  body: Buffer;
  /** Byte offset of each row in `body`, and one past the end: rows + 1 entries. */
  offsets: number[];
}

/** Encodes `rows` in `flowColumns(columns)` order (`identity`: the profile's text of it); `featureIsInt[j]` says whether feature j is Int64. */
export function encodeBatch(rows: FlowRows, identity: IdentityText, featureIsInt: readonly boolean[], sensor: string, runId: string, batch: number): EncodedBatch {
  const w = new Writer();
  const F = featureIsInt.length;
  const offsets: number[] = [];
  const f = rows.features;
  for (let i = 0; i < rows.count; i++) {
    offsets.push(w.at);
    const id = identity.read(rows, i);
    w.str(sensor);
    w.str(runId);
    w.i64(batch);
    w.u32(i);
    w.str(id.flowId);
    w.str(id.srcIp);
    w.i32(rows.srcPorts[i]!);
    w.str(id.dstIp);
    w.i32(rows.dstPorts[i]!);
    w.i32(rows.protocols[i]!);
    w.i64(rows.startUs[i]!);
    w.i64(rows.endUs[i]!);
    w.str(id.timestamp);
    const base = i * F;
    for (let j = 0; j < F; j++) {
      if (featureIsInt[j]) w.i64(f[base + j]!);
      else w.f64(f[base + j]!);
    }
    w.nullableStr(rows.labels?.[i]);
    w.nullableF64(rows.scores?.[i]);
    w.nullableStr(rows.model);
    w.nullableStr(rows.attackLabels?.[i]);
    w.nullableF64(rows.attackScores?.[i]);
    w.nullableStr(rows.kdd?.[i]);
    w.nullableStr(rows.appLabels?.[i]);
    w.nullableF64(rows.appScores?.[i]);
    w.nullableStr(rows.appModel);
    w.nullableStr(serverName(rows, i));
    w.nullableStr(rows.context?.[i]);
    w.nullableStr(serverNameSource(rows, i));
    w.nullableStr(payloadProtocolOf(rows, i));
  }
  offsets.push(w.at);
  return { body: Buffer.from(w.buf.subarray(0, w.at)), offsets };
}
