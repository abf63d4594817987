/**
 * The `Server Name Class` input (/work/notes/server-name-contract.md): a flow's server name looked up in the card's
 * `server_names.suffixes` table ([suffix, group] pairs, each group one of the card's classes):
 *   0                       the flow has no server name, or one from a source the card's `server_names.sources`
 *                           does not list (a name learnt from DNS answers, say);
 *   k + 1                   k = the index in `classes` of the group of the LONGEST suffix that matches the name on a
 *                           label boundary (s matches n iff n == s or n ends with "." + s; compared lower-case);
 *   classes.length + 1      a name that no suffix matches.
 * models/train computes the same value (test/fixtures/server-name-class.json holds names and values both check).
 *
 * The table is compiled once per card: each suffix keyed by a hash of its bytes read from the end, so a lookup walks
 * the name once from its last byte, and at each label boundary asks the map for the suffix that starts there. A
 * lookup allocates nothing (it runs for every flow of a batch in the inference thread).
 */

import { SERVER_NAME_SOURCE_NAMES } from '../flows/server-names.js';

/** The input's name in a card's `inputs`. */
export const SERVER_NAME_CLASS = 'Server Name Class';

/**
 * What the inference thread needs of a card to compute the input: [suffix, class index] pairs, the class count, and
 * the name sources it reads as ServerNameSource codes (null: every source).
 */
export interface ServerNameSpec {
  suffixes: [string, number][];
  classes: number;
  sources: number[] | null;
}

/** A card's `server_names` as a spec: each group replaced by its index in `classes`, each source by its code. */
export function serverNameSpec(table: { suffixes: [string, string][]; sources?: readonly string[] }, classes: readonly string[]): ServerNameSpec {
  return {
    suffixes: table.suffixes.map(([s, g]) => [s, classes.indexOf(g)]),
    classes: classes.length,
    sources: table.sources ? table.sources.map((n) => SERVER_NAME_SOURCE_NAMES.indexOf(n)) : null,
  };
}

const DOT = 0x2e;

interface Entry {
  bytes: Uint8Array;
  value: number;
}

/** Hash step over a name's bytes from its end: the same for a suffix compiled and a name walked. */
function step(h: number, byte: number): number {
  return (Math.imul(h, 31) + byte) | 0;
}

export class SuffixTable {
  private readonly byHash = new Map<number, Entry[]>();
  /** The value of a name that no suffix matches. */
  readonly noMatch: number;
  /** Per ServerNameSource code: 1 when the card reads names of that source (all, when the card lists none). */
  readonly reads: Uint8Array;

  constructor(spec: ServerNameSpec) {
    this.noMatch = spec.classes + 1;
    this.reads = new Uint8Array(SERVER_NAME_SOURCE_NAMES.length).fill(spec.sources === null ? 1 : 0);
    for (const code of spec.sources ?? []) this.reads[code] = 1;
    for (const [suffix, k] of spec.suffixes) {
      const bytes = Uint8Array.from(suffix.toLowerCase(), (c) => c.charCodeAt(0) & 0xff);
      let h = 0;
      for (let i = bytes.length - 1; i >= 0; i--) h = step(h, bytes[i]!);
      const list = this.byHash.get(h) ?? [];
      list.push({ bytes, value: k + 1 });
      this.byHash.set(h, list);
    }
  }

  /** The input's value for the name `bytes[off .. off+len)` (lower-case ASCII, as the engine stores it; len 0 = none). */
  classOf(bytes: Uint8Array, off: number, len: number): number {
    if (len === 0) return 0;
    let best = this.noMatch;
    let h = 0;
    // From the last byte: each label boundary starts a longer suffix, so the last match found is the longest.
    for (let i = len - 1; i >= 0; i--) {
      h = step(h, bytes[off + i]!);
      if (i > 0 && bytes[off + i - 1] !== DOT) continue;
      const list = this.byHash.get(h);
      if (list === undefined) continue;
      for (let e = 0; e < list.length; e++) {
        const s = list[e]!;
        if (s.bytes.length === len - i && same(bytes, off + i, s.bytes)) {
          best = s.value;
          break;
        }
      }
    }
    return best;
  }

  /** classOf for a name given as text (null = none); lower-cased first. For drift and tests, not per flow. */
  classOfText(name: string | null): number {
    if (name === null || name === '') return 0;
    const bytes = Uint8Array.from(name.toLowerCase(), (c) => c.charCodeAt(0) & 0xff);
    return this.classOf(bytes, 0, bytes.length);
  }
}

function same(a: Uint8Array, off: number, b: Uint8Array): boolean {
  for (let k = 0; k < b.length; k++) if (a[off + k] !== b[k]) return false;
  return true;
}

/** A suffix the table accepts: printable ASCII, no leading or trailing dot, no empty label. */
export function isSuffix(s: string): boolean {
  return /^[\x21-\x7e]+$/.test(s) && !s.startsWith('.') && !s.endsWith('.') && !s.includes('..');
}
