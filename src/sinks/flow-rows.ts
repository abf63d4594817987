/**
 * The sinks' side of the output: what every sink implements and how it fails. The batch it receives is the core's
 * contract (engine/flow-batch.ts), re-exported here for the sinks and the CLI.
 */
import type { FlowIdentityColumns, FlowRows } from '../engine/flow-batch.js';

export {
  CellKind,
  FLOW_END_NAMES,
  FlowEnd,
  newFlowRows,
  payloadProtocolOf,
  serverName,
  serverNameSource,
  SERVER_NAME_SOURCE_NAMES,
  ServerNameSource,
  type FlowIdentity,
  type FlowIdentityColumns,
  type FlowRows,
  type IdentityFormat,
  type ProfileColumns,
} from '../engine/flow-batch.js';

/**
 * The first `count` rows' identity columns, copied for a sink's own thread (the caller keeps its batch), their
 * buffers added to `transfer`.
 */
export function copyIdentityColumns(rows: FlowRows, count: number, transfer: ArrayBuffer[]): FlowIdentityColumns {
  const c: FlowIdentityColumns = {
    srcAddrs: rows.srcAddrs.slice(0, count * 4),
    dstAddrs: rows.dstAddrs.slice(0, count * 4),
    srcPorts: rows.srcPorts.slice(0, count),
    dstPorts: rows.dstPorts.slice(0, count),
    protocols: rows.protocols.slice(0, count),
    ipVersions: rows.ipVersions.slice(0, count),
    startUs: rows.startUs.slice(0, count),
    endUs: rows.endUs.slice(0, count),
  };
  for (const a of Object.values(c) as { buffer: ArrayBuffer }[]) transfer.push(a.buffer);
  return c;
}

/** Every output (CSV, SQLite, later ClickHouse) implements this; the CLI is the only place that wires them. */
export interface FlowSink {
  /** Queue or write one batch. May apply backpressure by returning a promise. */
  write(rows: FlowRows): void | Promise<void>;
  /** Make everything written so far durable. */
  flush(): Promise<void>;
  /** Flush and release; the sink cannot be used afterwards. */
  close(): Promise<void>;
  /** Counters of its own for the run's `info` group (ClickHouse: `sink.clickhouse.rows_sent`, ...), if it keeps any. */
  info?(): Record<string, number>;
}

/**
 * Why a sink could not open or write. `kind` is stable (the CLI maps it to an exit message); `message` is one
 * line, meant for the operator, and names the path.
 */
export type SinkErrorKind =
  /** The directory that should hold the output does not exist. */
  | 'directory-missing'
  /** The file or its directory cannot be written (permissions, read-only file system). */
  | 'not-writable'
  /** Another process holds the database's write lock (SQLite busy after the busy timeout). */
  | 'locked'
  /** The file exists but is not a SQLite database. */
  | 'not-a-database'
  /** The database was created for another profile (other feature columns). */
  | 'profile-mismatch'
  /** The database has tables this program did not create, or a newer schema version. */
  | 'schema-mismatch'
  /** Writing failed after a successful open (disk full, I/O error, worker crashed). */
  | 'write-failed'
  /** The sink was used after close(). */
  | 'closed';

export class SinkError extends Error {
  override readonly name = 'SinkError';
  constructor(
    readonly kind: SinkErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
