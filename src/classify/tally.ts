/**
 * Counts of the verdicts written, per class (`runs.counters.verdicts`, the replay summary, the live stats line),
 * and, when asked, the sources of the alerts (flows whose verdict is not the benign class) by address. The
 * application model's groups are counted the same way (`runs.counters.app_groups`), with no benign class.
 */
import type { FlowRows } from '../engine/flow-batch.js';
import { formatIpv4, formatIpv6 } from '../features/address-text.js';

function sourceText(rows: FlowRows, i: number): string {
  return formatIpv6(rows.srcAddrs.subarray(i * 4, i * 4 + 4));
}

export class VerdictTally {
  private readonly counts: Float64Array;
  private readonly alertSources: Map<number | string, number> | null;

  constructor(
    readonly classes: readonly string[],
    readonly benignIndex: number,
    /** Count alerts per source address (replay: yes; the live daemon: no, its set of sources has no bound). */
    countSources: boolean,
  ) {
    this.counts = new Float64Array(classes.length);
    this.alertSources = countSources ? new Map() : null;
  }

  /** `v.label`: the batch's verdicts as class indices (an attack model's verdicts, or an application model's groups). */
  add(rows: FlowRows, v: { label: Int32Array }): void {
    const sources = this.alertSources;
    for (let i = 0; i < rows.count; i++) {
      const c = v.label[i]!;
      this.counts[c]!++;
      if (sources !== null && c !== this.benignIndex) {
        // Keyed by the address's number (IPv4) or text (IPv6): no string per alert; text only for the top few.
        const ip = rows.ipVersions[i] === 4 ? rows.srcAddrs[i * 4]! : sourceText(rows, i);
        sources.set(ip, (sources.get(ip) ?? 0) + 1);
      }
    }
  }

  /**
   * Flow i of a batch counted under `from` now has the verdict `to` (the context stage relabelled it): moves it,
   * and counts its source as an alert source when `to` is not the benign class.
   */
  move(rows: FlowRows, i: number, from: string, to: string): void {
    const a = this.classes.indexOf(from);
    const b = this.classes.indexOf(to);
    if (a < 0 || b < 0 || a === b) return;
    this.counts[a]!--;
    this.counts[b]!++;
    if (this.alertSources !== null && a === this.benignIndex) {
      const ip = rows.ipVersions[i] === 4 ? rows.srcAddrs[i * 4]! : sourceText(rows, i);
      this.alertSources.set(ip, (this.alertSources.get(ip) ?? 0) + 1);
    }
  }

  /** `{label: count}` for every class, in the card's order (zeros included). */
  verdicts(): Record<string, number> {
    const o: Record<string, number> = {};
    this.classes.forEach((c, i) => (o[c] = this.counts[i]!));
    return o;
  }

  /** The `n` source addresses with the most alerts, most first (ties: address order), or [] when not counted. */
  topAlertSources(n: number): { address: string; alerts: number }[] {
    if (this.alertSources === null) return [];
    return [...this.alertSources.entries()]
      .map(([ip, alerts]): [string, number] => [typeof ip === 'number' ? formatIpv4(ip) : ip, alerts])
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, n)
      .map(([address, alerts]) => ({ address, alerts }));
  }
}

/** `BENIGN 1,204, DoS 31` (classes with no flow left out; `none` when there is none). */
export function formatVerdictCounts(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([c, n]) => `${c} ${n.toLocaleString('en-US')}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}
