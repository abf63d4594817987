/**
 * `sensor` command line: parse and validate options (yargs tokenizes, we validate), build the pipeline
 * (sources → engine → sinks), run it, print a summary, exit with a documented code (cli/exit-codes.ts).
 */
import yargs from 'yargs';
import { setThreadNice } from '../sources/thread-priority.js';
import { hideBin } from 'yargs/helpers';
import { ExitCode } from './exit-codes.js';
import { strictCommandLine, UsageError } from './usage.js';
import { isLiveCommand } from './live-args.js';
import { openSources, replay, type ReplayProgress, type ReplaySummary } from './replay.js';
import { getProfile } from '../features/profiles.js';
import { CaptureError } from '../sources/batch.js';
import type { PcapSource } from '../sources/pcap-source.js';
import { SinkError } from '../sinks/flow-rows.js';
import { SqliteSink } from '../sinks/sqlite.js';
import { alertsOnlyWithoutModel, commandLineOptions, parseConfig, valuesFromFlags, type ReplayConfig } from '../config/schema.js';
import { openSinks, type OpenSink } from '../pipeline/sinks.js';
import { chooseModels, modelsCommand } from '../classify/cli.js';
import { formatVerdictCounts } from '../classify/tally.js';
import { type FlowClassifier } from '../classify/classifier.js';
import { ModelError } from '../classify/model.js';
import { VerdictQueue } from '../classify/stage.js';

/** A replay's settings (config/schema.ts, as the daemon's) and the flags only replay has. */
interface Args {
  config: ReplayConfig;
  /** --profile given (else the model decides). */
  profileGiven: boolean;
  progress: boolean | undefined;
  quiet: boolean;
}

/**
 * yargs reads a lone "-" as a positional argument; here it means standard input after --replay and standard
 * output after --csv, as in tcpdump and most Unix tools. Rewrite it before parsing.
 */
function stdioDashes(argv: string[]): string[] {
  let last = '';
  return argv.map((a) => {
    if (a.startsWith('--')) last = a;
    if (a !== '-') return a;
    if (last === '--replay') return '/dev/stdin';
    if (last === '--csv' || last === '--json') return '/dev/stdout';
    return a;
  });
}

/** Parses and checks the command line: a UsageError for yargs' own complaints, else the settings or every problem. */
function parseArgs(argv: string[]): { args: Args } | { errors: string[] } {
  const parsed = strictCommandLine(yargs(stdioDashes(argv)))
    .scriptName('sensor')
    .usage(
      'Usage: sensor --replay FILE... [--db PATH] [--csv PATH] [--json PATH] [options]\n' +
        '       sensor --iface IFACE [--config FILE] [--db PATH] [--csv PATH]   (live capture: sensor --iface x --help)\n' +
        '       sensor models inspect PATH   (check a model against its card and print the contract)\n' +
        '       sensor models drift MODEL DB [--run N]   (how far a run\'s flows are from the model\'s training data)\n' +
        '       sensor classify FLOWS.csv [--out verdicts.csv]   (verdicts for CICFlowMeter CSVs: sensor classify --help)\n' +
        '       sensor report DB [--run N] [--out report.html]   (an HTML report of a run: sensor report --help)\n' +
        '       sensor serve --db DB [--listen 127.0.0.1:8080]   (JSON API, predictions, metrics, dashboard: sensor serve --help)\n\n' +
        'Reads pcap/pcapng captures (gzip too), assembles bidirectional flows and writes CICFlowMeter-compatible\n' +
        'features, one row per flow, to SQLite, CSV and/or JSON lines.',
    )
    .option('replay', { type: 'string', array: true, describe: 'Capture file(s) to replay: pcap, pcapng, or either gzip-compressed; "-" reads standard input. Several files are one continuous stream.' })
    .options(commandLineOptions('replay'))
    .option('progress', { type: 'boolean', describe: 'Show a progress line (default: when stderr is a terminal).' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing but errors.' })
    .example(EXAMPLES.map((e) => [e.command, e.description] as [string, string]))
    .epilog('Exit codes: 0 ok, 2 bad usage or a model that cannot be used, 3 unreadable input, 4 unwritable output, 130 interrupted, 1 internal error.')
    .parseSync() as Record<string, unknown>;
  const errors: string[] = [];
  const files = (parsed.replay as string[] | undefined) ?? [];
  if (files.length === 0) errors.push('no input: pass --replay FILE (or --iface IFACE for live capture: sensor --iface x --help)');
  const r = parseConfig(undefined, valuesFromFlags(parsed, 'replay'), {}, { mode: 'replay' });
  errors.push(...r.errors);
  if (!r.config) return { errors };
  if (errors.length > 0) return { errors };
  return {
    args: {
      config: { ...r.config, replay: files },
      profileGiven: r.sources.profile !== 'default',
      progress: parsed.progress as boolean | undefined,
      quiet: parsed.quiet === true,
    },
  };
}

/** The --help examples (test/help-examples.test.ts runs each as printed, from the repository's root). */
export const EXAMPLES: readonly { command: string; description: string }[] = [
  { command: 'sensor --replay fixtures/reference/edge.pcap --db flows.sqlite --csv flows.csv', description: 'Replay a capture into SQLite and CSV' },
  { command: 'sensor --replay fixtures/reference/edge.pcap --profile cic2017 --csv edge.csv', description: 'Features as in the public CIC-IDS2017 CSVs' },
  { command: 'sensor --replay fixtures/reference/edge.pcap --json - -q | jq -c \'[.src_ip, .dest_ip, .community_id]\'', description: 'JSON lines on stdout, e.g. into jq' },
];

function formatProgress(p: ReplayProgress): string {
  const pct = Number.isNaN(p.fraction) ? '' : ` ${(p.fraction * 100).toFixed(1)}%`;
  const rate = p.elapsedMs > 0 ? (p.packets / p.elapsedMs) * 1000 : 0;
  const file = p.files > 1 ? ` [${p.fileIndex + 1}/${p.files}]` : '';
  return `replay${file} ${p.file}${pct}  ${p.packets.toLocaleString('en-US')} packets  ${p.flows.toLocaleString('en-US')} flows  ${(rate / 1e6).toFixed(2)} M packets/s`;
}

function formatSummary(s: ReplaySummary): string {
  const lines = [
    `packets ${s.packets}  flows ${s.flows}  packets in flows ${s.packetsInFlows}  ${(s.elapsedMs / 1000).toFixed(2)} s  ${Math.round(s.packetsPerSecond)} packets/s`,
  ];
  // Reasons sum, with the packets in flows, to the packets read; the notes are counts about flows and outputs.
  const nonZero = (c: Record<string, number>): string[] => Object.entries(c).filter(([, v]) => v !== 0).map(([k, v]) => `${k}=${v}`);
  const reasons = nonZero(s.accounting.packetsNotInWrittenFlows);
  if (reasons.length > 0) lines.push('not in a written flow, by reason: ' + reasons.join('  '));
  const notes = nonZero(s.accounting.info);
  if (notes.length > 0) lines.push('notes: ' + notes.join('  '));
  if (s.verdicts) {
    const t = s.verdicts.threshold;
    lines.push(`verdicts: ${formatVerdictCounts(s.verdicts.counts)} (${t === null ? 'no alert threshold: the most probable class' : `alert threshold ${t}`})`);
    const top = s.verdicts.topAlertSources;
    if (top.length > 0) lines.push(`top alert sources: ${top.map((x) => `${x.address} (${x.alerts.toLocaleString('en-US')})`).join(', ')}`);
  }
  if (s.appGroups) lines.push(`application groups: ${formatVerdictCounts(s.appGroups.counts)} (${s.appGroups.model})`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  // --iface / --config: the live daemon (cli/live.ts, with pino and the metrics server: loaded only for it).
  if (isLiveCommand(argv)) return (await import('./live.js')).runLive(argv);
  if (argv[0] === 'models') return modelsCommand(argv.slice(1), (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  // Commands over tables and databases (cli/classify.ts, report/, serve/): loaded only when asked for.
  if (argv[0] === 'classify') return (await import('./classify.js')).classifyCommand(argv.slice(1));
  if (argv[0] === 'report') return (await import('../report/cli.js')).reportCommand(argv.slice(1));
  if (argv[0] === 'serve') return (await import('../serve/cli.js')).serveCommand(argv.slice(1));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`sensor: ${e.message}\nRun sensor --help for the options.\n`);
    return ExitCode.Usage;
  }
  if ('errors' in parsed) {
    for (const e of parsed.errors) process.stderr.write(`sensor: ${e}\n`);
    return ExitCode.Usage;
  }
  const args = parsed.args;
  const cfg = args.config;
  setThreadNice(cfg.threadNice);
  // The model decides the profile unless --profile says otherwise; a card that does not fit is refused here,
  // before any input is opened or output created (its session, still loading, before any output: runReplay).
  let classifier: FlowClassifier | undefined;
  try {
    const choice = await chooseModels({ attack: cfg.model === null ? false : cfg.model, application: cfg.appModel === null ? false : cfg.appModel }, args.profileGiven ? cfg.profile : undefined, cfg.alertThreshold, { background: true });
    classifier = choice.classifier;
    if (!args.quiet) for (const n of choice.notices) process.stderr.write(`sensor: ${n}\n`);
    if (cfg.jsonAlertsOnly && !classifier?.attack) {
      process.stderr.write(`sensor: ${alertsOnlyWithoutModel('replay')}\n`);
      return ExitCode.Usage;
    }
  } catch (e) {
    if (e instanceof ModelError) return refuseModel(e);
    throw e;
  }
  try {
    return await runReplay(args, argv, classifier);
  } finally {
    await classifier?.close();
  }
}

async function runReplay(args: Args, argv: string[], classifier: FlowClassifier | undefined): Promise<number> {
  const cfg = args.config;
  const profile = getProfile(args.profileGiven ? cfg.profile : (classifier?.profile ?? 'cic'));

  let sources: PcapSource[];
  try {
    sources = openSources(cfg.replay, cfg.filter);
  } catch (e) {
    if (e instanceof CaptureError) {
      // A model its session refuses is reported first, as when the sessions were loaded before the capture opened.
      const refused = await modelRefusal(classifier);
      if (refused !== undefined) return refused;
      process.stderr.write(`sensor: ${e.message}\n`);
      return ExitCode.Input;
    }
    throw e;
  }

  const open = (): Promise<OpenSink[]> =>
    openSinks(cfg, {
      mode: 'replay',
      columns: profile.columns,
      source: cfg.replay.join(' '),
      argv,
      ...(classifier?.attack ? { benignClass: classifier.attack.card.benign } : {}),
      flowIds: { next: 1 },
      onClickHouseEvent: (e) => {
        if (!args.quiet || e.level === 'error') process.stderr.write(`sensor: ${e.level === 'info' ? '' : `${e.level}: `}${e.message}\n`);
      },
    });
  // A stop request from here on ends the run cleanly (exit 130, every flow so far written or spooled), also one that
  // comes while the outputs are still opening: a ClickHouse output says it is spooling before open() returns.
  const stop = { requested: false };
  const onSignal = (): void => {
    stop.requested = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const showProgress = !args.quiet && (args.progress ?? process.stderr.isTTY === true);
  let progressShown = false;
  try {
    // The models' sessions load (in their thread) while the first packets are read: the outputs open once they are
    // loaded and fit their cards, so a model refused then still leaves nothing written (exit 2). An output that
    // cannot open is exit 4 (the catch below).
    let sinks: OpenSink[] | Promise<OpenSink[]> = classifier ? classifier.ready.then(open) : await open();
    const summary = await replay(
      {
        profile,
        settings: cfg,
        sinks,
        stop,
        ...(classifier ? { verdicts: new VerdictQueue(classifier, undefined, { countAlertSources: true }) } : {}),
        context: cfg.context && (cfg.contextThresholds ?? {}),
        stepBackAtEnd: cfg.threadNice,
        ...(showProgress
          ? {
              onProgress: (p: ReplayProgress) => {
                progressShown = true;
                process.stderr.write(`\r\x1b[K${formatProgress(p)}`);
              },
            }
          : {}),
        onWarning: (w) => process.stderr.write(`${progressShown ? '\r\x1b[K' : ''}sensor: warning: ${w}\n`),
      },
      sources,
    );
    if (progressShown) process.stderr.write('\r\x1b[K');
    sinks = await sinks;
    // An output that failed mid-run was set aside (the others completed); say how many flows it lost, exit 4.
    const failed = new Set(summary.sinkFailures.map((f) => f.sink));
    for (const o of sinks) {
      if (o.sink instanceof SqliteSink && !failed.has(o.sink)) await o.sink.finishRun(summary.counters);
    }
    for (const { sink } of sinks) await sink.close().catch((e: unknown) => (failed.has(sink) ? undefined : Promise.reject(e)));
    if (!args.quiet) process.stderr.write(formatSummary(summary) + '\n');
    for (const f of summary.sinkFailures) {
      process.stderr.write(`sensor: ${f.error.message}; ${f.rowsLost} of ${summary.flows} flows not written there (other outputs are complete)\n`);
    }
    if (summary.sinkFailures.length > 0) return ExitCode.Output;
    return summary.stopped ? ExitCode.Interrupted : ExitCode.Ok;
  } catch (e) {
    for (const s of sources) s.close();
    if (e instanceof ModelError) return refuseModel(e);
    if (e instanceof SinkError) {
      process.stderr.write(`sensor: ${e.message}\n`);
      return ExitCode.Output;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The exit code of a run whose models' sessions refused a model (their problems printed), or undefined. */
async function modelRefusal(classifier: FlowClassifier | undefined): Promise<number | undefined> {
  try {
    await classifier?.ready;
    return undefined;
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
    return refuseModel(e);
  }
}

/** A model that cannot be used: every problem on a line of its own, exit 2 (nothing was written). */
function refuseModel(e: ModelError): number {
  for (const p of e.problems) process.stderr.write(`sensor: ${p}\n`);
  return ExitCode.Usage;
}

export function run(): void {
  main(hideBin(process.argv)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`sensor: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = ExitCode.Internal;
    },
  );
}
