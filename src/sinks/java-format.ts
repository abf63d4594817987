/**
 * Java number printing, as the reference CICFlowMeter CSVs contain it (Java 17).
 *
 * `javaDouble` reproduces `Double.toString(double)`: the digit string is JS's shortest round-trip digits
 * (`Number.prototype.toExponential()` without an argument), laid out the way Java lays out its digits:
 * - NaN, Infinity, -Infinity, 0.0, -0.0;
 * - 1e-3 <= |v| < 1e7: plain decimal with at least one fractional digit (`79.0`, `0.001`, `736372.7272727273`);
 * - otherwise `d.dddE<exp>` with at least one fractional digit and no `+` (`1.0E-4`, `6.0E7`, `1.2345678E7`).
 *
 * Java 17's FloatingDecimal is not always shortest (JDK-4511638, fixed in Java 19); where it prints a longer
 * digit string than needed, we print the shortest one. Measured against a local Java 17.0.15 on ~2.2 million
 * doubles: identical for every value with 1e-318 <= |v| < 1e16; Java 17 differs only for |v| >= 1e16 (e.g.
 * 2^60 → `1.15292150460684698E18`, 1e23 → `9.999999999999999E22`) and for deep subnormals (`4.9E-324`), none of
 * which a flow feature reaches. All 8,593,985 double cells of the reference CSVs match (test/sinks.test.ts).
 */

/** Java `Double.toString(v)` (shortest digits, Java layout). */
export function javaDouble(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';

  // Fast path: integral values in the plain range print as `<int>.0`.
  const a = v < 0 ? -v : v;
  if (a < 1e7 && a >= 1e-3) {
    if (Number.isInteger(v)) return `${v}.0`;
    // JS prints numbers in [1e-6, 1e21) without exponent, with the shortest digits: same digits as Java's
    // plain layout, and for [1e-3, 1e7) the same text (there is always a fractional part here).
    return String(v);
  }

  // Scientific: parse the shortest digits from toExponential(), e.g. "1.2345678e+7", "4.5e-5", "6e+7".
  const s = v.toExponential();
  const e = s.indexOf('e');
  let mant = s.slice(0, e);
  const exp = s.slice(e + 1);
  if (mant.indexOf('.') < 0) mant += '.0';
  return `${mant}E${exp.charCodeAt(0) === 43 /* + */ ? exp.slice(1) : exp}`;
}

const LONG_MAX = '9223372036854775807';
const LONG_MIN = '-9223372036854775808';

/**
 * Java `long` printing of a value held as a double: `79`, `-1`, `0` (never `.0`). Non-integral values are
 * truncated toward zero and out-of-range values saturate, as Java's `(long) d` cast does; NaN prints `0`.
 */
export function javaLong(v: number): string {
  if (v !== v) return '0';
  if (Number.isSafeInteger(v)) return v === 0 ? '0' : String(v);
  if (v >= 9223372036854775807) return LONG_MAX;
  if (v <= -9223372036854775808) return LONG_MIN;
  return BigInt(Math.trunc(v)).toString();
}
