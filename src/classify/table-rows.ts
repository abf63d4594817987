/**
 * Rows of a table that already holds CICFlowMeter features (a CSV that CICFlowMeter or a public dataset wrote,
 * or JSON objects posted to `sensor serve`) → the model's inputs → verdicts. One module for `sensor classify`
 * and `POST /api/predict`, so both accept the same spellings and give the same verdicts as the packet path.
 *
 * Columns are matched by meaning (src/classify/feature-names.ts): any spelling the card accepts, with or
 * without CIC-IDS2017's leading spaces, any case. The second of two `Fwd Header Length` columns (or pandas'
 * `Fwd Header Length.1`) is the copy a card's `Fwd Header Length.1` asks for. The rows go through the loaded
 * Classifier (its worker thread, the card's preprocessing), laid out as the profile's feature rows.
 */
import type { Classifier } from './classifier.js';
import { lookupFeatureName, resolveInputs, spellingsOf } from './feature-names.js';
import { cardTask, type ModelCard } from './model-card.js';
import { batchVerdicts } from './verdict.js';
import { newFlowRows, numericIdentity, type FlowRows } from '../engine/flow-batch.js';

/** A flow's verdict, in the contract's JSON spelling (/work/notes/verdict-contract.md). */
export interface Verdict {
  label: string;
  score: number;
  model: string;
  attack_label: string | null;
  attack_score: number | null;
  kdd: string | null;
}

/** The rule a table's rows are judged by: the model's, with its threshold or one the request gives. */
export interface TableRule {
  model: string;
  task: 'attack' | 'application';
  classes: readonly string[];
  benign: string;
  /** p[A] >= threshold makes the flow an alert of class A; null = plain argmax. */
  threshold: number | null;
  kdd: Readonly<Record<string, string>> | null;
}

/** The rule of a card, with `--alert-threshold` / `?alert_threshold` (checked to be in (0, 1]) overriding the card's. */
export function tableRule(card: ModelCard, modelId: string, alertThreshold?: number): TableRule {
  const task = cardTask(card);
  return { model: modelId, task, classes: card.classes, benign: card.benign, threshold: task === 'attack' ? (alertThreshold ?? card.alert_threshold ?? null) : null, kdd: card.kdd ?? null };
}

/**
 * The contract's verdicts of a batch, by the packet path's own rule (verdict.ts, batchVerdicts), in the JSON
 * spelling. An application model has no attack fields.
 */
export function tableVerdicts(probs: Float32Array, count: number, rule: TableRule): Verdict[] {
  const C = rule.classes.length;
  const v = batchVerdicts(probs, count, C, { benign: rule.classes.indexOf(rule.benign), threshold: rule.threshold });
  const out: Verdict[] = new Array<Verdict>(count);
  for (let i = 0; i < count; i++) {
    const label = rule.classes[v.label[i]!]!;
    const attack = rule.task === 'attack' && v.attack[i]! >= 0;
    out[i] = {
      label,
      score: v.score[i]!,
      model: rule.model,
      attack_label: attack ? rule.classes[v.attack[i]!]! : null,
      attack_score: attack ? v.attackScore[i]! : null,
      kdd: rule.kdd?.[label] ?? null,
    };
  }
  return out;
}

/** Where each model input is in a table: a column index per card input, and the table's own label, if any. */
export interface TableColumns {
  input: number[];
  /** Column holding the data's own label (e.g. CIC-IDS2017's ` Label`), or -1. */
  label: number;
}

/** Every spelling a missing input could have had, for the message that names it. */
export interface MissingColumn {
  /** The card's name of the input. */
  input: string;
  /** 0-based position among the card's inputs. */
  position: number;
  accepted: string[];
}

/** Find every model input among a table's column names; `missing` names each one that is absent. */
function mapTableColumns(header: readonly string[], card: ModelCard): { ok: true; columns: TableColumns } | { ok: false; missing: MissingColumn[] } {
  // canonical name → its columns in header order; `X.1` (pandas) is placed as the second copy.
  const byCanonical = new Map<string, number[]>();
  let label = -1;
  header.forEach((raw, i) => {
    const name = i === 0 ? raw.replace(/^(\uFEFF|\u00EF\u00BB\u00BF)/, '') : raw; // a UTF-8 BOM (as text or latin1 bytes)
    const r = lookupFeatureName(name);
    if (r.kind === 'label') {
      if (label < 0) label = i;
      return;
    }
    if (r.kind !== 'feature' && r.kind !== 'identity') return;
    const list = byCanonical.get(r.canonical) ?? [];
    const copy = r.kind === 'feature' ? r.copy : 0;
    if (copy > 0) list[copy] = i;
    else if (list[0] === undefined) list[0] = i;
    else list.push(i);
    byCanonical.set(r.canonical, list);
  });
  const input: number[] = [];
  const missing: MissingColumn[] = [];
  card.inputs.forEach((name, j) => {
    const r = lookupFeatureName(name);
    const canonical = r.kind === 'feature' || r.kind === 'identity' ? r.canonical : name;
    const copy = r.kind === 'feature' ? r.copy : 0;
    const at = byCanonical.get(canonical);
    // A second copy that the table lacks is the first one (cic2017 writes the same value twice).
    const col = at?.[copy] ?? at?.[0];
    if (col === undefined) missing.push({ input: name, position: j, accepted: spellingsOf(canonical) });
    else input.push(col);
  });
  return missing.length > 0 ? { ok: false, missing } : { ok: true, columns: { input, label } };
}

/** One line per missing column: `missing column "Flow Bytes/s" (model input 14 of 66; accepted: ...)`. */
export function describeMissing(missing: readonly MissingColumn[], inputs: number): string[] {
  return missing.map((m) => `missing column "${m.input.trim()}" (model input ${m.position + 1} of ${inputs}; accepted spellings: ${m.accepted.map((s) => `"${s}"`).join(', ')}, any case, spaces around ignored)`);
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Digits with at most a leading sign and one point, e.g. `79`, `-0.5`, `31.0` (exponents take the slow path). */
function plainDecimal(s: string): boolean {
  const n = s.length;
  let i = 0;
  let digits = 0;
  let point = false;
  if (n > 0 && (s.charCodeAt(0) === 45 || s.charCodeAt(0) === 43)) i = 1;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !point) point = true;
    else return false;
  }
  return digits > 0;
}

/**
 * A cell as a number: decimal numbers (Java's `1.0E-4` too), `Infinity`/`inf` and `NaN`/`nan` in any case (the
 * CSVs hold them where a flow has zero duration; the card's preprocessing replaces them); an empty cell is NaN. JSON may give
 * numbers, numeric strings, or null for NaN (what a JSON writer makes of NaN). Anything else is undefined.
 */
export function parseCell(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === null) return NaN;
  if (typeof v !== 'string') return undefined;
  if (plainDecimal(v)) return Number(v); // the common case, without a regular expression or a trimmed copy
  const s = v.trim();
  if (NUMBER.test(s)) return Number(s);
  if (s === '') return NaN; // an empty cell is NaN, as pandas reads it (CIC-DDoS2019 leaves Flow Bytes/s empty)
  const l = s.toLowerCase();
  if (l === 'nan') return NaN;
  if (l === 'infinity' || l === 'inf' || l === '+infinity' || l === '+inf') return Infinity;
  if (l === '-infinity' || l === '-inf') return -Infinity;
  return undefined;
}

/** Why a row got no verdict: the first bad cell, or a row shorter than the header. */
export interface RowProblem {
  /** Index of the row in the batch. */
  row: number;
  message: string;
}

/**
 * Classifies tables for one model: maps columns, turns rows into the profile's feature layout, runs the
 * classifier and applies the verdict rule.
 */
/**
 * Why a model cannot classify a table's rows, or null: a model that takes `Server Name Class` or `Payload Protocol
 * Class` needs the flow's server name or payload, which a table of CIC features does not have (such a model
 * classifies the flows the sensor makes, --replay). The commands check this first and refuse with it (exit 2).
 */
export function tableRefusal(classifier: Classifier): string | null {
  const sources = resolveInputs(classifier.card.inputs, classifier.columns).sources;
  const at = sources.findIndex((s) => s.from === 'server-name' || s.from === 'payload-protocol');
  if (at < 0) return null;
  const what = sources[at]!.from === 'server-name' ? '"Server Name Class" (the flow\'s server name)' : '"Payload Protocol Class" (the protocol of the flow\'s first payload bytes)';
  return `model ${classifier.id}: inputs[${at}] is ${what}, which a table of CIC features does not have: classify its flows with sensor --replay`;
}

export class TableClassifier {
  readonly rule: TableRule;
  private readonly stride: number;
  /** Per card input: its position in the profile's feature row, or the identity field it fills. */
  private readonly targets: ({ feature: number } | { identity: 'srcPort' | 'dstPort' | 'protocol' })[];

  constructor(
    readonly classifier: Classifier,
    alertThreshold?: number,
  ) {
    this.rule = tableRule(classifier.card, classifier.id, alertThreshold ?? classifier.threshold ?? undefined);
    this.stride = classifier.columns.featureNames.length;
    const refused = tableRefusal(classifier); // the commands refuse such a model before they get here
    if (refused !== null) throw new Error(refused);
    const { sources } = resolveInputs(classifier.card.inputs, classifier.columns); // checked by Classifier.load
    this.targets = sources.flatMap((s): TableClassifier['targets'][number][] => (s.from === 'feature' ? [{ feature: s.index }] : s.from === 'identity' ? [{ identity: s.field }] : []));
  }

  get card(): ModelCard {
    return this.classifier.card;
  }

  columns(header: readonly string[]): ReturnType<typeof mapTableColumns> {
    return mapTableColumns(header, this.card);
  }

  /**
   * Verdicts for rows of cells (strings from CSV, or JSON values; `undefined` = the row lacks the column).
   * A row with a cell that is not a number gets null and a problem naming the column and the value. `rule`:
   * this model's rule with another threshold (tableRule), for a request that asks for one.
   */
  async classify(rows: readonly (readonly unknown[])[], columns: TableColumns, header: readonly string[], rule: TableRule = this.rule): Promise<{ verdicts: (Verdict | null)[]; problems: RowProblem[] }> {
    const W = this.targets.length;
    const values = new Float64Array(rows.length * W);
    const good: number[] = [];
    const problems: RowProblem[] = [];
    rows.forEach((cells, r) => {
      for (let j = 0; j < W; j++) {
        const col = columns.input[j]!;
        const cell = cells[col];
        if (cell === undefined) {
          problems.push({ row: r, message: `no value in column "${header[col]!.trim()}"${cells.length <= col ? ` (the row has ${cells.length} fields)` : ''}` });
          return;
        }
        const v = parseCell(cell);
        if (v === undefined) {
          problems.push({ row: r, message: `column "${header[col]!.trim()}": ${JSON.stringify(cell)} is not a number` });
          return;
        }
        values[good.length * W + j] = v;
      }
      good.push(r);
    });
    const verdicts: (Verdict | null)[] = new Array<Verdict | null>(rows.length).fill(null);
    if (good.length === 0) return { verdicts, problems };

    const batch = this.toFlowRows(values, good.length);
    const probs = await this.classifier.probabilities(batch);
    const v = tableVerdicts(probs, good.length, rule);
    good.forEach((r, i) => (verdicts[r] = v[i]!));
    return { verdicts, problems };
  }

  /** The rows in the layout the classifier reads from the packet path: the profile's feature row, and ports. */
  private toFlowRows(values: Float64Array, count: number): FlowRows {
    const W = this.targets.length;
    const S = this.stride;
    const rows = newFlowRows(count, S);
    rows.count = count;
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < W; j++) {
        const t = this.targets[j]!;
        const v = values[i * W + j]!;
        if ('feature' in t) rows.features[i * S + t.feature] = v;
        else numericIdentity(rows, t.identity)[i] = v;
      }
    }
    return rows;
  }
}
