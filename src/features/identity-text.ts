/**
 * A flow's identity as the profile prints it (Flow ID, Src IP, Dst IP, Timestamp), made from the numbers of a
 * batch (`FlowIdentityColumns`) by the outputs that write text: the CSV and JSON writers, the SQLite thread,
 * ClickHouse. The engine never makes these strings; an output makes them once per row it writes.
 *
 * One `IdentityText` per output, reused for every row: `read(rows, i)` fills its fields. The text of the last
 * timestamp second and of recent IPv4 addresses is kept, because the rows of one batch mostly share both (a flood's
 * flows start in the same second, from a handful of sources); every string is the same as formatting anew.
 */
import { formatIpv4, formatIpv6 } from './address-text.js';
import type { FlowIdentity, FlowIdentityColumns, IdentityFormat } from './flow-columns.js';
import { TimestampText } from './time-format.js';

/** IPv4 texts kept, direct-mapped by a hash of the address (a power of two). */
const ADDRESS_CACHE = 4096;

export class IdentityText {
  flowId = '';
  srcIp = '';
  dstIp = '';
  timestamp = '';
  /** The Flow ID names the destination first (the 2017 build's canonical order); set by read() with or without flowId. */
  flowIdReversed = false;
  private readonly time: TimestampText;
  private readonly canonical: boolean;
  /** Address word + 1 per cache entry (0 = empty), and its text. */
  private readonly cachedWords = new Float64Array(ADDRESS_CACHE);
  private readonly cachedText: string[] = new Array<string>(ADDRESS_CACHE).fill('');
  private readonly v6 = new Uint32Array(4);

  constructor(format: IdentityFormat) {
    this.time = new TimestampText(format.timestamp);
    this.canonical = format.canonicalFlowId;
  }

  /**
   * Fill flowId, srcIp, dstIp and timestamp with the text of row `i`. `withFlowId` false: flowId is left as it was
   * (a writer that prints it from the parts and flowIdReversed, without the string).
   */
  read(rows: FlowIdentityColumns, i: number, withFlowId = true): this {
    const v6 = rows.ipVersions[i] === 6;
    const k = i * 4;
    this.srcIp = v6 ? this.ipv6(rows.srcAddrs, k) : this.ipv4(rows.srcAddrs[k]!);
    this.dstIp = v6 ? this.ipv6(rows.dstAddrs, k) : this.ipv4(rows.dstAddrs[k]!);
    const sp = rows.srcPorts[i]!;
    const dp = rows.dstPorts[i]!;
    const proto = rows.protocols[i]!;
    this.flowIdReversed = this.canonical && !srcFirst(rows.srcAddrs[k]!, rows.dstAddrs[k]!);
    if (withFlowId) {
      this.flowId = this.flowIdReversed
        ? `${this.dstIp}-${this.srcIp}-${dp}-${sp}-${proto}`
        : `${this.srcIp}-${this.dstIp}-${sp}-${dp}-${proto}`;
    }
    this.timestamp = this.time.text(rows.startUs[i]!);
    return this;
  }

  private ipv4(word: number): string {
    const slot = Math.imul(word, 0x9e3779b1) >>> 20; // top 12 bits: 0 .. ADDRESS_CACHE - 1
    if (this.cachedWords[slot] === word + 1) return this.cachedText[slot]!;
    const text = formatIpv4(word);
    this.cachedWords[slot] = word + 1;
    this.cachedText[slot] = text;
    return text;
  }

  private ipv6(words: Uint32Array, k: number): string {
    for (let w = 0; w < 4; w++) this.v6[w] = words[k + w]!;
    return formatIpv6(this.v6);
  }
}

/**
 * The 2017 build's canonical Flow ID order: is the source first? It is when its address is the smaller one, its
 * bytes compared as signed Java bytes (first word only: that build knew IPv4 alone).
 */
function srcFirst(src: number, dst: number): boolean {
  for (let i = 3; i >= 0; i--) {
    const s = ((src >>> (i * 8)) << 24) >> 24;
    const d = ((dst >>> (i * 8)) << 24) >> 24;
    if (s !== d) return s < d;
  }
  return true;
}

/** Row `i` as one FlowIdentity object (tests, and callers off the hot path that want the old shape). */
export function flowIdentity(rows: FlowIdentityColumns, i: number, format: IdentityFormat): FlowIdentity {
  const t = new IdentityText(format).read(rows, i);
  return {
    flowId: t.flowId,
    srcIp: t.srcIp,
    srcPort: rows.srcPorts[i]!,
    dstIp: t.dstIp,
    dstPort: rows.dstPorts[i]!,
    protocol: rows.protocols[i]!,
    startUs: rows.startUs[i]!,
    endUs: rows.endUs[i]!,
    timestamp: t.timestamp,
  };
}
