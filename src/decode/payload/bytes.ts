/**
 * Readers the payload-protocol rules share: big- and little-endian fields, literal and case-blind matches, text
 * lines, BER lengths, and the HTTP/1.x versions that the HTTP, Icecast and WebDAV rules all read. Each reads within
 * `end` (a typed-array read past the buffer gives undefined, which fails every test) and allocates nothing.
 */
export const u16 = (b: Uint8Array, p: number): number => (b[p]! << 8) | b[p + 1]!;
export const u16le = (b: Uint8Array, p: number): number => b[p]! | (b[p + 1]! << 8);
// 32-bit fields are read as signed int32 (values above 2^31 are negative): an int32 is a small integer to V8, where an
// unsigned value above 2^31 is a heap number, allocated whenever the read is not inlined. Compare accordingly.
export const i32 = (b: Uint8Array, p: number): number => (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
export const i32le = (b: Uint8Array, p: number): number => b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
export const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
export const port = (a: number, b: number, p: number): boolean => a === p || b === p;

/** Does `buf[p ..)` begin with `lit` (all of it before `end`)? */
export function has(buf: Uint8Array, p: number, end: number, lit: Uint8Array): boolean {
  if (end - p < lit.length) return false;
  for (let k = 0; k < lit.length; k++) if (buf[p + k] !== lit[k]) return false;
  return true;
}

/** The same, ASCII letters compared without case (`lit` in upper case). */
export function hasNoCase(buf: Uint8Array, p: number, end: number, lit: Uint8Array): boolean {
  if (end - p < lit.length) return false;
  for (let k = 0; k < lit.length; k++) {
    const c = buf[p + k]!;
    if ((c >= 0x61 && c <= 0x7a ? c - 0x20 : c) !== lit[k]) return false;
  }
  return true;
}

/** Where `lit` first occurs in `buf[p .. min(end, p + within))`, or -1. */
export function find(buf: Uint8Array, p: number, end: number, within: number, lit: Uint8Array): number {
  const last = Math.min(end, p + within) - lit.length;
  for (let i = p; i <= last; i++) if (buf[i] === lit[0] && has(buf, i, end, lit)) return i;
  return -1;
}

export const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** The end of the line starting at `p` (the index of its CR, followed by LF), or -1 when none within `within`. */
export function lineEnd(b: Uint8Array, p: number, end: number, within: number): number {
  const last = Math.min(end - 1, p + within);
  for (let i = p; i < last; i++) {
    const c = b[i]!;
    if (c === 0x0d) return b[i + 1] === 0x0a ? i : -1;
    if (c < 0x20 || c > 0x7e) return -1;
  }
  return -1;
}

export function findNoCase(b: Uint8Array, p: number, end: number, lit: Uint8Array): boolean {
  for (let i = p; i + lit.length <= end; i++) if (hasNoCase(b, i, end, lit)) return true;
  return false;
}

/** A BER definite length at `q`: the end of its contents (after the length bytes), or -1. */
export function berLength(b: Uint8Array, q: number, end: number): number {
  if (q >= end) return -1;
  const l0 = b[q]!;
  if (l0 < 0x80) return q + 1 + l0;
  const n = l0 & 0x7f;
  if (n === 0 || n > 3 || q + 1 + n > end) return -1;
  let len = 0;
  for (let k = 1; k <= n; k++) len = len * 256 + b[q + k]!;
  return q + 1 + n + len;
}

/** Where the contents start after the BER length at `q`. */
export function berBody(b: Uint8Array, q: number): number {
  const l0 = b[q]!;
  return l0 < 0x80 ? q + 1 : q + 1 + (l0 & 0x7f);
}

/** Is the line's rest `buf[v .. eol)` exactly the version `ver`? */
export function isVersion(b: Uint8Array, v: number, eol: number, ver: Uint8Array): boolean {
  return v + ver.length === eol && has(b, v, eol, ver);
}

export const V_HTTP10 = ascii('HTTP/1.0');
export const V_HTTP11 = ascii('HTTP/1.1');

/** Is the line's rest `buf[v .. eol)` exactly `HTTP/1.1` or `HTTP/1.0` (RFC 9112's versions of a request line)? */
export function isHttp1Version(b: Uint8Array, v: number, eol: number): boolean {
  return isVersion(b, v, eol, V_HTTP11) || isVersion(b, v, eol, V_HTTP10);
}
