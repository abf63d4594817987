/**
 * The model contract on paper: feature names in every spelling a model may have been trained with, and the card
 * validator's messages (every problem at once, exact wording).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalFeatureName, lookupFeatureName, resolveInputs } from '../src/classify/feature-names.js';
import { binIndex, preprocessValue, validateModelCard } from '../src/classify/model-card.js';
import { getProfile, PROFILE_NAMES } from '../src/features/profiles.js';

const SHIPPED = JSON.parse(readFileSync(new URL('../models/cic2017-attack.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const card = (patch: Record<string, unknown>): Record<string, unknown> => ({ ...structuredClone(SHIPPED), ...patch });
/** The shipped card as a card of the first format version: none of the optional verdict fields. */
const OLD_FIELDS = { task: undefined, alert_threshold: undefined, kdd: undefined, drift_reference: undefined };

describe('feature names', () => {
  it('CIC-FEATURES.md §1 spellings of one feature all mean the same column', () => {
    // master, CIC-IDS2017 (with its leading space), CSE-CIC-IDS2018, Python port
    for (const s of ['Total Bwd packets', ' Total Backward Packets', 'Tot Bwd Pkts', 'tot_bwd_pkts', 'TOTAL BACKWARD  PACKETS']) {
      expect(canonicalFeatureName(s)).toBe('Total Bwd packets');
    }
    expect(canonicalFeatureName(' Init_Win_bytes_backward')).toBe('Bwd Init Win Bytes');
    expect(canonicalFeatureName('Init Bwd Win Byts')).toBe('Bwd Init Win Bytes');
    expect(canonicalFeatureName('min_seg_size_forward')).toBe('Fwd Seg Size Min');
    expect(canonicalFeatureName('CWE Flag Count')).toBe('CWR Flag Count');
    expect(canonicalFeatureName('Min Packet Length')).toBe('Packet Length Min');
    expect(canonicalFeatureName(' Destination Port')).toBe('Dst Port');
  });
  it("pandas' name for the 2017 CSVs' second Fwd Header Length is a copy of it", () => {
    expect(lookupFeatureName('Fwd Header Length.1')).toEqual({ kind: 'feature', canonical: 'Fwd Header Length', copy: 1 });
  });
  it('every column of every profile has a canonical name, and names are not shared between features', () => {
    for (const p of PROFILE_NAMES) {
      const cols = getProfile(p).columns.featureNames;
      for (const n of cols) expect(canonicalFeatureName(n), `${p}: ${n}`).toBeDefined();
      // distinct columns (apart from cic2017's duplicated Fwd Header Length) map to distinct canonical names
      const canon = cols.map((n) => canonicalFeatureName(n));
      expect(new Set(canon).size).toBe(p === 'cic2017' ? cols.length - 1 : cols.length);
    }
  });
  it("resolves a 2018-spelled input list against the cic2017 profile's columns", () => {
    const cols = getProfile('cic2017').columns;
    const r = resolveInputs(['Flow Duration', 'Tot Bwd Pkts', ' Init_Win_bytes_forward', 'Fwd Header Length.1', 'Dst Port'], cols);
    expect(r.errors).toEqual([]);
    const second = cols.featureNames.lastIndexOf('Fwd Header Length');
    expect(r.sources).toEqual([
      { from: 'feature', index: 0 },
      { from: 'feature', index: cols.featureNames.indexOf('Total Backward Packets') },
      { from: 'feature', index: cols.featureNames.indexOf('Init_Win_bytes_forward') },
      { from: 'feature', index: second },
      { from: 'identity', field: 'dstPort' },
    ]);
  });
  it('reports every unusable input at once, with its position', () => {
    const r = resolveInputs(['Flow Duraton', 'Fwd RST Flags', ' Source IP', 'Label', 'Flow Duration', 'flow_duration'], getProfile('cic2017').columns);
    expect(r.errors).toEqual([
      'inputs[0]: unknown feature name "Flow Duraton" (not a CICFlowMeter column in the master, CIC-IDS2017, CSE-CIC-IDS2018 or Python-port spelling)',
      'inputs[1]: "Fwd RST Flags" (Fwd RST Flags) is not a column of profile cic2017',
      'inputs[2]: " Source IP" is an identity column that is not a number; it cannot be a model input',
      'inputs[3]: "Label" is the label column, not an input',
    ]);
    // the same feature twice under two spellings is fine; the same spelling twice is not
    expect(resolveInputs(['Flow Duration', ' Flow Duration'], getProfile('cic').columns).errors).toEqual([
      'inputs[1]: " Flow Duration" is listed twice (also inputs[0])',
    ]);
  });
});

describe('model card validation', () => {
  it('accepts the shipped card', () => {
    expect(validateModelCard(SHIPPED)).toMatchObject({ ok: true });
  });
  it('returns every problem at once, each naming the field and the expectation', () => {
    const r = validateModelCard(
      card({
        format: 'onnx-card',
        profile: 'cic2018',
        inputs: [],
        classes: ['BENIGN', 'DoS', 'DoS'],
        benign: 'Normal',
        preprocessing: { nan: 'zero', posinf: -1, neginf: -1, clip: [5, 1], scale: null },
        onnx: { file: 'm.onnx', input: 'input', probabilities: 'probabilities', sha256: 'abc' },
        provenance: { data: [], created: 'yesterday', code_commit: '', command: 'python3 train.py' },
        metrics: undefined,
        // The optional verdict fields are checked below; here they would only repeat the class errors.
        ...OLD_FIELDS,
      }),
    );
    expect(r).toEqual({
      ok: false,
      errors: [
        'format: expected "sensor-model-card/1", got "onnx-card"',
        'profile: expected one of cic, fixed, cic2017, got "cic2018"',
        'onnx.sha256: expected 64 lowercase hex digits, got "abc"',
        'inputs: expected a non-empty array of feature names, got []',
        'preprocessing.nan: expected a finite number, got "zero"',
        'preprocessing.clip: expected null or [min, max] with min <= max, got [5,1]',
        'classes: "DoS" is listed twice',
        'benign: "Normal" is not one of classes (BENIGN, DoS, DoS)',
        'provenance.data: expected a non-empty array of strings (one per data source), got []',
        'provenance.created: expected an ISO 8601 date, got "yesterday"',
        'provenance.code_commit: expected a non-empty string, got ""',
        'metrics: expected an object of measured metrics, got nothing',
      ],
    });
  });
  it('is not JSON object: one message', () => {
    expect(validateModelCard([1, 2])).toEqual({ ok: false, errors: ['card: expected a JSON object, got [1,2]'] });
  });
});

describe('preprocessing', () => {
  const p = { nan: -1, posinf: 1e9, neginf: -1e9, clip: [-5e8, 5e8] as [number, number], scale: { center: [0, 10], scale: [1, 2] } };
  it('replaces NaN and infinities, then clips, then scales per input', () => {
    expect(preprocessValue(NaN, p, 0)).toBe(-1);
    expect(preprocessValue(Infinity, p, 0)).toBe(5e8);
    expect(preprocessValue(-Infinity, p, 0)).toBe(-5e8);
    expect(preprocessValue(14, p, 1)).toBe(2);
    expect(preprocessValue(3, { ...p, clip: null, scale: null }, 0)).toBe(3);
  });
});

describe('verdict fields of the card (task, alert_threshold, kdd, drift_reference)', () => {
  const KDD = { BENIGN: 'normal', Bot: 'R2L', BruteForce: 'R2L', DoS: 'DoS', Infiltration: 'U2R', PortScan: 'Probe', WebAttack: 'R2L' };
  const drift = (features: Record<string, unknown>): Record<string, unknown> => ({ method: 'quantile-bins', rows: 1000, features });
  const errors = (patch: Record<string, unknown>): string[] => {
    const r = validateModelCard(card(patch));
    return r.ok ? [] : r.errors;
  };

  it('accepts a card with all of them, and an old card without them', () => {
    expect(errors({ task: 'attack', alert_threshold: 0.62, kdd: KDD, drift_reference: drift({ 'Flow Duration': { edges: [1, 10, 10, 100], fractions: [0.25, 0.25, 0, 0.25, 0.25], per_class: { BENIGN: [0.5, 0.5, 0, 0, 0], Bot: [0, 0, 0, 0, 0] } } }) })).toEqual([]);
    expect(errors(OLD_FIELDS)).toEqual([]);
    expect(errors({ ...OLD_FIELDS, alert_threshold: 1 })).toEqual([]);
    expect(errors({ ...OLD_FIELDS, task: 'application' })).toEqual([]);
  });
  it('task: attack or application only', () => {
    expect(errors({ task: 'anomaly' })).toEqual(['task: expected "attack" or "application", got "anomaly"']);
    expect(errors({ task: null })).toEqual(['task: expected "attack" or "application", got null']);
  });
  it('alert_threshold: a number in (0, 1], on an attack model', () => {
    expect(errors({ alert_threshold: 0 })).toEqual(['alert_threshold: expected a number in (0, 1], got 0']);
    expect(errors({ alert_threshold: 1.5 })).toEqual(['alert_threshold: expected a number in (0, 1], got 1.5']);
    expect(errors({ alert_threshold: '0.6' })).toEqual(['alert_threshold: expected a number in (0, 1], got "0.6"']);
    expect(errors({ task: 'application', alert_threshold: 0.5 })).toEqual(['alert_threshold: expected no threshold on an application model (it applies to task "attack"), got 0.5']);
  });
  it('kdd: every class to one of normal, DoS, Probe, R2L, U2R; the benign class to normal; nothing else', () => {
    const { Infiltration: _dropped, ...partial } = KDD;
    expect(errors({ kdd: { ...partial, DoS: 'DDoS', Worm: 'U2R', BENIGN: 'Probe' } })).toEqual([
      'kdd.BENIGN: expected "normal" (the benign class), got "Probe"',
      'kdd.DoS: expected one of normal, DoS, Probe, R2L, U2R, got "DDoS"',
      'kdd.Infiltration: expected one of normal, DoS, Probe, R2L, U2R, got nothing',
      'kdd.Worm: expected only classes as keys (BENIGN, Bot, BruteForce, DoS, Infiltration, PortScan, WebAttack), got "Worm"',
    ]);
    expect(errors({ kdd: ['normal'] })).toEqual(['kdd: expected an object mapping every class to one of normal, DoS, Probe, R2L, U2R, got ["normal"]']);
  });
  it('drift_reference: names of inputs, ascending edges, len(edges) + 1 shares summing to 1', () => {
    expect(
      errors({
        drift_reference: drift({
          'Flow Duraton': { edges: [1], fractions: [0.5, 0.5] },
          'Flow Duration': { edges: [10, 1], fractions: [0.5, 0.5] },
          'Total Fwd Packets': { edges: [1, 2], fractions: [0.5, 0.5] },
          'Total Backward Packets': { edges: [1, 2], fractions: [0.5, 0.2, 0.2] },
          'Flow Bytes/s': { edges: [1], fractions: [0.5, 0.5], per_class: { DoS: [1, 0, 0], Worm: [0.5, 0.5] } },
          'Flow IAT Max': [1, 2],
        }),
      }),
    ).toEqual([
      'drift_reference.features["Flow Duraton"]: expected the name of one of the card\'s inputs, got "Flow Duraton"',
      'drift_reference.features["Flow Duration"].edges: expected an array of finite numbers in ascending order, got [10,1]',
      'drift_reference.features["Total Fwd Packets"].fractions: expected 3 shares in [0, 1] that sum to 1, got [0.5,0.5]',
      'drift_reference.features["Total Backward Packets"].fractions: expected 3 shares in [0, 1] that sum to 1, got [0.5,0.2,0.2]',
      'drift_reference.features["Flow Bytes/s"].per_class.DoS: expected 2 shares in [0, 1] that sum to 1, got [1,0,0]',
      'drift_reference.features["Flow Bytes/s"].per_class.Worm: expected a class of the card (BENIGN, Bot, BruteForce, DoS, Infiltration, PortScan, WebAttack), got "Worm"',
      'drift_reference.features["Flow IAT Max"]: expected {edges, fractions}, got [1,2]',
    ]);
    expect(errors({ drift_reference: { method: 'deciles', rows: 0, features: {} } })).toEqual([
      'drift_reference.method: expected "quantile-bins", got "deciles"',
      'drift_reference.rows: expected a positive integer (training rows), got 0',
      'drift_reference.features: expected an object with an entry per input, got {}',
    ]);
    expect(errors({ drift_reference: drift({ 'Flow Duration': { edges: [1, 'x'], fractions: [0.7] } }) })).toEqual([
      'drift_reference.features["Flow Duration"].edges: expected an array of finite numbers in ascending order, got [1,"x"]',
      'drift_reference.features["Flow Duration"].fractions: expected len(edges) + 1 shares in [0, 1] that sum to 1, got [0.7]',
    ]);
  });
  it('binIndex: the first edge >= x, else the last bin', () => {
    const edges = [1, 10, 10, 100];
    expect([-5, 1, 1.5, 10, 11, 100, 101, Infinity].map((x) => binIndex(x, edges))).toEqual([0, 0, 1, 1, 3, 3, 4, 4]);
    expect(binIndex(3, [])).toBe(0);
  });
});
