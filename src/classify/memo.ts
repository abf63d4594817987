/**
 * The class probabilities of a model whose inputs are all flow identity values (ports and protocol: the
 * application model reads Destination Port and Protocol only), remembered per combination of those values.
 * Such a model's row depends on them alone, and a tree ensemble computes each row on its own, so a combination
 * the session has computed once gives the same float32 probabilities from here: a batch sends only the
 * combinations not seen before to the session (a span port's traffic goes to a few thousand ports; the flood's
 * 127 k flows to two). Runs in the inference thread (worker.ts).
 *
 * Bounded: at most MAX_ENTRIES combinations are kept (~5 MB for 10 classes); past that, a new combination is
 * computed every time it occurs, as without the memo. Kept only while it pays: when fewer than half of the first
 * TRIAL_ROWS rows were answered from the table (a model that reads the client's port too sees a new combination
 * in nearly every flow), `useful` turns false and the caller sends every row to the session.
 */

/** Combinations remembered at most. */
const MAX_ENTRIES = 1 << 17;
/** Rows after which the memo must have answered at least half of them from its table to be kept. */
const TRIAL_ROWS = 8192;
/** An identity value is a port (0..65535) or a protocol (0..255); a key packs up to 3 of them in 17 bits each. */
const KEY_BITS = 131072;

export class ProbabilityMemo {
  private readonly index = new Map<number, number>();
  private pool: Float32Array;
  private size = 0;
  private rows = 0;
  private answered = 0;

  constructor(
    /** Probabilities per row (the card's classes). */
    readonly classes: number,
    /** The model's inputs, as columns of the batch's identity matrix (the same order as its input row). */
    private readonly identityColumns: Int32Array,
  ) {
    this.pool = new Float32Array(1024 * classes);
  }

  /** A model can be remembered when every input is an identity value, and at most 3 of them (keys stay exact doubles). */
  static applies(featureIndex: readonly number[], identityIndex: readonly number[]): boolean {
    return featureIndex.length > 0 && featureIndex.length <= 3 && featureIndex.every((k) => k < 0) && identityIndex.every((k) => k >= 0);
  }

  get entries(): number {
    return this.size;
  }

  /** False once the trial has shown that most rows are new combinations: then the session alone is cheaper. */
  get useful(): boolean {
    return this.rows < TRIAL_ROWS || this.answered * 2 >= this.rows;
  }

  /**
   * The batch's probabilities [count × classes]. `input` is the model's input for the batch [count × W] (built
   * as for the session), `identity` the identity matrix [count × idW]; `run` gives the session's probabilities
   * for rows of input [n × W]. Returns null when the session's output is not `classes` wide (then the caller
   * runs the whole batch through the session, and the main side reports the width).
   */
  async probabilities(
    count: number,
    identity: Float64Array,
    idW: number,
    input: Float32Array,
    run: (x: Float32Array, n: number) => Promise<Float32Array>,
  ): Promise<Float32Array | null> {
    const C = this.classes;
    const W = this.identityColumns.length;
    const cols = this.identityColumns;
    // slot[i] >= 0: row i's probabilities are in the pool at that entry; < 0: at -1 - slot[i] in `missing`.
    const slot = new Int32Array(count);
    const missingRows: number[] = [];
    const missingKeys: number[] = [];
    const firstMissing = new Map<number, number>();
    for (let i = 0; i < count; i++) {
      let key = 0;
      for (let j = W - 1; j >= 0; j--) {
        const v = identity[i * idW + cols[j]!]!;
        if (!(v >= 0 && v < KEY_BITS && Math.floor(v) === v)) {
          key = -1;
          break;
        }
        key = key * KEY_BITS + v;
      }
      if (key >= 0) {
        const at = this.index.get(key);
        if (at !== undefined) {
          slot[i] = at;
          continue;
        }
        const pos = firstMissing.get(key);
        if (pos !== undefined) {
          slot[i] = -1 - pos;
          continue;
        }
        firstMissing.set(key, missingRows.length);
      }
      slot[i] = -1 - missingRows.length;
      missingRows.push(i);
      missingKeys.push(key);
    }

    const m = missingRows.length;
    this.rows += count;
    this.answered += count - m;
    let computed: Float32Array = new Float32Array(0);
    if (m > 0) {
      const x = new Float32Array(m * W);
      for (let p = 0; p < m; p++) x.set(input.subarray(missingRows[p]! * W, missingRows[p]! * W + W), p * W);
      computed = await run(x, m);
      if (computed.length !== m * C) return null;
      for (let p = 0; p < m; p++) {
        const key = missingKeys[p]!;
        if (key < 0 || this.size >= MAX_ENTRIES) continue;
        if (this.pool.length < (this.size + 1) * C) {
          const bigger = new Float32Array(Math.min(this.pool.length * 2, MAX_ENTRIES * C));
          bigger.set(this.pool);
          this.pool = bigger;
        }
        this.pool.set(computed.subarray(p * C, p * C + C), this.size * C);
        this.index.set(key, this.size++);
      }
    }

    const out = new Float32Array(count * C);
    const pool = this.pool;
    for (let i = 0; i < count; i++) {
      const s = slot[i]!;
      const src = s >= 0 ? pool : computed;
      const o = s >= 0 ? s * C : (-1 - s) * C;
      for (let c = 0; c < C; c++) out[i * C + c] = src[o + c]!;
    }
    return out;
  }
}
