/**
 * The live daemon's configuration: parseConfig(json, argv, env) merges defaults < file < SENSOR_* environment <
 * command line, and reports every problem at once with the exact expectation and where the value came from.
 * Also the CLI's side: bad configuration exits 2 with one line per problem, before any capture or output.
 */
import { mkdtempSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig, CONFIG_KEYS } from '../src/config/schema.js';
import { sensor, ROOT } from './helpers/cli.js';

const base = { interface: 'eth0', db: '/var/lib/sensor/flows.sqlite' };

describe('parseConfig', () => {
  it('fills the documented defaults; the idle timeout follows the flow timeout', () => {
    const r = parseConfig(base, {}, {});
    expect(r.errors).toEqual([]);
    expect(r.config).toEqual({
      interface: 'eth0',
      filter: undefined,
      db: '/var/lib/sensor/flows.sqlite',
      csv: undefined,
      profile: 'cic',
      flowTimeout: 120,
      activityTimeout: 5,
      idleTimeout: 120,
      snaplen: 262144,
      bufferSize: 64,
      promiscuous: true,
      statsInterval: 60,
      model: undefined, // the default model
      alertThreshold: undefined, // the card's
      context: true,
      contextThresholds: undefined, // CONTEXT_DEFAULTS
      retention: 0,
      maxFlows: 262144,
      workers: 1,
      threadNice: 10, // the inference and writer threads run 10 nice steps below the packet thread
      portDirection: false,
      ipv6: false,
      json: undefined,
      jsonAlertsOnly: false,
      jsonFeatures: false,
      sensorName: undefined,
      metrics: undefined,
    });
    expect(parseConfig({ ...base, flowTimeout: 30 }, {}, {}).config?.idleTimeout).toBe(30);
    expect(parseConfig({ ...base, flowTimeout: 30, idleTimeout: 0 }, {}, {}).config?.idleTimeout).toBe(0);
  });

  it('context thresholds: an object in the file, JSON text on the command line or in the environment; every problem named', () => {
    expect(parseConfig({ ...base, contextThresholds: { portScanPorts: 20 } }, {}, {}).config?.contextThresholds).toEqual({ portScanPorts: 20 });
    expect(parseConfig(base, { contextThresholds: '{"floodFlows":2048,"floodWindowS":30}' }, {}).config?.contextThresholds).toEqual({ floodFlows: 2048, floodWindowS: 30 });
    expect(parseConfig(base, {}, { SENSOR_CONTEXT: 'false' }).config?.context).toBe(false);
    expect(parseConfig({ ...base, contextThresholds: { portScanPort: 20, floodFlows: 0 } }, {}, {}).errors).toEqual([
      'config file: "contextThresholds": expected a known threshold (portScanPorts, addressScanHosts, scanWindowS, bruteForceConnections, bruteForceWindowS, bruteForceMaxDurationS, floodFlows, floodWindowS, httpFloodConnections, httpFloodWindowS, maxKeys), not "portScanPort"; "floodFlows" a positive integer, not 0, got {"portScanPort":20,"floodFlows":0}',
    ]);
    expect(parseConfig(base, { contextThresholds: '{portScanPorts: 20}' }, {}).errors).toEqual([
      '--context-thresholds: expected a JSON object of context thresholds, e.g. {"portScanPorts":20}, got "{portScanPorts: 20}"',
    ]);
    expect(parseConfig({ ...base, context: false, contextThresholds: { portScanPorts: 20 } }, {}, {}).errors).toEqual([
      'contextThresholds applies to the context stage, but "context" is false',
    ]);
    expect(parseConfig({ ...base, model: null, contextThresholds: { portScanPorts: 20 } }, {}, {}).errors).toEqual([
      'contextThresholds applies to the context stage, but "model" is none',
    ]);
  });

  it('the command line wins over the environment, which wins over the file', () => {
    const json = { ...base, snaplen: 1500, statsInterval: 10, filter: 'tcp' };
    const env = { SENSOR_SNAPLEN: '9000', SENSOR_STATS_INTERVAL: '5', SENSOR_PROMISCUOUS: 'false', PATH: '/bin' };
    const r = parseConfig(json, { snaplen: '256', promiscuous: true }, env);
    expect(r.errors).toEqual([]);
    expect(r.config).toMatchObject({ snaplen: 256, statsInterval: 5, promiscuous: true, filter: 'tcp' });
    expect(r.sources).toMatchObject({ snaplen: 'cli', statsInterval: 'env', promiscuous: 'cli', filter: 'file', profile: 'default' });
  });

  it('reports every problem at once, each naming its source and the expected value', () => {
    const json = {
      intrface: 'eth0',
      db: 5,
      promiscuous: 'yes',
      flowTimeout: -1,
      bufferSize: 4096,
      profile: 'CIC',
      csv: '-',
    };
    const r = parseConfig(json, { snaplen: '9k', 'statsInterval': 'often' }, { SENSOR_RETENTION: '-3' }, { file: '/etc/sensor/sensor.json' });
    expect(r.config).toBeNull();
    expect(r.errors).toEqual([
      `/etc/sensor/sensor.json: unknown key "intrface" (did you mean "interface"?); known keys: ${CONFIG_KEYS.join(', ')}`,
      '/etc/sensor/sensor.json: "db": expected a database file path, got 5',
      '/etc/sensor/sensor.json: "csv": expected a CSV file path ("-" is not allowed live: stdout carries the JSON log), got "-"',
      '/etc/sensor/sensor.json: "profile": expected one of cic, fixed, cic2017, got "CIC"',
      '/etc/sensor/sensor.json: "flowTimeout": expected a positive number of seconds, got -1',
      '/etc/sensor/sensor.json: "bufferSize": expected an integer number of MiB from 1 to 2047, got 4096',
      '/etc/sensor/sensor.json: "promiscuous": expected true or false, got "yes"',
      'environment SENSOR_RETENTION: expected 0 (keep everything) or a positive number of days, got "-3"',
      '--snaplen: expected an integer number of bytes from 64 to 262144, got "9k"',
      '--stats-interval: expected 0 (off) or a positive number of seconds, got "often"',
      'no interface to capture on: pass --iface NAME or set "interface" in the config file',
      // "db" and "csv" are given, with bad values: reported as such, not once more as "no output".
    ]);
    expect(parseConfig({ interface: 'eth0' }, {}, {}).errors).toEqual([
      'no output: pass --db PATH, --csv PATH, --json PATH and/or --clickhouse URL, or set "db" / "csv" / "json" / "clickhouse" in the config file',
    ]);
  });

  it('is strict about JSON types: a number written as a string in the file is refused', () => {
    const r = parseConfig({ ...base, flowTimeout: '120', promiscuous: 1 }, {}, {});
    expect(r.errors).toEqual([
      'config file: "flowTimeout": expected a positive number of seconds, got "120"',
      'config file: "promiscuous": expected true or false, got 1',
    ]);
  });

  it('refuses a file that is not an object, a bad interface name, retention without a database', () => {
    expect(parseConfig([1], { interface: 'eth0', db: 'x' }, {}).errors).toEqual(['config file: expected a JSON object of settings, got an array']);
    expect(parseConfig({ interface: 'eth 0', csv: 'f.csv', retention: 30 }, {}, {}).errors).toEqual([
      'config file: "interface": expected an interface name (1 to 15 characters, no spaces or "/"), got "eth 0"',
      'no interface to capture on: pass --iface NAME or set "interface" in the config file',
      'retention applies to the database, but no "db" is set',
    ]);
  });

  it('alertThreshold: in (0, 1], from the file, SENSOR_ALERT_THRESHOLD or --alert-threshold; not without a model', () => {
    expect(parseConfig({ ...base, alertThreshold: 0.62 }, {}, {}).config?.alertThreshold).toBe(0.62);
    expect(parseConfig(base, { alertThreshold: '1' }, { SENSOR_ALERT_THRESHOLD: '0.3' }).config?.alertThreshold).toBe(1);
    expect(parseConfig({ ...base, alertThreshold: 0 }, { alertThreshold: '1.5' }, { SENSOR_ALERT_THRESHOLD: 'high' }).errors).toEqual([
      'config file: "alertThreshold": expected a number in (0, 1] (or null: the model card\'s), got 0',
      'environment SENSOR_ALERT_THRESHOLD: expected a number in (0, 1] (or null: the model card\'s), got "high"',
      '--alert-threshold: expected a number in (0, 1] (or null: the model card\'s), got "1.5"',
    ]);
    expect(parseConfig({ ...base, alertThreshold: '0.5' }, {}, {}).errors).toEqual(['config file: "alertThreshold": expected a number in (0, 1] (or null: the model card\'s), got "0.5"']);
    expect(parseConfig({ ...base, alertThreshold: 0.5, model: null }, {}, {}).errors).toEqual(['an alert threshold applies to a model\'s verdicts, but "model" is none']);
  });

  it('model: a path, or none via null / false / --no-model', () => {
    expect(parseConfig({ ...base, model: 'models/m.onnx' }, {}, {}).config?.model).toBe('models/m.onnx');
    expect(parseConfig({ ...base, model: 'models/m.onnx' }, { model: false }, {}).config?.model).toBeNull();
    expect(parseConfig({ ...base, model: 3 }, {}, {}).errors).toEqual(['config file: "model": expected a path to an ONNX model (.onnx or its .json card) or a model name in models/, or null / false / --no-model for none, got 3']);
  });

  it('is pure: same inputs, same result, inputs untouched', () => {
    const json = { ...base, filter: 'udp' };
    const argv = { snaplen: '512' };
    const env = { SENSOR_CSV: '/tmp/f.csv' };
    const snapshot = JSON.stringify([json, argv, env]);
    expect(parseConfig(json, argv, env)).toEqual(parseConfig(json, argv, env));
    expect(JSON.stringify([json, argv, env])).toBe(snapshot);
  });

  it('the shipped config/sensor.json is valid', async () => {
    const { readFileSync } = await import('node:fs');
    const json = JSON.parse(readFileSync(join(ROOT, 'config/sensor.json'), 'utf8')) as unknown;
    expect(parseConfig(json, {}, {}).errors).toEqual([]);
  });
});

describe('sensor --iface / --config: configuration errors', () => {
  const dirs: string[] = [];
  const scratch = (): string => {
    dirs.push(mkdtempSync(join(tmpdir(), 'sensor-livecfg-')));
    return dirs[dirs.length - 1]!;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('exits 2 with one line per problem, before touching the capture or the outputs', async () => {
    const dir = scratch();
    const cfg = join(dir, 'sensor.json');
    const db = join(dir, 'out.sqlite');
    writeFileSync(cfg, JSON.stringify({ interface: 'eth0', db, flowTimeout: 'soon', colour: 'blue' }));
    const r = await sensor(['--config', cfg, '--snaplen', '10'], { timeoutMs: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      `sensor: ${cfg}: unknown key "colour"; known keys: ${CONFIG_KEYS.join(', ')}`,
      `sensor: ${cfg}: "flowTimeout": expected a positive number of seconds, got "soon"`,
      'sensor: --snaplen: expected an integer number of bytes from 64 to 262144, got "10"',
    ]);
    expect(r.stdout).toBe('');
    expect(existsSync(db)).toBe(false);
  });

  it('a config file that is missing or not JSON is one line, exit 2', async () => {
    const dir = scratch();
    const missing = await sensor(['--config', join(dir, 'nope.json')], { timeoutMs: 30_000 });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe(`sensor: config ${join(dir, 'nope.json')}: no such file\n`);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"interface": "eth0",}');
    const bad = await sensor(['--config', broken], { timeoutMs: 30_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(new RegExp(`^sensor: config ${broken}: not valid JSON: .+\\n$`));
  });
});
