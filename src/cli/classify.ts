/**
 * `sensor classify FLOWS.csv [--model M] [--out verdicts.csv]`: verdicts for CSVs that CICFlowMeter or the
 * public datasets already hold. Streams the file (any size), classifies it in batches with the same model and
 * rule as the packet path (classify/table-rows.ts), writes the input's rows byte for byte with the verdict
 * columns appended, and prints a per-class summary.
 */
import type { Writable } from 'node:stream';
import { createReadStream, createWriteStream, openSync, closeSync, fstatSync, readSync, type WriteStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import yargs from 'yargs';
import { ExitCode } from './exit-codes.js';
import { keepDashValues, sameFile, strictCommandLine } from './usage.js';
import { Classifier } from '../classify/classifier.js';
import { DEFAULT_MODEL_NAME, ModelError } from '../classify/model.js';
import { CsvRecordReader, csvField, type CsvRecord } from '../classify/csv-records.js';
import { describeMissing, TableClassifier, tableRefusal, type TableColumns, type Verdict } from '../classify/table-rows.js';
import { headerFamily } from '../classify/feature-names.js';

/** Columns appended to every row (JSON spelling of the contract, `predicted_` where the datasets have `Label`). */
const VERDICT_COLUMNS = ['predicted_label', 'predicted_score', 'model', 'attack_label', 'attack_score', 'kdd'] as const;
const BATCH_ROWS = 4096;
/** Rows without a verdict named one by one in the summary; the rest are counted. */
const PROBLEMS_SHOWN = 10;

interface Args {
  file: string;
  model?: string;
  out?: string;
  'alert-threshold'?: number;
  quiet: boolean;
}

class Refused extends Error {
  constructor(
    readonly code: number,
    readonly lines: string[],
  ) {
    super(lines.join('\n'));
  }
}

export async function classifyCommand(argv: string[]): Promise<number> {
  const err = (s: string): boolean => process.stderr.write(s);
  let args: Args;
  try {
    // A lone "-" is standard output as the value of --out, standard input as the file.
    args = strictCommandLine(yargs(keepDashValues(argv, ['--out']).map((a) => (a === '-' ? '/dev/stdin' : a))))
      .scriptName('sensor classify')
      .usage(
        'Usage: sensor classify FLOWS.csv [--model M] [--out verdicts.csv] [--alert-threshold T]\n\n' +
          'Verdicts for a CSV of CICFlowMeter features (CICFlowMeter master, the CIC-IDS2017/CSE-CIC-IDS2018 files, the\n' +
          'Python port; any spelling the model card accepts). Writes the input\'s rows with the columns\n' +
          `${VERDICT_COLUMNS.join(', ')} appended, and a summary per class.`,
      )
      .command('$0 <file>', false)
      .positional('file', { type: 'string', describe: 'CSV with a header line, plain or gzip-compressed ("-" = standard input, plain)' })
      .option('model', { type: 'string', describe: `Model: models/<name>.onnx, its card <name>.json, or a name in models/ (default ${DEFAULT_MODEL_NAME}).` })
      .option('out', { type: 'string', describe: 'Write the rows with verdicts here ("-" = standard output). Without it only the summary is printed.' })
      .option('alert-threshold', { type: 'number', describe: 'Alert when the most likely attack class has at least this probability, in (0, 1]; overrides the card\'s alert_threshold.' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print no summary (errors only).' })
      .example('sensor classify Tuesday-WorkingHours.pcap_ISCX.csv --out tuesday-verdicts.csv', 'Verdicts for a CIC-IDS2017 file')
      .epilog('Exit codes: 0 every row classified, 2 bad usage or a model that cannot be used, 3 input unreadable, lacking a model input column, or with rows that could not be classified (written without a verdict, counted), 4 output not writable, 1 internal error.')
      .parseSync() as unknown as Args;
  } catch (e) {
    err(`sensor classify: ${(e as Error).message}\nRun sensor classify --help for the options.\n`);
    return ExitCode.Usage;
  }
  if (args.out !== undefined && args.out !== '-' && sameFile(args.out, args.file)) {
    err(`sensor classify: --out ${args.out} is the input file: write the verdicts elsewhere\n`);
    return ExitCode.Usage;
  }
  const t = args['alert-threshold'];
  if (t !== undefined && !(t > 0 && t <= 1)) {
    err(`sensor classify: Expected --alert-threshold to be a number in (0, 1], got "${t}"\n`);
    return ExitCode.Usage;
  }
  if (args.model === '') {
    err('sensor classify: Expected --model PATH (a .onnx or .json file, or a model name in models/)\n');
    return ExitCode.Usage;
  }
  let classifier: Classifier;
  try {
    classifier = await Classifier.load(args.model ?? DEFAULT_MODEL_NAME);
  } catch (e) {
    if (e instanceof ModelError) {
      for (const p of e.problems) err(`sensor classify: ${p}\n`);
      return ExitCode.Usage;
    }
    throw e;
  }
  const refused = tableRefusal(classifier);
  if (refused !== null) {
    await classifier.close();
    err(`sensor classify: ${refused}\n`);
    return ExitCode.Usage;
  }
  try {
    return await classifyFile(args, new TableClassifier(classifier, t));
  } catch (e) {
    if (e instanceof Refused) {
      for (const l of e.lines) err(`sensor classify: ${l}\n`);
      return e.code;
    }
    throw e;
  } finally {
    await classifier.close();
  }
}

function ioReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return (e as Error).message;
}

/** Per class: rows, and the sum of scores (for the mean). */
type Tally = Map<string, { rows: number; scoreSum: number }>;

async function classifyFile(args: Args, table: TableClassifier): Promise<number> {
  const file = args.file;
  let fd: number;
  try {
    fd = openSync(file, 'r');
    if (fstatSync(fd).isDirectory()) {
      closeSync(fd);
      throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    }
  } catch (e) {
    throw new Refused(ExitCode.Input, [`cannot read ${file}: ${ioReason(e)}`]);
  }
  // The datasets often come gzip-compressed (a regular file is peeked at; a pipe is taken as plain text).
  const magic = Buffer.alloc(2);
  const gzip = fstatSync(fd).isFile() && readSync(fd, magic, 0, 2, 0) === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  const raw = createReadStream('', { fd, highWaterMark: 1 << 20 });
  const input: Readable = gzip ? raw.pipe(createGunzip()) : raw;
  if (gzip) raw.on('error', (e) => input.destroy(e));
  input.setEncoding('latin1');
  const reader = new CsvRecordReader();

  let header: CsvRecord | undefined;
  let columns: TableColumns | undefined;
  let out: Writable | undefined;
  let outError: Error | undefined;
  let pending: CsvRecord[] = [];
  let nl = '\n';
  let family: ReturnType<typeof headerFamily> = null;
  const stats = { rows: 0, classified: 0, empty: 0, problems: 0 };
  const problems: string[] = [];
  const predicted: Tally = new Map();
  const byInputLabel = new Map<string, Map<string, number>>();

  const openOutput = async (h: CsvRecord): Promise<void> => {
    if (args.out === undefined) return;
    if (args.out === '-') {
      // fd 1 itself: opening /dev/stdout fails (ENXIO) when standard output is a socket.
      process.stdout.setDefaultEncoding('latin1');
      process.stdout.on('error', (e) => (outError ??= e));
      out = process.stdout;
      await write(h.raw + ',' + VERDICT_COLUMNS.join(',') + nl);
      return;
    }
    const s = createWriteStream(args.out, { encoding: 'latin1' });
    await new Promise<void>((res, rej) => {
      s.once('ready', res);
      s.once('error', rej);
    }).catch((e: unknown) => {
      throw new Refused(ExitCode.Output, [`cannot write ${args.out}: ${ioReason(e)}`]);
    });
    s.on('error', (e) => (outError ??= e));
    out = s;
    await write(h.raw + ',' + VERDICT_COLUMNS.join(',') + nl);
  };
  const write = async (text: string): Promise<void> => {
    if (!out || outError) return;
    if (out.write(text)) return;
    const o = out;
    await new Promise<void>((res) => {
      const done = (): void => {
        o.off('drain', done).off('error', done);
        res();
      };
      o.on('drain', done).on('error', done);
    });
  };

  const flush = async (): Promise<void> => {
    if (pending.length === 0 || !columns || !header) return;
    const batch = pending;
    pending = [];
    const isEmpty = batch.map((r) => r.fields.every((f) => f.trim() === ''));
    const rows = batch.map((r, i) => (isEmpty[i] ? [] : r.fields));
    const { verdicts, problems: bad } = await table.classify(rows, columns, header.fields);
    const why = new Map(bad.map((p) => [p.row, p.message]));
    let text = '';
    batch.forEach((r, i) => {
      stats.rows++;
      const v = verdicts[i];
      if (isEmpty[i]) stats.empty++;
      else if (!v) {
        stats.problems++;
        if (problems.length < PROBLEMS_SHOWN) problems.push(`line ${r.line}: ${why.get(i) ?? 'not classified'}`);
      } else {
        stats.classified++;
        const t = predicted.get(v.label) ?? { rows: 0, scoreSum: 0 };
        t.rows++;
        t.scoreSum += v.score;
        predicted.set(v.label, t);
        if (columns!.label >= 0) {
          const truth = (r.fields[columns!.label] ?? '').trim();
          const m = byInputLabel.get(truth) ?? new Map<string, number>();
          m.set(v.label, (m.get(v.label) ?? 0) + 1);
          byInputLabel.set(truth, m);
        }
      }
      if (out) text += r.raw === '' ? nl : r.raw + "," + verdictCells(v ?? null) + nl;
    });
    await write(text);
  };

  const take = async (records: CsvRecord[]): Promise<void> => {
    for (const r of records) {
      if (!header) {
        header = r;
        nl = reader.lineEnd ?? '\n';
        const names = r.fields.map((f) => f.trim().toLowerCase());
        const clash = VERDICT_COLUMNS.filter((c) => names.includes(c));
        if (clash.length > 0) throw new Refused(ExitCode.Input, [`${file} already has the verdict columns ${clash.join(', ')} (an output of sensor classify?): classify the original CSV`]);
        const m = table.columns(r.fields);
        if (!m.ok) throw new Refused(ExitCode.Input, [`${file} lacks ${m.missing.length} column(s) the model ${table.rule.model} needs:`, ...describeMissing(m.missing, table.card.inputs.length)]);
        columns = m.columns;
        family = headerFamily(r.fields);
        await openOutput(r);
        continue;
      }
      pending.push(r);
      if (pending.length >= BATCH_ROWS) await flush();
    }
  };

  /** A compressed file cut short or damaged: the rows before the damage are kept, as replay keeps packets. */
  let cutShort: string | undefined;
  try {
    for await (const chunk of input) await take(reader.push(chunk as string));
    await take(reader.end());
  } catch (e) {
    input.destroy();
    if (e instanceof Refused) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    if (!code.startsWith('Z_') || !header) throw new Refused(ExitCode.Input, [`cannot read ${file}: ${code.startsWith('Z_') ? `damaged gzip stream (${(e as Error).message})` : ioReason(e)}`]);
    cutShort = `${file}: damaged gzip stream (${(e as Error).message}); the rows before it are kept, the partial last line is not`;
  }
  if (!header) throw new Refused(ExitCode.Input, [`${file} is empty (expected a header line of CICFlowMeter column names)`]);
  await flush();
  if (out) {
    const o = out;
    // Standard output stays open (the summary may follow on it); a file is closed.
    if (o === process.stdout) await new Promise<void>((res) => o.write('', () => res()));
    else await new Promise<void>((res) => (o as WriteStream).end(res));
  }
  if (outError) throw new Refused(ExitCode.Output, [`writing ${args.out} failed: ${ioReason(outError)}`]);

  if (!args.quiet) {
    const summary = formatSummary(file, table, stats, predicted, byInputLabel, problems) + spellingNote(family, table.card.profile);
    // The summary goes to stdout unless the rows do.
    if (args.out === '-') process.stderr.write(summary);
    else process.stdout.write(summary);
  }
  if (cutShort !== undefined) {
    process.stderr.write(`sensor classify: warning: ${cutShort}\n`);
    return ExitCode.Input;
  }
  if (stats.problems > 0) {
    if (args.quiet) for (const p of problems) process.stderr.write(`sensor classify: ${file}: ${p}\n`);
    return ExitCode.Input;
  }
  return ExitCode.Ok;
}

/** The tool whose values a profile's model was trained on, by the header spelling that tool writes. */
const PROFILE_FAMILY: Record<string, string> = { cic: 'CICFlowMeter master', fixed: 'CICFlowMeter master', cic2017: 'CIC-IDS2017' };

/**
 * A header in another tool's spelling is accepted (the names mean the same quantities), but that tool may compute
 * some of them differently from the model's profile: say so, once.
 */
function spellingNote(family: string | null, profile: string): string {
  if (family === null || family === PROFILE_FAMILY[profile]) return '';
  const tool = profile === 'cic2017' ? 'the CICFlowMeter build that made CIC-IDS2017' : profile === 'fixed' ? 'the corrected CICFlowMeter fork' : 'CICFlowMeter master';
  return `note: the header is spelled as ${family} writes it; the model reads profile ${profile} features (${tool}). Columns the two compute differently shift the verdicts (README: Which profile?).\n`;
}

function verdictCells(v: Verdict | null): string {
  if (!v) return ',,,,,';
  return [csvField(v.label), String(v.score), csvField(v.model), csvField(v.attack_label ?? ''), v.attack_score === null ? '' : String(v.attack_score), csvField(v.kdd ?? '')].join(',');
}

/** Labels are latin1 text here (bytes as read); show them as UTF-8 when they are. */
function shown(label: string): string {
  const bytes = Buffer.from(label, 'latin1');
  const utf8 = bytes.toString('utf8');
  return Buffer.from(utf8, 'utf8').equals(bytes) ? utf8 : label;
}

function formatSummary(
  file: string,
  table: TableClassifier,
  stats: { rows: number; classified: number; empty: number; problems: number },
  predicted: Tally,
  byInputLabel: Map<string, Map<string, number>>,
  problems: string[],
): string {
  const rule = table.rule;
  const lines: string[] = [];
  const n = (x: number): string => x.toLocaleString('en-US');
  lines.push(`${file}: ${n(stats.rows)} rows, ${n(stats.classified)} classified by ${rule.model} (${rule.threshold === null ? 'no alert threshold: most likely class' : `alert threshold ${rule.threshold}`})`);
  if (stats.empty > 0) lines.push(`${n(stats.empty)} empty rows (every field blank): no verdict`);
  if (stats.problems > 0) {
    lines.push(`${n(stats.problems)} rows could not be classified (written without a verdict):`);
    for (const p of problems) lines.push(`  ${p}`);
    if (stats.problems > problems.length) lines.push(`  ... and ${n(stats.problems - problems.length)} more`);
  }
  const width = Math.max(9, ...rule.classes.map((c) => c.length)) + 2;
  lines.push(`${'predicted'.padEnd(width)}${'rows'.padStart(12)}${'share'.padStart(9)}${'mean score'.padStart(12)}`);
  const classes = [...rule.classes, ...[...predicted.keys()].filter((k) => !rule.classes.includes(k))];
  for (const c of classes) {
    const t = predicted.get(c) ?? { rows: 0, scoreSum: 0 };
    const share = stats.classified > 0 ? (100 * t.rows) / stats.classified : 0;
    lines.push(`${c.padEnd(width)}${n(t.rows).padStart(12)}${(share.toFixed(1) + ' %').padStart(9)}${(t.rows > 0 ? (t.scoreSum / t.rows).toFixed(3) : '-').padStart(12)}`);
  }
  if (byInputLabel.size > 0) {
    lines.push("by the input's own Label column (rows: predicted classes):");
    const sorted = [...byInputLabel.entries()].sort((a, b) => total(b[1]) - total(a[1]));
    for (const [truth, m] of sorted) {
      const parts = [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${n(v)}`);
      lines.push(`  ${shown(truth) || '(blank)'} ${n(total(m))}: ${parts.join(', ')}`);
    }
  }
  return lines.join('\n') + '\n';
}

function total(m: Map<string, number>): number {
  let s = 0;
  for (const v of m.values()) s += v;
  return s;
}
