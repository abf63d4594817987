/**
 * Load a model (ONNX + card), check that it fits, and classify batches of completed flows.
 *
 * Everything that can make a model unusable is found by Classifier.load(), before any packet is read: the
 * card is missing or invalid, its inputs are not columns of its profile, the profile is not the one the user
 * asked for, the ONNX file is not the one the card describes (sha256), cannot be loaded, or its graph's input
 * width or output width differs from the card. load() throws one ModelError listing every problem found.
 *
 * Inference runs in a worker thread (classify/worker.ts): classify(rows) lends the batch's features to it by
 * transfer (no copy; the packet thread only posts a message), the worker picks the card's columns into a
 * Float32Array [count × inputs] with the card's NaN/Infinity replacement, clipping and scaling, runs the model
 * (one session.run per FlowRows batch) and transfers the features back with the probabilities. While a batch is
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
import type { FromWorker, RunRequest, TensorInfo, WorkerInit } from './worker.js';
import type { BatchVerdicts } from './verdict.js';

/** The model shipped in models/ and used when the command line names none. */
export const DEFAULT_MODEL_NAME = 'cic2017-attack';
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

/**
 * The one place that says which task a model slot takes. A run has one slot today, --model (config `model`),
 * for the attack model; an application-model slot will be another entry here.
 */
export function checkModelTask(card: ModelCard, cardPath: string, task: ModelTask): string | undefined {
  const got = cardTask(card);
  if (got === task) return undefined;
  const slot: Record<ModelTask, string> = { attack: '--model (config "model")', application: 'the application model' };
  const why = got === 'application' ? ' (an application model has no place in a run yet)' : '';
  return `model card ${cardPath}: task is "${got}", but ${slot[task]} takes a model of task "${task}"${why}`;
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

interface Pending {
  resolve: (r: { probs: Float32Array; verdicts: BatchVerdicts | null }) => void;
  reject: (e: Error) => void;
  /** The batch whose features were lent to the worker (they are put back on the reply). */
  rows: FlowRows;
  lent: boolean;
}

export class Classifier {
  /** `name@version`, written with every verdict. */
  readonly id: string;
  readonly profile: ProfileName;
  readonly columns: ProfileColumns;
  readonly classes: readonly string[];
  readonly width: number;
  /** The alert threshold in use (--alert-threshold, else the card's), or null: plain argmax. */
  readonly threshold: number | null;
  /** Index of the benign class. */
  readonly benignIndex: number;
  /** Per class index: its KDD category (card `kdd`), or null when the card has none. */
  private readonly kddOf: (string | null)[];
  private readonly spec: InputSpec;
  /** The identity values that inputs take (ports, protocol), in identity-matrix order. */
  private readonly identityFields: NumericIdentityField[];
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private failure: Error | null = null;
  private closed = false;

  private constructor(
    readonly card: ModelCard,
    readonly cardPath: string,
    readonly onnxPath: string,
    readonly graph: { inputs: TensorInfo[]; outputs: TensorInfo[] },
    spec: InputSpec,
    identityFields: NumericIdentityField[],
    private readonly worker: Worker,
    threshold: number | null,
  ) {
    this.id = `${card.name}@${card.version}`;
    this.threshold = threshold;
    this.benignIndex = card.classes.indexOf(card.benign);
    this.kddOf = card.classes.map((c) => card.kdd?.[c] ?? null);
    this.profile = card.profile;
    this.columns = getProfile(card.profile).columns;
    this.classes = card.classes;
    this.width = card.inputs.length;
    this.spec = spec;
    this.identityFields = identityFields;
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (e) => this.fail(new Error(`model ${this.id}: inference thread failed: ${e.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`model ${this.id}: inference thread exited (code ${code})`));
    });
    worker.unref();
  }

  /** Load and check a model; throws ModelError (every problem, one line each) when it cannot be used. */
  static async load(spec: string, opts: LoadOptions = {}): Promise<Classifier> {
    const { card, cardPath, onnxPath } = readModelCard(spec);
    const problems: string[] = [];
    const where = `model card ${cardPath}`;
    if (opts.task !== undefined) {
      const wrongTask = checkModelTask(card, cardPath, opts.task);
      if (wrongTask !== undefined) problems.push(wrongTask);
    }
    if (opts.profile !== undefined && opts.profile !== card.profile) {
      problems.push(`${where}: the model reads profile ${card.profile} features, but --profile ${opts.profile} was given`);
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
    if (problems.length > 0) throw new ModelError(problems);

    const { spec: input, identityFields } = inputSpec(sources, card);
    const threshold = cardTask(card) === 'attack' ? (opts.alertThreshold ?? card.alert_threshold ?? null) : null;
    const verdict = { benign: card.classes.indexOf(card.benign), threshold };
    // execArgv: [] so that flags of the parent (e.g. node --input-type) do not reach the worker's own start.
    const worker = new Worker(defaultWorkerUrl(), { workerData: { onnxPath, threads: opts.threads ?? 1, spec: input, verdict } satisfies WorkerInit, execArgv: [] });
    const ready = await new Promise<FromWorker | { t: 'crashed'; message: string }>((res) => {
      worker.once('message', res);
      worker.once('error', (e) => res({ t: 'crashed', message: e.message }));
    });
    if (ready.t !== 'ready') {
      await worker.terminate();
      if (ready.t === 'crashed') throw new Error(`cannot start the inference thread: ${ready.message}`);
      throw new ModelError([`cannot load ONNX model ${onnxPath}: ${ready.t === 'error' ? ready.message : 'unexpected reply'}`]);
    }
    const graphProblems = checkGraph(card, onnxPath, ready.inputs, ready.outputs);
    if (graphProblems.length > 0) {
      await worker.terminate();
      throw new ModelError(graphProblems);
    }
    return new Classifier(card, cardPath, onnxPath, { inputs: ready.inputs, outputs: ready.outputs }, input, identityFields, worker, threshold);
  }

  /** The model's input for a batch, built on the calling thread (what the worker does; for tests and benchmarks). */
  buildInput(rows: FlowRows): Float32Array {
    return buildModelInput(rows.features, this.columns.featureNames.length, rows.count, this.identityMatrix(rows), this.spec);
  }

  private identityMatrix(rows: FlowRows): Float64Array | null {
    const fields = this.identityFields;
    if (fields.length === 0) return null;
    const m = new Float64Array(rows.count * fields.length);
    for (let k = 0; k < fields.length; k++) {
      const col = numericIdentity(rows, fields[k]!);
      for (let i = 0; i < rows.count; i++) m[i * fields.length + k] = col[i]!;
    }
    return m;
  }

  /** Class probabilities of every flow in the batch, row-major [count × classes]. */
  async probabilities(rows: FlowRows): Promise<Float32Array> {
    return (await this.run(rows)).probs;
  }

  /** One inference of a batch in the worker: the probabilities and the verdicts computed there. */
  private run(rows: FlowRows): Promise<{ probs: Float32Array; verdicts: BatchVerdicts | null }> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error(`model ${this.id} is closed`));
    if (rows.count === 0) return Promise.resolve({ probs: new Float32Array(0), verdicts: null });
    const seq = ++this.seq;
    const C = this.classes.length;
    const count = rows.count;
    const stride = this.columns.featureNames.length;
    const f = rows.features;
    // Lend the batch's own buffer when the array is all of it (the engine's batches are); else send a copy.
    const lent = f.byteOffset === 0 && f.byteLength === f.buffer.byteLength && f.buffer instanceof ArrayBuffer;
    const features = lent ? f : f.slice(0, count * stride);
    const identity = this.identityMatrix(rows);
    return new Promise((resolve, reject) => {
      this.pending.set(seq, {
        resolve: (r) => (r.probs.length === count * C ? resolve(r) : reject(new Error(`model ${this.id}: output has ${r.probs.length / count} classes per row, the card lists ${C}`))),
        reject,
        rows,
        lent,
      });
      if (this.pending.size === 1) this.worker.ref();
      const msg: RunRequest = { t: 'run', seq, count, stride, features, identity, input: this.card.onnx.input, output: this.card.onnx.probabilities, classes: C };
      this.worker.postMessage(msg, [features.buffer as ArrayBuffer]);
    });
  }

  /**
   * Classify a batch: sets rows.labels/scores (the verdict: thresholded when there is a threshold, else the most
   * probable class), rows.attackLabels/attackScores (the most probable attack class, always), rows.kdd (when the
   * card maps classes to KDD categories; absent = NULL) and rows.model. Returns the verdicts as class indices (for counting).
   */
  async classify(rows: FlowRows): Promise<BatchVerdicts> {
    const { verdicts: v } = await this.run(rows);
    const n = rows.count;
    if (v === null) {
      // rows.count === 0 (an empty batch has nothing to label).
      rows.labels = [];
      rows.scores = new Float64Array(0);
      rows.attackLabels = [];
      rows.attackScores = new Float64Array(0);
      rows.model = this.id;
      return { label: new Int32Array(0), score: new Float64Array(0), attack: new Int32Array(0), attackScore: new Float64Array(0) };
    }
    const labels: string[] = new Array<string>(n);
    const attackLabels: string[] = new Array<string>(n);
    const classes = this.classes;
    for (let i = 0; i < n; i++) {
      labels[i] = classes[v.label[i]!]!;
      attackLabels[i] = classes[v.attack[i]!]!;
    }
    rows.labels = labels;
    rows.scores = v.score;
    rows.attackLabels = attackLabels;
    rows.attackScores = v.attackScore;
    // Without a kdd mapping the column is NULL: no per-row array to build and send to the sinks.
    if (this.card.kdd !== undefined) {
      const kdd: (string | null)[] = new Array<string | null>(n);
      for (let i = 0; i < n; i++) kdd[i] = this.kddOf[v.label[i]!]!;
      rows.kdd = kdd;
    }
    rows.model = this.id;
    return v;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Error(`model ${this.id} was closed`));
    this.pending.clear();
  }

  private onMessage(m: FromWorker): void {
    if (m.t !== 'done' && m.t !== 'failed') return;
    const p = this.pending.get(m.seq);
    if (!p) return;
    this.pending.delete(m.seq);
    if (this.pending.size === 0) this.worker.unref();
    if (p.lent) p.rows.features = m.features;
    if (m.t === 'done') p.resolve({ probs: m.probs, verdicts: m.verdicts });
    else p.reject(new Error(`model ${this.id}: inference failed: ${m.message}`));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

/** Where each input comes from, for the worker: a feature column, or a column of the identity matrix. */
function inputSpec(sources: InputSource[], card: ModelCard): { spec: InputSpec; identityFields: NumericIdentityField[] } {
  const identityFields: NumericIdentityField[] = [];
  const identityIndex = sources.map((s) => {
    if (s.from !== 'identity') return -1;
    let k = identityFields.indexOf(s.field);
    if (k < 0) k = identityFields.push(s.field) - 1;
    return k;
  });
  return {
    spec: { featureIndex: sources.map((s) => (s.from === 'feature' ? s.index : -1)), identityIndex, preprocessing: card.preprocessing },
    identityFields,
  };
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
