/**
 * The model input `Server Name Class` and the card field `server_names` (/work/notes/server-name-contract.md):
 * the hand-computed vectors of test/fixtures/server-name-class.json (which models/train checks too), the card's
 * refusals, and end to end: a model whose output depends only on that input (test/helpers/server-name-model.py)
 * gets, for every flow the sensor writes, the value the contract's rule gives for the flow's stored server_name.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverNameSpec, SuffixTable } from '../src/classify/server-name-class.js';
import { findPython } from './helpers/python.js';
import Database from 'better-sqlite3';
import { ROOT, SHARED, sensor } from './helpers/cli.js';
import { cardErrors, expectRefusals, expectVerdictsByValue, makeOneInputModel, ONE_INPUT_CLASSES, oneInputCard } from './helpers/one-input-model.js';

interface Vectors {
  classes: string[];
  server_names: { suffixes: [string, string][] };
  cases: { name: string | null; value: number; why: string }[];
}
const VECTORS = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/server-name-class.json'), 'utf8')) as Vectors;

/** The contract's rule written plainly (strings, every suffix tried), to check the fixture and the fast table. */
function byRule(name: string | null, suffixes: [string, string][], classes: string[]): number {
  if (name === null) return 0;
  const n = name.toLowerCase();
  let best: [string, string] | null = null;
  for (const [s, g] of suffixes) {
    const l = s.toLowerCase();
    if ((n === l || n.endsWith(`.${l}`)) && (best === null || l.length > best[0].length)) best = [l, g];
  }
  return best === null ? classes.length + 1 : classes.indexOf(best[1]) + 1;
}

describe('Server Name Class: the value of a name', () => {
  it('the fixture\'s hand-computed values are the rule\'s, and the compiled suffix table gives them', () => {
    const table = new SuffixTable(serverNameSpec(VECTORS.server_names, VECTORS.classes));
    expect(VECTORS.cases.length).toBeGreaterThan(20);
    // Every value the rule can give occurs: no name, each group, no match.
    expect(new Set(VECTORS.cases.map((c) => c.value))).toEqual(new Set(Array.from({ length: VECTORS.classes.length + 2 }, (_, v) => v)));
    for (const c of VECTORS.cases) {
      expect({ name: c.name, rule: byRule(c.name, VECTORS.server_names.suffixes, VECTORS.classes) }).toEqual({ name: c.name, rule: c.value });
      expect({ name: c.name, table: table.classOfText(c.name) }).toEqual({ name: c.name, table: c.value });
    }
  });

  it('random names over a random table: the table agrees with the rule', () => {
    const labels = ['a', 'b', 'ab', 'com', 'x-y', 'cdn', 'net', 'b.a'];
    const classes = ['G0', 'G1', 'G2'];
    let seed = 10;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const name = (): string => Array.from({ length: 1 + rnd(4) }, () => labels[rnd(labels.length)]!).join('.');
    for (let t = 0; t < 50; t++) {
      const suffixes = new Map<string, string>();
      for (let k = 0; k < 1 + rnd(6); k++) suffixes.set(name(), classes[rnd(3)]!);
      const pairs = [...suffixes] as [string, string][];
      const table = new SuffixTable(serverNameSpec({ suffixes: pairs }, classes));
      for (let k = 0; k < 40; k++) {
        const n = name();
        expect({ n, pairs, v: table.classOfText(n) }).toEqual({ n, pairs, v: byRule(n, pairs, classes) });
      }
    }
  });
});

describe('the card field server_names and its refusals', () => {
  const base = (extra: Record<string, unknown>): Record<string, unknown> => oneInputCard('Server Name Class', extra);

  it('a valid table passes; the input without a table, a group not in classes, bad entries and repeats are refused', () => {
    expect(cardErrors(base({ server_names: { suffixes: [['google.com', 'Web'], ['ntp.org', 'Network']] } }))).toEqual([]);
    expect(cardErrors(base({}))).toEqual(['inputs[0]: "Server Name Class" needs the card\'s server_names (the suffix table it looks the flow\'s server name up in)']);
    expect(cardErrors(base({ server_names: { suffixes: [['google.com', 'Video']] } }))).toEqual(['server_names.suffixes[0]: group "Video" is not one of classes (Web, Network, Other)']);
    expect(cardErrors(base({ server_names: [['google.com', 'Web']] }))).toEqual(['server_names: expected an object {suffixes: [[suffix, group], ...]}, got [["google.com","Web"]]']);
    expect(cardErrors(base({ server_names: { suffixes: [['google.com'], ['.com', 'Web'], ['a.com', 'Web'], ['A.COM', 'Other']] } }))).toEqual([
      'server_names.suffixes[0]: expected [suffix, group], two non-empty strings, got ["google.com"]',
      'server_names.suffixes[1]: expected a name suffix (printable ASCII, no leading or trailing dot, no empty label), got ".com"',
      'server_names.suffixes[3]: suffix "A.COM" is listed twice (also server_names.suffixes[2])',
    ]);
    // A table without the input is allowed (the card documents the groups' names), and an empty one.
    expect(cardErrors(base({ inputs: ['Destination Port'], server_names: { suffixes: [] } }))).toEqual([]);
  });

  it('sources: a non-empty list of flow, carried, dns, each once; anything else is refused', () => {
    const suffixes = [['google.com', 'Web']];
    expect(cardErrors(base({ server_names: { suffixes, sources: ['flow', 'carried'] } }))).toEqual([]);
    expect(cardErrors(base({ server_names: { suffixes, sources: ['dns', 'flow', 'carried'] } }))).toEqual([]);
    const refused = 'server_names.sources: expected a non-empty list of flow, carried, dns, each once, got ';
    expect(cardErrors(base({ server_names: { suffixes, sources: [] } }))).toEqual([`${refused}[]`]);
    expect(cardErrors(base({ server_names: { suffixes, sources: ['flow', 'flow'] } }))).toEqual([`${refused}["flow","flow"]`]);
    expect(cardErrors(base({ server_names: { suffixes, sources: ['sni'] } }))).toEqual([`${refused}["sni"]`]);
    expect(cardErrors(base({ server_names: { suffixes, sources: 'flow' } }))).toEqual([`${refused}"flow"`]);
  });

  it('a name from a source the card does not read is no name to the model (the table says which sources it reads)', () => {
    const classes = ['Web', 'Network'];
    const all = new SuffixTable(serverNameSpec({ suffixes: [['a.example', 'Network']] }, classes));
    const own = new SuffixTable(serverNameSpec({ suffixes: [['a.example', 'Network']], sources: ['flow', 'carried'] }, classes));
    // codes: 0 none, 1 flow, 2 carried, 3 dns (ServerNameSource)
    expect(Array.from(all.reads)).toEqual([1, 1, 1, 1]);
    expect(Array.from(own.reads)).toEqual([0, 1, 1, 0]);
  });
});

const python = findPython(['sklearn', 'onnx']);
const noPython = python === undefined ? ' [skipped: python3-sklearn or python3-onnx not installed; .ci/run installs them]' : '';

describe.skipIf(python === undefined)(`a model that reads only Server Name Class, end to end${noPython}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sensor-name-class-'));
  const CAPTURES = ['zeek-wikipedia', 'cic2017-wednesday-tls-flow', 'zeek-http-vlan'].map((n) => join(ROOT, 'fixtures/reference', `${n}.pcap`));
  const SUFFIXES: [string, string][] = [['wikipedia.org', 'Web'], ['upload.wikimedia.org', 'Network'], ['wikimedia.org', 'Other'], ['local', 'Network']];
  let model: { card: string; proba: number[][] };

  beforeAll(async () => {
    model = await makeOneInputModel(python!, dir, SUFFIXES, false);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([['1', []], ['2 workers', ['--workers', '2']]])('every flow gets the group and score of its name\'s value (%s)', async (_, extra) => {
    const values = await expectVerdictsByValue({ ...model, captures: CAPTURES, db: join(dir, `run-${extra.length}.sqlite`), extra, column: 'server_name', valueOf: (n) => byRule(n, SUFFIXES, ONE_INPUT_CLASSES) });
    // Flows without a name, with each group's names and with names no suffix matches: all five values were fed.
    expect([...values].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  const ALEXA = join(SHARED, 'data/ndpi/pcap/alexa-app.pcapng');
  it.skipIf(!existsSync(ALEXA))(`a card that reads only the flows' own names: a name learnt from DNS answers is no name to it${existsSync(ALEXA) ? '' : ' (skipped: ../shared is absent)'}`, async () => {
    const card = JSON.parse(readFileSync(model.card, 'utf8')) as { server_names: Record<string, unknown> };
    card.server_names.sources = ['flow', 'carried'];
    const own = join(dir, 'model', 'own-names.json');
    writeFileSync(own, JSON.stringify(card));
    // No name (0) and a name no suffix matches (4) give different verdicts, so a DNS-learnt name read would show.
    expect(model.proba[0]).not.toEqual(model.proba[4]);
    const db = join(dir, 'own-names.sqlite');
    const textSql = "CASE WHEN COALESCE(server_name_source, 'flow') IN ('flow', 'carried') THEN server_name END";
    const values = await expectVerdictsByValue({ card: own, proba: model.proba, captures: [ALEXA], db, extra: ['--profile', 'cic2017'], column: 'server_name', textSql, valueOf: (n) => byRule(n, SUFFIXES, ONE_INPUT_CLASSES) });
    expect(values.has(0)).toBe(true);
    const d = new Database(db, { readonly: true });
    const learnt = d.prepare("SELECT count(*) FROM flows WHERE server_name_source = 'dns' AND server_name IS NOT NULL").pluck().get() as number;
    d.close();
    expect(learnt).toBeGreaterThan(10);
    const shown = await sensor(['models', 'inspect', own]);
    expect(shown.stdout).toContain('; names from flow, carried only; ');
    // sensor models drift reads the stored name the same way: the shipped card (flow and carried) and the same card
    // reading every source see different Server Name Class values on this run.
    const shipped = JSON.parse(readFileSync(join(ROOT, 'models', 'cic2017-app.json'), 'utf8')) as { server_names: { sources?: string[] }; onnx: { file: string } };
    expect(shipped.server_names.sources).toEqual(['flow', 'carried']);
    delete shipped.server_names.sources;
    shipped.onnx.file = join(ROOT, 'models', shipped.onnx.file);
    const everySource = join(dir, 'model', 'app-every-source.json');
    writeFileSync(everySource, JSON.stringify(shipped));
    const psi = async (card: string): Promise<string> => {
      const r = await sensor(['models', 'drift', card, db]);
      expect([0, 5], r.stderr).toContain(r.status);
      return r.stdout.split('\n').find((l) => l.startsWith('Server Name Class'))!;
    };
    const [a, b] = [await psi(join(ROOT, 'models', 'cic2017-app.json')), await psi(everySource)];
    expect(a).toBeDefined();
    expect(a).not.toEqual(b);
  });

  it('sensor models inspect shows the table; a card whose input has no table is refused before any packet (exit 2)', async () => {
    const card = model.card;
    const shown = await sensor(['models', 'inspect', card]);
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('server names   4 suffixes (Web 1, Network 2, Other 1), e.g. wikipedia.org -> Web, upload.wikimedia.org -> Network, wikimedia.org -> Other, ...; names from any source; Server Name Class = 0 no name, k+1 group k, 4 no suffix matches');
    expect(shown.stdout).toMatch(/1 {2}Server Name Class +-> flow server_name, by server_names/);
    // A CSV of CIC features has no server name: sensor classify refuses such a model (exit 2), naming the input.
    await expectRefusals({
      card,
      key: 'server_names',
      dir,
      capture: CAPTURES[0]!,
      replayError: 'inputs[0]: "Server Name Class" needs the card\'s server_names (the suffix table it looks the flow\'s server name up in)',
      classifyError: 'sensor classify: model names@1: inputs[0] is "Server Name Class" (the flow\'s server name), which a table of CIC features does not have: classify its flows with sensor --replay\n',
    });
  });
});
