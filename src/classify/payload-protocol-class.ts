/**
 * The `Payload Protocol Class` input: the protocol the engine recognised in a flow's first payload bytes
 * (decode/payload-protocol.ts), as its place in the card's `payload_protocols.protocols` list:
 *   0                       no protocol recognised;
 *   k + 1                   the protocol is the list's k-th;
 *   protocols.length + 1    a protocol the list does not have (one this sensor recognises and the model's
 *                           training did not know).
 * A category, one value per protocol, so that the model learns each protocol's group from the flows (nDPI files
 * STUN under Network, but the STUN flows it sees are mostly calls). models/train computes the same value
 * (app_labels.payload_protocol_class).
 */
import { PAYLOAD_PROTOCOLS } from '../decode/payload-protocol.js';

/** The input's name in a card's `inputs`. */
export const PAYLOAD_PROTOCOL_CLASS = 'Payload Protocol Class';

/**
 * The input's value for each of the engine's protocol ids (0 = none, k + 1 = PAYLOAD_PROTOCOLS[k]), for a card's
 * list: one lookup per flow in the inference thread.
 */
export function payloadProtocolValues(protocols: readonly string[]): number[] {
  const values = [0];
  for (const name of PAYLOAD_PROTOCOLS) {
    const k = protocols.indexOf(name);
    values.push(k >= 0 ? k + 1 : protocols.length + 1);
  }
  return values;
}

/** The value of a stored protocol name (SQLite `payload_protocol`; null = none), for `sensor models drift`. */
export function payloadProtocolValueOfText(protocols: readonly string[], name: string | null): number {
  if (name === null || name === '') return 0;
  const k = protocols.indexOf(name);
  return k >= 0 ? k + 1 : protocols.length + 1;
}
