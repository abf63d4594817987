/**
 * The command line's side of models: which models a run uses (one per task: --model PATH / --no-model for the
 * attack model, --app-model PATH / --no-app-model for the application model, or the default ones), which
 * profile follows from them, `sensor models inspect PATH` and `sensor models drift MODEL DB`.
 */
import yargs from 'yargs';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { getProfile, type ProfileName } from '../features/profiles.js';
import { Classifier, FlowClassifier } from './classifier.js';
import { DEFAULT_APP_MODEL_NAME, DEFAULT_MODEL_NAME, MODELS_DIR, ModelError, modelPaths, readModelCard } from './model.js';
import { resolveInputs } from './feature-names.js';
import { DEFAULT_DRIFT_THRESHOLD, DriftError, formatDrift, measureDrift } from './drift.js';
import { ExitCode } from '../cli/exit-codes.js';
import { cardTask, type ModelCard } from './model-card.js';

export interface ModelChoice {
  /** The run's models (attack, application, or both); absent when the run has none. */
  classifier?: FlowClassifier;
  /** Lines for the operator when a default model is not used (shown unless --quiet). */
  notices: string[];
}

/** What a slot was given: a path or name, false for --no-model / --no-app-model, undefined for the default. */
type SlotValue = string | false | undefined;

/**
 * Decide and load the run's models, one per task: `attack` is the --model option, `application` --app-model (a
 * path or a name in models/; false for --no-model / --no-app-model; undefined for the default model). `profile`
 * is --profile when the user gave it.
 *
 * A model the user named is refused (ModelError) when it does not fit: its task is not its slot's, its profile
 * is not --profile (or, without --profile, not the other named model's). A default model is only used when it
 * fits the run's profile (--profile, else the named model's, else the default attack model's): otherwise the
 * run goes on without that model's verdicts and says so, because the user asked for those features and not for
 * the model. The default application model that is not installed is no model, silently; --no-model leaves it out
 * too (a run without classification), unless --app-model names one.
 *
 * `background`: return once the cards are checked, with the sessions still loading (classifier.ready says when,
 * or rejects with the problems of a session or graph); replay reads packets meanwhile. Otherwise the sessions
 * are loaded and checked before this returns.
 */
export async function chooseModels(
  slots: { attack: SlotValue; application: SlotValue },
  profile: ProfileName | undefined,
  alertThreshold?: number,
  opts: { background?: boolean } = {},
): Promise<ModelChoice> {
  const notices: string[] = [];
  const attackDefault = slots.attack === undefined;
  const appDefault = slots.application === undefined;
  let attack: string | undefined = slots.attack === false ? undefined : slots.attack;
  let application: string | undefined = slots.application === false ? undefined : slots.application;
  if (attackDefault) {
    if (existsSync(modelPaths(DEFAULT_MODEL_NAME).cardPath)) attack = DEFAULT_MODEL_NAME;
    else notices.push(`no verdicts: the default model ${DEFAULT_MODEL_NAME} is not installed in ${MODELS_DIR} (give --model PATH, or --no-model)`);
  }
  // --no-model is a run without classification (features for parity, or for another tool): it leaves out the default
  // application model too, and keeps the documented profile (cic). A named --app-model still runs.
  if (appDefault && slots.attack !== false && existsSync(modelPaths(DEFAULT_APP_MODEL_NAME).cardPath)) application = DEFAULT_APP_MODEL_NAME;

  // A card's profile, when it can be read: the problems of one that cannot are reported, with every other
  // problem of both models, by FlowClassifier.load below.
  const profileOf = (spec: string): ProfileName | undefined => {
    try {
      return readModelCard(spec).card.profile;
    } catch (e) {
      if (e instanceof ModelError) return undefined;
      throw e;
    }
  };
  // The run's profile: --profile, else a named model's.
  const named = !attackDefault && attack !== undefined ? attack : !appDefault && application !== undefined ? application : undefined;
  let runProfile = profile;
  let because = profile !== undefined ? '' : undefined;
  if (runProfile === undefined && named !== undefined) {
    runProfile = profileOf(named);
    because = ` (the profile of ${named === attack ? '--model' : '--app-model'})`;
  }
  // A default model of another profile: no verdicts of its task, and a line that says why.
  if (attackDefault && attack !== undefined) {
    const p = profileOf(attack);
    if (runProfile !== undefined && p !== undefined && runProfile !== p) {
      notices.push(`no verdicts: the default model ${DEFAULT_MODEL_NAME} reads profile ${p} features, not ${runProfile}${because} (use --profile ${p}, or --model PATH)`);
      attack = undefined;
    } else runProfile ??= p;
  }
  if (appDefault && application !== undefined) {
    const p = profileOf(application);
    if (runProfile !== undefined && p !== undefined && runProfile !== p) {
      notices.push(`no application groups: the default application model ${DEFAULT_APP_MODEL_NAME} reads profile ${p} features, not ${runProfile}${because ?? ` (the attack model's)`} (use --profile ${p}, or --app-model PATH)`);
      application = undefined;
    }
  }
  if (attack === undefined && application === undefined) return { notices };
  const classifier = FlowClassifier.start(
    {
      ...(attack !== undefined ? { attack: { spec: attack, ...(alertThreshold !== undefined ? { alertThreshold } : {}) } } : {}),
      ...(application !== undefined ? { application: { spec: application } } : {}),
    },
    profile === undefined ? {} : { profile },
  );
  if (opts.background !== true) await classifier.ready;
  return { classifier, notices };
}

/**
 * `sensor models <command>`: returns the exit code: 0; 2 when the model is refused or the usage is wrong; for
 * drift, 3 when the database or run cannot be used and 5 when an input drifted above the threshold.
 */
export async function modelsCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let code = 0;
  let task: Promise<void> = Promise.resolve();
  try {
    yargs(argv)
      .scriptName('sensor models')
      .usage('Usage: sensor models inspect PATH [--json]\n       sensor models drift MODEL DB [--run N] [--threshold X] [--top K]')
      .command(
        'inspect <path>',
        'Check a model (.onnx or .json, or a name in models/) against its card and print the contract.',
        (y) =>
          y
            .positional('path', { type: 'string', demandOption: true, describe: 'models/<name>.onnx, models/<name>.json, or <name>' })
            .option('json', { type: 'boolean', default: false, describe: 'Print the card as JSON (after checking it).' }),
        (a) => {
          task = inspect(a.path, a.json, out);
        },
      )
      .command(
        'drift <model> <db>',
        'Compare the flows of one run in a SQLite database with the training data of the model (its card\'s drift_reference): population stability index per input.',
        (y) =>
          y
            .positional('model', { type: 'string', demandOption: true, describe: 'models/<name>.onnx, models/<name>.json, or <name>' })
            .positional('db', { type: 'string', demandOption: true, describe: 'SQLite database written by sensor --db' })
            .option('run', { type: 'number', describe: 'Run id (runs.id; default: the latest run).' })
            .option('threshold', { type: 'number', default: DEFAULT_DRIFT_THRESHOLD, describe: 'PSI above which an input counts as drifted (exit 5); 0.25 is the usual "significant shift".' })
            .option('top', { type: 'number', default: 10, describe: 'How many of the most drifted inputs to print.' })
            .epilog('Exit codes: 0 no input above the threshold, 5 some input above it, 2 bad usage or a model without drift_reference, 3 a database or run that cannot be used.'),
        (a) => {
          task = drift(a.model, a.db, a.run, a.threshold, a.top, out).then((c) => {
            code = c;
          });
        },
      )
      .demandCommand(1, 'Expected a command: inspect or drift')
      .strict()
      .version(false)
      .help()
      .fail((msg, e) => {
        throw new Error(e?.message ?? msg);
      })
      .parseSync();
    await task;
  } catch (e) {
    if (e instanceof ModelError) {
      for (const p of e.problems) err(`sensor: ${p}\n`);
      return 2;
    }
    if (e instanceof DriftError) {
      err(`sensor: ${e.message}\n`);
      return e.kind === 'model' ? ExitCode.Usage : ExitCode.Input;
    }
    err(`sensor: ${(e as Error).message}\nRun sensor models --help for the commands.\n`);
    code = 2;
  }
  return code;
}

async function drift(model: string, db: string, run: number | undefined, threshold: number, top: number, out: (s: string) => void): Promise<number> {
  const problems: string[] = [];
  if (run !== undefined && (!Number.isInteger(run) || run < 1)) problems.push(`Expected --run to be a run id (a positive integer), got "${run}"`);
  if (!Number.isFinite(threshold) || threshold <= 0) problems.push(`Expected --threshold to be a positive number (PSI), got "${threshold}"`);
  if (!Number.isInteger(top) || top < 1) problems.push(`Expected --top to be a positive integer, got "${top}"`);
  if (problems.length > 0) throw new Error(problems.join('\nsensor: '));
  // The card is what drift needs (its reference and preprocessing); the ONNX file is checked as for a run.
  const c = await Classifier.load(model);
  await c.close();
  const report = measureDrift(c.card, c.cardPath, db, run, top);
  out(formatDrift(c.card, db, report, threshold, top));
  return report.features.some((f) => f.psi > threshold) ? ExitCode.Drift : ExitCode.Ok;
}

async function inspect(spec: string, json: boolean, out: (s: string) => void): Promise<void> {
  const c = await Classifier.load(spec);
  try {
    if (json) {
      out(JSON.stringify(c.card, null, 2) + '\n');
      return;
    }
    out(describeModel(c));
  } finally {
    await c.close();
  }
}

/** The contract in a human-readable form: what `sensor models inspect` prints. */
function describeModel(c: Classifier): string {
  const card: ModelCard = c.card;
  const rel = (p: string): string => {
    const r = relative(process.cwd(), p);
    return r.startsWith('..') ? p : r;
  };
  const input = c.graph.inputs.find((t) => t.name === card.onnx.input)!;
  const output = c.graph.outputs.find((t) => t.name === card.onnx.probabilities)!;
  const cols = getProfile(card.profile).columns;
  const { sources } = resolveInputs(card.inputs, cols);
  const p = card.preprocessing;
  const lines: string[] = [
    `model          ${c.id}${card.description ? `: ${card.description}` : ''}`,
    `card           ${rel(c.cardPath)}`,
    `onnx           ${rel(c.onnxPath)}  sha256 ${card.onnx.sha256} (matches)`,
    `graph          ${input.name} ${input.type} [${(input.shape ?? []).join(', ')}] -> ${output.name} ${output.type} [${(output.shape ?? []).join(', ')}]`,
    `profile        ${card.profile} (the sensor uses it unless --profile says otherwise)`,
    `preprocessing  NaN -> ${p.nan}, +Infinity -> ${p.posinf}, -Infinity -> ${p.neginf}; clip ${p.clip ? `[${p.clip[0]}, ${p.clip[1]}]` : 'none'}; scaling ${p.scale ? '(x - center) / scale per input' : 'none'}`,
    `classes        ${card.classes.map((k) => (k === card.benign ? `${k} (benign)` : k)).join(', ')}`,
    `task           ${cardTask(card)}${card.task === undefined ? ' (no task in the card)' : ''}`,
    `threshold      ${cardTask(card) === 'application' ? 'none: the verdict is the most probable group (app_label, app_score; run it with --app-model)' : card.alert_threshold !== undefined ? `alert_threshold ${card.alert_threshold}: a flow is an attack when its most likely attack class has p >= ${card.alert_threshold}` : 'none: the verdict is the most probable class'}`,
    `kdd            ${card.kdd ? card.classes.map((k) => `${k} -> ${card.kdd![k]}`).join(', ') : 'none'}`,
    `drift          ${card.drift_reference ? `reference of ${Object.keys(card.drift_reference.features).length} of ${card.inputs.length} inputs, ${card.drift_reference.method}, ${card.drift_reference.rows.toLocaleString('en-US')} training rows (sensor models drift)` : 'no drift_reference (sensor models drift cannot check this model)'}`,
    `server names   ${serverNamesLine(card)}`,
    `payload        ${payloadProtocolsLine(card)}`,
    `inputs         ${card.inputs.length}, in order (card name -> ${card.profile} column):`,
  ];
  card.inputs.forEach((name, j) => {
    const s = sources[j]!;
    const target =
      s.from === 'feature'
        ? `#${s.index + 1} ${cols.featureNames[s.index]}`
        : s.from === 'identity'
          ? `flow ${s.field}`
          : s.from === 'payload-protocol'
            ? 'flow payload_protocol, by payload_protocols'
            : 'flow server_name, by server_names';
    lines.push(`  ${String(j + 1).padStart(3)}  ${name.padEnd(32)} -> ${target}`);
  });
  const prov = card.provenance;
  lines.push('provenance');
  lines.push(`  created      ${prov.created}`);
  lines.push(`  code         ${prov.code_commit}`);
  lines.push(`  command      ${prov.command}`);
  for (const d of prov.data) lines.push(`  data         ${d}`);
  lines.push('metrics');
  for (const [k, v] of Object.entries(card.metrics)) {
    if (isPerClass(v)) {
      lines.push(`  ${k}:`);
      lines.push(`    ${'class'.padEnd(14)} ${'precision'.padStart(9)} ${'recall'.padStart(7)} ${'f1'.padStart(6)} ${'support'.padStart(8)}`);
      for (const [cls, m] of Object.entries(v)) {
        lines.push(`    ${cls.padEnd(14)} ${fmt(m.precision, 9)} ${fmt(m.recall, 7)} ${fmt(m.f1, 6)} ${String(m.support ?? '').padStart(8)}`);
      }
    } else {
      lines.push(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** The card's server_names table in one line: how many suffixes per group, and the first few. */
function serverNamesLine(card: ModelCard): string {
  const t = card.server_names;
  if (t === undefined) return 'none (no server_names table: the model cannot take Server Name Class)';
  const per = card.classes.map((k) => [k, t.suffixes.filter(([, g]) => g === k).length] as const).filter(([, n]) => n > 0);
  const first = t.suffixes.slice(0, 3).map(([s, g]) => `${s} -> ${g}`).join(', ');
  const sources = t.sources ? `names from ${t.sources.join(', ')} only` : 'names from any source';
  return `${t.suffixes.length} suffixes (${per.map(([k, n]) => `${k} ${n}`).join(', ')}), e.g. ${first}${t.suffixes.length > 3 ? ', ...' : ''}; ${sources}; Server Name Class = 0 no name, k+1 group k, ${card.classes.length + 1} no suffix matches`;
}

/** The card's payload_protocols list in one line. */
function payloadProtocolsLine(card: ModelCard): string {
  const t = card.payload_protocols;
  if (t === undefined) return 'none (no payload_protocols list: the model cannot take Payload Protocol Class)';
  const first = t.protocols.slice(0, 6).join(', ');
  return `${t.protocols.length} protocols (${first}${t.protocols.length > 6 ? ', ...' : ''}); Payload Protocol Class = 0 none recognised, k+1 protocol k, ${t.protocols.length + 1} a protocol not listed`;
}

type ClassMetrics = { precision?: number; recall?: number; f1?: number; support?: number };
function isPerClass(v: unknown): v is Record<string, ClassMetrics> {
  return typeof v === 'object' && v !== null && Object.values(v).length > 0 && Object.values(v).every((m) => typeof m === 'object' && m !== null && 'recall' in m);
}
function fmt(v: number | undefined, w: number): string {
  return (typeof v === 'number' ? v.toFixed(3) : '').padStart(w);
}

