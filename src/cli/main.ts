/**
 * `sensor` command line: parse and validate options (yargs tokenizes, we validate), build the pipeline
 * (sources → engine → sinks), run it, print a summary, exit with a documented code (cli/exit-codes.ts).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ExitCode } from './exit-codes.js';
import { strictCommandLine, UsageError } from './usage.js';
import { isLiveCommand, runLive } from './live.js';
import { openSources, replay, runCounters, type ReplayProgress, type ReplaySummary } from './replay.js';
import { getProfile, isProfileName, PROFILE_NAMES } from '../features/profiles.js';
import { CaptureError, type PcapSource } from '../sources/pcap-source.js';
import { CsvSink } from '../sinks/csv.js';
import { SqliteSink } from '../sinks/sqlite.js';
import { JsonSink } from '../sinks/json.js';
import { ClickHouseSink, defaultSpoolDir } from '../sinks/clickhouse.js';
import { parseClickHouseUrl } from '../sinks/clickhouse-url.js';
import { hostname } from 'node:os';
import { SinkError, type FlowSink } from '../sinks/flow-rows.js';
import { chooseModel, modelsCommand } from '../classify/cli.js';
import { alertThresholdError } from '../classify/model-card.js';
import { formatVerdictCounts } from '../classify/tally.js';
import { ModelError, type Classifier } from '../classify/classifier.js';
import { VerdictQueue } from '../classify/stage.js';

interface Args {
  replay?: string[];
  db?: string;
  csv?: string;
  json?: string;
  clickhouse?: string;
  'clickhouse-spool'?: string;
  'json-alerts-only': boolean;
  'json-features': boolean;
  'sensor-name'?: string;
  /** Absent: the model's profile (cic without a model). */
  profile?: string;
  filter?: string;
  'flow-timeout': number;
  'activity-timeout': number;
  'idle-timeout': number;
  'max-flows': number;
  'port-direction': boolean;
  ipv6: boolean;
  /** A model path or name; false for --no-model; absent for the default model. */
  model?: string | false;
  /** Overrides the card's alert_threshold. */
  'alert-threshold'?: number;
  progress?: boolean;
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

function parseArgs(argv: string[]): Args {
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
    .option('db', { type: 'string', describe: 'SQLite database to append flows to (created if absent; table `flows`, runs in `runs`).' })
    .option('csv', { type: 'string', describe: 'CSV file to write, with the exact header of the profile\'s reference CICFlowMeter ("-" = stdout).' })
    .option('json', { type: 'string', describe: 'JSON lines in the style of Suricata\'s EVE ("-" = stdout): a `flow` event per flow, an `alert` event per attack verdict, with Community ID.' })
    .option('clickhouse', { type: 'string', describe: 'ClickHouse HTTP URL to insert flows into, http://[user:password@]host:8123[/database] (table flows_<profile>, created when absent); an outage spools to --clickhouse-spool.' })
    .option('clickhouse-spool', { type: 'string', describe: 'Directory where flows wait while ClickHouse is unreachable or slow; the next run sends them first (default: ~/.local/state/sensor/clickhouse-spool).' })
    .option('json-alerts-only', { type: 'boolean', default: false, describe: 'With --json: write only the `alert` events (needs a model).' })
    .option('json-features', { type: 'boolean', default: false, describe: 'With --json: add every CIC feature of the flow under `features`.' })
    .option('sensor-name', { type: 'string', describe: 'The `sensor` field of JSON events and ClickHouse rows (default: the host name).' })
    .option('profile', { type: 'string', describe: `Feature definitions: cic = CICFlowMeter master (bugs included), fixed = the corrected fork, cic2017 = the build that made CIC-IDS2017 (${PROFILE_NAMES.join('|')}). Default: the model's profile (cic2017 for the default model; cic with --no-model).` })
    .option('filter', { type: 'string', describe: 'BPF filter applied while reading, e.g. "tcp port 80".' })
    .option('flow-timeout', { type: 'number', default: 120, describe: 'Flow timeout in seconds, from the flow\'s first packet (CICFlowMeter: 120).' })
    .option('activity-timeout', { type: 'number', default: 5, describe: 'Activity timeout in seconds for the Active/Idle features (CICFlowMeter: 5).' })
    .option('idle-timeout', { type: 'number', default: 0, describe: 'End a flow after this many seconds without packets; 0 = never (as the references).' })
    .option('max-flows', { type: 'number', default: 262144, describe: 'Flow table capacity (memory bound); when full the oldest flow is ended early and counted.' })
    .option('port-direction', { type: 'boolean', default: false, describe: 'Decide packet direction by address and port, so same-host traffic has a backward side (the references use the address only).' })
    .option('ipv6', { type: 'boolean', default: false, describe: 'Make flows of IPv6 packets too (the references discard IPv6; counted as flow.ipv6_disabled).' })
    .option('model', { type: 'string', describe: 'Classify flows with this model: models/<name>.onnx or its card <name>.json, or a name in models/ (default: the shipped cic2017-attack). --no-model skips classification.' })
    .option('alert-threshold', { type: 'number', describe: 'Call a flow an attack only when its most likely attack class has at least this probability, in (0, 1] (default: the card\'s alert_threshold; none = the most probable class).' })
    .option('progress', { type: 'boolean', describe: 'Show a progress line (default: when stderr is a terminal).' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing but errors.' })
    .example('sensor --replay fixtures/reference/edge.pcap --db flows.sqlite --csv flows.csv', 'Replay a capture into SQLite and CSV')
    .example('sensor --replay day1.pcap.gz --profile cic2017 --csv day1.csv', 'Features as in the public CIC-IDS2017 CSVs')
    .example('sensor --replay day1.pcap --json - | jq -c \'select(.event_type=="alert")\'', 'Alerts as JSON lines on stdout')
    .epilog('Exit codes: 0 ok, 2 bad usage or a model that cannot be used, 3 unreadable input, 4 unwritable output, 130 interrupted, 1 internal error.')
    .parseSync() as unknown as Args;
  return parsed;
}

/** Check option values; every problem is reported at once, each with the exact expectation. */
function validate(a: Args): string[] {
  const errors: string[] = [];
  if (!a.replay || a.replay.length === 0) errors.push('Expected --replay FILE (or --iface IFACE for live capture: sensor --iface x --help)');
  if (a.profile !== undefined && !isProfileName(a.profile)) errors.push(`Expected --profile to be one of ${PROFILE_NAMES.join(', ')}, got "${a.profile}"`);
  const positive = (name: string, v: number): void => {
    if (!Number.isFinite(v) || v <= 0) errors.push(`Expected --${name} to be a positive number of seconds, got "${v}"`);
  };
  positive('flow-timeout', a['flow-timeout']);
  positive('activity-timeout', a['activity-timeout']);
  if (!Number.isFinite(a['idle-timeout']) || a['idle-timeout'] < 0) errors.push(`Expected --idle-timeout to be 0 or a positive number of seconds, got "${a['idle-timeout']}"`);
  if (!Number.isInteger(a['max-flows']) || a['max-flows'] < 1 || a['max-flows'] > 50_000_000) errors.push(`Expected --max-flows to be an integer from 1 to 50000000, got "${a['max-flows']}"`);
  if (!a.db && !a.csv && !a.json && !a.clickhouse) errors.push('Expected --db PATH, --csv PATH, --json PATH and/or --clickhouse URL: where should the flows go?');
  if (a.clickhouse !== undefined) {
    const u = parseClickHouseUrl(a.clickhouse);
    if (typeof u === 'string') errors.push(`Expected --clickhouse to be ${u}, got "${a.clickhouse}"`);
  }
  if (a['clickhouse-spool'] !== undefined && a.clickhouse === undefined) errors.push('Expected --clickhouse URL with --clickhouse-spool');
  if (a.json === '') errors.push('Expected --json PATH (a file, or "-" for standard output)');
  if (a.json === undefined && a['json-alerts-only']) errors.push('Expected --json PATH with --json-alerts-only');
  if (a.json === undefined && a['json-features']) errors.push('Expected --json PATH with --json-features');
  if (a.json !== undefined && a.json !== '' && a.json === a.csv) errors.push(`Expected --json and --csv to name different files, both are "${a.json === '/dev/stdout' ? '-' : a.json}"`);
  if (a['sensor-name'] !== undefined && a['sensor-name'].trim() === '') errors.push('Expected --sensor-name NAME (not empty)');
  const t = a['alert-threshold'];
  if (t !== undefined) {
    const e = alertThresholdError(t);
    if (e !== undefined) errors.push(`Expected --alert-threshold to be ${e}, got "${t}"`);
    else if (a.model === false) errors.push('Expected --alert-threshold only with a model (it thresholds the model\'s verdicts), but --no-model was given');
  }
  return errors;
}

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
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  if (isLiveCommand(argv)) return runLive(argv); // --iface / --config: the live daemon (cli/live.ts)
  if (argv[0] === 'models') return modelsCommand(argv.slice(1), (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  // Commands over tables and databases (cli/classify.ts, report/, serve/): loaded only when asked for.
  if (argv[0] === 'classify') return (await import('./classify.js')).classifyCommand(argv.slice(1));
  if (argv[0] === 'report') return (await import('../report/cli.js')).reportCommand(argv.slice(1));
  if (argv[0] === 'serve') return (await import('../serve/cli.js')).serveCommand(argv.slice(1));
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`sensor: ${(e as Error).message}\nRun sensor --help for the options.\n`);
    return ExitCode.Usage;
  }
  const errors = validate(args);
  if (errors.length > 0) {
    for (const e of errors) process.stderr.write(`sensor: ${e}\n`);
    return ExitCode.Usage;
  }
  if (args.model === '') {
    process.stderr.write('sensor: Expected --model PATH (a .onnx or .json file, or a model name in models/), or --no-model\n');
    return ExitCode.Usage;
  }
  // The model decides the profile unless --profile says otherwise; a model that does not fit is refused here,
  // before any input is opened or output created.
  let classifier: Classifier | undefined;
  try {
    const choice = await chooseModel(args.model, args.profile as (typeof PROFILE_NAMES)[number] | undefined, args['alert-threshold']);
    classifier = choice.classifier;
    if (choice.notice && !args.quiet) process.stderr.write(`sensor: ${choice.notice}\n`);
    if (args['json-alerts-only'] && !classifier) {
      process.stderr.write('sensor: --json-alerts-only needs verdicts, and this run has no model (alerts are flows a model calls an attack)\n');
      return ExitCode.Usage;
    }
  } catch (e) {
    if (e instanceof ModelError) {
      for (const p of e.problems) process.stderr.write(`sensor: ${p}\n`);
      return ExitCode.Usage;
    }
    throw e;
  }
  try {
    return await runReplay(args, argv, classifier);
  } finally {
    await classifier?.close();
  }
}

async function runReplay(args: Args, argv: string[], classifier: Classifier | undefined): Promise<number> {
  const profile = getProfile((args.profile ?? classifier?.profile ?? 'cic') as (typeof PROFILE_NAMES)[number]);

  let sources: PcapSource[];
  try {
    sources = openSources(args.replay!, args.filter);
  } catch (e) {
    if (e instanceof CaptureError) {
      process.stderr.write(`sensor: ${e.message}\n`);
      return ExitCode.Input;
    }
    throw e;
  }

  const sinks: FlowSink[] = [];
  let sqlite: SqliteSink | undefined;
  try {
    if (args.csv) sinks.push(new CsvSink(args.csv, profile.columns));
    if (args.json) {
      sinks.push(
        new JsonSink(args.json, profile.columns, {
          sensor: args['sensor-name'] ?? hostname(),
          ...(classifier ? { benignClass: classifier.card.benign } : {}),
          alertsOnly: args['json-alerts-only'],
          features: args['json-features'],
        }),
      );
    }
    if (args.clickhouse) {
      sinks.push(
        await ClickHouseSink.open(args.clickhouse, profile.columns, {
          spoolDir: args['clickhouse-spool'] ?? defaultSpoolDir(),
          sensor: args['sensor-name'] ?? hostname(),
          backpressure: true,
          onEvent: (e) => {
            if (!args.quiet || e.level === 'error') process.stderr.write(`sensor: ${e.level === 'info' ? '' : `${e.level}: `}${e.message}\n`);
          },
        }),
      );
    }
    if (args.db) {
      sqlite = await SqliteSink.open(args.db, profile.columns, { source: args.replay!.join(' '), mode: 'replay', profile: profile.name, argv });
      sinks.push(sqlite);
    }
  } catch (e) {
    for (const s of sources) s.close();
    for (const s of sinks) await s.close().catch(() => undefined);
    if (e instanceof SinkError) {
      process.stderr.write(`sensor: ${e.message}\n`);
      return ExitCode.Output;
    }
    throw e;
  }

  const stop = { requested: false };
  const onSignal = (): void => {
    stop.requested = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const showProgress = !args.quiet && (args.progress ?? process.stderr.isTTY === true);
  let progressShown = false;
  try {
    const summary = await replay(
      {
        files: args.replay!,
        profile,
        ...(args.filter !== undefined ? { filter: args.filter } : {}),
        flowTimeoutUs: Math.round(args['flow-timeout'] * 1e6),
        activityTimeoutUs: Math.round(args['activity-timeout'] * 1e6),
        idleTimeoutUs: Math.round(args['idle-timeout'] * 1e6),
        maxFlows: args['max-flows'],
        portAwareDirection: args['port-direction'],
        ipv6: args.ipv6,
        sinks,
        stop,
        ...(classifier ? { verdicts: new VerdictQueue(classifier, undefined, { countAlertSources: true }) } : {}),
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
    // A sink that failed mid-run was set aside (the others completed); say how many flows it lost, exit 4.
    const failed = new Set(summary.sinkFailures.map((f) => f.sink));
    if (sqlite && !failed.has(sqlite)) await sqlite.finishRun(runCounters(summary));
    for (const s of sinks) await s.close().catch((e: unknown) => (failed.has(s) ? undefined : Promise.reject(e)));
    if (!args.quiet) process.stderr.write(formatSummary(summary) + '\n');
    for (const f of summary.sinkFailures) {
      process.stderr.write(`sensor: ${f.error.message}; ${f.rowsLost} of ${summary.flows} flows not written there (other outputs are complete)\n`);
    }
    if (summary.sinkFailures.length > 0) return ExitCode.Output;
    return summary.stopped ? ExitCode.Interrupted : ExitCode.Ok;
  } catch (e) {
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
