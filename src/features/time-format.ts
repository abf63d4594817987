/**
 * The Timestamp column of the three reference profiles, from microseconds since the Unix epoch, always UTC
 * (the reference CSVs were written with the JVM in UTC).
 *
 * - `cic`:     `dd/MM/yyyy hh:mm:ss a`  → `14/11/2023 10:13:20 PM` (12-hour clock 01..12, English AM/PM,
 *              truncated to the second; noon is `12:..:.. PM`, midnight `12:..:.. AM`, as Java's `hh` prints).
 * - `cic2017`: `dd/MM/yyyy hh:mm:ss`    → `14/11/2023 10:13:20` (same clock, no marker).
 * - `fixed`:   `yyyy-MM-dd HH:mm:ss` then the fraction as `Instant.toString` prints it: nothing on an exact
 *              second, else 3, 6 or 9 digits, the shortest group that holds the value; from µs input that is
 *              3 or 6 digits (`2023-11-14 22:13:29.500`, `2011-03-18 19:06:08.854378`).
 *
 * Years are printed with 4 digits (0000-9999): captures outside that range are not meaningful here.
 */

export type TimestampFormat = 'cic' | 'cic2017' | 'fixed';

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

function pad4(n: number): string {
  return n < 10 ? `000${n}` : n < 100 ? `00${n}` : n < 1000 ? `0${n}` : `${n}`;
}

/** Splits µs since the epoch into whole seconds (floored, so pre-1970 times work) and µs within the second. */
function split(us: number): { sec: number; frac: number } {
  const t = Math.trunc(us);
  const sec = Math.floor(t / 1e6);
  return { sec, frac: t - sec * 1e6 };
}

/** `dd/MM/yyyy hh:mm:ss`, 12-hour clock, and the AM/PM marker when `marker` is set. */
function twelveHour(us: number, marker: boolean): string {
  const d = new Date(split(us).sec * 1000);
  const h24 = d.getUTCHours();
  const h12 = h24 % 12 === 0 ? 12 : h24 % 12;
  const s =
    `${pad2(d.getUTCDate())}/${pad2(d.getUTCMonth() + 1)}/${pad4(d.getUTCFullYear())} ` +
    `${pad2(h12)}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  return marker ? `${s} ${h24 < 12 ? 'AM' : 'PM'}` : s;
}

/** Profile `cic` (CICFlowMeter master): `14/11/2023 10:13:20 PM`. */
export function cicTimestamp(us: number): string {
  return twelveHour(us, true);
}

/** Profile `cic2017` (CICFlowMeter 2018-02): `14/11/2023 10:13:20`. */
export function cic2017Timestamp(us: number): string {
  return twelveHour(us, false);
}

/** Profile `fixed` (Engelen fork): `2023-11-14 22:13:29.500`, `2011-03-18 19:06:08.854378`, `2023-11-14 22:13:33`. */
export function fixedTimestamp(us: number): string {
  const { sec, frac } = split(us);
  const d = new Date(sec * 1000);
  let s =
    `${pad4(d.getUTCFullYear())}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  if (frac !== 0) {
    const six = String(frac).padStart(6, '0');
    s += frac % 1000 === 0 ? `.${six.slice(0, 3)}` : `.${six}`;
  }
  return s;
}

/** The formatter of a profile's Timestamp column. */
export function timestampFormatter(format: TimestampFormat): (us: number) => string {
  switch (format) {
    case 'cic':
      return cicTimestamp;
    case 'cic2017':
      return cic2017Timestamp;
    case 'fixed':
      return fixedTimestamp;
  }
}

/** Formats µs since the epoch in the given profile's style. */
export function formatTimestamp(format: TimestampFormat, us: number): string {
  return timestampFormatter(format)(us);
}

/**
 * A profile's Timestamp column with the text of the last second kept: flows completed together mostly started
 * within the same second (a flood's thousands do), so most rows reuse one string instead of formatting a date.
 * Same text as `timestampFormatter(format)`, byte for byte.
 */
export class TimestampText {
  private lastSec = NaN;
  /** The whole text of `lastSec` (`cic`, `cic2017`), or its `yyyy-MM-dd HH:mm:ss` part (`fixed`). */
  private lastText = '';

  constructor(private readonly format: TimestampFormat) {}

  text(us: number): string {
    const { sec, frac } = split(us);
    if (sec !== this.lastSec) {
      this.lastSec = sec;
      this.lastText = this.format === 'fixed' ? fixedTimestamp(sec * 1e6) : timestampFormatter(this.format)(sec * 1e6);
    }
    if (this.format !== 'fixed' || frac === 0) return this.lastText;
    const six = String(frac).padStart(6, '0');
    return frac % 1000 === 0 ? `${this.lastText}.${six.slice(0, 3)}` : `${this.lastText}.${six}`;
  }
}
