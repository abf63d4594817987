/**
 * The model contract on paper: feature names in every spelling a model may have been trained with, and the card
 * validator's messages (every problem at once, exact wording).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalFeatureName, lookupFeatureName, resolveInputs } from '../src/classify/feature-names.js';
import { preprocessValue, validateModelCard } from '../src/classify/model-card.js';
import { getProfile, PROFILE_NAMES } from '../src/features/profiles.js';

const SHIPPED = JSON.parse(readFileSync(new URL('../models/cic2017-rf.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const card = (patch: Record<string, unknown>): Record<string, unknown> => ({ ...structuredClone(SHIPPED), ...patch });

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
