/**
 * Configuration of the live daemon (`sensor --iface ...` / `sensor --config FILE`): one pure function,
 * `parseConfig(json, argv, env)`, merges defaults < config file < environment (SENSOR_*) < command line and
 * returns the result with EVERY problem found, each message naming where the value came from and what was
 * expected. No I/O here: the caller reads the file and prints the errors.
 *
 * Keys (config file; the command-line flag and environment variable of each are in FIELDS):
 *   interface, filter, db, csv, profile, flowTimeout, activityTimeout, idleTimeout, snaplen, bufferSize,
 *   promiscuous, statsInterval, model, alertThreshold, retention, maxFlows, portDirection, ipv6, json, jsonAlertsOnly,
 *   jsonFeatures, sensorName, clickhouse, clickhouseSpool, metrics.
 */
import { parseClickHouseUrl } from '../sinks/clickhouse-url.js';
import { isIPv4, isIPv6 } from 'node:net';
import { PROFILE_NAMES, type ProfileName } from '../features/profiles.js';
import { alertThresholdError } from '../classify/model-card.js';

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
  /** Overrides the model card's alert_threshold, in (0, 1]; undefined = the card's. */
  alertThreshold: number | undefined;
  /** Delete flows whose first packet is older than this many days; 0 = keep everything. */
  retention: number;
  /** Flow table capacity. */
  maxFlows: number;
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
}

type Check = { ok: true; value: unknown } | { ok: false; expected: string };

interface Field {
  key: ConfigKey;
  /** Command-line flag without dashes. */
  flag: string;
  env: string;
  /** undefined = required (no default). */
  def: unknown;
  /** Validates a value; `text` is true when it came as a string from the environment or command line. */
  check: (v: unknown, text: boolean) => Check;
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

export const FIELDS: readonly Field[] = [
  {
    key: 'interface',
    flag: 'iface',
    env: 'SENSOR_INTERFACE',
    def: undefined,
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
    check: (v) => {
      if (v === null) return ok(undefined);
      if (typeof v !== 'string' || v.includes('\0')) return bad('a BPF filter string (tcpdump syntax) or null');
      return ok(v.trim() === '' ? undefined : v);
    },
  },
  { key: 'db', flag: 'db', env: 'SENSOR_DB', def: undefined, check: (v) => (v === null ? ok(undefined) : path('database file')(v)) },
  {
    key: 'csv',
    flag: 'csv',
    env: 'SENSOR_CSV',
    def: undefined,
    check: (v) => {
      if (v === null) return ok(undefined);
      if (v === '-') return bad('a CSV file path ("-" is not allowed live: stdout carries the JSON log)');
      return path('CSV file')(v);
    },
  },
  {
    key: 'profile',
    flag: 'profile',
    env: 'SENSOR_PROFILE',
    def: 'cic',
    check: (v) =>
      typeof v === 'string' && (PROFILE_NAMES as readonly string[]).includes(v) ? ok(v) : bad(`one of ${PROFILE_NAMES.join(', ')}`),
  },
  { key: 'flowTimeout', flag: 'flow-timeout', env: 'SENSOR_FLOW_TIMEOUT', def: 120, check: seconds(false, '') },
  { key: 'activityTimeout', flag: 'activity-timeout', env: 'SENSOR_ACTIVITY_TIMEOUT', def: 5, check: seconds(false, '') },
  // Default filled in from flowTimeout below (see parseConfig).
  { key: 'idleTimeout', flag: 'idle-timeout', env: 'SENSOR_IDLE_TIMEOUT', def: null, check: seconds(true, 'never') },
  { key: 'snaplen', flag: 'snaplen', env: 'SENSOR_SNAPLEN', def: 262144, check: integer(64, 262144, ' number of bytes') },
  { key: 'bufferSize', flag: 'buffer-size', env: 'SENSOR_BUFFER_SIZE', def: 64, check: integer(1, 2047, ' number of MiB') },
  { key: 'promiscuous', flag: 'promiscuous', env: 'SENSOR_PROMISCUOUS', def: true, check: boolean },
  { key: 'statsInterval', flag: 'stats-interval', env: 'SENSOR_STATS_INTERVAL', def: 60, check: seconds(true, 'off') },
  {
    key: 'model',
    flag: 'model',
    env: 'SENSOR_MODEL',
    // undefined: the default model (as in replay); null / false: none.
    def: undefined,
    check: (v, text) => {
      if (v === null || v === false) return ok(null);
      if (text && typeof v === 'string' && /^(false|no|off|none)$/i.test(v.trim())) return ok(null);
      if (typeof v === 'string' && v.trim() !== '' && !v.includes('\0')) return ok(v);
      return bad('a path to an ONNX model, or null / false for none');
    },
  },
  {
    key: 'alertThreshold',
    flag: 'alert-threshold',
    env: 'SENSOR_ALERT_THRESHOLD',
    def: undefined,
    check: (v, text) => {
      if (v === null) return ok(undefined);
      const n = num(v, text);
      const e = alertThresholdError(n);
      return e === undefined ? ok(n) : bad(`${e} (or null: the model card's)`);
    },
  },
  {
    key: 'retention',
    flag: 'retention',
    env: 'SENSOR_RETENTION',
    def: 0,
    check: (v, text) => {
      const n = num(v, text);
      return n === undefined || n < 0 || n > 36500 ? bad('0 (keep everything) or a positive number of days') : ok(n);
    },
  },
  { key: 'maxFlows', flag: 'max-flows', env: 'SENSOR_MAX_FLOWS', def: 262144, check: integer(1, 50_000_000) },
  { key: 'portDirection', flag: 'port-direction', env: 'SENSOR_PORT_DIRECTION', def: false, check: boolean },
  { key: 'ipv6', flag: 'ipv6', env: 'SENSOR_IPV6', def: false, check: boolean },
  {
    key: 'json',
    flag: 'json',
    env: 'SENSOR_JSON',
    def: undefined,
    check: (v) => {
      if (v === null) return ok(undefined);
      if (v === '-') return bad('a JSON lines file path ("-" is not allowed live: stdout carries the JSON log)');
      return path('JSON lines file')(v);
    },
  },
  { key: 'jsonAlertsOnly', flag: 'json-alerts-only', env: 'SENSOR_JSON_ALERTS_ONLY', def: false, check: boolean },
  { key: 'jsonFeatures', flag: 'json-features', env: 'SENSOR_JSON_FEATURES', def: false, check: boolean },
  {
    key: 'sensorName',
    flag: 'sensor-name',
    env: 'SENSOR_SENSOR_NAME',
    def: undefined,
    check: (v) => (v === null ? ok(undefined) : typeof v === 'string' && v.trim() !== '' && !v.includes('\0') ? ok(v) : bad('a non-empty name, or null for the host name')),
  },
  {
    key: 'clickhouse',
    flag: 'clickhouse',
    env: 'SENSOR_CLICKHOUSE',
    def: undefined,
    check: (v) => {
      if (v === null) return ok(undefined);
      if (typeof v !== 'string') return bad('a ClickHouse URL like http://host:8123[/database]');
      const u = parseClickHouseUrl(v);
      return typeof u === 'string' ? bad(u) : ok(v);
    },
  },
  { key: 'clickhouseSpool', flag: 'clickhouse-spool', env: 'SENSOR_CLICKHOUSE_SPOOL', def: undefined, check: (v) => (v === null ? ok(undefined) : path('ClickHouse spool directory')(v)) },
  { key: 'metrics', flag: 'metrics', env: 'SENSOR_METRICS', def: undefined, check: (v, text) => (v === null || v === false ? ok(undefined) : metricsAddress(v, text)) },
];

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
  const errors: string[] = [];
  const values = {} as Record<ConfigKey, unknown>;
  const sources = {} as Record<ConfigKey, ConfigSource>;
  for (const f of FIELDS) {
    values[f.key] = f.def;
    sources[f.key] = 'default';
  }

  const apply = (f: Field, raw: unknown, text: boolean, where: string, source: ConfigSource): void => {
    const r = f.check(raw, text);
    if (r.ok) {
      values[f.key] = r.value;
      sources[f.key] = source;
    } else {
      errors.push(`${where}: expected ${r.expected}, got ${show(raw)}`);
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
      for (const f of FIELDS) {
        if (Object.prototype.hasOwnProperty.call(obj, f.key)) apply(f, obj[f.key], false, `${file}: "${f.key}"`, 'file');
      }
    }
  }
  // 2. The environment.
  for (const f of FIELDS) {
    const v = env[f.env];
    if (v !== undefined) apply(f, v, true, `environment ${f.env}`, 'env');
  }
  // 3. The command line.
  for (const f of FIELDS) {
    if (Object.prototype.hasOwnProperty.call(argv, f.key) && argv[f.key] !== undefined) {
      apply(f, argv[f.key], true, `--${f.flag}`, 'cli');
    }
  }

  // Cross-checks.
  if (values.interface === undefined) {
    errors.push(`no interface to capture on: pass --iface NAME or set "interface" in the config file`);
  }
  if (values.db === undefined && values.csv === undefined && values.json === undefined && values.clickhouse === undefined) {
    errors.push('no output: pass --db PATH, --csv PATH, --json PATH and/or --clickhouse URL, or set "db" / "csv" / "json" / "clickhouse" in the config file');
  }
  for (const k of ['jsonAlertsOnly', 'jsonFeatures'] as const) {
    if (values[k] === true && values.json === undefined) errors.push(`${k} applies to the JSON output, but no "json" is set`);
  }
  if (values.alertThreshold !== undefined && values.model === null) {
    errors.push('an alert threshold applies to a model\'s verdicts, but "model" is none');
  }
  if (typeof values.retention === 'number' && values.retention > 0 && values.db === undefined) {
    errors.push(`retention applies to the database, but no "db" is set`);
  }
  // Live default for the idle timeout: the flow timeout. A flow silent that long would be split by the flow
  // timeout at its next packet anyway, so this only writes it sooner (see README, "Flow expiry").
  if (values.idleTimeout === null) values.idleTimeout = values.flowTimeout;

  return { config: errors.length === 0 ? (values as unknown as LiveConfig) : null, errors, sources };
}

/** Config keys that can change on SIGHUP without a restart; the others need one. */
export const RELOADABLE_KEYS: ReadonlySet<ConfigKey> = new Set<ConfigKey>(['db', 'csv', 'statsInterval', 'retention', 'json', 'jsonAlertsOnly', 'jsonFeatures', 'sensorName']);
