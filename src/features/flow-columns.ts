/**
 * What a feature profile promises about its output, below every consumer: the columns it writes, how each cell
 * is printed, and the identity of a completed flow. Sinks and the classifier read these; nothing here knows them.
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
}
