/**
 * CSV records (RFC 4180: `,` separators, `"` quoting with `""` inside, CRLF or LF line ends), read in chunks so
 * a multi-gigabyte CICFlowMeter CSV never sits in memory whole. Every record keeps its raw text (without the
 * line end), so `sensor classify` can write the input's rows back byte for byte with columns appended.
 *
 * Text is handled as latin1 (one char per byte): the public datasets hold stray cp1252 bytes in their labels
 * (CIC-IDS2017's "Web Attack \x96 Brute Force"), and a byte-for-byte round trip matters more than decoding them.
 */

export interface CsvRecord {
  fields: string[];
  /** The record as it appeared in the input, line end excluded. */
  raw: string;
  /** 1-based line number of the record's first line. */
  line: number;
}

export class CsvRecordReader {
  private buf = '';
  private line = 1;
  /** Line end of the first record ("\r\n" or "\n"), so output can follow the input's convention. */
  lineEnd: '\n' | '\r\n' | undefined;

  /** Feed a chunk; returns the records it completed. */
  push(chunk: string): CsvRecord[] {
    this.buf += chunk;
    return this.drain(false);
  }

  /** End of input: the last record, if the input does not end with a line end. */
  end(): CsvRecord[] {
    return this.drain(true);
  }

  private drain(final: boolean): CsvRecord[] {
    const out: CsvRecord[] = [];
    const s = this.buf;
    let start = 0;
    for (;;) {
      const r = parseRecord(s, start, final);
      if (r === null) break;
      if (this.lineEnd === undefined && r.lineEnd !== '') this.lineEnd = r.lineEnd as '\n' | '\r\n';
      out.push({ fields: r.fields, raw: s.slice(start, r.end), line: this.line });
      this.line += r.lines;
      start = r.next;
      if (start >= s.length) break;
    }
    this.buf = s.slice(start);
    return out;
  }
}

/**
 * One record from `start`: null when the buffer ends before its line end (unless `final`). Quoted fields may
 * span lines. A quote inside an unquoted field is kept as text (lenient, as the datasets' readers are).
 */
function parseRecord(s: string, start: number, final: boolean): { fields: string[]; end: number; next: number; lineEnd: string; lines: number } | null {
  const fields: string[] = [];
  let i = start;
  let lines = 1;
  const n = s.length;
  if (i >= n) return null;
  for (;;) {
    let value: string;
    if (s.charCodeAt(i) === 34 /* " */) {
      let v = '';
      let j = i + 1;
      for (;;) {
        const q = s.indexOf('"', j);
        if (q < 0) {
          if (!final) return null;
          v += s.slice(j); // unterminated quote at end of input: take the rest
          j = n;
          break;
        }
        v += s.slice(j, q);
        if (q + 1 < n && s.charCodeAt(q + 1) === 34) {
          v += '"';
          j = q + 2;
          continue;
        }
        if (q + 1 >= n && !final) return null; // cannot tell "" from " at the chunk edge
        j = q + 1;
        break;
      }
      for (let k = i; k < j; k++) if (s.charCodeAt(k) === 10) lines++;
      // Text between the closing quote and the next separator is kept (lenient).
      let k = j;
      while (k < n && s.charCodeAt(k) !== 44 && s.charCodeAt(k) !== 10 && s.charCodeAt(k) !== 13) k++;
      value = v + s.slice(j, k);
      i = k;
    } else {
      let k = i;
      while (k < n) {
        const c = s.charCodeAt(k);
        if (c === 44 || c === 10 || c === 13) break;
        k++;
      }
      value = s.slice(i, k);
      i = k;
    }
    fields.push(value);
    if (i >= n) {
      if (!final) return null;
      return { fields, end: n, next: n, lineEnd: '', lines };
    }
    const c = s.charCodeAt(i);
    if (c === 44) {
      i++;
      if (i >= n) {
        if (!final) return null;
        fields.push('');
        return { fields, end: n, next: n, lineEnd: '', lines };
      }
      continue;
    }
    if (c === 13) {
      if (i + 1 >= n && !final) return null; // CR at the chunk edge: wait for a possible LF
      const crlf = i + 1 < n && s.charCodeAt(i + 1) === 10;
      return { fields, end: i, next: i + (crlf ? 2 : 1), lineEnd: crlf ? '\r\n' : '\n', lines };
    }
    return { fields, end: i, next: i + 1, lineEnd: '\n', lines };
  }
}

/** A field as CSV text: quoted when it holds a separator, a quote or a line end. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
