/**
 * The settings of a run, replay (`sensor --replay FILE...`) and live (`sensor --iface ...` / `sensor --config
 * FILE`) alike: one table of fields (FIELDS) gives each setting its flag, environment variable, default, check and
 * --help text, and one pure function, `parseConfig(json, argv, env, {mode})`, merges defaults < config file <
 * environment (SENSOR_*) < command line and returns the result with EVERY problem found, each message in one form
 * (`<where>: expected <what>, got <value>`, where = `--flag`, `environment SENSOR_X` or `<file>: "key"`).
 * Replay reads only the command line; the file and the environment are the daemon's. No I/O here: the caller
 * reads the file and prints the errors. (Over 400 lines because FIELDS is one table of every setting, on purpose.)
 *
 * Keys (config file; the command-line flag and environment variable of each are in FIELDS):
 *   interface, filter, db, csv, profile, flowTimeout, activityTimeout, idleTimeout, snaplen, bufferSize,
 *   promiscuous, statsInterval, model, appModel, alertThreshold, context, contextThresholds, retention, maxFlows, workers, threadNice, portDirection, ipv6, json, jsonAlertsOnly,
 *   jsonFeatures, sensorName, clickhouse, clickhouseSpool, metrics.
 */
import { parseClickHouseUrl } from '../sinks/clickhouse-url.js';
import { isIPv4, isIPv6 } from 'node:net';
import { PROFILE_NAMES, type ProfileName } from '../features/profiles.js';
import { alertThresholdError } from '../classify/model-card.js';
import { contextThresholdsErrors, type ContextThresholds } from '../classify/context.js';
import { DEFAULT_THREAD_NICE } from '../sources/thread-priority.js';

export interface LiveConfig {
  /** Interface to capture on, e.g. "eth0" (a span/mirror port). */
  interface: string;
  /** BPF filter run in the kernel; undefined = everything. */
  filter: string | undefined;
  /** SQLite database to append flows to. */
  db: string | undefined;
  /** CSV file to append flows to (header written when the file is new). */
  csv: string | undefined;
  profile: ProfileName;
  /** CICFlowMeter flow timeout, seconds from a flow's first packet. */
  flowTimeout: number;
  /** Active/Idle threshold, seconds. */
  activityTimeout: number;
  /** End a flow after this many seconds without packets (packet time); 0 = never. Live default = flowTimeout. */
  idleTimeout: number;
  /** Bytes kept per packet. */
  snaplen: number;
  /** Kernel capture buffer, MiB. */
  bufferSize: number;
  promiscuous: boolean;
  /** Seconds between stats log lines (and runs-table updates); 0 = off. */
  statsInterval: number;
  /** ONNX model (.onnx/.json path or a name in models/); null for none; undefined = the default model. */
  model: string | null | undefined;
  /** Application model (task "application"), as `model`; undefined = the default one when installed. */
  appModel: string | null | undefined;
  /** Overrides the model card's alert_threshold, in (0, 1]; undefined = the card's. */
  alertThreshold: number | undefined;
  /** The context stage after the attack model (classify/context.ts): on unless --no-context. */
  context: boolean;
  /** Its thresholds that differ from the defaults (CONTEXT_DEFAULTS); undefined = all defaults. */
  contextThresholds: Partial<ContextThresholds> | undefined;
  /** Delete flows whose first packet is older than this many days; 0 = keep everything. */
  retention: number;
  /** Flow table capacity. */
  maxFlows: number;
  /** Engine threads: flows sharded by key over this many (1 = the engine in the capture thread). */
  workers: number;
  /** Nice steps below the packet thread for the inference and output-writer threads (0 = the same priority). */
  threadNice: number;
  /** Direction by address and port instead of address only. */
  portDirection: boolean;
  /** Make flows of IPv6 packets. */
  ipv6: boolean;
  /** JSON lines file (EVE-style flow and alert events) to append to. */
  json: string | undefined;
  /** Write only alert events to `json`. */
  jsonAlertsOnly: boolean;
  /** Add every CIC feature to each JSON event. */
  jsonFeatures: boolean;
  /** The JSON events' `sensor` field; undefined = the host name. */
  sensorName: string | undefined;
  /** ClickHouse HTTP URL to insert flows into; undefined = off. */
  clickhouse: string | undefined;
  /** Directory where flows wait while ClickHouse is unreachable or slow; undefined = the default. */
  clickhouseSpool: string | undefined;
  /** Where to serve Prometheus metrics (`/metrics`); undefined = off. */
  metrics: { host: string; port: number } | undefined;
}

/** A replay's settings: the shared ones (live-only keys keep their defaults and are unused) plus the files. */
export interface ReplayConfig extends LiveConfig {
  /** Capture files, in order ("/dev/stdin" for "-"). */
  replay: string[];
}

/** Which command the settings are for: they differ only in live-only keys, two defaults and "-" outputs. */
export type Mode = 'replay' | 'live';

export type ConfigKey = keyof LiveConfig;
export type ConfigSource = 'default' | 'file' | 'env' | 'cli';

export interface ParsedConfig {
  /** The merged configuration, or null when there are errors. */
  config: LiveConfig | null;
  /** Every problem, one line each, in key order (file, then environment, then command line, then cross-checks). */
  errors: string[];
  /** Where each value came from. */
  sources: Record<ConfigKey, ConfigSource>;
}

export interface ParseConfigOptions {
  /** Name of the config file, for messages (default "config file"). */
  file?: string;
  /** Default "live". */
  mode?: Mode;
}

type Check = { ok: true; value: unknown } | { ok: false; expected: string };

interface Field {
  key: ConfigKey;
  /** Command-line flag without dashes. */
  flag: string;
  env: string;
  /** undefined = required (no default); see `defaultOf` for the two that differ by mode. */
  def: unknown;
  /** Validates a value; `text` is true when it came as a string from the environment or command line. */
  check: (v: unknown, text: boolean, mode: Mode) => Check;
  /** --help text (the default and, live, the config key are appended). */
  describe: string;
  /** A switch (--x / --no-x) rather than a flag with a value. */
  boolean?: true;
  /** Only the live daemon has this setting. */
  liveOnly?: true;
  /** A flag that may be given once: given twice on the command line, `check` sees every value (an array). */
  once?: true;
}

const ok = (value: unknown): Check => ({ ok: true, value });
const bad = (expected: string): Check => ({ ok: false, expected });

/** A finite number, from a JSON number or (for the environment / command line) its decimal text. */
function num(v: unknown, text: boolean): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (text && typeof v === 'string' && /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

function bool(v: unknown, text: boolean): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (text && typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true' || s === '1' || s === 'yes' || s === 'on') return true;
    if (s === 'false' || s === '0' || s === 'no' || s === 'off') return false;
  }
  return undefined;
}

const seconds = (allowZero: boolean, zeroMeans: string) => (v: unknown, text: boolean): Check => {
  const n = num(v, text);
  const expected = allowZero ? `0 (${zeroMeans}) or a positive number of seconds` : 'a positive number of seconds';
  if (n === undefined || n < 0 || (!allowZero && n === 0) || n > 365 * 86400) return bad(expected);
  return ok(n);
};

const integer = (min: number, max: number, unit = '') => (v: unknown, text: boolean): Check => {
  const n = num(v, text);
  if (n === undefined || !Number.isInteger(n) || n < min || n > max) return bad(`an integer${unit} from ${min} to ${max}`);
  return ok(n);
};

const boolean = (v: unknown, text: boolean): Check => {
  const b = bool(v, text);
  return b === undefined ? bad('true or false') : ok(b);
};

const path = (what: string) => (v: unknown): Check => {
  if (typeof v !== 'string' || v.trim() === '' || v.includes('\0')) return bad(`a ${what} path`);
  return ok(v);
};

/** An output file: "-" (standard output) is fine in replay; live, stdout carries the JSON log. */
const output = (what: string) => (v: unknown, _text: boolean, mode: Mode): Check => {
  if (v === null) return ok(undefined);
  if (v === '-' && mode === 'live') return bad(`a ${what} path ("-" is not allowed live: stdout carries the JSON log)`);
  return path(what)(v);
};

/** A model setting: a path or name; null / false / "none" for none. Given twice: refused (one model per task). */
const modelCheck = (flag: string, slots: string) => (v: unknown, text: boolean): Check => {
  if (Array.isArray(v)) return v.length === 1 ? modelCheck(flag, slots)(v[0], text) : bad(`one model (a run takes one model per task: ${slots})`);
  if (v === null || v === false) return ok(null);
  if (text && typeof v === 'string' && /^(false|no|off|none)$/i.test(v.trim())) return ok(null);
  if (typeof v === 'string' && v.trim() !== '' && !v.includes('\0')) return ok(v);
  return bad(`a path to an ONNX model (.onnx or its .json card) or a model name in models/, or null / false / --no-${flag} for none`);
};

const PROFILE_HELP =
  'cic = CICFlowMeter master (bugs included), fixed = the corrected fork, cic2017 = the build that made CIC-IDS2017';

export const FIELDS: readonly Field[] = [
  {
    key: 'interface',
    flag: 'iface',
    env: 'SENSOR_INTERFACE',
    def: undefined,
    liveOnly: true,
    describe: 'Interface to capture on',
    check: (v) =>
      typeof v === 'string' && v !== '' && v.length <= 15 && !/[\s/\0]/.test(v)
        ? ok(v)
        : bad('an interface name (1 to 15 characters, no spaces or "/")'),
  },
  {
    key: 'filter',
    flag: 'filter',
    env: 'SENSOR_FILTER',
    def: undefined,
    describe: 'BPF filter, tcpdump syntax, e.g. "tcp port 80"',
    check: (v) => {
      if (v === null) return ok(undefined);
      if (typeof v !== 'string' || v.includes('\0')) return bad('a BPF filter string (tcpdump syntax) or null');
      return ok(v.trim() === '' ? undefined : v);
    },
  },
  {
    key: 'db',
    flag: 'db',
    env: 'SENSOR_DB',
    def: undefined,
    describe: 'SQLite database to append flows to (created if absent; table `flows`, runs in `runs`)',
    check: (v) => (v === null ? ok(undefined) : path('database file')(v)),
  },
  {
    key: 'csv',
    flag: 'csv',
    env: 'SENSOR_CSV',
    def: undefined,
    describe: 'CSV file with the exact header of the profile\'s reference CICFlowMeter ("-" = stdout in replay; live appends, header written when new)',
    check: output('CSV file'),
  },
  {
    key: 'json',
    flag: 'json',
    env: 'SENSOR_JSON',
    def: undefined,
    describe: 'JSON lines in the style of Suricata\'s EVE ("-" = stdout in replay): a `flow` event per flow, an `alert` event per attack verdict, with Community ID; live appends and reopens it on SIGHUP',
    check: output('JSON lines file'),
  },
  { key: 'jsonAlertsOnly', flag: 'json-alerts-only', env: 'SENSOR_JSON_ALERTS_ONLY', def: false, boolean: true, describe: 'With --json: write only the `alert` events (needs a model)', check: boolean },
  { key: 'jsonFeatures', flag: 'json-features', env: 'SENSOR_JSON_FEATURES', def: false, boolean: true, describe: 'With --json: add every CIC feature of the flow under `features`', check: boolean },
  {
    key: 'sensorName',
    flag: 'sensor-name',
    env: 'SENSOR_SENSOR_NAME',
    def: undefined,
    describe: 'The `sensor` field of JSON events and ClickHouse rows (default: the host name)',
    check: (v) => (v === null ? ok(undefined) : typeof v === 'string' && v.trim() !== '' && !v.includes('\0') ? ok(v) : bad('a non-empty name, or null for the host name')),
  },
  {
    key: 'clickhouse',
    flag: 'clickhouse',
    env: 'SENSOR_CLICKHOUSE',
    def: undefined,
    describe: 'ClickHouse HTTP URL to insert flows into, http://[user:password@]host:8123[/database] (table flows_<profile>, created when absent); an outage or a slow server spools to disk',
    check: (v) => {
      if (v === null) return ok(undefined);
      if (typeof v !== 'string') return bad('a ClickHouse URL like http://host:8123[/database]');
      const u = parseClickHouseUrl(v);
      return typeof u === 'string' ? bad(u) : ok(v);
    },
  },
  {
    key: 'clickhouseSpool',
    flag: 'clickhouse-spool',
    env: 'SENSOR_CLICKHOUSE_SPOOL',
    def: undefined,
    describe: 'Directory where flows wait while ClickHouse is unreachable or slow; the next start sends them first (default: ~/.local/state/sensor/clickhouse-spool)',
    check: (v) => (v === null ? ok(undefined) : typeof v === 'string' && v.trim() !== '' && !v.includes('\0') ? ok(v) : bad('a directory path, or null for the default')),
  },
  {
    key: 'profile',
    flag: 'profile',
    env: 'SENSOR_PROFILE',
    def: 'cic',
    describe: `Feature definitions: ${PROFILE_HELP} (${PROFILE_NAMES.join('|')}). Default: the model's profile (cic2017 for the default model; cic with --no-model)`,
    check: (v) =>
      typeof v === 'string' && (PROFILE_NAMES as readonly string[]).includes(v) ? ok(v) : bad(`one of ${PROFILE_NAMES.join(', ')}`),
  },
  { key: 'flowTimeout', flag: 'flow-timeout', env: 'SENSOR_FLOW_TIMEOUT', def: 120, describe: 'Flow timeout in seconds, from the flow\'s first packet, as CICFlowMeter', check: seconds(false, '') },
  { key: 'activityTimeout', flag: 'activity-timeout', env: 'SENSOR_ACTIVITY_TIMEOUT', def: 5, describe: 'Activity timeout in seconds for the Active/Idle features, as CICFlowMeter', check: seconds(false, '') },
  // Default by mode (defaultOf): replay 0 as the references; live the flow timeout (see parseConfig).
  { key: 'idleTimeout', flag: 'idle-timeout', env: 'SENSOR_IDLE_TIMEOUT', def: null, describe: 'End a flow after this many seconds without packets; 0 = never (default: replay 0, as the references; live the flow timeout)', check: seconds(true, 'never') },
  { key: 'maxFlows', flag: 'max-flows', env: 'SENSOR_MAX_FLOWS', def: 262144, describe: 'Flow table capacity (memory bound); when full the oldest flow is ended early and counted', check: integer(1, 50_000_000) },
  {
    key: 'workers',
    flag: 'workers',
    env: 'SENSOR_WORKERS',
    def: 1,
    describe: 'Engine threads: flows are sharded by their key over N worker threads, each with its own engine (same flows, features, order and counters as 1); 1 runs the engine in the capture thread',
    check: integer(1, 64),
  },
  {
    key: 'threadNice',
    flag: 'thread-nice',
    env: 'SENSOR_THREAD_NICE',
    def: DEFAULT_THREAD_NICE,
    describe:
      'Nice steps below the packet thread for the threads behind it (the models\' inference thread, the CSV and SQLite writers; Linux): on a busy machine the packet thread keeps a core and the work behind it takes the time left; 0 = the same priority',
    check: integer(0, 19),
  },
  { key: 'portDirection', flag: 'port-direction', env: 'SENSOR_PORT_DIRECTION', def: false, boolean: true, describe: 'Decide packet direction by address and port, so same-host traffic has a backward side (the references use the address only)', check: boolean },
  { key: 'ipv6', flag: 'ipv6', env: 'SENSOR_IPV6', def: false, boolean: true, describe: 'Make flows of IPv6 packets too (the references discard IPv6; counted as flow.ipv6_disabled)', check: boolean },
  {
    key: 'model',
    flag: 'model',
    env: 'SENSOR_MODEL',
    // undefined: the default model; null / false: none.
    def: undefined,
    once: true,
    describe: 'Classify flows with this attack model (card task "attack"): models/<name>.onnx or its card <name>.json, or a name in models/ (default: the shipped cic2017-attack). --no-model skips it, and the default application model with it (a named --app-model still runs)',
    check: modelCheck('model', '--model for the attack model, --app-model for the application model'),
  },
  {
    key: 'appModel',
    flag: 'app-model',
    env: 'SENSOR_APP_MODEL',
    def: undefined,
    once: true,
    describe: 'Name the application group of every flow with this model (card task "application"), as --model (default: models/cic2017-app when installed, else none). --no-app-model skips it',
    check: modelCheck('app-model', '--app-model for the application model, --model for the attack model'),
  },
  {
    key: 'alertThreshold',
    flag: 'alert-threshold',
    env: 'SENSOR_ALERT_THRESHOLD',
    def: undefined,
    describe: 'Call a flow an attack only when its most likely attack class has at least this probability, in (0, 1] (default: the card\'s alert_threshold; none = the most probable class)',
    check: (v, text, mode) => {
      if (v === null) return ok(undefined);
      const n = num(v, text);
      const e = alertThresholdError(n);
      return e === undefined ? ok(n) : bad(mode === 'live' ? `${e} (or null: the model card's)` : e);
    },
  },
  {
    key: 'context',
    flag: 'context',
    env: 'SENSOR_CONTEXT',
    def: true,
    boolean: true,
    describe: 'After the attack model, the context stage: per-source and per-destination detectors over time windows (port/address scan, brute force, floods, HTTP floods) give their class to the flows of their evidence that the model called benign, and say why in `context` (--no-context: off; needs an attack model)',
    check: boolean,
  },
  {
    key: 'contextThresholds',
    flag: 'context-thresholds',
    env: 'SENSOR_CONTEXT_THRESHOLDS',
    def: undefined,
    describe: 'The context stage\'s thresholds that differ from the defaults, as a JSON object, e.g. {"portScanPorts":20,"floodFlows":2048} (keys: portScanPorts, addressScanHosts, scanWindowS, bruteForceConnections, bruteForceWindowS, bruteForceMaxDurationS, floodFlows, floodWindowS, httpFloodConnections, httpFloodWindowS, maxKeys; README "Context stage")',
    check: (v, text) => {
      if (v === null) return ok(undefined);
      let o: unknown = v;
      if (text && typeof v === 'string') {
        try {
          o = JSON.parse(v);
        } catch {
          return bad('a JSON object of context thresholds, e.g. {"portScanPorts":20}');
        }
      }
      const errors = contextThresholdsErrors(o);
      return errors.length === 0 ? ok(o) : bad(errors.join('; '));
    },
  },
  { key: 'snaplen', flag: 'snaplen', env: 'SENSOR_SNAPLEN', def: 262144, liveOnly: true, describe: 'Bytes kept per packet', check: integer(64, 262144, ' number of bytes') },
  { key: 'bufferSize', flag: 'buffer-size', env: 'SENSOR_BUFFER_SIZE', def: 64, liveOnly: true, describe: 'Kernel capture buffer, MiB', check: integer(1, 2047, ' number of MiB') },
  { key: 'promiscuous', flag: 'promiscuous', env: 'SENSOR_PROMISCUOUS', def: true, liveOnly: true, boolean: true, describe: 'Promiscuous mode (--no-promiscuous: off)', check: boolean },
  { key: 'statsInterval', flag: 'stats-interval', env: 'SENSOR_STATS_INTERVAL', def: 60, liveOnly: true, describe: 'Seconds between stats log lines; 0 = off', check: seconds(true, 'off') },
  {
    key: 'retention',
    flag: 'retention',
    env: 'SENSOR_RETENTION',
    def: 0,
    liveOnly: true,
    describe: 'Delete flows older than N days; 0 = keep',
    check: (v, text) => {
      const n = num(v, text);
      return n === undefined || n < 0 || n > 36500 ? bad('0 (keep everything) or a positive number of days') : ok(n);
    },
  },
  {
    key: 'metrics',
    flag: 'metrics',
    env: 'SENSOR_METRICS',
    def: undefined,
    liveOnly: true,
    describe: 'Serve Prometheus metrics at http://ADDR/metrics: PORT (on 127.0.0.1), HOST:PORT or [IPv6]:PORT',
    check: (v, text) => (v === null || v === false ? ok(undefined) : metricsAddress(v, text)),
  },
];

/** The fields a mode has (replay: the shared ones). */
export function fieldsOf(mode: Mode): readonly Field[] {
  return mode === 'live' ? FIELDS : FIELDS.filter((f) => !f.liveOnly);
}

/**
 * The yargs options of a mode, from FIELDS: every value stays text (or a switch's boolean) for parseConfig to
 * check, so the command line and the config file say the same thing about a bad value.
 */
export function commandLineOptions(mode: Mode): Record<string, { type: 'string' | 'boolean'; describe: string }> {
  const o: Record<string, { type: 'string' | 'boolean'; describe: string }> = {};
  for (const f of fieldsOf(mode)) {
    const def = defaultOf(f, mode);
    const shown = f.boolean || def === undefined || def === null || /default/i.test(f.describe) ? '' : ` (default ${String(def)})`;
    o[f.flag] = { type: f.boolean ? 'boolean' : 'string', describe: `${f.describe}${shown}${mode === 'live' ? ` [${f.key}]` : ''}.` };
  }
  return o;
}

/** The values a yargs parse (of commandLineOptions) holds, by config key; a flag given twice: the last (a `once` flag: all). */
export function valuesFromFlags(parsed: Record<string, unknown>, mode: Mode): Partial<Record<ConfigKey, unknown>> {
  const values: Partial<Record<ConfigKey, unknown>> = {};
  for (const f of fieldsOf(mode)) {
    const v = parsed[f.flag];
    if (v !== undefined) values[f.key] = Array.isArray(v) && !f.once ? v[v.length - 1] : v;
  }
  return values;
}

/** A field's default in a mode: the idle timeout is 0 in replay (the references never use one). */
function defaultOf(f: Field, mode: Mode): unknown {
  return f.key === 'idleTimeout' && mode === 'replay' ? 0 : f.def;
}

/**
 * `HOST:PORT`, `[IPv6]:PORT` or a bare `PORT` (loopback: 127.0.0.1). Names are not resolved: an address keeps a
 * metrics endpoint from landing on an interface by accident.
 */
function metricsAddress(v: unknown, text: boolean): Check {
  const expected = 'PORT, HOST:PORT or [IPv6]:PORT with a numeric address and a port from 1 to 65535 (e.g. 127.0.0.1:9464), or null for off';
  const s = typeof v === 'number' && Number.isInteger(v) ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  if (s === undefined) return bad(expected);
  if (text && /^(false|no|off|none)$/i.test(s)) return ok(undefined);
  const m = /^(?:(?:([\d.]+)|\[([0-9a-fA-F:.]+)\]):)?(\d{1,5})$/.exec(s);
  if (!m) return bad(expected);
  const port = Number(m[3]);
  const host = m[1] ?? m[2] ?? '127.0.0.1';
  if (port < 1 || port > 65535 || (m[1] !== undefined && !isIPv4(host)) || (m[2] !== undefined && !isIPv6(host))) return bad(expected);
  return ok({ host, port });
}

export const CONFIG_KEYS: readonly ConfigKey[] = FIELDS.map((f) => f.key);

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'nothing';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Edit distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

function suggest(key: string): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of CONFIG_KEYS) {
    const dd = distance(key.toLowerCase(), k.toLowerCase());
    if (dd < bestD) {
      bestD = dd;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

/**
 * Merges and validates. `json`: the parsed config file (undefined when there is none); `argv`: command-line
 * values by config key (only those the user gave; strings or booleans as the CLI parser produced them); `env`:
 * the process environment (SENSOR_* variables are read). Pure: same inputs, same result.
 */
export function parseConfig(
  json: unknown,
  argv: Partial<Record<ConfigKey, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
  opts: ParseConfigOptions = {},
): ParsedConfig {
  const file = opts.file ?? 'config file';
  const mode = opts.mode ?? 'live';
  const errors: string[] = [];
  const values = {} as Record<ConfigKey, unknown>;
  const sources = {} as Record<ConfigKey, ConfigSource>;
  // Settings given with a bad value: reported once, and still count as given (a bad --db is not also "no output").
  const rejected = new Set<ConfigKey>();
  for (const f of FIELDS) {
    values[f.key] = defaultOf(f, mode);
    sources[f.key] = 'default';
  }
  const fields = fieldsOf(mode);

  const apply = (f: Field, raw: unknown, text: boolean, where: string, source: ConfigSource): void => {
    const r = f.check(raw, text, mode);
    if (r.ok) {
      values[f.key] = r.value;
      sources[f.key] = source;
    } else {
      errors.push(`${where}: expected ${r.expected}, got ${show(raw)}`);
      rejected.add(f.key);
    }
  };

  // 1. The config file.
  if (json !== undefined) {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      errors.push(`${file}: expected a JSON object of settings, got ${Array.isArray(json) ? 'an array' : show(json)}`);
    } else {
      const obj = json as Record<string, unknown>;
      for (const key of Object.keys(obj)) {
        if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
          errors.push(`${file}: unknown key "${key}"${suggest(key)}; known keys: ${CONFIG_KEYS.join(', ')}`);
        }
      }
      for (const f of fields) {
        if (Object.prototype.hasOwnProperty.call(obj, f.key)) apply(f, obj[f.key], false, `${file}: "${f.key}"`, 'file');
      }
    }
  }
  // 2. The environment.
  for (const f of fields) {
    const v = env[f.env];
    if (v !== undefined) apply(f, v, true, `environment ${f.env}`, 'env');
  }
  // 3. The command line.
  for (const f of fields) {
    if (Object.prototype.hasOwnProperty.call(argv, f.key) && argv[f.key] !== undefined) {
      apply(f, argv[f.key], true, `--${f.flag}`, 'cli');
    }
  }

  // Cross-checks. Replay has only the command line, so its messages name flags; live names the config keys.
  const live = mode === 'live';
  const name = (k: ConfigKey): string => (live ? k : `--${FIELDS.find((f) => f.key === k)!.flag}`);
  const setting = (k: ConfigKey): string => (live ? `"${k}"` : name(k));
  if (live && values.interface === undefined) {
    errors.push(`no interface to capture on: pass --iface NAME or set "interface" in the config file`);
  }
  if ((['db', 'csv', 'json', 'clickhouse'] as const).every((k) => values[k] === undefined && !rejected.has(k))) {
    errors.push(`no output: pass --db PATH, --csv PATH, --json PATH and/or --clickhouse URL${live ? ', or set "db" / "csv" / "json" / "clickhouse" in the config file' : ''}`);
  }
  if (values.clickhouseSpool !== undefined && values.clickhouse === undefined) {
    errors.push(`${name('clickhouseSpool')} applies to the ClickHouse output, but no ${setting('clickhouse')} is set`);
  }
  for (const k of ['jsonAlertsOnly', 'jsonFeatures'] as const) {
    if (values[k] === true && values.json === undefined) errors.push(`${name(k)} applies to the JSON output, but no ${setting('json')} is set`);
  }
  if (values.json !== undefined && values.json === values.csv) {
    const shown = values.json === '/dev/stdout' ? '-' : String(values.json);
    errors.push(`${setting('json')} and ${setting('csv')} name the same file, ${JSON.stringify(shown)}: give each its own`);
  }
  if (values.alertThreshold !== undefined && values.model === null) {
    errors.push(live ? 'an alert threshold applies to a model\'s verdicts, but "model" is none' : '--alert-threshold applies to a model\'s verdicts, but --no-model was given');
  }
  if (values.contextThresholds !== undefined && (values.context === false || values.model === null)) {
    errors.push(`${name('contextThresholds')} applies to the context stage, but ${values.context === false ? (live ? '"context" is false' : '--no-context was given') : live ? '"model" is none' : '--no-model was given'}`);
  }
  if (typeof values.retention === 'number' && values.retention > 0 && values.db === undefined) {
    errors.push(`retention applies to the database, but no "db" is set`);
  }
  // Live default for the idle timeout: the flow timeout. A flow silent that long would be split by the flow
  // timeout at its next packet anyway, so this only writes it sooner (see README, "Flow expiry").
  if (values.idleTimeout === null) values.idleTimeout = values.flowTimeout;

  return { config: errors.length === 0 ? (values as unknown as LiveConfig) : null, errors, sources };
}

/** The message when alerts-only JSON is asked for and the run has no model (known once the model is chosen). */
export function alertsOnlyWithoutModel(mode: Mode): string {
  return mode === 'live'
    ? 'jsonAlertsOnly needs verdicts, and no model is set (alerts are flows a model calls an attack)'
    : '--json-alerts-only needs verdicts, and this run has no model (alerts are flows a model calls an attack)';
}

/** Config keys that can change on SIGHUP without a restart; the others need one. */
export const RELOADABLE_KEYS: ReadonlySet<ConfigKey> = new Set<ConfigKey>(['db', 'csv', 'statsInterval', 'retention', 'json', 'jsonAlertsOnly', 'jsonFeatures', 'sensorName']);
