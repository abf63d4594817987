/**
 * Completed flows as they leave the engine: a columnar batch that the classifier and the sinks (CSV, SQLite, JSON)
 * consume. Features are one row-major Float64Array and the identity typed arrays of numbers (no per-flow object or
 * string: outputs that write text print it, features/identity-text.ts), so a batch crosses to a worker thread by
 * transfer or a plain copy, and a completed flow costs the engine no allocation. This is the core's output
 * contract; it imports nothing from the stages after it.
 */
import type { FlowIdentityColumns } from '../features/flow-columns.js';
import { SERVER_NAME_MAX, serverNameText } from '../decode/server-name.js';
import { SERVER_NAME_SOURCE_NAMES, ServerNameSource } from '../flows/server-names.js';
import { payloadProtocolName } from '../decode/payload-protocol.js';

export { SERVER_NAME_SOURCE_NAMES, ServerNameSource };

export { CellKind, type FlowIdentity, type FlowIdentityColumns, type IdentityFormat, type ProfileColumns } from '../features/flow-columns.js';

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
export interface FlowRows extends FlowIdentityColumns {
  count: number;
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
  /**
   * Per row (the engine always sets these): the server name's length in bytes (0 = none) and its bytes, ASCII,
   * SERVER_NAME_MAX (253) a row from row × 253 (decode/server-name.ts says what is read; `serverName()` gives text).
   */
  serverNameLengths?: Uint8Array;
  serverNames?: Uint8Array;
  /** Per row (the engine always sets it): where the name came from, a ServerNameSource code (0 = no name). */
  serverNameSources?: Uint8Array;
  /**
   * Per row (the engine always sets it): the flow's payload protocol, recognised from its first payload packets
   * each way (decode/payload-protocol.ts): k + 1 for PAYLOAD_PROTOCOLS[k], 0 = none (`payloadProtocolOf()` gives text).
   */
  payloadProtocol?: Uint8Array;
  /**
   * Sharded engines only (EngineConfig.shard): per row two numbers, the ordinal of the packet at which the flow
   * ended and that of its first packet, so the shards' rows merge back into one engine's order.
   */
  order?: Float64Array;
  /** The capture file the flows completed in (replay; a batch never spans two files), or undefined. */
  source?: string;
  // Set downstream, when a classifier ran (classify/verdict.ts says how each is decided); the engine leaves them.
  /** Verdicts: per row, or undefined. */
  labels?: (string | null)[];
  scores?: Float64Array;
  /** The most probable non-benign class and its probability, whether or not it passed the alert threshold. */
  attackLabels?: (string | null)[];
  attackScores?: Float64Array;
  /** The verdict's KDD'99 category (card `kdd`), or null when the card has no mapping. */
  kdd?: (string | null)[];
  model?: string;
  /** The application model's verdict (its most probable group) and probability, and its `name@version`. */
  appLabels?: (string | null)[];
  appScores?: Float64Array;
  appModel?: string;
  /** Why the context stage (classify/context.ts) relabelled the flow, or null; absent when it relabelled none of the batch. */
  context?: (string | null)[];
}

/** An empty batch with room for `capacity` flows of `featureCount` features (the identity arrays included). */
export function newFlowRows(capacity: number, featureCount: number): FlowRows {
  return {
    count: 0,
    srcAddrs: new Uint32Array(capacity * 4),
    dstAddrs: new Uint32Array(capacity * 4),
    srcPorts: new Uint16Array(capacity),
    dstPorts: new Uint16Array(capacity),
    protocols: new Uint8Array(capacity),
    ipVersions: new Uint8Array(capacity),
    startUs: new Float64Array(capacity),
    endUs: new Float64Array(capacity),
    features: new Float64Array(capacity * featureCount),
    kinds: new Uint8Array(capacity * featureCount),
  };
}

/** Row `i`'s server name as text, or null when the flow has none (or the batch carries no names). */
export function serverName(rows: FlowRows, i: number): string | null {
  const n = rows.serverNameLengths?.[i] ?? 0;
  return n === 0 ? null : serverNameText(rows.serverNames!, i * SERVER_NAME_MAX, n);
}

/** Row `i`'s `server_name_source` ('flow', 'carried', 'dns'), or null when the flow has no name. */
export function serverNameSource(rows: FlowRows, i: number): string | null {
  if ((rows.serverNameLengths?.[i] ?? 0) === 0) return null;
  return SERVER_NAME_SOURCE_NAMES[rows.serverNameSources?.[i] ?? ServerNameSource.Flow] ?? null;
}

/** Row `i`'s payload protocol as nDPI spells it ('TLS', 'RTP', 'STUN'...), or null when none was recognised. */
export function payloadProtocolOf(rows: FlowRows, i: number): string | null {
  return payloadProtocolName(rows.payloadProtocol?.[i] ?? 0);
}

/**
 * Sets the batch's name columns from text, one name per row (null = none), as the engine hands names on: ASCII bytes
 * (each char's low byte), cut at SERVER_NAME_MAX. For batches built by hand (checks, tests); the engine copies bytes.
 */
export function setServerNames(rows: FlowRows, names: readonly (string | null)[]): void {
  rows.serverNameLengths = new Uint8Array(rows.count);
  rows.serverNames = new Uint8Array(rows.count * SERVER_NAME_MAX);
  names.forEach((name, i) => {
    if (name === null) return;
    const bytes = Buffer.from(name, 'latin1').subarray(0, SERVER_NAME_MAX);
    rows.serverNames!.set(bytes, i * SERVER_NAME_MAX);
    rows.serverNameLengths![i] = bytes.length;
  });
}

/** The identity values a model may take as inputs (classify/feature-names.ts `NUMERIC_IDENTITY`). */
/**
 * A per-flow number a model input takes besides the features: the ports and the protocol, and the engine's payload
 * protocol id (the `Payload Protocol Class` input is read through it).
 */
export type NumericIdentityField = 'srcPort' | 'dstPort' | 'protocol' | 'payloadProtocol';

/** The batch's column of a numeric identity value (a batch made without a payload protocol column: all 0). */
export function numericIdentity(rows: FlowRows, field: NumericIdentityField): Uint16Array | Uint8Array {
  if (field === 'payloadProtocol') return (rows.payloadProtocol ??= new Uint8Array(rows.srcPorts.length));
  return field === 'srcPort' ? rows.srcPorts : field === 'dstPort' ? rows.dstPorts : rows.protocols;
}
