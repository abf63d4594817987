/**
 * The command line's side of models: which model a run uses (--model PATH, --no-model, or the default one),
 * which profile follows from it, and `sensor models inspect PATH`.
 */
import yargs from 'yargs';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { getProfile, type ProfileName } from '../features/profiles.js';
import { Classifier, DEFAULT_MODEL_NAME, MODELS_DIR, ModelError, modelPaths, readModelCard } from './classifier.js';
import { resolveInputs } from './feature-names.js';
import type { ModelCard } from './model-card.js';

export interface ModelChoice {
  classifier?: Classifier;
  /** A line for the operator when the default model is not used (shown unless --quiet). */
  notice?: string;
}

/**
 * Decide and load the run's model. `model` is the --model option: a path (or a name in models/), false for
 * --no-model, undefined for the default model. `profile` is --profile when the user gave it.
 *
 * A model the user named is refused (ModelError) when it does not fit, including a profile other than the one
 * given. The default model is only used when it fits the profile: with `--profile cic` the run goes on without
 * verdicts and says so, because the user asked for those features and not for the model.
 */
export async function chooseModel(model: string | false | undefined, profile: ProfileName | undefined): Promise<ModelChoice> {
  if (model === false) return {};
  if (model !== undefined) return { classifier: await Classifier.load(model, profile === undefined ? {} : { profile }) };
  if (!existsSync(modelPaths(DEFAULT_MODEL_NAME).cardPath)) return { notice: `no verdicts: the default model ${DEFAULT_MODEL_NAME} is not installed in ${MODELS_DIR} (give --model PATH, or --no-model)` };
  const { card } = readModelCard(DEFAULT_MODEL_NAME);
  if (profile !== undefined && profile !== card.profile) {
    return { notice: `no verdicts: the default model ${card.name} reads profile ${card.profile} features, not ${profile} (use --profile ${card.profile}, or --model PATH)` };
  }
  return { classifier: await Classifier.load(DEFAULT_MODEL_NAME) };
}

/** `sensor models <command>`: returns the exit code (0, or 2 when the model is refused or the usage is wrong). */
export async function modelsCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let code = 0;
  let task: Promise<void> = Promise.resolve();
  try {
    yargs(argv)
      .scriptName('sensor models')
      .usage('Usage: sensor models inspect PATH [--json]')
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
      .demandCommand(1, 'Expected a command: inspect')
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
    err(`sensor: ${(e as Error).message}\nRun sensor models --help for the commands.\n`);
    code = 2;
  }
  return code;
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
export function describeModel(c: Classifier): string {
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
    `inputs         ${card.inputs.length}, in order (card name -> ${card.profile} column):`,
  ];
  card.inputs.forEach((name, j) => {
    const s = sources[j]!;
    const target = s.from === 'feature' ? `#${s.index + 1} ${cols.featureNames[s.index]}` : `flow ${s.field}`;
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

type ClassMetrics = { precision?: number; recall?: number; f1?: number; support?: number };
function isPerClass(v: unknown): v is Record<string, ClassMetrics> {
  return typeof v === 'object' && v !== null && Object.values(v).length > 0 && Object.values(v).every((m) => typeof m === 'object' && m !== null && 'recall' in m);
}
function fmt(v: number | undefined, w: number): string {
  return (typeof v === 'number' ? v.toFixed(3) : '').padStart(w);
}

