/**
 * Small inline-SVG charts (horizontal bars, stacked columns over time, histograms) for the HTML report and the
 * dashboard. No chart library: a few shapes are all either needs, and the output must not fetch anything.
 *
 * chartKit() holds every helper inside one function that references nothing outside itself, so the dashboard
 * can ship the very same code to the browser as `(${chartKit.toString()})()` and draw what the report draws.
 * Every data mark is a <rect class="mark"> with a <title> (the exact value on hover); tests count them.
 */
export function chartKit() {
  const PALETTE = ['#e45756', '#f58518', '#54a24b', '#b279a2', '#eeca3b', '#ff9da6', '#9d755d', '#72b7b2', '#4c78a8', '#79706e'];
  const BENIGN_COLOR = '#9ecae9';

  function esc(s: unknown): string {
    return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
  }

  function fmt(v: number): string {
    if (!Number.isFinite(v)) return String(v);
    const a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(a >= 1e10 ? 0 : 1) + 'G';
    if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
    if (a >= 1e4) return (v / 1e3).toFixed(a >= 1e5 ? 0 : 1) + 'k';
    if (Number.isInteger(v)) return String(v);
    return v.toFixed(a >= 10 ? 1 : a >= 1 ? 2 : 3);
  }

  /** A stable color per class: the benign one light blue, the others from the palette in the order given. */
  function colorMap(classes: readonly string[], benign: string | null): Record<string, string> {
    const m: Record<string, string> = {};
    let k = 0;
    for (const c of classes) m[c] = c === benign ? BENIGN_COLOR : PALETTE[k++ % PALETTE.length]!;
    return m;
  }

  /** Horizontal bars, one per item, value printed at the end. */
  function bars(items: readonly { label: string; value: number; color?: string }[], opts: { title: string; width?: number; unit?: string }): string {
    const width = opts.width ?? 560;
    const labelW = Math.min(220, 12 + 7 * Math.max(4, ...items.map((i) => i.label.length)));
    const row = 22;
    const h = 10 + row * Math.max(1, items.length);
    const max = Math.max(1e-12, ...items.map((i) => i.value));
    const plotW = width - labelW - 70;
    let s = `<svg class="chart bars" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}" role="img" aria-label="${esc(opts.title)}">`;
    if (items.length === 0) s += `<text x="8" y="20" class="empty">no data</text>`;
    items.forEach((it, i) => {
      const y = 5 + i * row;
      const w = Math.max(it.value > 0 ? 1 : 0, (plotW * it.value) / max);
      s += `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${esc(it.label)}</text>`;
      s += `<rect class="mark" x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 6}" fill="${it.color ?? PALETTE[8]}"><title>${esc(it.label)}: ${esc(it.value)}${opts.unit ? ' ' + esc(opts.unit) : ''}</title></rect>`;
      s += `<text x="${(labelW + w + 5).toFixed(1)}" y="${y + 15}">${esc(fmt(it.value))}</text>`;
    });
    return s + '</svg>';
  }

  /**
   * Stacked columns over time: `series[class][bin]` counts, bins of `binSeconds` from `startMs` (epoch ms).
   * Axis labels in UTC.
   */
  function stackedColumns(
    series: Record<string, readonly number[]>,
    opts: { title: string; startMs: number; binSeconds: number; colors: Record<string, string>; width?: number; height?: number; yLabel?: string },
  ): string {
    const width = opts.width ?? 760;
    const height = opts.height ?? 240;
    const left = 52;
    const bottom = 36;
    const top = 10;
    const classes = Object.keys(series);
    const n = Math.max(0, ...classes.map((c) => series[c]!.length));
    const totals: number[] = [];
    for (let b = 0; b < n; b++) totals.push(classes.reduce((a, c) => a + (series[c]![b] ?? 0), 0));
    const max = Math.max(1, ...totals);
    const plotW = width - left - 10;
    const plotH = height - top - bottom;
    const colW = n > 0 ? plotW / n : plotW;
    let s = `<svg class="chart columns" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(opts.title)}">`;
    s += `<line x1="${left}" y1="${top + plotH}" x2="${width - 10}" y2="${top + plotH}" class="axis"/>`;
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      const y = top + plotH - (plotH * k) / 4;
      s += `<line x1="${left}" y1="${y}" x2="${width - 10}" y2="${y}" class="grid"/><text x="${left - 4}" y="${y + 4}" text-anchor="end">${esc(fmt(v))}</text>`;
    }
    if (opts.yLabel) s += `<text x="12" y="${top + plotH / 2}" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle">${esc(opts.yLabel)}</text>`;
    if (n === 0) s += `<text x="${left + 8}" y="${top + 20}" class="empty">no data</text>`;
    for (let b = 0; b < n; b++) {
      let y = top + plotH;
      const t = new Date(opts.startMs + b * opts.binSeconds * 1000).toISOString().replace('T', ' ').slice(0, 19);
      for (const c of classes) {
        const v = series[c]![b] ?? 0;
        if (v <= 0) continue;
        const h = Math.max(0.5, (plotH * v) / max);
        y -= h;
        s += `<rect class="mark" x="${(left + b * colW + 0.5).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0.8, colW - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${opts.colors[c] ?? PALETTE[9]}"><title>${esc(t)} UTC: ${esc(c)} ${esc(v)}</title></rect>`;
      }
    }
    const ticks = Math.min(n, 6);
    for (let k = 0; k < ticks; k++) {
      const b = Math.round((k * (n - 1)) / Math.max(1, ticks - 1));
      const t = new Date(opts.startMs + b * opts.binSeconds * 1000).toISOString();
      const label = opts.binSeconds * n > 86400 * 2 ? t.slice(5, 16).replace('T', ' ') : t.slice(11, 19);
      s += `<text x="${(left + (b + 0.5) * colW).toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle">${esc(label)}</text>`;
    }
    s += `<text x="${width - 10}" y="${height - 4}" text-anchor="end" class="note">UTC, ${esc(fmt(opts.binSeconds))} s per column</text>`;
    return s + '</svg>';
  }

  /** A histogram: counts[i] for the bin (edges[i], edges[i+1]]; an optional vertical marker (a threshold). */
  function histogram(counts: readonly number[], edges: readonly number[], opts: { title: string; color?: string; marker?: { at: number; label: string }; width?: number; height?: number; xLabel?: string }): string {
    const width = opts.width ?? 360;
    const height = opts.height ?? 180;
    const left = 46;
    const bottom = 34;
    const top = 8;
    const plotW = width - left - 10;
    const plotH = height - top - bottom;
    const max = Math.max(1, ...counts);
    const lo = edges[0] ?? 0;
    const hi = edges[edges.length - 1] ?? 1;
    const x = (v: number): number => left + (plotW * (v - lo)) / (hi - lo || 1);
    let s = `<svg class="chart histogram" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(opts.title)}">`;
    s += `<line x1="${left}" y1="${top + plotH}" x2="${width - 10}" y2="${top + plotH}" class="axis"/>`;
    s += `<text x="${left - 4}" y="${top + 10}" text-anchor="end">${esc(fmt(max))}</text><text x="${left - 4}" y="${top + plotH}" text-anchor="end">0</text>`;
    counts.forEach((c, i) => {
      if (c <= 0) return;
      const x0 = x(edges[i]!);
      const x1 = x(edges[i + 1]!);
      const h = Math.max(0.5, (plotH * c) / max);
      s += `<rect class="mark" x="${(x0 + 0.5).toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${Math.max(0.8, x1 - x0 - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${opts.color ?? PALETTE[8]}"><title>(${esc(fmt(edges[i]!))}, ${esc(fmt(edges[i + 1]!))}]: ${esc(c)}</title></rect>`;
    });
    for (const v of [lo, (lo + hi) / 2, hi]) s += `<text x="${x(v).toFixed(1)}" y="${top + plotH + 14}" text-anchor="middle">${esc(fmt(v))}</text>`;
    if (opts.xLabel) s += `<text x="${left + plotW / 2}" y="${height - 3}" text-anchor="middle" class="note">${esc(opts.xLabel)}</text>`;
    if (opts.marker) {
      const mx = x(opts.marker.at).toFixed(1);
      s += `<line x1="${mx}" y1="${top}" x2="${mx}" y2="${top + plotH}" class="marker"/><text x="${mx}" y="${top + 10}" class="marker-label" dx="3">${esc(opts.marker.label)}</text>`;
    }
    return s + '</svg>';
  }

  return { esc, fmt, colorMap, bars, stackedColumns, histogram, PALETTE, BENIGN_COLOR };
}

/** CSS shared by the report and the dashboard (chart text, axes, marks). */
export const CHART_CSS = `
svg.chart { font: 11px system-ui, sans-serif; overflow: visible; }
svg.chart text { fill: #333; }
svg.chart .axis { stroke: #888; }
svg.chart .grid { stroke: #eee; }
svg.chart .note, svg.chart .empty { fill: #777; }
svg.chart .marker { stroke: #c00; stroke-dasharray: 4 3; }
svg.chart .marker-label { fill: #c00; }
`;
