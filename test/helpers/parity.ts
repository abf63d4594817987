/**
 * Flow-by-flow, cell-by-cell comparison of our CSV with a reference CICFlowMeter CSV: the same rules as the
 * project's `tools/parity.py`. Flows are grouped by (Src IP, Src Port, Dst IP, Dst Port, Protocol, Timestamp);
 * inside a group both sides are sorted by (Flow Duration, Total Fwd, Total Bwd) and paired in order. Every
 * reference column except identity and label is compared by name: equal when |a-b| <= 1e-6*max(1,|a|,|b|).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const SKIP = new Set(['Flow ID', 'Src IP', 'Src Port', 'Dst IP', 'Dst Port', 'Protocol', 'Timestamp', 'Label',
  'Source IP', 'Source Port', 'Destination IP', 'Destination Port']);
const KEYS = [
  ['Src IP', 'Src Port', 'Dst IP', 'Dst Port', 'Protocol', 'Timestamp'],
  ['Source IP', 'Source Port', 'Destination IP', 'Destination Port', 'Protocol', 'Timestamp'],
];
const ORDER = [
  ['Flow Duration', 'Total Fwd Packet', 'Total Bwd packets'],
  ['Flow Duration', 'Total Fwd Packets', 'Total Backward Packets'],
];

type Row = Map<string, string>;
interface Csv {
  head: string[];
  rows: Row[];
}

export function loadCsv(path: string): Csv {
  const raw = readFileSync(path);
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  const lines = text.split(/\r?\n/);
  const head = lines[0]!.split(',').map((h) => h.trim());
  const rows: Row[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const cells = line.split(',');
    if (cells[0] === head[0]) continue; // a repeated header
    // Keep the first occurrence of a duplicated name (cic2017's second Fwd Header Length is compared as the first).
    const row: Row = new Map();
    head.forEach((h, j) => {
      if (!row.has(h)) row.set(h, cells[j] ?? '');
    });
    rows.push(row);
  }
  return { head, rows };
}

function num(s: string | undefined): number | string {
  if (s === undefined) return '';
  const t = s.trim();
  if (t === 'NaN') return NaN;
  if (t === 'Infinity') return Infinity;
  if (t === '-Infinity') return -Infinity;
  const v = Number(t);
  return t !== '' && !Number.isNaN(v) ? v : t;
}

export interface ParityResult {
  refFlows: number;
  ourFlows: number;
  matched: number;
  cells: number;
  equal: number;
  /** Columns with differing cells, most first. */
  worst: [string, number][];
  missingColumns: string[];
  ok: boolean;
}

export function parity(refPath: string, oursPath: string): ParityResult {
  const ref = loadCsv(refPath);
  const ours = loadCsv(oursPath);
  const cols = [...new Set(ref.head.filter((c) => !SKIP.has(c)))];
  const key = ref.head.includes(KEYS[0]![0]!) ? KEYS[0]! : KEYS[1]!;
  const groups = new Map<string, [Row[], Row[]]>();
  const put = (r: Row, side: 0 | 1): void => {
    const k = key.map((c) => (r.get(c) ?? '').trim()).join('\u0000');
    let g = groups.get(k);
    if (!g) groups.set(k, (g = [[], []]));
    g[side].push(r);
  };
  for (const r of ref.rows) put(r, 0);
  for (const r of ours.rows) put(r, 1);
  const orderCols = (r: Row): string[] => (r.has('Total Fwd Packet') ? ORDER[0]! : ORDER[1]!);
  const cmp = (a: Row, b: Row): number => {
    const ca = orderCols(a);
    const cb = orderCols(b);
    for (let i = 0; i < 3; i++) {
      const x = num(a.get(ca[i]!)) as number;
      const y = num(b.get(cb[i]!)) as number;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };
  let matched = 0;
  let cells = 0;
  let equal = 0;
  const bad = new Map<string, number>();
  for (const [a, b] of groups.values()) {
    a.sort(cmp);
    b.sort(cmp);
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      matched++;
      for (const c of cols) {
        cells++;
        const u = num(a[i]!.get(c));
        const v = num(b[i]!.get(c));
        let ok: boolean;
        if (typeof u === 'number' && typeof v === 'number') {
          ok = u === v || (Number.isNaN(u) && Number.isNaN(v)) ||
            (Number.isFinite(u) && Number.isFinite(v) && Math.abs(u - v) <= 1e-6 * Math.max(1, Math.abs(u), Math.abs(v)));
        } else ok = u === v;
        if (ok) equal++;
        else bad.set(c, (bad.get(c) ?? 0) + 1);
      }
    }
  }
  const totalCells = ref.rows.length * cols.length;
  return {
    refFlows: ref.rows.length,
    ourFlows: ours.rows.length,
    matched,
    cells: totalCells,
    equal,
    worst: [...bad.entries()].sort((x, y) => y[1] - x[1]).slice(0, 8),
    missingColumns: cols.filter((c) => !ours.head.includes(c)),
    ok: matched === ref.rows.length && ref.rows.length === ours.rows.length && equal === totalCells,
  };
}
