/**
 * The dashboard of `sensor serve`: one page that polls GET /api/stats every 2 seconds and redraws flows/s,
 * alerts by class, flows over the recent window, top talkers and application groups. It draws with the report's
 * own chart code (chartKit, shipped as its source text), fetches only from its own origin, and holds no data
 * itself, so it is served without the token; the API calls carry the token given in the URL fragment
 * (`/#token=...`: a fragment never reaches a server or a log).
 */
import { createHash } from 'node:crypto';
import { CHART_CSS, chartKit } from '../report/charts.js';

// The browser's globals that dashboardMain uses (the project compiles without the DOM library).
interface PageElement {
  textContent: string | null;
  innerHTML: string;
  className: string;
}
declare const document: { getElementById(id: string): PageElement | null };
declare const location: { hash: string };
declare const sessionStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void };

/** Runs in the browser. Self-contained: it sees only `kit` (chartKit()) and the DOM. */
function dashboardMain(kit: ReturnType<typeof chartKit>): void {
  const $ = (id: string): PageElement => document.getElementById(id)!;
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? sessionStorage.getItem('sensor-token') ?? '';
  if (token) sessionStorage.setItem('sensor-token', token);
  let last: { at: number; maxId: number } | null = null;
  const rates: number[] = [];

  type Count = { key: string; n: number };
  type Stats = {
    benign: string | null;
    classes: string[] | null;
    flows_total: number;
    max_flow_id: number;
    flows: number;
    alerts: number;
    by_label: Count[];
    by_app: Count[] | null;
    top_talkers: Count[];
    top_alert_sources: Count[];
    top_dst_ports: Count[];
    recent: { window_s: number; end_us: number; bin_s: number; flows: number; flows_per_s: number; series: Record<string, number[]> } | null;
  };

  const table = (items: Count[], head: string): string =>
    items.length === 0 ? '<p class="none">none</p>' : `<table><tr><th>${kit.esc(head)}</th><th class="n">flows</th></tr>${items.map((c) => `<tr><td>${kit.esc(c.key)}</td><td class="n">${c.n.toLocaleString('en-US')}</td></tr>`).join('')}</table>`;

  async function tick(): Promise<void> {
    let s: Stats;
    try {
      const r = await fetch('/api/stats?window=300', { headers: token ? { Authorization: `Bearer ${token}` } : {} });
      if (!r.ok) {
        const e = (await r.json().catch(() => ({}))) as { error?: string };
        $('status').textContent = `HTTP ${r.status}: ${e.error ?? r.statusText}${r.status === 401 ? ' (open this page as /#token=YOUR_TOKEN)' : ''}`;
        $('status').className = 'bad';
        return;
      }
      s = (await r.json()) as Stats;
    } catch (e) {
      $('status').textContent = `server unreachable: ${(e as Error).message}`;
      $('status').className = 'bad';
      return;
    }
    const now = performance.now();
    // flows/s as the database grows (a live sensor writing), from the newest row id between two polls.
    if (last && now > last.at) {
      rates.push(((s.max_flow_id - last.maxId) * 1000) / (now - last.at));
      if (rates.length > 5) rates.shift();
    }
    last = { at: now, maxId: s.max_flow_id };
    const rate = rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : null;
    $('status').textContent = `updated ${new Date().toLocaleTimeString()}`;
    $('status').className = 'ok';
    $('flows').textContent = s.flows_total.toLocaleString('en-US');
    $('alerts').textContent = s.alerts.toLocaleString('en-US');
    $('rate').textContent = rate === null ? '…' : rate.toFixed(1);
    $('prate').textContent = s.recent ? s.recent.flows_per_s.toFixed(2) : '–';
    const classes = [...(s.classes ?? []), ...s.by_label.map((c) => c.key).filter((k) => !(s.classes ?? []).includes(k))];
    const colors = kit.colorMap(classes, s.benign);
    const alerts = s.by_label.filter((c) => c.key !== s.benign && c.key !== '(none)');
    $('by-class').innerHTML = alerts.length ? kit.bars(alerts.map((c) => ({ label: c.key, value: c.n, color: colors[c.key] })), { title: 'alerts by class', unit: 'flows', width: 460 }) : '<p class="none">no alerts</p>';
    $('recent').innerHTML = s.recent
      ? kit.stackedColumns(s.recent.series, { title: 'flows over the last minutes of traffic', startMs: s.recent.end_us / 1000 - s.recent.window_s * 1000, binSeconds: s.recent.bin_s, colors, width: 940, height: 200, yLabel: 'flows' })
      : '<p class="none">no flows yet</p>';
    $('talkers').innerHTML = table(s.top_talkers, 'source');
    $('alert-sources').innerHTML = table(s.top_alert_sources, 'alert source');
    $('ports').innerHTML = table(s.top_dst_ports, 'dst port');
    $('apps').innerHTML =
      s.by_app === null
        ? '<p class="none">application groups: not recorded by this database\'s model</p>'
        : s.by_app.every((c) => c.key === '(none)')
          ? '<p class="none">application groups: not recorded (these flows had no application model: --app-model)</p>'
          : kit.bars(s.by_app.map((c) => ({ label: c.key, value: c.n })), { title: 'application groups', unit: 'flows', width: 460 });
  }
  void tick();
  setInterval(() => void tick(), 2000);
}

const STYLE = `
body { font: 14px system-ui, sans-serif; margin: 16px auto; max-width: 1000px; padding: 0 12px; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 18px 0 6px; }
.tiles { display: flex; gap: 16px; flex-wrap: wrap; } .tile { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.tile b { display: block; font-size: 24px; font-variant-numeric: tabular-nums; } .tile span { color: #666; font-size: 12px; }
.row { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; } .none { color: #777; font-style: italic; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left; } .n { text-align: right; font-variant-numeric: tabular-nums; }
#status.ok { color: #376; } #status.bad { color: #b00; font-weight: bold; }
${CHART_CSS}`;

/** The page and its Content-Security-Policy (the inline script allowed by its hash, fetches to this origin only). */
export function dashboardHtml(): { html: string; csp: string } {
  const script = `"use strict";\nconst kit = (${chartKit.toString()})();\n(${dashboardMain.toString()})(kit);\n`;
  const hash = createHash('sha256').update(script).digest('base64');
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>sensor dashboard</title><style>${STYLE}</style></head><body>
<h1>sensor dashboard</h1><p id="status">loading…</p>
<div class="tiles">
<div class="tile"><b id="rate">…</b><span>flows/s written now (database growth)</span></div>
<div class="tile"><b id="prate">…</b><span>flows/s in traffic time (last 5 min of packets)</span></div>
<div class="tile"><b id="flows">…</b><span>flows in the database</span></div>
<div class="tile"><b id="alerts">…</b><span>alerts in the last 5 min of traffic</span></div>
</div>
<h2>Flows over the last 5 minutes of traffic, by class</h2><div id="recent"></div>
<p class="none">Breakdowns below: flows that started in the last 5 minutes of traffic (packet time).</p>
<div class="row"><div><h2>Alerts by class</h2><div id="by-class"></div></div><div><h2>Application groups</h2><div id="apps"></div></div></div>
<div class="row"><div><h2>Top talkers</h2><div id="talkers"></div></div><div><h2>Top alert sources</h2><div id="alert-sources"></div></div><div><h2>Top destination ports</h2><div id="ports"></div></div></div>
<script>${script}</script>
</body></html>
`;
  const csp = `default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  return { html, csp };
}
