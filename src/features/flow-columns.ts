/**
 * What a feature profile promises about its output, below every consumer: the columns it writes, how each cell
 * is printed, and the identity of a completed flow. Sinks and the classifier read these; nothing here knows them.
 */

/** How a feature cell is printed in the reference CSV: Java `long`/`int` (`79`) or Java `double` (`79.0`, `1.0E-4`). */
export const CellKind = { Int: 0, Double: 1 } as const;
export type CellKind = (typeof CellKind)[keyof typeof CellKind];

/**
 * The identity of each flow in a batch, as numbers: the engine writes no text. `src` is the flow's forward
 * endpoint (its first packet's source, or the profile's orientation rule). Text (Flow ID, addresses, Timestamp)
 * is made only by an output that writes text, once per row it writes (features/identity-text.ts `IdentityText`).
 */
export interface FlowIdentityColumns {
  /** Per row, 4 big-endian words each: the source and destination addresses (IPv4 in word 0, the rest 0). */
  srcAddrs: Uint32Array;
  dstAddrs: Uint32Array;
  srcPorts: Uint16Array;
  dstPorts: Uint16Array;
  /** The protocol number as the profile keys and prints it (CIC master: 0 for IPv4 that is neither TCP nor UDP). */
  protocols: Uint8Array;
  /** 4 or 6. */
  ipVersions: Uint8Array;
  /** First and last packet time of the flow, microseconds since the Unix epoch. */
  startUs: Float64Array;
  endUs: Float64Array;
}

/**
 * Identity of one completed flow as text, the way the profile prints it: made on demand by an output that writes
 * text (features/identity-text.ts), never by the engine.
 */
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

/** The fixed facts of a feature profile that its consumers need: its columns and their names. */
export interface ProfileColumns {
  /** `cic`, `fixed` or `cic2017`. */
  readonly name: string;
  /** The 7 identity header names, in order (Flow ID, Src IP, Src Port, Dst IP, Dst Port, Protocol, Timestamp). */
  readonly identityNames: readonly string[];
  /** Feature header names between Timestamp and Label, in CSV order (may contain duplicates: cic2017). */
  readonly featureNames: readonly string[];
  /** Header name of the label column (`Label`). */
  readonly labelName: string;
  /** What the reference writes in the label column when nothing classified the flow. */
  readonly defaultLabel: string;
  /** How the identity columns are printed (Timestamp, Flow ID). */
  readonly identityFormat: IdentityFormat;
}

/** How a profile prints a flow's identity. */
export interface IdentityFormat {
  /** The Timestamp column's format (features/time-format.ts). */
  readonly timestamp: 'cic' | 'cic2017' | 'fixed';
  /**
   * Flow ID names the endpoint whose address is smaller (as signed Java bytes) first: the 2017 build's canonical
   * Flow ID. Otherwise the forward endpoint comes first.
   */
  readonly canonicalFlowId: boolean;
}
