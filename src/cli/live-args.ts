/**
 * The live daemon's settings: its command line (the flags of config/schema.ts plus --config), the JSON config
 * file and the environment, merged and checked by parseConfig. Read at start and again on SIGHUP.
 */
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { keepDashValues, strictCommandLine, UsageError } from './usage.js';
import { commandLineOptions, parseConfig, valuesFromFlags, type LiveConfig } from '../config/schema.js';

/** Command-line flags of live mode: the config keys plus --config. Values stay text for parseConfig. */
function parseLiveArgs(argv: string[]): { configFile: string | undefined; values: ReturnType<typeof valuesFromFlags> } {
  // "-" stays the value of --csv/--json, so the config check says why it is refused live.
  const y = strictCommandLine(yargs(keepDashValues(argv, ['--csv', '--json'])))
    .scriptName('sensor')
    .usage(
      'Usage: sensor --iface IFACE [--config FILE] [--db PATH] [--csv PATH] [--json PATH] [options]\n\n' +
        'Captures live from a network interface (a span/mirror port), assembles bidirectional flows and\n' +
        'writes CICFlowMeter-compatible features to SQLite, CSV and/or JSON lines, until SIGTERM/SIGINT.\n' +
        'SIGHUP reopens the outputs and rereads the config file. --metrics serves Prometheus metrics.\n' +
        'Every option can also be set in the JSON config file (key in brackets) or as an environment\n' +
        'variable SENSOR_<KEY>; the command line wins over the environment, which wins over the file.',
    )
    .option('config', { type: 'string', describe: 'JSON config file (see config/sensor.json).' })
    .options(commandLineOptions('live'))
    .alias('iface', ['interface', 'i'])
    .example('sensor --iface eth0 --db /var/lib/sensor/flows.sqlite', 'Capture on eth0 into SQLite')
    .example('sensor --config /etc/sensor/sensor.json', 'Everything from the config file (the systemd unit does this)')
    .example('sensor --iface eth0 --json /var/log/sensor/eve.json --metrics 127.0.0.1:9464', 'JSON events, and Prometheus metrics on loopback')
    .epilog('Exit codes: 0 stopped by SIGTERM/SIGINT with every flow written, 2 bad usage/config, 3 capture failed, 4 output failed (or the metrics address cannot be used), 1 internal error.');
  const a = y.parseSync() as Record<string, unknown>;
  if (Array.isArray(a._) && a._.length > 0) throw new UsageError(`Unexpected argument: ${String(a._[0])}`);
  const values = valuesFromFlags(a, 'live');
  const configFile = a.config === undefined ? undefined : String(a.config);
  return { configFile, values };
}

/** Reads and parses the config file; throws UsageError with one line. */
function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new UsageError(`config ${path}: ${why}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`config ${path}: not valid JSON: ${(e as Error).message}`);
  }
}

export function loadConfig(argv: string[], env: Readonly<Record<string, string | undefined>>): { config: LiveConfig; configFile: string | undefined; profileGiven: boolean } {
  const args = parseLiveArgs(argv);
  const json = args.configFile === undefined ? undefined : readConfigFile(args.configFile);
  const r = parseConfig(json, args.values, env, { file: args.configFile ?? 'config file' });
  if (!r.config) throw new ConfigErrors(r.errors);
  return { config: r.config, configFile: args.configFile, profileGiven: r.sources.profile !== 'default' };
}

export class ConfigErrors extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join('\n'));
  }
}

/** True when the command line asks for live capture (main.ts hands such a command line to runLive). */
export function isLiveCommand(argv: readonly string[]): boolean {
  return argv.some((a) => /^(--iface|--interface|--config)(=|$)/.test(a) || a === '-i' || /^-i\S/.test(a));
}
