/**
 * The application-group model's training is reproducible and its ONNX export is faithful: run
 * models/train/app_train.py on the bundled labelled rows (fixtures/train/app-rows.csv: a sample of nDPI's
 * captures replayed by the sensor and labelled by nDPI, see fixtures/README.md) into a temporary directory, load
 * the card with the sensor's Classifier, and compare its probabilities with scikit-learn's predict_proba on every
 * row, ports and protocol taken from the flow identity and the server name from the flow's name columns as at run
 * time: same group, probabilities within 1e-5. Also: the name decides where the card's table knows it, and Python
 * computes the Server Name Class input as the sensor does (test/fixtures/server-name-class.json).
 *
 * Needs Debian's python3-sklearn, python3-pandas, python3-onnx (.ci/run installs them; skipped with the reason
 * otherwise). Does not need ../shared: the same rows on every machine.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { PayloadProtocol } from '../src/decode/payload-protocol.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Classifier } from '../src/classify/classifier.js';
import { getProfile } from '../src/features/profiles.js';
import { newFlowRows, numericIdentity, setServerNames, type NumericIdentityField } from '../src/engine/flow-batch.js';
import { findPython, readFloat64 } from './helpers/python.js';
import { ROOT, runCommand } from './helpers/cli.js';
import { ensureBuilt } from './setup/build.js';

/** The groups of ../shared/data/ndpi/README.md's table. */
const GROUPS = ['Web', 'Media', 'Chat', 'VoIP', 'VPN', 'RemoteAccess', 'Transfer', 'Network', 'Game', 'Other'];


const python = findPython(['sklearn', 'onnx', 'pandas', 'numpy']);
const fixture = join(ROOT, 'fixtures', 'train', 'app-rows.csv');
if (!python) console.warn('models.train-app.test.ts skipped: python3-sklearn, python3-onnx or python3-pandas not installed');

describe.skipIf(!python)('app_train.py on the bundled rows: an application model the sensor loads, equal to scikit-learn', () => {
  const out = mkdtempSync(join(tmpdir(), 'sensor-app-train-'));
  const check = join(out, 'check');
  let stderr = '';
  let status: number | null = null;
  let c: Classifier | undefined;

  beforeAll(async () => {
    ensureBuilt(['src/classify/worker.ts', 'src/cli/main.ts']);
    ({ status, stderr } = await runCommand(python!, [join(ROOT, 'models', 'train', 'app_train.py'), '--rows-csv', fixture, '--out', out, '--check-dir', check, '--no-check'], { timeoutMs: 110_000 }));
  }, 120_000);
  afterAll(async () => {
    await c?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('trains, validated by capture, and writes an application card the sensor accepts', async () => {
    expect(stderr).not.toMatch(/Traceback/);
    expect(status).toBe(0);
    c = await Classifier.load(join(out, 'cic2017-app.json'));
    expect(c.profile).toBe('cic2017');
    const card = c.card;
    expect(card.task).toBe('application');
    expect(card.alert_threshold).toBeUndefined();
    expect(card.kdd).toBeUndefined();
    // every class is one of the README's groups, and the fixture's groups are all there (column 3: group); the
    // port and name priors bring the groups the sample lacks
    const fixtureRows = readFileSync(fixture, 'utf8').trim().split('\n').slice(1);
    const fixtureGroups = new Set(fixtureRows.map((l) => l.split(',')[2]!));
    for (const g of fixtureGroups) expect(c.classes).toContain(g);
    for (const g of c.classes) expect(GROUPS).toContain(g);
    // the server name's class, then the server port and protocol, from the flow identity; the card carries the
    // name table (models/train/app_names.csv, header aside)
    expect(card.inputs).toEqual(['Server Name Class', 'Payload Protocol Class', 'Source Port', 'Destination Port', 'Protocol']);
    const table = readFileSync(join(ROOT, 'models', 'train', 'app_names.csv'), 'utf8').trim().split('\n').slice(1);
    expect(card.server_names?.suffixes).toEqual(table.map((l) => l.split(',').slice(0, 2)));
    // and the payload protocols, numbered in the order of models/train/app_payload.csv (every one the sensor knows)
    const protocols = readFileSync(join(ROOT, 'models', 'train', 'app_payload.csv'), 'utf8').trim().split('\n').slice(1);
    expect(card.payload_protocols?.protocols).toEqual(protocols.map((l) => l.split(',')[0]));
    // every bundled (nDPI) row was predicted out of fold, by a model that saw no row of its capture
    const cv = (card.metrics as { grouped_cv_ndpi: { rows: number; accuracy: number } }).grouped_cv_ndpi;
    expect(cv.rows).toBe(fixtureRows.length);
    expect(cv.accuracy).toBeGreaterThan(0);
    expect(card.drift_reference?.features['Destination Port']).toBeDefined();
  });

  it('same group and probabilities within 1e-5 on every row, NaN/Infinity rows included', async () => {
    const meta = JSON.parse(readFileSync(join(check, 'meta.json'), 'utf8')) as {
      rows: number;
      columns: string[];
      identity: ('srcPort' | 'dstPort' | 'protocol')[];
      classes: string[];
      predicted: number[];
      non_finite_rows: number;
    };
    const rows = readFloat64(join(check, 'rows.f64'));
    const ids = readFloat64(join(check, 'ids.f64'));
    const want = readFloat64(join(check, 'proba.f64'));
    const names = JSON.parse(readFileSync(join(check, 'names.json'), 'utf8')) as (string | null)[];
    expect(names).toHaveLength(meta.rows);
    const protocols = JSON.parse(readFileSync(join(check, 'payload-protocols.json'), 'utf8')) as (string | null)[];
    expect(protocols).toHaveLength(meta.rows);
    expect(new Set(protocols.filter((p) => p !== null)).size).toBeGreaterThan(5);
    expect(names.filter((n) => n !== null).length).toBeGreaterThan(100);
    const F = getProfile('cic2017').columns.featureNames.length;
    const I = meta.identity.length;
    expect(meta.columns).toHaveLength(F);
    expect(meta.rows).toBeGreaterThan(300);
    expect(meta.non_finite_rows).toBeGreaterThan(0);
    expect(c!.classes).toEqual(meta.classes);
    const C = meta.classes.length;
    let maxDiff = 0;
    const wrong: number[] = [];
    for (let start = 0; start < meta.rows; start += 1024) {
      const n = Math.min(1024, meta.rows - start);
      const batch = newFlowRows(n, F);
      batch.count = n;
      batch.features.set(rows.subarray(start * F, (start + n) * F));
      for (let i = 0; i < n; i++) meta.identity.forEach((field, k) => (numericIdentity(batch, field as NumericIdentityField)[i] = ids[(start + i) * I + k]!));
      setServerNames(batch, names.slice(start, start + n));
      batch.payloadProtocol = Uint8Array.from(protocols.slice(start, start + n), (p) => (p === null ? 0 : PayloadProtocol[p]!));
      const probs = await c!.probabilities(batch);
      for (let i = 0; i < n; i++) {
        const p = Array.from(want.subarray((start + i) * C, (start + i + 1) * C));
        let best = 0;
        for (let k = 0; k < C; k++) {
          maxDiff = Math.max(maxDiff, Math.abs(probs[i * C + k]! - p[k]!));
          if (probs[i * C + k]! > probs[i * C + best]!) best = k;
        }
        const sorted = [...p].sort((a, b) => b - a);
        if (best !== meta.predicted[start + i] && sorted[0]! - sorted[1]! >= 1e-6) wrong.push(start + i);
      }
    }
    expect(wrong).toEqual([]);
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('takes the server port as the lower of the two ports: the same group whichever side sent the first packet', async () => {
    expect(c!.card.inputs.slice(-3)).toEqual(['Source Port', 'Destination Port', 'Protocol']);
    const F = getProfile('cic2017').columns.featureNames.length;
    const rows = readFileSync(fixture, 'utf8').trim().split('\n').slice(1, 201);
    const n = rows.length;
    const as = newFlowRows(n, F);
    const swapped = newFlowRows(n, F);
    as.count = swapped.count = n;
    rows.forEach((line, i) => {
      // columns: unit, source, group, app, server_name, payload_protocol, Source Port, Destination Port, Protocol, then
      // the features
      const v = line.split(',');
      for (let k = 0; k < F; k++) as.features[i * F + k] = swapped.features[i * F + k] = Number(v[9 + k]);
      as.srcPorts[i] = swapped.dstPorts[i] = Number(v[6]);
      as.dstPorts[i] = swapped.srcPorts[i] = Number(v[7]);
      as.protocols[i] = swapped.protocols[i] = Number(v[8]);
    });
    const a = await c!.probabilities(as);
    const b = await c!.probabilities(swapped);
    expect(Array.from(b)).toEqual(Array.from(a));
    // and it is the port that decides: the same flows with both ports set to 9 (discard) are classified otherwise
    const moved = newFlowRows(n, F);
    moved.count = n;
    moved.features.set(as.features);
    moved.protocols.set(as.protocols);
    moved.srcPorts.fill(9);
    moved.dstPorts.fill(9);
    expect(Array.from(await c!.probabilities(moved))).not.toEqual(Array.from(a));
  });

  it('the server name decides where it is in the table: TLS flows to 443 with a well-known name take its group (CI model and shipped model)', async () => {
    const F = getProfile('cic2017').columns.featureNames.length;
    const cases: [string | null, string][] = [['rr3---sn-4g5e6nze.googlevideo.com', 'Media'], ['web.whatsapp.com', 'Chat'], ['api.steampowered.com', 'Game'], ['router.teamviewer.com', 'RemoteAccess'], ['ams.nordvpn.com', 'VPN'], ['www.dropbox.com', 'Transfer']];
    const b = newFlowRows(cases.length + 1, F);
    b.count = cases.length + 1;
    b.srcPorts.fill(51000);
    b.dstPorts.fill(443);
    b.protocols.fill(6);
    b.payloadProtocol = new Uint8Array(cases.length + 1).fill(PayloadProtocol.TLS!);
    setServerNames(b, [...cases.map(([n]) => n), null]);
    const probs = await c!.probabilities(b);
    const C = c!.classes.length;
    const best = (i: number): string => c!.classes[Array.from(probs.subarray(i * C, (i + 1) * C)).reduce((m, p, k, a) => (p > a[m]! ? k : m), 0)]!;
    // The CI model is a small forest on 666 rows (its trees see half the inputs at a split and a bootstrap of the
    // rows), so most, not all; the shipped tree below takes every one.
    expect(cases.filter(([, g], i) => best(i) === g).length).toBeGreaterThanOrEqual(4);
    // the same flow without a name is not all of them at once: the name, not the port, decided
    expect(cases.every(([, g]) => g === best(cases.length))).toBe(false);
    const shipped = await Classifier.load(join(ROOT, 'models', 'cic2017-app.json'));
    try {
      await shipped.classify(b);
      expect(b.appLabels!.slice(0, cases.length)).toEqual(cases.map(([, g]) => g));
    } finally {
      await shipped.close();
    }
  });

  it("knowledge first: a recognised protocol that carries no name decides, then the name, then the server port, then a carrier's own group (CI model and shipped model)", async () => {
    const F = getProfile('cic2017').columns.featureNames.length;
    const table = (file: string): string[][] => readFileSync(join(ROOT, 'models', 'train', file), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const payloadGroup = new Map(table('app_payload.csv').map(([p, g]) => [p!, g!]));
    const portGroup = new Map(table('app_ports.csv').map(([proto, port, g]) => [`${proto}/${port}`, g!]));
    const nameGroup = new Map(table('app_names.csv').map(([s, g]) => [s!, g!]));
    // the protocols' groups, the name's and the ports' as the tables give them: each case differs from the next step's
    const ssh = payloadGroup.get('SSH')!;
    const chat = nameGroup.get('whatsapp.com')!; // the suffix web.whatsapp.com ends with
    const [sshPort, rdpPort] = [portGroup.get('6/22')!, portGroup.get('6/3389')!];
    const [tls, http] = [payloadGroup.get('TLS')!, payloadGroup.get('HTTP')!];
    expect(portGroup.has('6/40443')).toBe(false);
    expect(new Set([ssh, chat]).size).toBe(2);
    expect(chat).not.toBe(portGroup.get('6/443'));
    // [server name, payload protocol, server port, the group it must take]
    const cases: [string | null, string | null, number, string][] = [
      ['web.whatsapp.com', 'SSH', 443, ssh], // a protocol that is not a carrier wins over the name and the port
      ['web.whatsapp.com', 'TLS', 443, chat], // TLS carries the name: the name wins over the port
      ['web.whatsapp.com', null, 443, chat],
      [null, null, 22, sshPort], // no name, no protocol: the server port's group
      ['unlisted.example', 'TLS', 3389, rdpPort], // a name the table does not know says nothing
      ['unlisted.example', 'TLS', 40443, tls], // nor name nor port: the carrier's own group, nDPI's bare TLS
      [null, 'HTTP', 40443, http],
    ];
    const b = newFlowRows(cases.length, F);
    b.count = cases.length;
    cases.forEach(([, , port], i) => {
      b.srcPorts[i] = 51000;
      b.dstPorts[i] = port;
    });
    b.protocols.fill(6);
    b.payloadProtocol = Uint8Array.from(cases, ([, p]) => (p === null ? 0 : PayloadProtocol[p]!));
    setServerNames(b, cases.map(([n]) => n));
    for (const card of [join(out, 'cic2017-app.json'), join(ROOT, 'models', 'cic2017-app.json')]) {
      const m = await Classifier.load(card);
      try {
        await m.classify(b);
        expect(b.appLabels!.slice(0, cases.length), card).toEqual(cases.map(([, , , g]) => g));
      } finally {
        await m.close();
      }
    }
  });

  it("Python's Server Name Class (app_labels.server_name_class) gives the values the sensor's test vectors hold", async () => {
    const vectors = join(ROOT, 'test', 'fixtures', 'server-name-class.json');
    const code = `import json, sys; sys.path.insert(0, ${JSON.stringify(join(ROOT, 'models', 'train'))}); import app_labels as al
v = json.load(open(${JSON.stringify(vectors)}))
table = {s.lower(): g for s, g in v['server_names']['suffixes']}
print(json.dumps([al.server_name_class(c['name'], table, v['classes']) for c in v['cases']]))`;
    const r = await runCommand(python!, ['-c', code], { timeoutMs: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const cases = (JSON.parse(readFileSync(vectors, 'utf8')) as { cases: { value: number }[] }).cases;
    expect(JSON.parse(r.stdout) as number[]).toEqual(cases.map((x) => x.value));
  });
});
