/**
 * The model contract: `models/<name>.onnx` comes with `models/<name>.json`, its card. The card says which
 * feature profile the model reads, which columns in which order, how values are prepared, what the classes are
 * and which one is benign, where the model came from and how well it did. The sensor refuses a model whose card
 * does not validate, or whose ONNX graph does not match the card, before it reads any packet.
 *
 * validateModelCard() returns every problem at once, each as `<field>: <what was expected>, got <what>`.
 *
 * Optional fields (old cards without them stay valid; /work/notes/verdict-contract.md): `task` (attack or
 * application), `alert_threshold` (the thresholded verdict, verdict.ts), `kdd` (class → KDD'99 category),
 * `drift_reference` (the training distribution of the inputs, for `sensor models drift`) and `server_names` (the
 * suffix table of the `Server Name Class` input, server-name-class.ts).
 */
import { PROFILE_NAMES, type ProfileName } from '../features/profiles.js';
import type { Preprocessing } from './preprocess.js';
import { isSuffix, SERVER_NAME_CLASS } from './server-name-class.js';
import { PAYLOAD_PROTOCOL_CLASS } from './payload-protocol-class.js';
import { PAYLOAD_PROTOCOLS } from '../decode/payload-protocol.js';
// In a module of its own so that the inference thread loads it without the profiles (preprocess.ts).
export { preprocessValue, type Preprocessing } from './preprocess.js';

const CARD_FORMAT = 'sensor-model-card/1';

/** What a model decides: whether a flow is an attack (and which), or which application it is. */
const MODEL_TASKS = ['attack', 'application'] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];
/** The KDD'99 attack categories a class may map to (`kdd`). */
const KDD_CATEGORIES = ['normal', 'DoS', 'Probe', 'R2L', 'U2R'] as const;
export type KddCategory = (typeof KDD_CATEGORIES)[number];

/** One input's training distribution: k bins cut by k-1 edges, bin i = (e_i, e_{i+1}] (see binIndex). */
export interface DriftFeature {
  edges: number[];
  /** Share of training rows in each bin (k entries, sum 1). */
  fractions: number[];
  /** The same per training class (optional). */
  per_class?: Record<string, number[]>;
}
export interface DriftReference {
  method: 'quantile-bins';
  /** Training rows the bins were computed on. */
  rows: number;
  /** Keyed by the card's `inputs` names, exactly as spelled there. */
  features: Record<string, DriftFeature>;
}

export interface ModelCard {
  format: typeof CARD_FORMAT;
  /** Short name, stored with every verdict (SQLite `model` column). */
  name: string;
  version: string;
  description?: string;
  /** Feature definitions the model was trained on; the sensor runs this profile unless told otherwise. */
  profile: ProfileName;
  onnx: {
    /** File name of the ONNX model, relative to the card. */
    file: string;
    /** Graph input (float32 [N, inputs.length]) and output (float32 [N, classes.length]) names. */
    input: string;
    probabilities: string;
    /** sha256 of the ONNX file, hex: a card is only valid for the model it describes. */
    sha256: string;
  };
  /** Ordered input columns: CICFlowMeter names in any spelling of src/classify/feature-names.ts. */
  inputs: string[];
  preprocessing: Preprocessing;
  /** Class labels in the order of the probability output. */
  classes: string[];
  /** The class that means "nothing to report". */
  benign: string;
  provenance: {
    /** Data the model was trained on: one line per source (name, rows, hash). */
    data: string[];
    /** ISO 8601 date of training. */
    created: string;
    /** Commit of the training code (git), with "-dirty" when the tree had changes. */
    code_commit: string;
    /** Command that reproduces the model. */
    command: string;
    [k: string]: unknown;
  };
  /** Measured on held-out data: free-form, but present (how good is this model?). */
  metrics: Record<string, unknown>;
  /** Absent = "attack". */
  task?: ModelTask;
  /** Attack task only, in (0, 1]: a flow is an alert only when its most likely attack class has at least this. */
  alert_threshold?: number;
  /** Every class → its KDD'99 category (the benign class → normal). */
  kdd?: Record<string, KddCategory>;
  drift_reference?: DriftReference;
  /**
   * Name suffix → one of `classes`: the table of the `Server Name Class` input (which needs it); `sources`, where a
   * name must come from for the model to read it (absent: every source).
   */
  server_names?: { suffixes: [string, string][]; sources?: ServerNameSourceName[] };
  /** The protocols of the `Payload Protocol Class` input (which needs it), in the order its values number them. */
  payload_protocols?: { protocols: string[] };
}

/** What an alert threshold must be ("a number in (0, 1]"), or undefined when `t` is one. */
export function alertThresholdError(t: unknown): string | undefined {
  return typeof t === 'number' && t > 0 && t <= 1 ? undefined : 'a number in (0, 1]';
}

/** The card's task (absent = attack). */
export const cardTask = (card: ModelCard): ModelTask => card.task ?? 'attack';

export type CardResult = { ok: true; card: ModelCard } | { ok: false; errors: string[] };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

/** Check a parsed card; every problem is reported, with the field's path and what was expected. */
export function validateModelCard(json: unknown): CardResult {
  const errors: string[] = [];
  if (!isObject(json)) return { ok: false, errors: [`card: expected a JSON object, got ${show(json)}`] };
  const c = json;
  const str = (obj: Record<string, unknown>, field: string, path: string): string | undefined => {
    const v = obj[field];
    if (typeof v !== 'string' || v.trim() === '') {
      errors.push(`${path}: expected a non-empty string, got ${v === undefined ? 'nothing' : show(v)}`);
      return undefined;
    }
    return v;
  };
  const num = (v: unknown, path: string, finite = true): number | undefined => {
    if (typeof v !== 'number' || (finite && !Number.isFinite(v))) {
      errors.push(`${path}: expected a finite number, got ${v === undefined ? 'nothing' : show(v)}`);
      return undefined;
    }
    return v;
  };

  if (c.format !== CARD_FORMAT) errors.push(`format: expected "${CARD_FORMAT}", got ${c.format === undefined ? 'nothing' : show(c.format)}`);
  str(c, 'name', 'name');
  str(c, 'version', 'version');
  if (c.description !== undefined && typeof c.description !== 'string') errors.push(`description: expected a string, got ${show(c.description)}`);
  if (typeof c.profile !== 'string' || !(PROFILE_NAMES as readonly string[]).includes(c.profile)) {
    errors.push(`profile: expected one of ${PROFILE_NAMES.join(', ')}, got ${c.profile === undefined ? 'nothing' : show(c.profile)}`);
  }

  if (!isObject(c.onnx)) errors.push(`onnx: expected an object {file, input, probabilities, sha256}, got ${c.onnx === undefined ? 'nothing' : show(c.onnx)}`);
  else {
    str(c.onnx, 'file', 'onnx.file');
    str(c.onnx, 'input', 'onnx.input');
    str(c.onnx, 'probabilities', 'onnx.probabilities');
    const h = c.onnx.sha256;
    if (typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h)) errors.push(`onnx.sha256: expected 64 lowercase hex digits, got ${h === undefined ? 'nothing' : show(h)}`);
  }

  let nInputs: number | undefined;
  if (!Array.isArray(c.inputs) || c.inputs.length === 0) errors.push(`inputs: expected a non-empty array of feature names, got ${c.inputs === undefined ? 'nothing' : show(c.inputs)}`);
  else {
    nInputs = c.inputs.length;
    c.inputs.forEach((n, i) => {
      if (typeof n !== 'string' || n.trim() === '') errors.push(`inputs[${i}]: expected a feature name, got ${show(n)}`);
    });
  }

  if (!isObject(c.preprocessing)) errors.push(`preprocessing: expected an object {nan, posinf, neginf, clip, scale}, got ${c.preprocessing === undefined ? 'nothing' : show(c.preprocessing)}`);
  else {
    const p = c.preprocessing;
    num(p.nan, 'preprocessing.nan');
    num(p.posinf, 'preprocessing.posinf');
    num(p.neginf, 'preprocessing.neginf');
    if (p.clip !== null) {
      if (!Array.isArray(p.clip) || p.clip.length !== 2 || typeof p.clip[0] !== 'number' || typeof p.clip[1] !== 'number' || !(p.clip[0] <= p.clip[1])) {
        errors.push(`preprocessing.clip: expected null or [min, max] with min <= max, got ${p.clip === undefined ? 'nothing' : show(p.clip)}`);
      }
    }
    if (p.scale !== null) {
      const s = p.scale;
      const okArray = (a: unknown, nonzero: boolean): boolean =>
        Array.isArray(a) && a.length === nInputs && a.every((x) => typeof x === 'number' && Number.isFinite(x) && (!nonzero || x !== 0));
      if (!isObject(s) || !okArray(s.center, false) || !okArray(s.scale, true)) {
        errors.push(`preprocessing.scale: expected null or {center, scale}, arrays of ${nInputs ?? 'len(inputs)'} finite numbers (scale non-zero), got ${s === undefined ? 'nothing' : show(s)}`);
      }
    }
  }

  let classes: string[] | undefined;
  if (!Array.isArray(c.classes) || c.classes.length < 2 || !c.classes.every((x) => typeof x === 'string' && x.trim() !== '')) {
    errors.push(`classes: expected an array of at least 2 class labels, got ${c.classes === undefined ? 'nothing' : show(c.classes)}`);
  } else {
    classes = c.classes as string[];
    const dup = classes.find((x, i) => classes!.indexOf(x) !== i);
    if (dup !== undefined) errors.push(`classes: "${dup}" is listed twice`);
  }
  const benign = str(c, 'benign', 'benign');
  if (benign !== undefined && classes !== undefined && !classes.includes(benign)) errors.push(`benign: "${benign}" is not one of classes (${classes.join(', ')})`);

  if (!isObject(c.provenance)) errors.push(`provenance: expected an object {data, created, code_commit, command}, got ${c.provenance === undefined ? 'nothing' : show(c.provenance)}`);
  else {
    const p = c.provenance;
    if (!Array.isArray(p.data) || p.data.length === 0 || !p.data.every((x) => typeof x === 'string')) {
      errors.push(`provenance.data: expected a non-empty array of strings (one per data source), got ${p.data === undefined ? 'nothing' : show(p.data)}`);
    }
    const created = str(p, 'created', 'provenance.created');
    if (created !== undefined && Number.isNaN(Date.parse(created))) errors.push(`provenance.created: expected an ISO 8601 date, got ${show(created)}`);
    str(p, 'code_commit', 'provenance.code_commit');
    str(p, 'command', 'provenance.command');
  }
  if (!isObject(c.metrics)) errors.push(`metrics: expected an object of measured metrics, got ${c.metrics === undefined ? 'nothing' : show(c.metrics)}`);

  validateVerdictFields(c, classes, benign, Array.isArray(c.inputs) ? (c.inputs as unknown[]) : [], errors);
  validateServerNames(c, classes, Array.isArray(c.inputs) ? (c.inputs as unknown[]) : [], errors);
  validatePayloadProtocols(c, Array.isArray(c.inputs) ? (c.inputs as unknown[]) : [], errors);

  return errors.length > 0 ? { ok: false, errors } : { ok: true, card: c as unknown as ModelCard };
}

/** `task`, `alert_threshold`, `kdd` and `drift_reference`: all optional; every problem goes to `errors`. */
function validateVerdictFields(c: Record<string, unknown>, classes: string[] | undefined, benign: string | undefined, inputs: unknown[], errors: string[]): void {
  const task = c.task;
  if (task !== undefined && !(MODEL_TASKS as readonly unknown[]).includes(task)) {
    errors.push(`task: expected "attack" or "application", got ${show(task)}`);
  }
  const t = c.alert_threshold;
  if (t !== undefined) {
    const bad = alertThresholdError(t);
    if (bad !== undefined) errors.push(`alert_threshold: expected ${bad}, got ${show(t)}`);
    else if (task === 'application') errors.push(`alert_threshold: expected no threshold on an application model (it applies to task "attack"), got ${show(t)}`);
  }

  if (c.kdd !== undefined) {
    const k = c.kdd;
    const one = `one of ${KDD_CATEGORIES.join(', ')}`;
    if (!isObject(k)) errors.push(`kdd: expected an object mapping every class to ${one}, got ${show(k)}`);
    else if (classes !== undefined) {
      for (const cls of classes) {
        const v = k[cls];
        if (!(KDD_CATEGORIES as readonly unknown[]).includes(v)) errors.push(`kdd.${cls}: expected ${one}, got ${v === undefined ? 'nothing' : show(v)}`);
        else if (cls === benign && v !== 'normal') errors.push(`kdd.${cls}: expected "normal" (the benign class), got ${show(v)}`);
      }
      for (const key of Object.keys(k)) {
        if (!classes.includes(key)) errors.push(`kdd.${key}: expected only classes as keys (${classes.join(', ')}), got ${show(key)}`);
      }
    }
  }

  if (c.drift_reference !== undefined) {
    const d = c.drift_reference;
    if (!isObject(d)) {
      errors.push(`drift_reference: expected an object {method, rows, features}, got ${show(d)}`);
      return;
    }
    if (d.method !== 'quantile-bins') errors.push(`drift_reference.method: expected "quantile-bins", got ${d.method === undefined ? 'nothing' : show(d.method)}`);
    if (typeof d.rows !== 'number' || !Number.isInteger(d.rows) || d.rows < 1) errors.push(`drift_reference.rows: expected a positive integer (training rows), got ${d.rows === undefined ? 'nothing' : show(d.rows)}`);
    if (!isObject(d.features) || Object.keys(d.features).length === 0) {
      errors.push(`drift_reference.features: expected an object with an entry per input, got ${d.features === undefined ? 'nothing' : show(d.features)}`);
      return;
    }
    for (const [name, f] of Object.entries(d.features)) {
      const at = `drift_reference.features[${JSON.stringify(name)}]`;
      if (!inputs.includes(name)) errors.push(`${at}: expected the name of one of the card's inputs, got ${show(name)}`);
      if (!isObject(f)) {
        errors.push(`${at}: expected {edges, fractions}, got ${show(f)}`);
        continue;
      }
      const edges = f.edges;
      const finite = (a: unknown): a is number[] => Array.isArray(a) && a.every((x) => typeof x === 'number' && Number.isFinite(x));
      let k: number | undefined;
      if (!finite(edges) || edges.some((e, i) => i > 0 && e < edges[i - 1]!)) errors.push(`${at}.edges: expected an array of finite numbers in ascending order, got ${show(edges)}`);
      else k = edges.length + 1;
      const shares = (a: unknown, path: string): void => {
        if (!finite(a) || (k !== undefined && a.length !== k) || a.some((x) => x < 0 || x > 1) || Math.abs(a.reduce((s, x) => s + x, 0) - 1) > 1e-3) {
          errors.push(`${path}: expected ${k ?? 'len(edges) + 1'} shares in [0, 1] that sum to 1, got ${show(a)}`);
        }
      };
      shares(f.fractions, `${at}.fractions`);
      if (f.per_class !== undefined) {
        if (!isObject(f.per_class)) errors.push(`${at}.per_class: expected an object of shares per class, got ${show(f.per_class)}`);
        else {
          for (const [cls, a] of Object.entries(f.per_class)) {
            if (classes !== undefined && !classes.includes(cls)) errors.push(`${at}.per_class.${cls}: expected a class of the card (${classes.join(', ')}), got ${show(cls)}`);
            // A class may have no training row in a bin; an all-zero row (a class absent from training) is allowed.
            if (Array.isArray(a) && a.every((x) => x === 0) && (k === undefined || a.length === k)) continue;
            shares(a, `${at}.per_class.${cls}`);
          }
        }
      }
    }
  }
}

/** The sources a card's `server_names.sources` may list: the outputs' `server_name_source` values. */
export const SERVER_NAME_SOURCES = ['flow', 'carried', 'dns'] as const;
export type ServerNameSourceName = (typeof SERVER_NAME_SOURCES)[number];

/**
 * `server_names` (optional): {suffixes: [[suffix, group], ...], sources?: [...]}, each group one of `classes`, each
 * suffix a name (printable ASCII, no leading or trailing dot) listed once (case does not matter); `sources`, if
 * given, a non-empty list of the name sources the model reads (`flow`, `carried`, `dns`), each once: a flow whose
 * name came otherwise has no name to the model. The input `Server Name Class` needs the table.
 */
function validateServerNames(c: Record<string, unknown>, classes: string[] | undefined, inputs: unknown[], errors: string[]): void {
  const t = c.server_names;
  const at = inputs.findIndex((n) => typeof n === 'string' && n.trim().toLowerCase() === SERVER_NAME_CLASS.toLowerCase());
  if (t === undefined) {
    if (at >= 0) errors.push(`inputs[${at}]: "${SERVER_NAME_CLASS}" needs the card's server_names (the suffix table it looks the flow's server name up in)`);
    return;
  }
  if (!isObject(t) || !Array.isArray(t.suffixes)) {
    errors.push(`server_names: expected an object {suffixes: [[suffix, group], ...]}, got ${show(t)}`);
    return;
  }
  const seen = new Map<string, number>();
  t.suffixes.forEach((e: unknown, i) => {
    const where = `server_names.suffixes[${i}]`;
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'string' || e[1] === '') {
      errors.push(`${where}: expected [suffix, group], two non-empty strings, got ${show(e)}`);
      return;
    }
    const [suffix, group] = e as [string, string];
    if (!isSuffix(suffix)) errors.push(`${where}: expected a name suffix (printable ASCII, no leading or trailing dot, no empty label), got ${show(suffix)}`);
    if (classes !== undefined && !classes.includes(group)) errors.push(`${where}: group "${group}" is not one of classes (${classes.join(', ')})`);
    const k = suffix.toLowerCase();
    const prev = seen.get(k);
    if (prev !== undefined) errors.push(`${where}: suffix "${suffix}" is listed twice (also server_names.suffixes[${prev}])`);
    else seen.set(k, i);
  });
  if (t.sources !== undefined) {
    const s = t.sources;
    const known = (x: unknown): boolean => typeof x === 'string' && (SERVER_NAME_SOURCES as readonly string[]).includes(x);
    if (!Array.isArray(s) || s.length === 0 || !s.every(known) || new Set(s).size !== s.length) {
      errors.push(`server_names.sources: expected a non-empty list of ${SERVER_NAME_SOURCES.join(', ')}, each once, got ${show(s)}`);
    }
  }
}

/**
 * `payload_protocols` (optional): {protocols: [name, ...]}, each a protocol this sensor recognises
 * (decode/payload-protocol.ts, as nDPI spells it), listed once. The input `Payload Protocol Class` needs it.
 */
function validatePayloadProtocols(c: Record<string, unknown>, inputs: unknown[], errors: string[]): void {
  const t = c.payload_protocols;
  const at = inputs.findIndex((n) => typeof n === 'string' && n.trim().toLowerCase() === PAYLOAD_PROTOCOL_CLASS.toLowerCase());
  if (t === undefined) {
    if (at >= 0) errors.push(`inputs[${at}]: "${PAYLOAD_PROTOCOL_CLASS}" needs the card's payload_protocols (the protocol list its values number)`);
    return;
  }
  if (!isObject(t) || !Array.isArray(t.protocols)) {
    errors.push(`payload_protocols: expected an object {protocols: [name, ...]}, got ${show(t)}`);
    return;
  }
  const seen = new Map<string, number>();
  t.protocols.forEach((p: unknown, i) => {
    const where = `payload_protocols.protocols[${i}]`;
    if (typeof p !== 'string' || !PAYLOAD_PROTOCOLS.includes(p)) {
      errors.push(`${where}: expected a protocol this sensor recognises (${PAYLOAD_PROTOCOLS.join(', ')}), got ${show(p)}`);
      return;
    }
    const prev = seen.get(p);
    if (prev !== undefined) errors.push(`${where}: protocol "${p}" is listed twice (also payload_protocols.protocols[${prev}])`);
    else seen.set(p, i);
  });
}

/** Bin of a (preprocessed) value: the index of the first edge >= x, else the last bin (edges ascending). */
export function binIndex(x: number, edges: readonly number[]): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! >= x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
