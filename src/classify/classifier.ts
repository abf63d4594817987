/**
 * Load a model (ONNX + card), check that it fits, and classify batches of completed flows.
 *
 * Everything that can make a model unusable is found by Classifier.load(), before any packet is read: the
 * card is missing or invalid, its inputs are not columns of its profile, the profile is not the one the user
 * asked for, the ONNX file is not the one the card describes (sha256), cannot be loaded, or its graph's input
 * width or output width differs from the card. load() throws one ModelError listing every problem found.
 *
 * A run has one model slot per task (checkModelTask): the attack model (--model) and the application model
 * (--app-model); FlowClassifier.load() checks both, and refuses a model in the wrong slot, a card of a task the
 * sensor does not know (model-card.ts) and two models of different profiles. Classifier is one model alone
 * (`sensor models inspect`, `sensor classify`, `sensor serve`).
 *
 * Inference runs in a worker thread (classify/worker.ts), one for all the models of a run: classify(rows) lends
 * the batch's features to it by transfer (no copy; the packet thread only posts a message), the worker picks the card's columns into a
 * Float32Array [count × inputs] with the card's NaN/Infinity replacement, clipping and scaling, runs the model
 * (one session.run per model and FlowRows batch) and transfers the features back with the probabilities. While a batch is
 * being classified its `rows.features` is detached: the caller must not read it until classify() resolves, and
 * must not keep a reference to the old array (rows.features is a new view of the same memory afterwards).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { getProfile, type ProfileName } from '../features/profiles.js';
import { numericIdentity, type FlowRows, type NumericIdentityField, type ProfileColumns } from '../engine/flow-batch.js';
import { resolveInputs, type InputSource } from './feature-names.js';
import { cardTask, validateModelCard, type ModelCard, type ModelTask } from './model-card.js';
import { buildModelInput, type InputSpec } from './input.js';
import type { FromWorker, ModelResult, RunRequest, TensorInfo, WorkerInit } from './worker.js';
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

function defaultWorkerUrl(): URL {
  const sibling = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  // Running from src/ (vitest): the compiled worker.
  return new URL('../../dist/classify/worker.js', import.meta.url);
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
function checkModel(req: ModelRequest, profile: ProfileName | undefined, problems: string[]): Model | undefined {
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

interface Pending {
  resolve: (r: ModelResult[]) => void;
  reject: (e: Error) => void;
  /** The batch whose features were lent to the worker (they are put back on the reply). */
  rows: FlowRows;
  lent: boolean;
}

/**
 * The inference thread of a run (classify/worker.ts) with its models: a batch's features are lent to it once and
 * every model reads them there. Used by Classifier (one model) and FlowClassifier (a run's models).
 */
class InferenceThread {
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private failure: Error | null = null;
  private closed = false;
  private readonly io: RunRequest['models'];

  private constructor(
    readonly models: readonly Model[],
    /** The FlowIdentity fields that inputs take (ports, protocol), in identity-matrix order. */
    private readonly identityFields: NumericIdentityField[],
    readonly specs: readonly InputSpec[],
    private readonly worker: Worker,
    /** For messages: the models' ids. */
    private readonly name: string,
  ) {
    this.io = models.map((m) => ({ input: m.card.onnx.input, output: m.card.onnx.probabilities, classes: m.classes.length }));
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (e) => this.fail(new Error(`model ${name}: inference thread failed: ${e.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`model ${name}: inference thread exited (code ${code})`));
    });
    worker.unref();
  }

  /** Load and check models; throws ModelError (every problem of every model, one line each) when one cannot be used. */
  static async load(requests: readonly ModelRequest[], opts: { profile?: ProfileName; threads?: number }, crossCheck?: (models: Model[]) => string[]): Promise<InferenceThread> {
    const problems: string[] = [];
    const checked = requests.map((r) => checkModel(r, opts.profile, problems));
    const models = checked.filter((m): m is Model => m !== undefined);
    if (problems.length === 0 && crossCheck) problems.push(...crossCheck(models));
    if (problems.length > 0) throw new ModelError(problems);

    const { specs, identityFields } = inputSpecs(models);
    const init: WorkerInit = { threads: opts.threads ?? 1, models: models.map((m, k) => ({ onnxPath: m.onnxPath, spec: specs[k]!, verdict: m.verdictRule() })) };
    // execArgv: [] so that flags of the parent (e.g. node --input-type) do not reach the worker's own start.
    const worker = new Worker(defaultWorkerUrl(), { workerData: init, execArgv: [] });
    const ready = await new Promise<FromWorker | { t: 'crashed'; message: string }>((res) => {
      worker.once('message', res);
      worker.once('error', (e) => res({ t: 'crashed', message: e.message }));
    });
    if (ready.t !== 'ready') {
      await worker.terminate();
      if (ready.t === 'crashed') throw new Error(`cannot start the inference thread: ${ready.message}`);
      const which = ready.t === 'error' ? models[ready.model] : undefined;
      throw new ModelError([`cannot load ONNX model ${which?.onnxPath ?? models.map((m) => m.onnxPath).join(', ')}: ${ready.t === 'error' ? ready.message : 'unexpected reply'}`]);
    }
    const graphProblems: string[] = [];
    models.forEach((m, k) => {
      m.graph = ready.graphs[k]!;
      graphProblems.push(...checkGraph(m.card, m.onnxPath, m.graph.inputs, m.graph.outputs));
    });
    if (graphProblems.length > 0) {
      await worker.terminate();
      throw new ModelError(graphProblems);
    }
    return new InferenceThread(models, identityFields, specs, worker, models.map((m) => m.id).join(' + '));
  }

  identityMatrix(rows: FlowRows): Float64Array | null {
    const fields = this.identityFields;
    if (fields.length === 0) return null;
    const m = new Float64Array(rows.count * fields.length);
    for (let k = 0; k < fields.length; k++) {
      const col = numericIdentity(rows, fields[k]!);
      for (let i = 0; i < rows.count; i++) m[i * fields.length + k] = col[i]!;
    }
    return m;
  }

  /** One inference of a batch by every model in the worker: each model's probabilities and verdicts. */
  run(rows: FlowRows): Promise<ModelResult[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error(`model ${this.name} is closed`));
    if (rows.count === 0) return Promise.resolve([]);
    const seq = ++this.seq;
    const count = rows.count;
    const stride = this.models[0]!.columns.featureNames.length;
    const f = rows.features;
    // Lend the batch's own buffer when the array is all of it (the engine's batches are); else send a copy.
    const lent = f.byteOffset === 0 && f.byteLength === f.buffer.byteLength && f.buffer instanceof ArrayBuffer;
    const features = lent ? f : f.slice(0, count * stride);
    const identity = this.identityMatrix(rows);
    return new Promise((resolve, reject) => {
      this.pending.set(seq, {
        resolve: (results) => {
          for (const [k, m] of this.models.entries()) {
            const C = m.classes.length;
            const got = results[k]!.probs.length;
            if (got !== count * C) return reject(new Error(`model ${m.id}: output has ${got / count} classes per row, the card lists ${C}`));
          }
          resolve(results);
        },
        reject,
        rows,
        lent,
      });
      if (this.pending.size === 1) this.worker.ref();
      const msg: RunRequest = { t: 'run', seq, count, stride, features, identity, models: this.io };
      this.worker.postMessage(msg, [features.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Error(`model ${this.name} was closed`));
    this.pending.clear();
  }

  private onMessage(m: FromWorker): void {
    if (m.t !== 'done' && m.t !== 'failed') return;
    const p = this.pending.get(m.seq);
    if (!p) return;
    this.pending.delete(m.seq);
    if (this.pending.size === 0) this.worker.unref();
    if (p.lent) p.rows.features = m.features;
    if (m.t === 'done') p.resolve(m.results);
    else p.reject(new Error(`model ${this.name}: inference failed: ${m.message}`));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

/**
 * One model with its own inference thread: `sensor models inspect`/`drift`, `sensor classify`, `sensor serve`'s
 * predictions, tests and benchmarks. A run's models (attack and application together) are a FlowClassifier.
 */
export class Classifier {
  readonly model: Model;

  private constructor(private readonly thread: InferenceThread) {
    this.model = thread.models[0]!;
  }

  /** Load and check a model; throws ModelError (every problem, one line each) when it cannot be used. */
  static async load(spec: string, opts: LoadOptions = {}): Promise<Classifier> {
    const req: ModelRequest = { spec, ...(opts.task !== undefined ? { task: opts.task } : {}), ...(opts.alertThreshold !== undefined ? { alertThreshold: opts.alertThreshold } : {}) };
    return new Classifier(await InferenceThread.load([req], opts));
  }

  get id(): string {
    return this.model.id;
  }
  get card(): ModelCard {
    return this.model.card;
  }
  get cardPath(): string {
    return this.model.cardPath;
  }
  get onnxPath(): string {
    return this.model.onnxPath;
  }
  get graph(): { inputs: TensorInfo[]; outputs: TensorInfo[] } {
    return this.model.graph;
  }
  get profile(): ProfileName {
    return this.model.profile;
  }
  get columns(): ProfileColumns {
    return this.model.columns;
  }
  get classes(): readonly string[] {
    return this.model.classes;
  }
  get width(): number {
    return this.model.width;
  }
  /** The alert threshold in use (--alert-threshold, else the card's), or null: plain argmax. */
  get threshold(): number | null {
    return this.model.threshold;
  }
  get benignIndex(): number {
    return this.model.benignIndex;
  }

  /** The model's input for a batch, built on the calling thread (what the worker does; for tests and benchmarks). */
  buildInput(rows: FlowRows): Float32Array {
    return buildModelInput(rows.features, this.columns.featureNames.length, rows.count, this.thread.identityMatrix(rows), this.thread.specs[0]!);
  }

  /** Class probabilities of every flow in the batch, row-major [count × classes]. */
  async probabilities(rows: FlowRows): Promise<Float32Array> {
    const r = await this.thread.run(rows);
    return r.length === 0 ? new Float32Array(0) : r[0]!.probs;
  }

  /** Classify a batch and put the verdicts on it (Model.label); returns them as class indices (for counting). */
  async classify(rows: FlowRows): Promise<BatchVerdicts | GroupVerdicts> {
    const r = await this.thread.run(rows);
    const v = r.length === 0 ? this.model.emptyVerdicts() : r[0]!.verdicts!;
    this.model.label(rows, v);
    return v;
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}

/** A run's models: at most one per task, given on the command line (or config) by slot. */
export interface RunModels {
  attack?: { spec: string; alertThreshold?: number };
  application?: { spec: string };
}

/**
 * The models of a run, one per task (the attack model, the application model, or both), in one inference
 * thread: every completed batch crosses to it once and both models classify it there.
 */
export class FlowClassifier {
  readonly attack: Model | null;
  readonly app: Model | null;
  /** The profile the models read (they read the same one: FlowClassifier.load refuses two). */
  readonly profile: ProfileName;

  private constructor(private readonly thread: InferenceThread) {
    this.attack = thread.models.find((m) => m.task === 'attack') ?? null;
    this.app = thread.models.find((m) => m.task === 'application') ?? null;
    this.profile = thread.models[0]!.profile;
  }

  /**
   * Load and check a run's models, each against its slot's task (checkModelTask) and `profile` (--profile)
   * when given; without it, the two models must read the same profile. Throws ModelError with every problem.
   */
  static async load(models: RunModels, opts: { profile?: ProfileName; threads?: number } = {}): Promise<FlowClassifier> {
    const requests: ModelRequest[] = [];
    if (models.attack) requests.push({ spec: models.attack.spec, task: 'attack', ...(models.attack.alertThreshold !== undefined ? { alertThreshold: models.attack.alertThreshold } : {}) });
    if (models.application) requests.push({ spec: models.application.spec, task: 'application' });
    if (requests.length === 0) throw new Error('FlowClassifier.load: no model');
    const thread = await InferenceThread.load(requests, opts, (loaded) => {
      const [a, b] = loaded;
      if (opts.profile !== undefined || !a || !b || a.profile === b.profile) return [];
      return [`model card ${b.cardPath}: the application model reads profile ${b.profile} features, but the attack model (${a.cardPath}) reads ${a.profile}: a run computes one profile (give models of one profile, or --no-model / --no-app-model)`];
    });
    return new FlowClassifier(thread);
  }

  /** Both verdicts of a batch, put on it (Model.label); returned as class indices per task (for counting). */
  async classify(rows: FlowRows): Promise<{ attack: BatchVerdicts | null; app: GroupVerdicts | null }> {
    const r = await this.thread.run(rows);
    const out: { attack: BatchVerdicts | null; app: GroupVerdicts | null } = { attack: null, app: null };
    this.thread.models.forEach((m, k) => {
      const v = r.length === 0 ? m.emptyVerdicts() : r[k]!.verdicts!;
      m.label(rows, v);
      if (m.task === 'attack') out.attack = v as BatchVerdicts;
      else out.app = v;
    });
    return out;
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}

/**
 * Where each model's inputs come from, for the worker: a feature column, or a column of one identity matrix
 * shared by the models (the ports and protocol any of them takes).
 */
function inputSpecs(models: readonly Model[]): { specs: InputSpec[]; identityFields: NumericIdentityField[] } {
  const identityFields: NumericIdentityField[] = [];
  const specs = models.map((m): InputSpec => {
    const identityIndex = m.sources.map((s) => {
      if (s.from !== 'identity') return -1;
      let k = identityFields.indexOf(s.field);
      if (k < 0) k = identityFields.push(s.field) - 1;
      return k;
    });
    return { featureIndex: m.sources.map((s) => (s.from === 'feature' ? s.index : -1)), identityIndex, preprocessing: m.card.preprocessing };
  });
  return { specs, identityFields };
}

/** The session's input and output against the card: names, element type, and widths. */
function checkGraph(card: ModelCard, onnxPath: string, inputs: TensorInfo[], outputs: TensorInfo[]): string[] {
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
