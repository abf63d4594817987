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

/** A CSV as arrays: its header, each name's first column, and each row's cells (a repeated header left out). */
interface Table {
  head: string[];
  col: Map<string, number>;
  rows: string[][];
}

function loadTable(path: string): Table {
  const raw = readFileSync(path);
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  const lines = text.split(/\r?\n/);
  const head = lines[0]!.split(',').map((h) => h.trim());
  // Keep the first occurrence of a duplicated name (cic2017's second Fwd Header Length is compared as the first).
  const col = new Map<string, number>();
  head.forEach((h, j) => {
    if (!col.has(h)) col.set(h, j);
  });
  const rows: string[][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const cells = line.split(',');
    if (cells[0] === head[0]) continue; // a repeated header
    rows.push(cells);
  }
  return { head, col, rows };
}

/** A CSV's rows as maps from column name to cell. */
export function loadCsv(path: string): Csv {
  const t = loadTable(path);
  const rows = t.rows.map((cells) => {
    const row: Row = new Map();
    for (const [h, j] of t.col) row.set(h, cells[j] ?? '');
    return row;
  });
  return { head: t.head, rows };
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
  // Rows stay arrays of cells and columns are looked up once: the large captures have 10^5 rows of 80 cells.
  const ref = loadTable(refPath);
  const ours = loadTable(oursPath);
  const cols = [...new Set(ref.head.filter((c) => !SKIP.has(c)))];
  const at = (t: Table, names: readonly string[]): number[] => names.map((c) => t.col.get(c) ?? -1);
  /** The cell of column index `j` (-1: a column the file lacks, undefined as a missing name reads). */
  const cell = (row: string[], j: number): string | undefined => (j < 0 ? undefined : (row[j] ?? ''));
  const key = ref.head.includes(KEYS[0]![0]!) ? KEYS[0]! : KEYS[1]!;
  const sides = [ref, ours].map((t) => ({
    t,
    key: at(t, key),
    order: at(t, t.col.has('Total Fwd Packet') ? ORDER[0]! : ORDER[1]!),
    cols: at(t, cols),
  }));
  const groups = new Map<string, [string[][], string[][]]>();
  sides.forEach((side, s) => {
    for (const r of side.t.rows) {
      const k = side.key.map((j) => (cell(r, j) ?? '').trim()).join('\u0000');
      let g = groups.get(k);
      if (!g) groups.set(k, (g = [[], []]));
      g[s]!.push(r);
    }
  });
  const byOrder = (order: number[]) => (a: string[], b: string[]): number => {
    for (const j of order) {
      const x = num(cell(a, j)) as number;
      const y = num(cell(b, j)) as number;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };
  const sortRef = byOrder(sides[0]!.order);
  const sortOurs = byOrder(sides[1]!.order);
  const [refCols, ourCols] = [sides[0]!.cols, sides[1]!.cols];
  let matched = 0;
  let equal = 0;
  const bad = new Map<string, number>();
  for (const [a, b] of groups.values()) {
    a.sort(sortRef);
    b.sort(sortOurs);
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      matched++;
      for (let c = 0; c < cols.length; c++) {
        const x = cell(a[i]!, refCols[c]!);
        const y = cell(b[i]!, ourCols[c]!);
        // The same text is the same value (most cells); otherwise compare as numbers.
        let ok = x !== undefined && x === y;
        if (!ok) {
          const u = num(x);
          const v = num(y);
          if (typeof u === 'number' && typeof v === 'number') {
            ok = u === v || (Number.isNaN(u) && Number.isNaN(v)) ||
              (Number.isFinite(u) && Number.isFinite(v) && Math.abs(u - v) <= 1e-6 * Math.max(1, Math.abs(u), Math.abs(v)));
          } else ok = u === v;
        }
        if (ok) equal++;
        else bad.set(cols[c]!, (bad.get(cols[c]!) ?? 0) + 1);
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
