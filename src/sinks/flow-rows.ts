/**
 * Completed flows as they leave the engine: a columnar batch that sinks (CSV, SQLite) and the classifier
 * consume. Features are one row-major Float64Array so a batch crosses to a worker thread by transfer, not copy.
 */

/** How a feature cell is printed in the reference CSV: Java `long`/`int` (`79`) or Java `double` (`79.0`, `1.0E-4`). */
export const CellKind = { Int: 0, Double: 1 } as const;
export type CellKind = (typeof CellKind)[keyof typeof CellKind];

/** Identity of one completed flow (allocated once per flow, at completion). */
export interface FlowIdentity {
  /** Flow ID exactly as the profile prints it, e.g. `10.0.0.1-10.0.0.2-40000-80-6`. */
  flowId: string;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  /** Protocol number as the profile prints it (CIC master: 0 for IPv4 that is neither TCP nor UDP). */
  protocol: number;
  /** First and last packet time of the flow, microseconds since the Unix epoch. */
  startUs: number;
  endUs: number;
  /** Timestamp column exactly as the profile prints it. */
  timestamp: string;
}

/** The fixed facts of a feature profile that sinks need: its columns, their names and types. */
export interface ProfileColumns {
  /** `cic`, `fixed` or `cic2017`. */
  readonly name: string;
  /** The 7 identity header names, in order (Flow ID, Src IP, Src Port, Dst IP, Dst Port, Protocol, Timestamp). */
  readonly identityNames: readonly string[];
  /** Feature header names between Timestamp and Label, in CSV order (may contain duplicates: cic2017). */
  readonly featureNames: readonly string[];
  /** Per feature: the SQLite column type. */
  readonly featureTypes: readonly ('INTEGER' | 'REAL')[];
  /** Header name of the label column (`Label`). */
  readonly labelName: string;
  /** What the reference writes in the label column when nothing classified the flow. */
  readonly defaultLabel: string;
}

/** Why a flow ended: the engine's code per row (`FlowRows.endReasons`); names as JSON output spells them. */
export const FlowEnd = {
  /** A FIN ended it, by the profile's teardown rule. */
  Fin: 0,
  /** A RST ended it (`cic`), or a SYN after a RST teardown started the next one (`fixed`). */
  Rst: 1,
  /** The flow timeout (counted from the first packet) split it. */
  Timeout: 2,
  /** No packet for the idle timeout. */
  Idle: 3,
  /** The flow table was full and this was the oldest flow. */
  Evicted: 4,
  /** The capture file(s) ended. */
  EndOfCapture: 5,
  /** The live daemon stopped (SIGTERM/SIGINT, or the capture ended by itself). */
  Shutdown: 6,
  /** `fixed`: an ICMP packet of another type and code under the same addresses began a new exchange. */
  NewExchange: 7,
} as const;
export type FlowEnd = (typeof FlowEnd)[keyof typeof FlowEnd];
export const FLOW_END_NAMES: readonly string[] = ['fin', 'rst', 'timeout', 'idle', 'evicted', 'end_of_capture', 'shutdown', 'new_exchange'];

/** A batch of completed flows. `features`/`kinds` are row-major: row i starts at i * featureNames.length. */
export interface FlowRows {
  count: number;
  ids: FlowIdentity[];
  features: Float64Array;
  kinds: Uint8Array;
  /** Per row (the engine always sets these; hand-made batches may not): why the flow ended, a FlowEnd code. */
  endReasons?: Uint8Array;
  /**
   * Per row: the IP protocol of the flow's first packet, and its ICMP type and code when it is ICMP. The identity's
   * `protocol` is the profile's key (the CIC profiles print 0 for ICMP); this is what was on the wire.
   */
  ipProtos?: Uint8Array;
  icmpTypes?: Uint8Array;
  icmpCodes?: Uint8Array;
  /** The capture file the flows completed in (replay; a batch never spans two files), or undefined. */
  source?: string;
  /** Verdicts, when a classifier ran: per row, or undefined (classify/verdict.ts says how each is decided). */
  labels?: (string | null)[];
  scores?: Float64Array;
  /** The most probable non-benign class and its probability, whether or not it passed the alert threshold. */
  attackLabels?: (string | null)[];
  attackScores?: Float64Array;
  /** The verdict's KDD'99 category (card `kdd`), or null when the card has no mapping. */
  kdd?: (string | null)[];
  model?: string;
}

/** Every output (CSV, SQLite, later ClickHouse) implements this; the CLI is the only place that wires them. */
export interface FlowSink {
  /** Queue or write one batch. May apply backpressure by returning a promise. */
  write(rows: FlowRows): void | Promise<void>;
  /** Make everything written so far durable. */
  flush(): Promise<void>;
  /** Flush and release; the sink cannot be used afterwards. */
  close(): Promise<void>;
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
