/**
 * `sensor report DB [--run N] [--out report.html]`: one self-contained HTML file about a run (report.ts).
 */
import { writeFileSync } from 'node:fs';
import yargs from 'yargs';
import { ExitCode } from '../cli/exit-codes.js';
import { sameFile, strictCommandLine } from '../cli/usage.js';
import { ModelError } from '../classify/model.js';
import { FlowDb, FlowDbError } from './flow-db.js';
import { collectReport, renderReport } from './report.js';

interface Args {
  db: string;
  run?: number;
  out: string;
  model?: string;
  top: number;
  quiet: boolean;
}

export async function reportCommand(argv: string[]): Promise<number> {
  const err = (s: string): boolean => process.stderr.write(`sensor report: ${s}\n`);
  let args: Args;
  try {
    args = strictCommandLine(yargs(argv))
      .scriptName('sensor report')
      .usage(
        'Usage: sensor report DB [--run N] [--out report.html]\n\n' +
          'One self-contained HTML file (inline SVG charts, nothing fetched) about one run of a sensor database: the run and\n' +
          'its counters, flows and alerts over time by class, verdicts, application groups, KDD categories, top sources,\n' +
          'targets and ports of alerts, score histograms, drift against the training data, the top alerts.',
      )
      .command('$0 <db>', false)
      .positional('db', { type: 'string', describe: 'SQLite database written by sensor --db' })
      .option('run', { type: 'number', describe: 'Run id (see runs.id; default: the latest run).' })
      .option('out', { type: 'string', default: 'report.html', describe: 'HTML file to write ("-" = standard output).' })
      .option('model', { type: 'string', describe: "The card of the run's model (default: models/<name>.json when the run's model name@version is installed)." })
      .option('top', { type: 'number', default: 25, describe: 'Alerts listed in the table of top alerts.' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing but errors.' })
      .example('sensor report flows.sqlite --out run.html', 'Report on the latest run')
      .epilog('Exit codes: 0 written, 2 bad usage (or no such run, or a --model card that is refused), 3 the database cannot be read or is not a sensor database, 4 the HTML cannot be written, 1 internal error.')
      .parseSync() as unknown as Args;
  } catch (e) {
    err(`${(e as Error).message}\nRun sensor report --help for the options.`);
    return ExitCode.Usage;
  }
  if (args.run !== undefined && !(Number.isInteger(args.run) && args.run > 0)) {
    err(`Expected --run to be a positive integer (a runs.id), got "${args.run}"`);
    return ExitCode.Usage;
  }
  if (!(Number.isInteger(args.top) && args.top >= 0 && args.top <= 10000)) {
    err(`Expected --top to be an integer from 0 to 10000, got "${args.top}"`);
    return ExitCode.Usage;
  }
  if (args.out !== '-' && sameFile(args.out, args.db)) {
    err(`--out ${args.out} is the database: write the report elsewhere`);
    return ExitCode.Usage;
  }
  let db: FlowDb;
  try {
    db = FlowDb.open(args.db);
  } catch (e) {
    if (e instanceof FlowDbError) {
      err(e.message);
      return ExitCode.Input;
    }
    throw e;
  }
  try {
    const runs = db.runs();
    if (runs.length === 0) {
      err(`${args.db} has no runs yet`);
      return ExitCode.Input;
    }
    const runId = args.run ?? db.latestRunId()!;
    if (!runs.some((r) => r.id === runId)) {
      err(`${args.db} has no run ${runId} (its runs: ${runs.map((r) => r.id).join(', ')})`);
      return ExitCode.Usage;
    }
    let html: string;
    const t0 = performance.now();
    try {
      html = renderReport(collectReport(db, runId, { ...(args.model !== undefined ? { modelSpec: args.model } : {}), top: args.top }));
    } catch (e) {
      if (e instanceof ModelError) {
        for (const p of e.problems) err(p);
        return ExitCode.Usage;
      }
      throw e;
    }
    try {
      if (args.out === '-') process.stdout.write(html);
      else writeFileSync(args.out, html);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      err(`cannot write ${args.out}: ${code === 'ENOENT' ? 'directory does not exist' : code === 'EACCES' || code === 'EROFS' ? 'permission denied' : (e as Error).message}`);
      return ExitCode.Output;
    }
    if (!args.quiet && args.out !== '-') process.stderr.write(`sensor report: run ${runId} of ${args.db} -> ${args.out} (${Math.round(html.length / 1024)} KiB, ${((performance.now() - t0) / 1000).toFixed(2)} s)\n`);
    return ExitCode.Ok;
  } finally {
    db.close();
  }
}
