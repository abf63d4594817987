#!/usr/bin/env python3
"""What the context stage (src/classify/context.ts) adds, measured as a user would see it (issue 9): every capture
replayed by this checkout's sensor with the default attack model (`--db`, `--no-app-model`), the stored `label` and
`context` read back. One run gives both sides: the stage only relabels flows the model called BENIGN and says so in
`context`, so "without the stage" is BENIGN where `context` is set and `label` elsewhere (the same as a
`--no-context` run, test/context-replay.test.ts checks that).

    python3 models/train/measure_context.py [--model models/cic2017-attack.json] [--json OUT] [--ndpi-limit N]

Per tool (labelled as in training: sources.py's labels.csv rules, connection tails, availability probes and exchanges
cut by a phase's end counted apart): flows, share flagged as any attack and share given the right class, with and
without the stage, on both labs (../shared/data/lab + run2, models/train/data/lab-tools). Then the same with the
model made blind (`--alert-threshold 1`: it calls nearly every flow benign, as a model does on a tool it has never
seen): what the stage catches by itself. Benign false-positive rate: the labs' benign flows (benign phase and the
client's background) and nDPI's benign captures (sources.NDPI_NOT_BENIGN left out, and flows nDPI calls malware,
mining or an exploit), each capture replayed alone.
"""
from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True
import debian_python  # noqa: E402

debian_python.require('measure_context.py', 'python3-sklearn python3-pandas')

import argparse
import hashlib
import json
import shutil
import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sources  # noqa: E402
from sources import BENIGN  # noqa: E402
from measure_tools import tool_table  # noqa: E402

# Extra sensor arguments of the run being measured (set per pass in main()).
EXTRA: list[str] = []


def replay(pcap: str, work: str, model: str | None = None) -> pd.DataFrame:
    """sources.replay with the context column: one capture through the sensor with the model, its flows with
    identity, the cic2017 features (profile names), `verdict` (label), `attack_label` and `context`."""
    db = os.path.join(work, hashlib.sha1(f'{pcap}|{model}|{EXTRA}'.encode()).hexdigest()[:16] + '.sqlite')
    for p in (db, db + '-wal', db + '-shm'):
        if os.path.exists(p):
            os.remove(p)
    cmd = ['node', os.path.join(sources.ROOT, 'bin', 'sensor.js'), '--replay', pcap, '--profile', sources.PROFILE, '--db', db,
           '--model', model or MODEL, '--no-app-model', *EXTRA, '-q']
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f'measure_context.py: {" ".join(cmd)} failed ({r.returncode}): {r.stderr.strip()}')
    con = sqlite3.connect(db)
    cols = json.loads(con.execute("SELECT value FROM meta WHERE key = 'columns'").fetchone()[0])
    sql = ', '.join(f'"{c["sql"]}"' for c in cols)
    d = pd.read_sql(f'SELECT src_ip, src_port, dst_ip, dst_port, protocol, start_us, end_us, {sql}, label AS verdict, attack_label, context '
                    'FROM flows ORDER BY start_us, id', con)
    con.close()
    for p in (db, db + '-wal', db + '-shm'):
        os.remove(p) if os.path.exists(p) else None
    names, seen = [], set()
    for c in cols:
        n = c['name']
        names.append(n + '.1' if n in seen else n)
        seen.add(n)
    d.columns = ['src_ip', 'src_port', 'dst_ip', 'dst_port', 'protocol', 'start_us', 'end_us', *names, 'verdict', 'attack_label', 'context']
    for n in names:
        d[n] = d[n].astype(float)
    return d


def replay_many(pcaps: list[str], work: str, model: str | None = None) -> dict[str, pd.DataFrame]:
    with ThreadPoolExecutor(max_workers=2) as ex:
        return dict(zip(pcaps, ex.map(lambda p: replay(p, work, model), pcaps)))


# sources.load_lab_tools replays through these.
sources.replay = replay
sources.replay_many = replay_many
MODEL = os.path.join(sources.ROOT, 'models', 'cic2017-attack.json')


def lab_run1(work: str) -> pd.DataFrame:
    """Both runs of the first lab, labelled as sources.load_lab does (keeping the verdict columns)."""
    parts = []
    for lab_dir, phases, run in ((os.path.join(sources.SHARED, 'data', 'lab'), sources.LAB_RUN1, 'run1'),
                                 (os.path.join(sources.SHARED, 'data', 'lab', 'run2'), sources.LAB_RUN2, 'run2')):
        rules = pd.read_csv(os.path.join(lab_dir, 'labels.csv'), comment='#')
        pcaps = [os.path.join(lab_dir, f'phase-{p}.pcap.gz') for p in phases]
        flows = replay_many(pcaps, work)
        for phase, pcap in zip(phases, pcaps):
            d = flows[pcap]
            d['detail'] = sources.label_lab(d, rules)
            d['Label'] = d['detail'].map(sources.GROUP)
            sources.mark_connections(d, rules[rules.phase == phase].iloc[0], sources.availability_probes)
            d['phase'] = f'{run}:{phase}'
            parts.append(d)
    return pd.concat(parts, ignore_index=True)


def lab_tools(work: str) -> pd.DataFrame:
    header = pd.read_csv(os.path.join(sources.SHARED, 'data', 'cic', 'CICIDS2017_sample.csv'), nrows=0, encoding='latin-1').columns
    features = [c.strip() for c in header if c.strip() not in ('Label', 'Destination Port')]
    d, _ = sources.load_lab_tools(sources.LAB_TOOLS_DIR, work, features, model=MODEL)
    return d


def ndpi(work: str, limit: int | None) -> pd.DataFrame:
    """nDPI's benign captures, each replayed alone, without the flows nDPI calls malware, mining or an exploit."""
    ndpi_dir = os.path.join(sources.SHARED, 'data', 'ndpi')
    names = [n for n in sorted(os.listdir(os.path.join(ndpi_dir, 'pcap'))) if not sources.NDPI_NOT_BENIGN.search(n)]
    if limit:
        names = names[::max(1, len(names) // limit)][:limit]
    flows = replay_many([os.path.join(ndpi_dir, 'pcap', n) for n in names], work)
    parts = []
    for n in names:
        d = flows[os.path.join(ndpi_dir, 'pcap', n)]
        if d.empty:
            continue
        res = os.path.join(ndpi_dir, 'result', n + '.out')
        match = sources.ndpi_match(d, sources.parse_ndpi_result(res) if os.path.exists(res) else {})
        bad = np.array([bool(m) and (m['category'] in sources.NDPI_BAD_CATEGORY or bool(sources.NDPI_BAD_RISK.search(m['risk']))) for m in match], dtype=bool)
        d = d[~bad].copy()
        d['capture'] = n
        parts.append(d)
    return pd.concat(parts, ignore_index=True)


def sides(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(without the stage, with it): the stage's relabels are the rows with a context."""
    with_ = d['verdict'].to_numpy(dtype=object)
    without = np.where(d['context'].notna().to_numpy(), BENIGN, with_)
    return without, with_


def pct(x: float | None) -> str:
    return '–' if x is None else f'{100 * x:.1f} %'


def compare(name: str, d: pd.DataFrame) -> dict:
    without, with_ = sides(d)
    a, b = tool_table(d, without), tool_table(d, with_)
    out = {'name': name, 'tools': {}, 'benign': {'flows': b['benign']['flows'], 'fpr_without': a['benign']['fpr'], 'fpr_with': b['benign']['fpr'],
                                                 'context_fp': {str(k): int(v) for k, v in d.loc[(d['detail'] == BENIGN) & d['context'].notna(), 'context'].str.split(':').str[0].value_counts().items()}}}
    for k in b['tools']:
        out['tools'][k] = {'class': b['tools'][k]['class'], 'flows': b['tools'][k]['flows'],
                           'flagged_without': a['tools'][k]['flagged_as_attack'], 'flagged_with': b['tools'][k]['flagged_as_attack'],
                           'right_without': a['tools'][k]['right_class'], 'right_with': b['tools'][k]['right_class']}
    out['mean_over_tools'] = {s: round(float(np.mean([t[s] for t in out['tools'].values()])), 4)
                              for s in ('flagged_without', 'flagged_with', 'right_without', 'right_with')}
    out['apart'] = {k: {'flows': v['flows'], 'flagged_with': v['flagged_as_attack'], 'flagged_without': a['apart'][k]['flagged_as_attack']} for k, v in b['apart'].items()}
    return out


def markdown(t: dict) -> list[str]:
    lines = [f'**{t["name"]}**', '', '| tool | class | flows | flagged: without → with | right class: without → with |', '|---|---|---:|---:|---:|']
    for k, v in sorted(t['tools'].items(), key=lambda kv: (kv[1]['class'], kv[0])):
        lines.append(f'| {k} | {v["class"]} | {v["flows"]} | {pct(v["flagged_without"])} → {pct(v["flagged_with"])} | {pct(v["right_without"])} → {pct(v["right_with"])} |')
    m = t['mean_over_tools']
    lines.append(f'| **mean over tools** | | | {pct(m["flagged_without"])} → {pct(m["flagged_with"])} | {pct(m["right_without"])} → {pct(m["right_with"])} |')
    b = t['benign']
    fp = ', '.join(f'{k} {n}' for k, n in b['context_fp'].items()) or 'none'
    lines.append(f'| benign flows: FPR | BENIGN | {b["flows"]} | {100 * b["fpr_without"]:.3f} % → {100 * b["fpr_with"]:.3f} % | (stage relabels: {fp}) |')
    for k, v in t['apart'].items():
        if v['flagged_with'] != v['flagged_without']:
            lines.append(f'| (counted apart) {k} | | {v["flows"]} | {pct(v["flagged_without"])} → {pct(v["flagged_with"])} | |')
    return lines + ['']


def ndpi_summary(name: str, d: pd.DataFrame) -> dict:
    without, with_ = sides(d)
    ctx = d['context'].notna()
    return {'name': name, 'captures': int(d['capture'].nunique()), 'flows': len(d),
            'fpr_without': round(float((without != BENIGN).mean()), 5), 'fpr_with': round(float((with_ != BENIGN).mean()), 5),
            'context_relabels': int(ctx.sum()),
            'by_detector': {str(k): int(v) for k, v in d.loc[ctx, 'context'].str.split(':').str[0].value_counts().items()},
            'captures_with_relabels': {str(k): int(v) for k, v in d.loc[ctx, 'capture'].value_counts().items()},
            'examples': d.loc[ctx, 'context'].drop_duplicates().head(5).tolist()}


def main() -> None:
    global EXTRA, MODEL
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=MODEL)
    ap.add_argument('--json', help='write the tables as JSON here')
    ap.add_argument('--ndpi-limit', type=int, default=None, help='only every k-th nDPI capture, N in all (quick look)')
    args = ap.parse_args()
    MODEL = args.model
    card = json.load(open(MODEL))
    work = sources.workdir()
    report: dict = {'model': f'{card["name"]}@{card["version"]}', 'passes': []}
    try:
        for label, extra in (('default threshold', []), ('blind model (--alert-threshold 1)', ['--alert-threshold', '1'])):
            EXTRA = extra
            sources.log(f'pass: {label}')
            p = {'pass': label,
                 'lab1': compare(f'first lab (../shared/data/lab + run2), {label}', lab_run1(work)),
                 'lab2': compare(f'second lab (models/train/data/lab-tools), {label}', lab_tools(work)),
                 'ndpi': ndpi_summary(f'nDPI benign captures, {label}', ndpi(work, args.ndpi_limit))}
            report['passes'].append(p)
            print(f'## {report["model"]}, {label}\n')
            for k in ('lab1', 'lab2'):
                print('\n'.join(markdown(p[k])))
            n = p['ndpi']
            print(f'{n["name"]}: {n["captures"]} captures, {n["flows"]} flows, FPR {100 * n["fpr_without"]:.3f} % → {100 * n["fpr_with"]:.3f} % '
                  f'({n["context_relabels"]} relabelled by the stage: {n["by_detector"]}; captures {n["captures_with_relabels"]})')
            for e in n['examples']:
                print(f'  e.g. {e}')
            print(flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=2)
            f.write('\n')


if __name__ == '__main__':
    main()
