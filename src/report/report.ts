/**
 * `sensor report`: one self-contained HTML file about one run of a sensor database, for offline forensics.
 * Everything is inline (CSS, SVG charts from charts.ts); the file fetches nothing.
 *
 * collectReport() asks the database; renderReport() turns the answers into HTML. Sections whose column the
 * database lacks (kdd, app_label, attack_score: added by later versions) say so instead of drawing.
 */
import { preprocessValue, type ModelCard } from '../classify/model-card.js';
import { lookupFeatureName } from '../classify/feature-names.js';
import { CHART_CSS, chartKit } from './charts.js';
import { cardForRun, type Count, type FlowDb, type RunRow } from './flow-db.js';
import { binIndex } from '../classify/model-card.js';
import { psi, PSI_FLOOR } from '../classify/drift.js';

const TIME_BINS = 60;
const SCORE_BINS = 20;
const TOP = 10;

/** Features shown with each of the top alerts (canonical names; the profile's spelling is used). */
const KEY_FEATURES = ['Flow Duration', 'Total Fwd Packet', 'Total Bwd packets', 'Total Length of Fwd Packet', 'Total Length of Bwd Packet', 'Flow Bytes/s', 'Flow Packets/s', 'SYN Flag Count'];

/** The usual reading of a PSI: < 0.1 stable, 0.1–0.25 moderate shift, above 0.25 major (sensor models drift flags >= 0.25). */
function psiLevel(v: number): 'stable' | 'moderate' | 'major' {
  return v < 0.1 ? 'stable' : v < 0.25 ? 'moderate' : 'major';
}

export interface DriftRow {
  feature: string;
  psi: number;
  level: ReturnType<typeof psiLevel>;
  actual: number[];
  expected: number[];
}

export interface ReportData {
  generatedAt: string;
  dbPath: string;
  profile: string;
  run: RunRow;
  flows: number;
  span: { startUs: number; endUs: number } | null;
  card: ModelCard | null;
  cardNote: string | undefined;
  benign: string | null;
  alerts: number;
  labels: Count[];
  kdd: Count[] | null;
  apps: Count[] | null;
  /** The application models that named the groups (`app_model`), when the database has the column. */
  appModels: Count[] | null;
  time: { startUs: number; binUs: number; series: Record<string, number[]> } | null;
  alertSources: Count[];
  alertTargets: Count[];
  dstPorts: Count[];
  alertDstPorts: Count[];
  scoreHist: { benign: number[] | null; alerts: number[] | null };
  attackScoreHist: number[] | null;
  threshold: number | null;
  drift: { rows: number; reference: number; features: DriftRow[]; skipped: string[] } | { absent: string };
  topAlerts: { columns: string[]; rows: Record<string, unknown>[] };
  columnsPresent: { kdd: boolean; app_label: boolean; attack_score: boolean; attack_label: boolean };
}

export function collectReport(db: FlowDb, runId: number, opts: { modelSpec?: string; top?: number; now?: Date } = {}): ReportData {
  const run = db.run(runId)!;
  const scope = { runId };
  const flows = db.count(scope);
  const span = db.span(scope);
  const cardInfo = cardForRun(db, scope, opts.modelSpec);
  const card = cardInfo.card;
  const benign = db.benignLabel(card);
  const alertSql = db.alertSql(benign);
  const alerts = db.count(scope, alertSql);

  let time: ReportData['time'] = null;
  if (span) {
    const width = Math.max(1, span.endUs - span.startUs + 1);
    const binUs = Math.max(1_000_000, Math.ceil(width / TIME_BINS / 1_000_000) * 1_000_000); // whole seconds
    const bins = Math.max(1, Math.ceil(width / binUs));
    time = { startUs: span.startUs, binUs, series: db.timeSeries(scope, span.startUs, binUs, bins) };
  }
  const benignCond = benign === null ? 'label IS NULL' : `label = '${benign.replace(/'/g, "''")}'`;
  // The run's threshold: --alert-threshold on its command line (it overrides the card's), else the card's.
  const argv = run.argv ?? [];
  const given = argv.flatMap((a, i) => (a === '--alert-threshold' ? [argv[i + 1]] : a.startsWith('--alert-threshold=') ? [a.slice(18)] : [])).map(Number).filter((t) => t > 0 && t <= 1);
  const threshold = given.length > 0 ? given[given.length - 1]! : (card?.alert_threshold ?? null);

  return {
    generatedAt: (opts.now ?? new Date()).toISOString(),
    dbPath: db.path,
    profile: db.profile,
    run,
    flows,
    span,
    card,
    cardNote: cardInfo.note,
    benign,
    alerts,
    labels: db.countBy('label', scope),
    kdd: db.has('kdd') ? db.countBy('kdd', scope) : null,
    apps: db.has('app_label') ? db.countBy('app_label', scope, 30) : null,
    appModels: db.has('app_model') ? db.countBy('app_model', scope, 5, 'app_model IS NOT NULL') : null,
    time,
    alertSources: db.countBy('src_ip', scope, TOP, alertSql),
    alertTargets: db.countBy('dst_ip', scope, TOP, alertSql),
    dstPorts: db.countBy('dst_port', scope, TOP),
    alertDstPorts: db.countBy('dst_port', scope, TOP, alertSql),
    scoreHist: { benign: db.histogram('score', scope, 0, 1, SCORE_BINS, benignCond), alerts: db.histogram('score', scope, 0, 1, SCORE_BINS, alertSql) },
    attackScoreHist: db.histogram('attack_score', scope, 0, 1, SCORE_BINS),
    threshold,
    drift: driftOf(db, runId, card),
    topAlerts: topAlerts(db, runId, alertSql, opts.top ?? 25),
    columnsPresent: { kdd: db.has('kdd'), app_label: db.has('app_label'), attack_score: db.has('attack_score'), attack_label: db.has('attack_label') },
  };
}

interface DriftFeatureRef {
  edges: number[];
  fractions: number[];
}

/** PSI per feature of the card's drift_reference, over the run's flows, values preprocessed as the model sees them. */
function driftOf(db: FlowDb, runId: number, card: ModelCard | null): ReportData['drift'] {
  if (!card) return { absent: 'the model card of this run is not known (see the Model section)' };
  const ref = (card as unknown as { drift_reference?: { rows?: number; features?: Record<string, DriftFeatureRef> } }).drift_reference;
  if (!ref || typeof ref.features !== 'object' || ref.features === null) return { absent: `the card of ${card.name}@${card.version} has no drift_reference` };
  const names = Object.keys(ref.features);
  const cols: { name: string; sql: string; j: number; ref: DriftFeatureRef }[] = [];
  const skipped: string[] = [];
  for (const name of names) {
    const r = ref.features[name]!;
    const j = card.inputs.indexOf(name);
    const l = lookupFeatureName(name);
    const sql = l.kind === 'identity' ? { 'Src Port': 'src_port', 'Dst Port': 'dst_port', Protocol: 'protocol' }[l.canonical] : l.kind === 'feature' ? db.featureColumn(name, l.copy) : undefined;
    if (j < 0 || sql === undefined || !Array.isArray(r.edges) || !Array.isArray(r.fractions) || r.fractions.length !== r.edges.length + 1) {
      skipped.push(name);
      continue;
    }
    cols.push({ name, sql, j, ref: r });
  }
  const counts = cols.map((c) => new Array<number>(c.ref.fractions.length).fill(0));
  let rows = 0;
  if (cols.length > 0) {
    const stmt = db.db.prepare(`SELECT ${cols.map((c) => `"${c.sql}"`).join(', ')} FROM flows WHERE run_id = ?`).raw(true);
    for (const row of stmt.iterate(runId) as Iterable<(number | null)[]>) {
      rows++;
      for (let k = 0; k < cols.length; k++) {
        const v = row[k];
        const x = preprocessValue(v === null || v === undefined ? NaN : v, card.preprocessing, cols[k]!.j);
        counts[k]![binIndex(x, cols[k]!.ref.edges)]!++;
      }
    }
  }
  const features: DriftRow[] = cols.map((c, k) => {
    const actual = counts[k]!.map((n) => (rows > 0 ? n / rows : 0));
    const v = psi(actual, c.ref.fractions);
    return { feature: c.name, psi: v, level: psiLevel(v), actual, expected: c.ref.fractions };
  });
  features.sort((a, b) => b.psi - a.psi);
  return { rows, reference: typeof ref.rows === 'number' ? ref.rows : 0, features, skipped };
}

function topAlerts(db: FlowDb, runId: number, alertSql: string, limit: number): ReportData['topAlerts'] {
  const verdictCols = ['label', 'score', ...['attack_label', 'attack_score', 'kdd', 'app_label', 'context'].filter((c) => db.has(c))];
  const features = KEY_FEATURES.map((n) => ({ n, sql: db.featureColumn(n) })).filter((f): f is { n: string; sql: string } => f.sql !== undefined);
  const order = db.has('attack_score') ? 'attack_score DESC, score DESC' : 'score DESC';
  const select = ['timestamp', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'protocol', ...verdictCols].map((c) => `"${c}"`).concat(features.map((f) => `"${f.sql}" AS "${f.n}"`));
  const rows = db.db.prepare(`SELECT ${select.join(', ')} FROM flows WHERE run_id = ? AND ${alertSql} ORDER BY ${order}, start_us LIMIT ${Math.floor(limit)}`).all(runId) as Record<string, unknown>[];
  return { columns: ['timestamp', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'protocol', ...verdictCols, ...features.map((f) => f.n)], rows };
}

// ---- HTML ---------------------------------------------------------------------------------------------------

const kit = chartKit();
const esc = kit.esc;
const num = (v: number): string => v.toLocaleString('en-US');
const isoUs = (us: number): string => new Date(Math.floor(us / 1000)).toISOString().replace('T', ' ').replace('Z', ' UTC');

function countTable(items: Count[], head: [string, string], total?: number): string {
  if (items.length === 0) return '<p class="none">none</p>';
  return `<table class="counts"><thead><tr><th>${esc(head[0])}</th><th class="n">${esc(head[1])}</th>${total ? '<th class="n">share</th>' : ''}</tr></thead><tbody>${items
    .map((c) => `<tr><td>${esc(c.key)}</td><td class="n">${num(c.n)}</td>${total ? `<td class="n">${((100 * c.n) / total).toFixed(1)} %</td>` : ''}</tr>`)
    .join('')}</tbody></table>`;
}

function notRecorded(what: string): string {
  return `<p class="none">${esc(what)}: not recorded by this run's model (the database has no such column).</p>`;
}

function counterRows(obj: unknown, prefix = ''): [string, string][] {
  if (typeof obj !== 'object' || obj === null) return [];
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number') {
      if (v !== 0 || prefix === '') out.push([key, num(v)]);
    } else if (typeof v === 'object' && v !== null) out.push(...counterRows(v, key));
  }
  return out;
}

export function renderReport(d: ReportData): string {
  const r = d.run;
  const capture = (r.counters?.capture ?? {}) as Record<string, number>;
  const classes = d.card ? [...d.card.classes] : d.labels.map((l) => l.key);
  for (const l of d.labels) if (!classes.includes(l.key)) classes.push(l.key);
  const colors = kit.colorMap(classes, d.benign);
  const sections: string[] = [];
  const section = (id: string, title: string, body: string): void => {
    sections.push(`<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`);
  };

  // The run
  const drops =
    typeof capture.kernel_dropped === 'number' || typeof capture.interface_dropped === 'number'
      ? ['kernel_dropped', 'interface_dropped'].map((k) => `${k.replace('_', ' ')} ${typeof capture[k] === 'number' ? num(capture[k]) : 'n/a'}`).join(', ')
      : r.mode === 'replay'
        ? 'none (a replay reads every packet of its files)'
        : 'not recorded';
  const runRows: [string, string][] = [
    ['run', `#${r.id} (${r.mode ?? '?'}${r.ended_at ? '' : ', not ended: live or interrupted'})`],
    ['source', r.source ?? ''],
    ['profile', r.profile ?? d.profile],
    ['started / ended', `${r.started_at ?? '?'} / ${r.ended_at ?? '—'}`],
    ['traffic time span', d.span ? `${isoUs(d.span.startUs)} – ${isoUs(d.span.endUs)} (${((d.span.endUs - d.span.startUs) / 1e6).toFixed(1)} s)` : 'no flows'],
    ['packets', r.packets === null ? 'n/a' : num(r.packets)],
    ['flows (rows in this database)', num(d.flows)],
    ['alerts', `${num(d.alerts)}${d.flows > 0 ? ` (${((100 * d.alerts) / d.flows).toFixed(2)} % of flows)` : ''}${d.benign ? `: flows whose label is not ${d.benign}` : ''}`],
    ['drops', drops],
    ['command', (r.argv ?? []).join(' ')],
  ];
  const counters = counterRows(r.counters);
  section(
    'run',
    'The run',
    `<table class="kv">${runRows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>` +
      (counters.length > 0 ? `<details><summary>counters (non-zero)</summary><table class="kv">${counters.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table></details>` : ''),
  );

  // The model
  const model = d.card
    ? `<p>${esc(d.card.name)}@${esc(d.card.version)}${d.card.description ? `: ${esc(d.card.description)}` : ''}. Classes ${d.card.classes.map((k) => esc(k)).join(', ')}; benign class ${esc(d.card.benign)}; ${d.threshold === null ? 'no alert threshold (most likely class)' : `alert threshold ${Number(d.threshold.toPrecision(4))}${d.card.alert_threshold !== undefined && d.card.alert_threshold !== d.threshold ? ` (this run's --alert-threshold; the card's is ${Number(d.card.alert_threshold.toPrecision(4))})` : ''}`}.</p>`
    : d.labels.every((l) => l.key === '(none)')
      ? `<p class="none">No verdicts in this run (${esc(d.cardNote ?? '')}), so no alerts.</p>`
      : `<p class="none">Model card not found: ${esc(d.cardNote ?? '')}. ${d.benign ? `Alerts are flows labelled other than ${esc(d.benign)}.` : 'No benign class found (BENIGN, benign, normal): every labelled flow counts as an alert.'}</p>`;
  section('model', 'Model', model);

  // Over time
  section(
    'time',
    'Flows over time, by class',
    d.time
      ? kit.stackedColumns(d.time.series, { title: 'flows per time bin by class', startMs: d.time.startUs / 1000, binSeconds: d.time.binUs / 1e6, colors, yLabel: 'flows' }) +
          legend(Object.keys(d.time.series), colors) +
          (() => {
            const alertSeries = Object.fromEntries(Object.entries(d.time.series).filter(([k]) => k !== d.benign && k !== '(none)'));
            return Object.keys(alertSeries).length > 0
              ? `<h3>Alerts over time</h3>${kit.stackedColumns(alertSeries, { title: 'alerts per time bin by class', startMs: d.time.startUs / 1000, binSeconds: d.time.binUs / 1e6, colors, yLabel: 'alerts', height: 180 })}`
              : '<p class="none">No alerts in this run.</p>';
          })()
      : '<p class="none">This run has no flows.</p>',
  );

  // Verdicts
  section(
    'verdicts',
    'Verdict counts',
    `<div class="row"><div>${kit.bars(
      d.labels.map((l) => ({ label: l.key, value: l.n, color: colors[l.key] ?? kit.PALETTE[9]! })),
      { title: 'flows per verdict', unit: 'flows' },
    )}</div><div>${countTable(d.labels, ['label', 'flows'], d.flows)}</div></div>`,
  );

  // Application groups
  section(
    'apps',
    'Application groups',
    d.apps === null
      ? notRecorded('Application groups (app_label)')
      : d.apps.every((a) => a.key === '(none)')
        ? '<p class="none">Application groups: not recorded: this run had no application model (app_label is empty for this run; see --app-model).</p>'
        : `${d.appModels && d.appModels.length > 0 ? `<p>Named by ${d.appModels.map((m) => esc(m.key)).join(', ')}.</p>` : ''}<div class="row"><div>${kit.bars(d.apps.map((a) => ({ label: a.key, value: a.n })), { title: 'flows per application group', unit: 'flows' })}</div><div>${countTable(d.apps, ['application', 'flows'], d.flows)}</div></div>`,
  );

  // KDD
  section(
    'kdd',
    'KDD categories',
    d.kdd === null
      ? notRecorded('KDD categories (kdd)')
      : d.kdd.every((a) => a.key === '(none)')
        ? "<p class=\"none\">KDD categories: not recorded by this run's model (its card has no kdd map).</p>"
        : `<div class="row"><div>${kit.bars(d.kdd.map((a) => ({ label: a.key, value: a.n, color: a.key === 'normal' ? kit.BENIGN_COLOR : undefined })), { title: 'flows per KDD category', unit: 'flows' })}</div><div>${countTable(d.kdd, ['category', 'flows'], d.flows)}</div></div>`,
  );

  // Sources and targets
  const barsOf = (items: Count[], title: string): string => kit.bars(items.map((i) => ({ label: i.key, value: i.n })), { title, unit: 'flows', width: 420 });
  section(
    'talkers',
    'Top sources and targets of alerts, top destination ports',
    `<div class="row"><div><h3>Alert sources (src_ip)</h3>${barsOf(d.alertSources, 'alert sources')}</div><div><h3>Alert targets (dst_ip)</h3>${barsOf(d.alertTargets, 'alert targets')}</div></div>` +
      `<div class="row"><div><h3>Destination ports, all flows</h3>${barsOf(d.dstPorts, 'destination ports')}</div><div><h3>Destination ports of alerts</h3>${barsOf(d.alertDstPorts, 'destination ports of alerts')}</div></div>`,
  );

  // Scores
  const edges = Array.from({ length: SCORE_BINS + 1 }, (_, i) => i / SCORE_BINS);
  const hist = (counts: number[] | null, title: string, color: string, marker?: { at: number; label: string }): string =>
    counts === null ? notRecorded(title) : `<div><h3>${esc(title)}</h3>${kit.histogram(counts, edges, { title, color, xLabel: 'probability', ...(marker ? { marker } : {}) })}</div>`;
  section(
    'scores',
    'Score histograms',
    `<div class="row">${hist(d.scoreHist.benign, `score of ${d.benign ?? 'unlabelled'} verdicts`, kit.BENIGN_COLOR)}${hist(d.scoreHist.alerts, 'score of alerts', kit.PALETTE[0]!)}` +
      (d.columnsPresent.attack_score
        ? hist(d.attackScoreHist, 'attack_score of every flow (the most likely attack class)', kit.PALETTE[1]!, d.threshold !== null ? { at: d.threshold, label: `threshold ${Number(d.threshold.toPrecision(4))}` } : undefined)
        : `<div><h3>attack_score</h3>${notRecorded('attack_score')}</div>`) +
      '</div>',
  );

  // Drift
  section('drift', 'Drift against the training data', driftHtml(d));

  // Top alerts
  const t = d.topAlerts;
  section(
    'alerts',
    `Top ${t.rows.length} alerts`,
    t.rows.length === 0
      ? '<p class="none">No alerts in this run.</p>'
      : `<div class="scroll"><table class="alerts"><thead><tr>${t.columns.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${t.rows
          .map((row) => `<tr>${t.columns.map((h) => `<td${typeof row[h] === 'number' ? ' class="n"' : ''}>${esc(cell(row[h]))}</td>`).join('')}</tr>`)
          .join('')}</tbody></table></div>`,
  );

  const title = `sensor report: run ${r.id}, ${r.source ?? ''}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 24px auto; max-width: 1120px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; } h3 { font-size: 14px; margin: 12px 0 4px; }
.sub { color: #666; margin-top: 0; } .none { color: #777; font-style: italic; }
nav a { margin-right: 12px; color: #345; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; text-align: left; vertical-align: top; } .n { text-align: right; font-variant-numeric: tabular-nums; }
table.kv th { color: #555; font-weight: normal; white-space: nowrap; } table.counts td, table.counts th, table.alerts td, table.alerts th { border-bottom: 1px solid #eee; }
table.alerts { font-size: 12px; } table.alerts td { white-space: nowrap; } .scroll { overflow-x: auto; }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.legend span { display: inline-block; margin-right: 14px; } .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
.major { color: #b00; font-weight: bold; } .moderate { color: #b60; }
${CHART_CSS}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="sub">Database ${esc(d.dbPath)} (profile ${esc(d.profile)}), generated ${esc(d.generatedAt)} by sensor report.</p>
<nav>${['run', 'model', 'time', 'verdicts', 'apps', 'kdd', 'talkers', 'scores', 'drift', 'alerts'].map((id) => `<a href="#${id}">${id}</a>`).join('')}</nav>
${sections.join('\n')}
</body></html>
`;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, '');
  return String(v);
}

function legend(keys: string[], colors: Record<string, string>): string {
  return `<p class="legend">${keys.map((k) => `<span><i style="background:${esc(colors[k] ?? '#999')}"></i>${esc(k)}</span>`).join('')}</p>`;
}

function driftHtml(d: ReportData): string {
  if ('absent' in d.drift) return `<p class="none">Not shown: ${esc(d.drift.absent)}.</p>`;
  const dr = d.drift;
  if (dr.rows === 0) return '<p class="none">This run has no flows to compare.</p>';
  const top = dr.features.slice(0, 20);
  const counts = { major: dr.features.filter((f) => f.level === 'major').length, moderate: dr.features.filter((f) => f.level === 'moderate').length };
  return (
    `<p>Population stability index (PSI) of each input over this run's ${num(dr.rows)} flows, against the card's drift_reference (${num(dr.reference)} training rows), values preprocessed as the model sees them. ` +
    `PSI = Σ (q − p)·ln(q/p) over the reference bins, q this run's share, p training's, each floored at ${PSI_FLOOR} (as sensor models drift computes it); below 0.1 stable, 0.1–0.25 moderate, 0.25 and above major shift. ` +
    `<b>${counts.major}</b> major, <b>${counts.moderate}</b> moderate of ${dr.features.length} inputs.${dr.skipped.length > 0 ? ` Not compared (unknown column): ${esc(dr.skipped.join(', '))}.` : ''}</p>` +
    kit.bars(top.map((f) => ({ label: f.feature, value: Number(f.psi.toFixed(4)), color: f.level === 'major' ? kit.PALETTE[0] : f.level === 'moderate' ? kit.PALETTE[1] : kit.PALETTE[2] })), { title: 'PSI per input, highest first', width: 640 }) +
    `<details><summary>every input</summary><table class="counts"><thead><tr><th>input</th><th class="n">PSI</th><th>level</th></tr></thead><tbody>${dr.features
      .map((f) => `<tr><td>${esc(f.feature)}</td><td class="n">${f.psi.toFixed(4)}</td><td class="${f.level}">${f.level}</td></tr>`)
      .join('')}</tbody></table></details>`
  );
}
