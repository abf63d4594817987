/**
 * The verdict of an application model (task "application"): the most probable group and its probability, for a
 * whole batch at once. Runs in the inference thread (worker.ts) next to session.run, as the attack rule does
 * (verdict.ts); an application model has no benign class to hold back and no threshold.
 */

/** One batch's application verdicts, as group indices and probabilities (float32 values widened to doubles). */
export interface GroupVerdicts {
  label: Int32Array;
  score: Float64Array;
}

/**
 * `probs` is row-major [count × classes]; ties go to the first group in the card's order. The verdicts go into `out`
 * (arrays of at least `count`) when given.
 */
export function groupVerdicts(probs: Float32Array, count: number, classes: number, out?: GroupVerdicts): GroupVerdicts {
  const v = out ?? { label: new Int32Array(count), score: new Float64Array(count) };
  const { label, score } = v;
  for (let i = 0; i < count; i++) {
    const o = i * classes;
    let best = 0;
    let bestP = probs[o]!;
    for (let c = 1; c < classes; c++) {
      const p = probs[o + c]!;
      if (p > bestP) {
        best = c;
        bestP = p;
      }
    }
    label[i] = best;
    score[i] = bestP;
  }
  return v;
}
