/**
 * One model of a run: where its files are (a name in models/, a card, an ONNX file), its card read and checked
 * (task, profile, inputs, the ONNX file's sha256), its ONNX graph checked against the card once a session has it,
 * and how its probabilities become the verdict columns of a batch. Everything here runs before any packet is read
 * or after inference (Model.label); the inference itself is classifier.ts's.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getProfile, type ProfileName } from '../features/profiles.js';
import type { FlowRows, ProfileColumns } from '../engine/flow-batch.js';
import { resolveInputs, type InputSource } from './feature-names.js';
import { cardTask, validateModelCard, type ModelCard, type ModelTask } from './model-card.js';
import type { TensorInfo } from './worker.js';
import type { BatchVerdicts, VerdictRule } from './verdict.js';
import type { GroupVerdicts } from './group-verdict.js';

/** The model shipped in models/ and used when the command line names none. */
export const DEFAULT_MODEL_NAME = 'cic2017-attack';
/** The application model used when the command line names none (when models/ has it: else no application verdicts). */
export const DEFAULT_APP_MODEL_NAME = 'cic2017-app';
/** models/ of this package (from src/classify/ or dist/classify/ alike). */
export const MODELS_DIR = fileURLToPath(new URL('../../models/', import.meta.url));

/** Why a model cannot be used. `problems` are complete one-line messages, every one that was found. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export interface LoadOptions {
  /** The profile the user asked for (--profile), if any: a card for another profile is refused. */
  profile?: ProfileName;
  /** Threads onnxruntime may use inside the worker (default 1: the packet path needs the other core). */
  threads?: number;
  /** The task the run's model slot takes (checkModelTask); absent = any task (`sensor models inspect`, drift). */
  task?: ModelTask;
  /** --alert-threshold: overrides the card's alert_threshold (in (0, 1], checked by the caller). */
  alertThreshold?: number;
}

/** The run's model slots, one per task: the option (and config key) that fills each. */
const SLOTS: Record<ModelTask, { option: string; other: string }> = {
  attack: { option: '--model (config "model")', other: 'give it as --app-model' },
  application: { option: '--app-model (config "appModel")', other: 'give it as --model' },
};

/** The one place that says which task a model slot takes: the attack model's and the application model's. */
export function checkModelTask(card: ModelCard, cardPath: string, task: ModelTask): string | undefined {
  const got = cardTask(card);
  if (got === task) return undefined;
  return `model card ${cardPath}: task is "${got}", but ${SLOTS[task].option} takes a model of task "${task}" (${SLOTS[task].other})`;
}

/** Where a model's files are, from what the user typed: the .onnx, the .json, or a name in models/. */
export function modelPaths(spec: string): { cardPath: string; givenOnnx?: string } {
  const ext = extname(spec).toLowerCase();
  if (ext === '.json') return { cardPath: resolve(spec) };
  if (ext === '.onnx') return { cardPath: resolve(dirname(spec), `${basename(spec, extname(spec))}.json`), givenOnnx: resolve(spec) };
  // A bare name (no directory, no extension) that is not a file here: a model shipped in models/.
  if (!existsSync(spec) && !spec.includes('/') && !isAbsolute(spec)) return { cardPath: join(MODELS_DIR, `${spec}.json`) };
  return { cardPath: resolve(spec) };
}

function readError(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return (e as Error).message ?? String(e);
}

/** Read and validate a card; throws ModelError with every problem. Used by load() and `sensor models inspect`. */
export function readModelCard(spec: string): { card: ModelCard; cardPath: string; onnxPath: string } {
  const { cardPath, givenOnnx } = modelPaths(spec);
  let text: string;
  try {
    text = readFileSync(cardPath, 'utf8');
  } catch (e) {
    const why = readError(cardPath, e);
    if (givenOnnx !== undefined && why === 'no such file') {
      throw new ModelError([`model ${givenOnnx}: its card ${cardPath} is missing (every model needs <name>.onnx and <name>.json)`]);
    }
    throw new ModelError([`cannot read model card ${cardPath}: ${why}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelError([`model card ${cardPath} is not valid JSON: ${(e as Error).message}`]);
  }
  const r = validateModelCard(json);
  if (!r.ok) throw new ModelError(r.errors.map((e) => `model card ${cardPath}: ${e}`));
  const onnxPath = givenOnnx ?? resolve(dirname(cardPath), r.card.onnx.file);
  return { card: r.card, cardPath, onnxPath };
}

/** A model checked against its card and its ONNX graph: what the sensor knows about it once loaded. */
export class Model {
  /** `name@version`, written with every verdict. */
  readonly id: string;
  readonly task: ModelTask;
  readonly profile: ProfileName;
  readonly columns: ProfileColumns;
  readonly classes: readonly string[];
  readonly width: number;
  /** The alert threshold in use (attack task: --alert-threshold, else the card's), or null: plain argmax. */
  readonly threshold: number | null;
  /** Index of the benign class. */
  readonly benignIndex: number;
  /** Per class index: its KDD category (card `kdd`), or null when the card has none. */
  private readonly kddOf: (string | null)[];

  constructor(
    readonly card: ModelCard,
    readonly cardPath: string,
    readonly onnxPath: string,
    /** Where each input comes from (feature column or flow identity field). */
    readonly sources: InputSource[],
    threshold: number | null,
    /** The session's inputs and outputs (set once the inference thread has loaded it). */
    public graph: { inputs: TensorInfo[]; outputs: TensorInfo[] } = { inputs: [], outputs: [] },
  ) {
    this.id = `${card.name}@${card.version}`;
    this.task = cardTask(card);
    this.threshold = threshold;
    this.benignIndex = card.classes.indexOf(card.benign);
    this.kddOf = card.classes.map((c) => card.kdd?.[c] ?? null);
    this.profile = card.profile;
    this.columns = getProfile(card.profile).columns;
    this.classes = card.classes;
    this.width = card.inputs.length;
  }

  /** The rule the inference thread applies: the attack verdict (verdict.ts), or null = the most probable group. */
  verdictRule(): VerdictRule | null {
    return this.task === 'attack' ? { benign: this.benignIndex, threshold: this.threshold } : null;
  }

  /**
   * Put a batch's verdicts on it. Attack task: rows.labels/scores (the verdict: thresholded when there is a
   * threshold, else the most probable class), rows.attackLabels/attackScores (the most probable attack class,
   * always), rows.kdd (when the card maps classes to KDD categories; absent = NULL) and rows.model. Application
   * task: rows.appLabels/appScores (the most probable group) and rows.appModel.
   */
  label(rows: FlowRows, v: BatchVerdicts | GroupVerdicts): void {
    const n = rows.count;
    const classes = this.classes;
    const labels: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) labels[i] = classes[v.label[i]!]!;
    if (this.task === 'application') {
      rows.appLabels = labels;
      rows.appScores = v.score;
      rows.appModel = this.id;
      return;
    }
    const a = v as BatchVerdicts;
    const attackLabels: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) attackLabels[i] = classes[a.attack[i]!]!;
    rows.labels = labels;
    rows.scores = a.score;
    rows.attackLabels = attackLabels;
    rows.attackScores = a.attackScore;
    // Without a kdd mapping the column is NULL: no per-row array to build and send to the sinks.
    if (this.card.kdd !== undefined) {
      const kdd: (string | null)[] = new Array<string | null>(n);
      for (let i = 0; i < n; i++) kdd[i] = this.kddOf[a.label[i]!]!;
      rows.kdd = kdd;
    }
    rows.model = this.id;
  }

  /** The verdicts of an empty batch (nothing to run). */
  emptyVerdicts(): BatchVerdicts | GroupVerdicts {
    return this.task === 'application'
      ? { label: new Int32Array(0), score: new Float64Array(0) }
      : { label: new Int32Array(0), score: new Float64Array(0), attack: new Int32Array(0), attackScore: new Float64Array(0) };
  }
}

/** What one model of a run is loaded from: the path or name the user gave, the slot's task, the threshold. */
export interface ModelRequest {
  spec: string;
  /** The slot's task (checkModelTask); absent = any task. */
  task?: ModelTask;
  alertThreshold?: number;
}

/** Read and check one model before its session exists: every problem found goes to `problems`. */
export function checkModel(req: ModelRequest, profile: ProfileName | undefined, problems: string[]): Model | undefined {
  let read: ReturnType<typeof readModelCard>;
  try {
    read = readModelCard(req.spec);
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
    problems.push(...e.problems);
    return undefined;
  }
  const { card, cardPath, onnxPath } = read;
  const before = problems.length;
  const where = `model card ${cardPath}`;
  if (req.task !== undefined) {
    const wrongTask = checkModelTask(card, cardPath, req.task);
    if (wrongTask !== undefined) problems.push(wrongTask);
  }
  if (profile !== undefined && profile !== card.profile) {
    problems.push(`${where}: the model reads profile ${card.profile} features, but --profile ${profile} was given`);
  }
  const { sources, errors } = resolveInputs(card.inputs, getProfile(card.profile).columns);
  for (const e of errors) problems.push(`${where}: ${e}`);

  let bytes: Buffer | undefined;
  try {
    bytes = readFileSync(onnxPath);
  } catch (e) {
    problems.push(`cannot read ONNX model ${onnxPath}: ${readError(onnxPath, e)}`);
  }
  if (bytes !== undefined) {
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== card.onnx.sha256) problems.push(`${where}: onnx.sha256 is ${card.onnx.sha256.slice(0, 12)}…, but ${onnxPath} has ${sha.slice(0, 12)}… (the card describes another model file)`);
  }
  if (problems.length > before) return undefined;
  const threshold = cardTask(card) === 'attack' ? (req.alertThreshold ?? card.alert_threshold ?? null) : null;
  return new Model(card, cardPath, onnxPath, sources, threshold);
}

/** The session's input and output against the card: names, element type, and widths. */
export function checkGraph(card: ModelCard, onnxPath: string, inputs: TensorInfo[], outputs: TensorInfo[]): string[] {
  const problems: string[] = [];
  const where = `ONNX model ${onnxPath}`;
  const list = (l: TensorInfo[]): string => l.map((t) => t.name).join(', ');
  if (inputs.length !== 1) problems.push(`${where}: expected exactly 1 input, the graph has ${inputs.length} (${list(inputs)})`);
  const input = inputs.find((t) => t.name === card.onnx.input);
  if (!input) problems.push(`${where}: has no input named "${card.onnx.input}" (card onnx.input); its inputs: ${list(inputs)}`);
  else {
    const shape = input.shape ?? [];
    if (!input.isTensor || input.type !== 'float32') problems.push(`${where}: input "${input.name}" must be a float32 tensor, it is ${input.type ?? 'not a tensor'}`);
    else if (shape.length !== 2) problems.push(`${where}: input "${input.name}" must have shape [N, features], it has [${shape.join(', ')}]`);
    else if (typeof shape[1] !== 'number') problems.push(`${where}: input "${input.name}" has no fixed feature width ([${shape.join(', ')}]), so it cannot be checked against the card's ${card.inputs.length} inputs`);
    else if (shape[1] !== card.inputs.length) problems.push(`${where}: input "${input.name}" takes ${shape[1]} features, but the card lists ${card.inputs.length} inputs`);
  }
  const out = outputs.find((t) => t.name === card.onnx.probabilities);
  if (!out) problems.push(`${where}: has no output named "${card.onnx.probabilities}" (card onnx.probabilities); its outputs: ${list(outputs)}`);
  else {
    const shape = out.shape ?? [];
    if (!out.isTensor || out.type !== 'float32') problems.push(`${where}: output "${out.name}" must be a float32 tensor of class probabilities, it is ${out.type ?? 'not a tensor'}`);
    else if (shape.length === 2 && typeof shape[1] === 'number' && shape[1] !== card.classes.length) {
      problems.push(`${where}: output "${out.name}" gives ${shape[1]} class probabilities, but the card lists ${card.classes.length} classes`);
    }
  }
  return problems;
}
