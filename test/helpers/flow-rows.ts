/**
 * Hand-made flow batches for sink and classifier tests: identities given as text (what a reader checks) are put
 * into the batch's numeric identity columns, as the engine fills them.
 */
import { newFlowRows, type FlowIdentity, type FlowRows } from '../../src/engine/flow-batch.js';
import { ipv4Word, ipv6Words } from './frames.js';

/** One flow's identity as a test states it: the identity an output prints, without the text it derives. */
export type TestIdentity = Omit<FlowIdentity, 'flowId' | 'timestamp'>;

/** Put `id` into row `i` of `rows` (addresses with a ':' are IPv6). */
export function setIdentity(rows: FlowRows, i: number, id: TestIdentity): void {
  const v6 = id.srcIp.includes(':');
  const src = v6 ? ipv6Words(id.srcIp) : [ipv4Word(id.srcIp), 0, 0, 0];
  const dst = v6 ? ipv6Words(id.dstIp) : [ipv4Word(id.dstIp), 0, 0, 0];
  rows.srcAddrs.set(src, i * 4);
  rows.dstAddrs.set(dst, i * 4);
  rows.srcPorts[i] = id.srcPort;
  rows.dstPorts[i] = id.dstPort;
  rows.protocols[i] = id.protocol;
  rows.ipVersions[i] = v6 ? 6 : 4;
  rows.startUs[i] = id.startUs;
  rows.endUs[i] = id.endUs;
}

/** A batch of `ids.length` flows with `featureCount` features each (zeros, integer cells) and these identities. */
export function rowsWithIdentities(ids: readonly TestIdentity[], featureCount: number): FlowRows {
  const rows = newFlowRows(ids.length, featureCount);
  ids.forEach((id, i) => setIdentity(rows, i, id));
  rows.count = ids.length;
  return rows;
}
