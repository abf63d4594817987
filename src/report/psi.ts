/**
 * Population stability index of a run's feature values against the model's training distribution (the card's
 * `drift_reference`, verdict contract). One small pure function; `sensor models drift` (another branch) needs
 * the same, and the two are meant to become one at merge.
 */

/** The contract's bin rule: the index of the first edge >= x (x <= e_i goes to bin i), else the last bin. */
export function binIndex(x: number, edges: readonly number[]): number {
  let lo = 0;
  let hi = edges.length; // answer in [0, edges.length]
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Share of a bin with no rows, so that ln(a/e) stays finite (a common choice; it bounds one bin's term). */
export const PSI_EPSILON = 1e-4;

/** PSI = Σ (a_i − e_i) · ln(a_i / e_i) over bins, with fractions floored at PSI_EPSILON. */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw new Error(`psi: ${expected.length} expected bins, ${actual.length} actual`);
  let s = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]!, PSI_EPSILON);
    const a = Math.max(actual[i]!, PSI_EPSILON);
    s += (a - e) * Math.log(a / e);
  }
  return s;
}

/** The usual reading: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 major shift. */
export function psiLevel(v: number): 'stable' | 'moderate' | 'major' {
  return v < 0.1 ? 'stable' : v <= 0.25 ? 'moderate' : 'major';
}
