/**
 * A model card's preprocessing of its inputs (card field `preprocessing`), applied to each value as the model saw
 * it in training. Its own module, with no imports, so the inference thread (worker.ts, input.ts) loads it without
 * the feature profiles that model-card.ts validates cards against.
 */

export interface Preprocessing {
  /** Value that replaces NaN (e.g. Flow Bytes/s of a zero-length flow with no payload). */
  nan: number;
  /** Values that replace +Infinity and -Infinity (e.g. Flow Packets/s of a zero-length flow). */
  posinf: number;
  neginf: number;
  /** Clip every input to [min, max] after the replacements, or null. */
  clip: [number, number] | null;
  /** Standardise after clipping: (x - center[i]) / scale[i], one entry per input; or null (trees need none). */
  scale: { center: number[]; scale: number[] } | null;
}

/**
 * The card's replacements alone: NaN -> `nan`, +Infinity -> `posinf`, -Infinity -> `neginf`, any finite value as it
 * is (v - v is 0 only for a finite v). Small enough to be inlined in the inference thread's row loops (input.ts).
 */
export function replaceNonFinite(v: number, nan: number, posinf: number, neginf: number): number {
  return v - v === 0 ? v : v !== v ? nan : v > 0 ? posinf : neginf;
}

/** Replace NaN/±Infinity, clip and scale one value the way the card says (input `j`). */
export function preprocessValue(v: number, p: Preprocessing, j: number): number {
  let x = replaceNonFinite(v, p.nan, p.posinf, p.neginf);
  if (p.clip !== null) x = x < p.clip[0] ? p.clip[0] : x > p.clip[1] ? p.clip[1] : x;
  if (p.scale !== null) x = (x - p.scale.center[j]!) / p.scale.scale[j]!;
  return x;
}
