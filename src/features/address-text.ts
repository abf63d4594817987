/**
 * Addresses as the profiles print them in Flow ID, Src IP and Dst IP (and as every output repeats them). Called
 * once per completed flow, never per packet.
 */

/** Dotted-quad form of an IPv4 address held as an unsigned 32-bit word (`srcAddr[0]`). Allocates. */
export function formatIpv4(word: number): string {
  return `${(word >>> 24) & 0xff}.${(word >>> 16) & 0xff}.${(word >>> 8) & 0xff}.${word & 0xff}`;
}

/**
 * RFC 5952 text form of an IPv6 address held as four big-endian words: lowercase hex, leading zeros dropped,
 * the longest run (first on a tie) of two or more zero groups replaced by `::`. IPv4-mapped addresses are
 * printed in hex too (`::ffff:a00:1`), not in mixed dotted form. Allocates.
 */
export function formatIpv6(addr: Uint32Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) {
    const w = addr[i] ?? 0;
    groups.push((w >>> 16) & 0xffff, w & 0xffff);
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed (RFC 5952 §4.2.2)
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]): string => g.map((n) => n.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}
