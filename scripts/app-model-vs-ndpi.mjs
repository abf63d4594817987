// The application model's verdicts against nDPI's, on any captures: how a user checks the model on traffic of their
// own, and how it is measured on captures it never saw.
//
//   node scripts/app-model-vs-ndpi.mjs [--ndpi-reader PATH | --results DIR] [--app-model CARD] [--json] CAPTURE...
//
// Each capture is replayed by the sensor (profile cic2017, the application model's, with the default models or
// --app-model) into SQLite. nDPI's verdicts come from running ndpiReader on the same capture (`ndpiReader -i CAPTURE
// -v 2`; Debian's libndpi-bin, or --ndpi-reader PATH), or from its saved output CAPTURE.out in --results DIR (the
// form of ../shared/data/ndpi/result). A sensor flow is matched to nDPI's flow of the same protocol and endpoint
// pair, as the training joins them (models/train/app_train.py); pairs nDPI prints twice with different categories,
// and flows nDPI puts in Malware or Mining, are left out. nDPI's category gives the group by the table of
// ../shared/data/ndpi/README.md. Printed: flows matched, accuracy over flows and the mean over captures, per group
// precision / recall / F1, and the most frequent confusions. With --json, one JSON object instead. Exits 0 (a report),
// 2 on bad arguments or a capture the sensor or ndpiReader cannot read.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ndpiResultFlows, ndpiResultFlowsOfText, replayFlows, tupleKey } from './server-name-agreement.mjs';
import { categoryGroups } from './payload-protocol-agreement.mjs';

const NOT_BENIGN = new Set(['Malware', 'Mining']);

function usage(message) {
  process.stderr.write(`app-model-vs-ndpi: ${message}\nusage: node scripts/app-model-vs-ndpi.mjs [--ndpi-reader PATH | --results DIR] [--app-model CARD] [--json] CAPTURE...\n`);
  process.exit(2);
}

/** The sensor's flows of `pcap` with their application verdicts. */
function sensorVerdicts(pcap, appModel) {
  try {
    return replayFlows(pcap, ['--profile', 'cic2017', ...(appModel ? ['--app-model', appModel] : [])], 'src_ip, src_port, dst_ip, dst_port, protocol, app_label, app_model', 600_000);
  } catch (e) {
    usage(`the sensor could not replay ${pcap}: ${e.message}`);
  }
}

/** nDPI's flows of `pcap`: from --results DIR, or from running ndpiReader. */
function ndpiVerdicts(pcap, opts) {
  if (opts.results) {
    const out = join(opts.results, `${basename(pcap)}.out`);
    if (!existsSync(out)) usage(`no ${out} for ${pcap}`);
    return ndpiResultFlows(out, { every: true });
  }
  const r = spawnSync(opts.reader, ['-i', pcap, '-v', '2'], { encoding: 'utf8', timeout: 600_000, maxBuffer: 1 << 28 });
  if (r.error) usage(`cannot run ${opts.reader}: ${r.error.message} (Debian: apt install libndpi-bin, or give --ndpi-reader or --results)`);
  if (r.status !== 0) usage(`${opts.reader} could not read ${pcap} (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`);
  return ndpiResultFlowsOfText(r.stdout, { every: true });
}

/** One capture's matched flows: [{ truth, predicted }], and what was left out. */
export function matchCapture(flows, ndpi, groups) {
  const byKey = new Map();
  for (const n of ndpi) {
    const g = NOT_BENIGN.has(n.cat) ? null : (groups[n.cat] ?? 'Other');
    const prev = byKey.get(n.key);
    byKey.set(n.key, prev === undefined || prev === g ? g : 'ambiguous');
  }
  const matched = [];
  const left = { noNdpi: 0, ambiguous: 0, notBenign: 0, noVerdict: 0 };
  for (const f of flows) {
    const g = byKey.get(tupleKey(f.protocol, f.src_ip, f.src_port, f.dst_ip, f.dst_port));
    if (g === undefined) left.noNdpi++;
    else if (g === 'ambiguous') left.ambiguous++;
    else if (g === null) left.notBenign++;
    else if (f.app_label === null) left.noVerdict++;
    else matched.push({ truth: g, predicted: f.app_label });
  }
  return { matched, left };
}

/** Accuracy, per-group precision / recall / F1 and confusions over `rows` ({ truth, predicted }). */
export function score(rows) {
  const groups = [...new Set(rows.flatMap((r) => [r.truth, r.predicted]))].sort();
  const perGroup = {};
  for (const g of groups) {
    const tp = rows.filter((r) => r.truth === g && r.predicted === g).length;
    const support = rows.filter((r) => r.truth === g).length;
    const said = rows.filter((r) => r.predicted === g).length;
    const precision = said ? tp / said : 0;
    const recall = support ? tp / support : 0;
    perGroup[g] = { support, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
  }
  const confusions = {};
  for (const r of rows) if (r.truth !== r.predicted) confusions[`${r.truth} -> ${r.predicted}`] = (confusions[`${r.truth} -> ${r.predicted}`] ?? 0) + 1;
  const present = groups.filter((g) => perGroup[g].support > 0);
  return {
    flows: rows.length,
    accuracy: rows.length ? rows.filter((r) => r.truth === r.predicted).length / rows.length : null,
    macroF1: present.length ? present.reduce((s, g) => s + perGroup[g].f1, 0) / present.length : null,
    perGroup,
    confusions: Object.entries(confusions).sort((a, b) => b[1] - a[1]),
  };
}

function main() {
  const args = process.argv.slice(2);
  const opts = { reader: 'ndpiReader', results: null, appModel: null, json: false };
  const pcaps = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--ndpi-reader' || a === '--results' || a === '--app-model') {
      if (i + 1 >= args.length) usage(`${a} needs a value`);
      opts[a === '--ndpi-reader' ? 'reader' : a === '--results' ? 'results' : 'appModel'] = args[++i];
    } else if (a === '--json') opts.json = true;
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else pcaps.push(a);
  }
  if (pcaps.length === 0) usage('no capture given');
  const groups = categoryGroups();
  const all = [];
  const perCapture = [];
  const left = { noNdpi: 0, ambiguous: 0, notBenign: 0, noVerdict: 0 };
  let model = null;
  for (const pcap of pcaps) {
    if (!existsSync(pcap)) usage(`no such capture: ${pcap}`);
    const flows = sensorVerdicts(pcap, opts.appModel);
    model ??= flows.find((f) => f.app_model)?.app_model ?? null;
    const m = matchCapture(flows, ndpiVerdicts(pcap, opts), groups);
    for (const k of Object.keys(left)) left[k] += m.left[k];
    all.push(...m.matched);
    if (m.matched.length > 0) perCapture.push({ capture: basename(pcap), flows: m.matched.length, accuracy: m.matched.filter((r) => r.truth === r.predicted).length / m.matched.length });
  }
  const s = score(all);
  const result = {
    model,
    ndpi: opts.results ? `results in ${opts.results}` : opts.reader,
    captures: pcaps.length,
    capturesMatched: perCapture.length,
    ...s,
    perCaptureMeanAccuracy: perCapture.length ? perCapture.reduce((t, c) => t + c.accuracy, 0) / perCapture.length : null,
    left,
    perCapture,
  };
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const f3 = (x) => (x === null ? '-' : x.toFixed(3));
  console.log(`model ${model ?? '(none)'}, nDPI: ${result.ndpi}`);
  console.log(`${pcaps.length} captures (${perCapture.length} with matched flows): ${s.flows} flows matched; left out: ${left.noNdpi} without an nDPI flow, ${left.ambiguous} printed twice by nDPI with different categories, ${left.notBenign} Malware/Mining, ${left.noVerdict} without a verdict`);
  console.log(`accuracy ${f3(s.accuracy)}, macro-F1 ${f3(s.macroF1)}, mean accuracy per capture ${f3(result.perCaptureMeanAccuracy)}`);
  console.log('group          support  precision  recall     F1');
  for (const [g, v] of Object.entries(s.perGroup)) console.log(`${g.padEnd(14)} ${String(v.support).padStart(7)}  ${f3(v.precision).padStart(9)}  ${f3(v.recall).padStart(6)}  ${f3(v.f1).padStart(5)}`);
  console.log('most frequent confusions (nDPI -> model):');
  for (const [k, n] of s.confusions.slice(0, 12)) console.log(`  ${String(n).padStart(5)}  ${k}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
