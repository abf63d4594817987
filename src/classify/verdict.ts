/**
 * The verdict of each flow from the model's class probabilities (verdict-contract.md), for a whole batch at once.
 * Runs in the inference thread (worker.ts), next to session.run, so the packet thread only maps class indices
 * to names.
 *
 * p = the probabilities of one flow, B = the benign class, A = the non-benign class with the highest probability
 * (ties: the first in `classes` order).
 * - attack = A, attackScore = p[A], always (so an analyst can look below the line);
 * - with a threshold T: label = A, score = p[A] when p[A] >= T, else label = B, score = p[B];
 * - without: label = argmax p (ties: the first), score = its probability.
 */

export interface VerdictRule {
  /** Index of the benign class in the probability output. */
  benign: number;
  /** The alert threshold in (0, 1], or null for the plain argmax. */
  threshold: number | null;
}

/** One batch's verdicts, as class indices and probabilities (float32 values widened to doubles). */
export interface BatchVerdicts {
  label: Int32Array;
  score: Float64Array;
  attack: Int32Array;
  attackScore: Float64Array;
}

/** `probs` is row-major [count × classes]; the verdicts go into `out` (arrays of at least `count`) when given. */
export function batchVerdicts(probs: Float32Array, count: number, classes: number, rule: VerdictRule, out?: BatchVerdicts): BatchVerdicts {
  const v = out ?? { label: new Int32Array(count), score: new Float64Array(count), attack: new Int32Array(count), attackScore: new Float64Array(count) };
  const { label, score, attack, attackScore } = v;
  const B = rule.benign;
  const T = rule.threshold;
  for (let i = 0; i < count; i++) {
    const o = i * classes;
    let best = 0;
    let bestP = probs[o]!;
    let a = -1;
    let aP = -1;
    for (let c = 0; c < classes; c++) {
      const p = probs[o + c]!;
      if (p > bestP) {
        best = c;
        bestP = p;
      }
      if (c !== B && p > aP) {
        a = c;
        aP = p;
      }
    }
    attack[i] = a;
    attackScore[i] = aP;
    if (T === null) {
      label[i] = best;
      score[i] = bestP;
    } else if (aP >= T) {
      label[i] = a;
      score[i] = aP;
    } else {
      label[i] = B;
      score[i] = probs[o + B]!;
    }
  }
  return v;
}
