#!/usr/bin/env python3
"""How an attack model does on the second lab (attacks made by other tools, models/train/lab-tools.sh), as a user
would see it: every capture replayed by the sensor with the model (`--model CARD`), the stored verdicts read back,
each flow labelled by the lab's labels.csv rule (connection tails, slow tools' availability probes and exchanges
cut by a phase's end on lines of their own, as in training).

    python3 models/train/measure_tools.py [--model models/cic2017-attack.json] [--lab-dir DIR] [--json OUT]

Prints one line per tool: attack flows, share flagged as any attack, share called by the right class; and the
benign false-positive rate (the benign phase and the client's background during the attacks).
"""
from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True
import debian_python  # noqa: E402  (this script's folder is on sys.path; sources imports Debian's pandas/numpy)

debian_python.require('measure_tools.py', 'python3-sklearn python3-pandas')

import argparse
import json
import shutil

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sources  # noqa: E402
from sources import BENIGN  # noqa: E402


def tool_table(d: pd.DataFrame, pred: np.ndarray) -> dict:
    """Per tool (detail) of the attack rows: flows, flagged as any attack, called by the right class; per class
    group the same over its tools (each tool weighs the same); benign FPR; the lines counted apart (tails and
    probes, which are BENIGN, and exchanges cut by the phase's end) with the share called attacks."""
    y = d['Label'].to_numpy()
    detail = d['detail'].astype(str).to_numpy()
    out = {'tools': {}, 'apart': {}, 'groups': {}}
    for k in sorted(set(detail)):
        m = detail == k
        row = {'flows': int(m.sum()), 'flagged_as_attack': round(float((pred[m] != BENIGN).mean()), 4),
               'right_class': round(float((pred[m] == y[m]).mean()), 4), 'class': str(y[m][0])}
        called = pd.Series(pred[m]).value_counts()
        row['called'] = {str(c): int(n) for c, n in called.items()}
        if (y[m] != BENIGN).all() and not k.endswith(sources.CUT):
            out['tools'][k] = row
        elif k != BENIGN:  # tails and probes (BENIGN), exchanges cut by the phase's end (counted apart, as in training)
            out['apart'][k] = row
    for g in sorted(set(v['class'] for v in out['tools'].values())):
        ts = [v for v in out['tools'].values() if v['class'] == g]
        out['groups'][g] = {'tools': len(ts), 'flagged_as_attack': round(float(np.mean([t['flagged_as_attack'] for t in ts])), 4),
                            'right_class': round(float(np.mean([t['right_class'] for t in ts])), 4)}
    ts = list(out['tools'].values())
    out['macro_over_tools'] = {'flagged_as_attack': round(float(np.mean([t['flagged_as_attack'] for t in ts])), 4) if ts else None,
                               'right_class': round(float(np.mean([t['right_class'] for t in ts])), 4) if ts else None}
    a = y != BENIGN
    out['all_attack_flows'] = {'flows': int(a.sum()), 'flagged_as_attack': round(float((pred[a] != BENIGN).mean()), 4) if a.any() else None,
                               'right_class': round(float((pred[a] == y[a]).mean()), 4) if a.any() else None}
    b = detail == BENIGN
    out['benign'] = {'flows': int(b.sum()), 'fpr': round(float((pred[b] != BENIGN).mean()), 5) if b.any() else None,
                     'called': {str(c): int(n) for c, n in pd.Series(pred[b & (pred != BENIGN)]).value_counts().items()}}
    return out


def markdown(t: dict) -> list[str]:
    lines = ['| tool | class | flows | flagged as an attack | right class | called |', '|---|---|---:|---:|---:|---|']
    for k, v in sorted(t['tools'].items(), key=lambda kv: (kv[1]['class'], kv[0])):
        called = ', '.join(f'{c} {n}' for c, n in v['called'].items())
        lines.append(f'| {k} | {v["class"]} | {v["flows"]} | {100 * v["flagged_as_attack"]:.1f} % | {100 * v["right_class"]:.1f} % | {called} |')
    for g, v in t['groups'].items():
        lines.append(f'| **{g}** (mean of {v["tools"]} tools) | | | {100 * v["flagged_as_attack"]:.1f} % | {100 * v["right_class"]:.1f} % | |')
    m, a, b = t['macro_over_tools'], t['all_attack_flows'], t['benign']
    lines.append(f'| **mean over tools** | | | {100 * m["flagged_as_attack"]:.1f} % | {100 * m["right_class"]:.1f} % | |')
    lines.append(f'| all attack flows | | {a["flows"]} | {100 * a["flagged_as_attack"]:.1f} % | {100 * a["right_class"]:.1f} % | |')
    called = ', '.join(f'{c} {n}' for c, n in b['called'].items())
    lines.append(f'| benign flows (false positives) | BENIGN | {b["flows"]} | {100 * b["fpr"]:.2f} % | | {called} |')
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=os.path.join(sources.ROOT, 'models', 'cic2017-attack.json'))
    ap.add_argument('--lab-dir', default=sources.LAB_TOOLS_DIR)
    ap.add_argument('--json', help='write the table as JSON here')
    args = ap.parse_args()
    header = pd.read_csv(os.path.join(sources.SHARED, 'data', 'cic', 'CICIDS2017_sample.csv'), nrows=0, encoding='latin-1').columns
    features = [c.strip() for c in header if c.strip() not in ('Label', 'Destination Port')]
    work = sources.workdir()
    try:
        d, _ = sources.load_lab_tools(args.lab_dir, work, features, model=args.model)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    card = json.load(open(args.model))
    t = tool_table(d, d['verdict'].to_numpy(dtype=object))
    t['model'] = f'{card["name"]}@{card["version"]}'
    print(f'{t["model"]} on {args.lab_dir}')
    print('\n'.join(markdown(t)))
    for k, v in t['apart'].items():
        print(f'  counted apart: {k}: {v["flows"]} flows, {100 * v["flagged_as_attack"]:.1f} % called attacks')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(t, f, indent=2)
            f.write('\n')


if __name__ == '__main__':
    main()
