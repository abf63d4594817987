/**
 * A batch's text built as bytes: the CSV writer appends each cell to one Buffer instead of joining strings. A
 * flood's batch is ~1,000 rows of ~85 cells; as strings, every cell, line and the batch itself was a string to
 * collect, and the batch was copied once more into a Buffer for the file. Here integers (Java `long` cells, and
 * doubles with an integral value, printed `<int>.0`) become ASCII digits directly; the other doubles still go
 * through java-format.ts and only their characters are copied. Every byte is the same as java-format.ts prints.
 */
import { javaDouble, javaLong } from './java-format.js';

const COMMA = 44;
const DOT = 46;
const MINUS = 45;
const ZERO = 48;
/** 10^i, exact in doubles: a number below 2^53 has at most 16 digits. */
const POW10 = Array.from({ length: 17 }, (_, i) => 10 ** i);

export class TextBytes {
  buf: Buffer;
  /** Bytes written so far. */
  length = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(capacity, 64));
  }

  /** Makes room for `n` more bytes (the writers below do not check: a caller reserves a line's worst case). */
  reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /** The bytes written, as a view of the buffer (a new TextBytes for the next batch: the file may still hold it). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  byte(c: number): void {
    this.buf[this.length++] = c;
  }

  /** A string of ASCII characters (addresses, timestamps, number texts): one byte per character. */
  ascii(s: string): void {
    const buf = this.buf;
    let p = this.length;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.length = p;
  }

  /** Any string, in UTF-8 (a label may hold non-ASCII characters); `reserve` 3 bytes per UTF-16 unit for it. */
  text(s: string): void {
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        this.length += this.buf.write(s, this.length, 'utf8');
        return;
      }
    }
    this.ascii(s);
  }

  /** A non-negative integer below 2^53, in decimal. */
  digits(v: number): void {
    const buf = this.buf;
    if (v < 10) {
      buf[this.length++] = ZERO + v;
      return;
    }
    let n = 2;
    while (n < 16 && v >= POW10[n]!) n++;
    let p = this.length + n;
    this.length = p;
    // Exact: every step is an integer below 2^53, and x % 10 of one is exact in doubles.
    for (let x = v; x >= 1; x = (x - (x % 10)) / 10) buf[--p] = ZERO + (x % 10);
  }

  /** `,` then v as Java prints a `long` (java-format.ts `javaLong`). At most 21 bytes. */
  commaLong(v: number): void {
    this.buf[this.length++] = COMMA;
    if (Number.isSafeInteger(v)) {
      if (v < 0) {
        this.buf[this.length++] = MINUS;
        this.digits(-v);
      } else this.digits(v);
    } else this.ascii(javaLong(v));
  }

  /** `,` then v as Java's Double.toString prints it (java-format.ts `javaDouble`). At most 26 bytes. */
  commaDouble(v: number): void {
    this.buf[this.length++] = COMMA;
    // Integral values of the plain range print as `<int>.0` (javaDouble's fast path); -0 and 0 are not here.
    const a = v < 0 ? -v : v;
    if (a >= 1 && a < 1e7 && Math.floor(a) === a) {
      if (v < 0) this.buf[this.length++] = MINUS;
      this.digits(a);
      this.buf[this.length++] = DOT;
      this.buf[this.length++] = ZERO;
    } else this.ascii(javaDouble(v));
  }
}
