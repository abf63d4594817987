/**
 * Load a model (ONNX + card), check that it fits, and classify batches of completed flows.
 *
 * Everything that can make a model unusable is found before any output is written: the card is missing or
 * invalid, its inputs are not columns of its profile, the profile is not the one the user asked for, the ONNX
 * file is not the one the card describes (sha256) — all found by start(), on the calling thread, before any
 * packet is read — or the file cannot be loaded, or its graph's input width or output width differs from the
 * card — found by the inference thread as it loads the sessions (`ready`). Each step throws one ModelError
 * listing every problem it found; load() is start() and ready together.
 *
 * Loading the sessions (starting the thread and onnxruntime, ~0.1 s) is what a replay overlaps with reading its
 * first packets: FlowClassifier.start() returns at once and classify() may be called before `ready` (the batches
 * wait in the thread's queue); the replay opens its outputs once `ready` resolves (cli/main.ts).
 *
 * A run has one model slot per task (checkModelTask): the attack model (--model) and the application model
 * (--app-model); FlowClassifier.start() checks both, and refuses a model in the wrong slot, a card of a task the
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
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { threadNice } from '../sources/thread-priority.js';
import type { ProfileName } from '../features/profiles.js';
import { numericIdentity, type FlowRows, type NumericIdentityField, type ProfileColumns } from '../engine/flow-batch.js';
import type { ModelCard } from './model-card.js';
import { buildModelInput, PAYLOAD_PROTOCOL_INPUT, SERVER_NAME_INPUT, type InputSpec, type ServerNameColumns } from './input.js';
import { serverNameSpec } from './server-name-class.js';
import { payloadProtocolValues } from './payload-protocol-class.js';
import { SERVER_NAME_MAX } from '../decode/server-name.js';
import type { FromWorker, ModelResult, RunRequest, TensorInfo, ToWorker, WorkerInit } from './worker.js';
import type { BatchVerdicts } from './verdict.js';
import type { GroupVerdicts } from './group-verdict.js';
import { checkGraph, checkModel, Model, ModelError, type LoadOptions, type ModelRequest } from './model.js';
import { applyContextDecisions, contextColumns, contextDetectors, type ContextDecisions, type ContextThresholds } from './context.js';
import { packContextFlows, ThreadContextCounts, type ContextStart, type ThreadContextDecisions } from './context-thread.js';

/** How long close() lets the inference thread finish the batch it is classifying before terminating it. */
const STOP_GRACE_MS = 5000;

function defaultWorkerUrl(): URL {
  const sibling = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  // Running from src/ (vitest): the compiled worker.
  return new URL('../../dist/classify/worker.js', import.meta.url);
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

  /**
   * Resolves once every session is loaded and its graph fits its card; rejects with ModelError (or an Error when
   * the thread cannot start) otherwise, and the thread is stopped. Batches given to run() before then wait in the
   * thread's queue.
   */
  readonly ready: Promise<void>;
  private loaded = false;
  private exited = false;
  private stopping: Promise<void> | null = null;
  /** The context stage runs in the thread (startContext): each batch carries the columns it reads. */
  private contextOn = false;

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
    let settle!: { resolve: () => void; reject: (e: Error) => void };
    this.ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    this.ready.catch(() => undefined); // awaited by the caller; batches waiting for it are rejected by fail()
    const refuse = (e: Error, busy: boolean): void => {
      this.fail(e);
      settle.reject(e);
      // Batches given before `ready` may be inside onnxruntime now: stop between them (stop()); a thread that
      // could not load its sessions runs nothing and is terminated.
      if (busy) void this.stop();
      else void worker.terminate();
    };
    worker.on('message', (m: FromWorker) => {
      if (m.t === 'ready') {
        const problems: string[] = [];
        models.forEach((model, k) => {
          model.graph = m.graphs[k]!;
          problems.push(...checkGraph(model.card, model.onnxPath, model.graph.inputs, model.graph.outputs));
        });
        if (problems.length > 0) return refuse(new ModelError(problems), true);
        this.loaded = true;
        if (this.pending.size === 0) worker.unref();
        settle.resolve();
      } else if (m.t === 'error') {
        refuse(new ModelError([`cannot load ONNX model ${models[m.model]?.onnxPath ?? models.map((x) => x.onnxPath).join(', ')}: ${m.message}`]), false);
      } else this.onMessage(m);
    });
    worker.on('error', (e) => {
      if (!this.loaded) refuse(new Error(`cannot start the inference thread: ${e.message}`), false);
      else this.fail(new Error(`model ${name}: inference thread failed: ${e.message}`));
    });
    worker.on('exit', (code) => {
      this.exited = true;
      if (this.closed) return;
      const e = new Error(`model ${name}: inference thread exited (code ${code})`);
      this.fail(e);
      settle.reject(e);
    });
  }

  /**
   * Check models against their cards (every problem of every model: ModelError, one line each, thrown here) and
   * start loading their sessions in the inference thread; `ready` says when they are loaded and checked.
   */
  static start(requests: readonly ModelRequest[], opts: { profile?: ProfileName; threads?: number }, crossCheck?: (models: Model[]) => string[]): InferenceThread {
    const problems: string[] = [];
    const checked = requests.map((r) => checkModel(r, opts.profile, problems));
    const models = checked.filter((m): m is Model => m !== undefined);
    if (problems.length === 0 && crossCheck) problems.push(...crossCheck(models));
    if (problems.length > 0) throw new ModelError(problems);

    const { specs, identityFields } = inputSpecs(models);
    const init: WorkerInit = { threads: opts.threads ?? 1, nice: threadNice(), models: models.map((m, k) => ({ onnxPath: m.onnxPath, spec: specs[k]!, verdict: m.verdictRule() })) };
    // execArgv: [] so that flags of the parent (e.g. node --input-type) do not reach the worker's own start.
    const worker = new Worker(defaultWorkerUrl(), { workerData: init, execArgv: [] });
    return new InferenceThread(models, identityFields, specs, worker, models.map((m) => m.id).join(' + '));
  }

  /** start() and wait until the sessions are ready; throws ModelError (every problem, one line each) when a model cannot be used. */
  static async load(requests: readonly ModelRequest[], opts: { profile?: ProfileName; threads?: number }, crossCheck?: (models: Model[]) => string[]): Promise<InferenceThread> {
    const thread = InferenceThread.start(requests, opts, crossCheck);
    await thread.ready;
    return thread;
  }

  identityMatrix(rows: FlowRows): Float64Array | null {
    return identityMatrix(rows, this.identityFields);
  }

  /**
   * The batch's server names, copied for the inference thread, when a model takes Server Name Class; else null.
   * Only the names' own bytes are copied, one after the other (the batch keeps SERVER_NAME_MAX bytes a flow, 253 KB
   * a batch, mostly unused).
   */
  serverNames(rows: FlowRows): ServerNameColumns | null {
    if (!this.specs.some((s) => s.serverNames !== null)) return null;
    const n = rows.count;
    const lengths = new Uint8Array(n);
    const from = rows.serverNames;
    if (!rows.serverNameLengths || !from) return { lengths, bytes: new Uint8Array(0) };
    lengths.set(rows.serverNameLengths.subarray(0, n));
    const sources = rows.serverNameSources ? rows.serverNameSources.slice(0, n) : undefined;
    let total = 0;
    for (let i = 0; i < n; i++) total += lengths[i]!;
    const bytes = new Uint8Array(total);
    for (let i = 0, o = 0; i < n; i++) {
      const at = i * SERVER_NAME_MAX;
      for (let k = 0, len = lengths[i]!; k < len; k++) bytes[o++] = from[at + k]!;
    }
    return sources ? { lengths, bytes, sources } : { lengths, bytes };
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
    const names = this.serverNames(rows);
    const context = this.contextOn ? packContextFlows(rows) : null;
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
      if (this.pending.size === 1 && this.loaded) this.worker.ref();
      const msg: RunRequest = { t: 'run', seq, count, stride, features, identity, names, models: this.io, context };
      // Everything but the features is made for this message: moved, not copied.
      const transfer = [features.buffer as ArrayBuffer];
      if (identity) transfer.push(identity.buffer as ArrayBuffer);
      if (names) transfer.push(names.lengths.buffer as ArrayBuffer, names.bytes.buffer as ArrayBuffer, ...(names.sources ? [names.sources.buffer as ArrayBuffer] : []));
      if (context) transfer.push(context);
      this.worker.postMessage(msg, transfer);
    });
  }

  /** The context stage on in the thread, with a fresh state, for the batches run() is given from now on; returns its `from`. */
  startContext(m: Omit<ContextStart, 't' | 'from'>): number {
    this.contextOn = true;
    const from = this.seq + 1;
    this.worker.postMessage({ t: 'context', from, ...m } satisfies ToWorker);
    return from;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stop();
    for (const p of this.pending.values()) p.reject(new Error(`model ${this.name} was closed`));
    this.pending.clear();
  }

  /**
   * End the thread between batches (worker.ts drops the batches still queued): terminating it while a batch is
   * inside onnxruntime (a run that ends early: an output that cannot open, a model refused while batches wait)
   * aborts the process or loses its exit code. Held by the event loop until the thread has ended; terminated after
   * STOP_GRACE_MS if it does not stop.
   */
  private stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.exited) return (this.stopping = Promise.resolve());
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.ref();
    this.worker.postMessage({ t: 'stop' } satisfies ToWorker);
    const timer = setTimeout(() => void this.worker.terminate(), STOP_GRACE_MS);
    return (this.stopping = exited.then(() => clearTimeout(timer)));
  }

  private onMessage(m: FromWorker): void {
    if (m.t !== 'done' && m.t !== 'failed') return;
    const p = this.pending.get(m.seq);
    if (!p) return;
    this.pending.delete(m.seq);
    if (this.pending.size === 0 && this.loaded) this.worker.unref();
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
    return buildModelInput(rows.features, this.columns.featureNames.length, rows.count, this.thread.identityMatrix(rows), this.thread.specs[0]!, this.thread.serverNames(rows));
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
   * Check a run's models, each against its slot's task (checkModelTask) and `profile` (--profile) when given;
   * without it, the two models must read the same profile. Throws ModelError with every problem the cards show;
   * the sessions then load in the inference thread while the caller goes on (`ready`; classify() may be called
   * before, its batches wait).
   */
  static start(models: RunModels, opts: { profile?: ProfileName; threads?: number } = {}): FlowClassifier {
    const requests: ModelRequest[] = [];
    if (models.attack) requests.push({ spec: models.attack.spec, task: 'attack', ...(models.attack.alertThreshold !== undefined ? { alertThreshold: models.attack.alertThreshold } : {}) });
    if (models.application) requests.push({ spec: models.application.spec, task: 'application' });
    if (requests.length === 0) throw new Error('FlowClassifier.start: no model');
    const thread = InferenceThread.start(requests, opts, (loaded) => {
      const [a, b] = loaded;
      if (opts.profile !== undefined || !a || !b || a.profile === b.profile) return [];
      return [`model card ${b.cardPath}: the application model reads profile ${b.profile} features, but the attack model (${a.cardPath}) reads ${a.profile}: a run computes one profile (give models of one profile, or --no-model / --no-app-model)`];
    });
    return new FlowClassifier(thread);
  }

  /** start() and wait for the sessions: throws ModelError with every problem (cards, sessions, graphs). */
  static async load(models: RunModels, opts: { profile?: ProfileName; threads?: number } = {}): Promise<FlowClassifier> {
    const c = FlowClassifier.start(models, opts);
    await c.ready;
    return c;
  }

  /** Resolves when the sessions are loaded and fit their cards; rejects with ModelError (the thread is stopped) otherwise. */
  get ready(): Promise<void> {
    return this.thread.ready;
  }

  /**
   * Both verdicts of a batch, put on it (Model.label), and the context stage's relabels (startContext); returned as
   * class indices per task (for counting), with the context stage's decisions (the relabelled flows were counted
   * under the benign class in `attack`).
   */
  async classify(rows: FlowRows): Promise<{ attack: BatchVerdicts | null; app: GroupVerdicts | null; context: ContextDecisions | null }> {
    const r = await this.thread.run(rows);
    const out: { attack: BatchVerdicts | null; app: GroupVerdicts | null; context: ContextDecisions | null } = { attack: null, app: null, context: null };
    this.thread.models.forEach((m, k) => {
      const v = r.length === 0 ? m.emptyVerdicts() : r[k]!.verdicts!;
      m.label(rows, v);
      if (m.task === 'attack') {
        out.attack = v as BatchVerdicts;
        out.context = this.applyContext(rows, r[k]?.context);
      } else out.app = v;
    });
    return out;
  }

  /**
   * The context stage (context.ts) after the attack model, in the inference thread, with a fresh state, for the
   * batches classified from now on (a pipeline starts it before its first batch); its decisions are put on each
   * batch by classify(). Returns its counts, kept up to date as batches come back. Throws when the profile's columns
   * lack one the stage reads.
   */
  startContext(columns: ProfileColumns, thresholds: Partial<ContextThresholds>): ThreadContextCounts {
    const attack = this.attack;
    if (!attack) throw new Error('the context stage needs an attack model');
    contextColumns(columns);
    const from = this.thread.startContext({ columns, classes: attack.classes, benign: attack.card.benign, thresholds });
    const counts = new ThreadContextCounts(contextDetectors(attack.classes, attack.card.benign), from);
    this.contextCounts.push(counts);
    return counts;
  }

  /** The counts of the stages started, oldest first, while batches of theirs may still come back. */
  private readonly contextCounts: ThreadContextCounts[] = [];

  /** Batch `rows`' context decisions (from the thread) on its rows, after the attack model's labels. */
  private applyContext(rows: FlowRows, d: ThreadContextDecisions | undefined): ContextDecisions | null {
    if (d === undefined || this.attack === null) return null;
    applyContextDecisions(rows, d, this.attack.classes, this.attack.card.kdd);
    // Batches come back in order: once one of a stage comes, the stages started before it are done.
    while (this.contextCounts.length > 1 && this.contextCounts[0]!.from < d.stage) this.contextCounts.shift();
    this.contextCounts.find((c) => c.from === d.stage)?.update(d);
    return d;
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}

/**
 * Where each model's inputs come from, for the worker: a feature column, or a column of one identity matrix
 * shared by the models (the ports and protocol any of them takes, and the payload protocol id that
 * `Payload Protocol Class` is looked up from).
 */
export function inputSpecs(models: readonly Model[]): { specs: InputSpec[]; identityFields: NumericIdentityField[] } {
  const identityFields: NumericIdentityField[] = [];
  const specs = models.map((m): InputSpec => {
    const identityIndex = m.sources.map((s) => {
      if (s.from !== 'identity' && s.from !== 'payload-protocol') return -1;
      const field = s.from === 'identity' ? s.field : 'payloadProtocol';
      let k = identityFields.indexOf(field);
      if (k < 0) k = identityFields.push(field) - 1;
      return k;
    });
    const names = m.sources.some((s) => s.from === 'server-name') && m.card.server_names ? serverNameSpec(m.card.server_names, m.classes) : null;
    const payload = m.sources.some((s) => s.from === 'payload-protocol') && m.card.payload_protocols ? payloadProtocolValues(m.card.payload_protocols.protocols) : null;
    return {
      featureIndex: m.sources.map((s) => (s.from === 'feature' ? s.index : s.from === 'server-name' ? SERVER_NAME_INPUT : s.from === 'payload-protocol' ? PAYLOAD_PROTOCOL_INPUT : -1)),
      identityIndex,
      preprocessing: m.card.preprocessing,
      serverNames: names,
      payloadProtocols: payload,
    };
  });
  return { specs, identityFields };
}

/** The identity values that inputs take (`fields`: ports, protocol), row-major [count × fields], or null when none. */
export function identityMatrix(rows: FlowRows, fields: readonly NumericIdentityField[]): Float64Array | null {
  if (fields.length === 0) return null;
  const m = new Float64Array(rows.count * fields.length);
  for (let k = 0; k < fields.length; k++) {
    const col = numericIdentity(rows, fields[k]!);
    for (let i = 0; i < rows.count; i++) m[i * fields.length + k] = col[i]!;
  }
  return m;
}
