#!/usr/bin/env python3
"""Train the sensor's default attack classifier; export models/<name>.onnx + .json (card) + .md (report) + PNGs.

    python3 models/train/train.py                      # the shipped model (npm run train; ~10 min on 2 cores)
    python3 models/train/train.py --subset --out DIR --check-dir DIR   # CI: small and fast, same code path

Data, all as `cic2017` features (the build that produced CIC-IDS2017); captures are replayed by this checkout's
sensor, so the rows are what the sensor computes at run time (models/train/sources.py says where each comes from):
  * cic:    published CIC-IDS2017 rows: ../shared/data/cic (the 6,311-row sample, the Friday head, more/CIC-IDS2017);
  * lab:    ../shared/data/lab (run 1: benign, port scan, Hulk, slowloris, slow body, SYN flood, SSH/FTP brute
            force) and ../shared/data/lab/run2 (ACK and PSH-ACK floods), labelled by their labels.csv rule;
  * ndpi:   ../shared/data/ndpi: nDPI's test captures of real application traffic (benign), flows nDPI calls
            malware, mining or an exploit left out; its attack captures are a foreign test set only;
  * corpus: the plainly benign protocol traces of ../shared/corpus (Zeek, suricata-verify).

Validation (models/train/evaluation.py): test = the later 30 % of each lab phase and published slice (by time),
and 30 % of the nDPI/corpus captures (whole captures); validation = the 20 % before the test part, and another
20 % of captures. Feature set, model family and the alert threshold are chosen on validation rows and on
leave-one-source-out runs, never on test rows.

Needs Debian's python3-sklearn, python3-pandas, python3-numpy, python3-onnx (python3-matplotlib for the PNGs);
no PyPI. Node and a built checkout (`npm install`) replay the captures and check the ONNX export against
scikit-learn with onnxruntime, the runtime the sensor uses.
"""
from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True  # no models/train/__pycache__ in the checkout
# One OpenMP thread for gradient boosting: on a shared 2-core machine its default thread team spins against the other
# processes (a 50-round fit on 34,000 rows took 52 s with the default, 4.6 s with one thread, same load); set
# before scikit-learn loads its OpenMP runtime. The forests parallelise with joblib (n_jobs=2) and are unaffected.
os.environ.setdefault('OMP_NUM_THREADS', '1')
import debian_python  # noqa: E402  (this script's folder is on sys.path)

debian_python.require('train.py')

import argparse
import datetime as dt
import json
import shutil
import subprocess
import tempfile

import numpy as np
import onnx
import pandas as pd
import sklearn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import evaluation as ev  # noqa: E402
import families  # noqa: E402
import sources  # noqa: E402
from evaluation import BENIGN  # noqa: E402
from onnx_export import INPUT_NAME, PROBABILITIES_NAME, model_to_onnx  # noqa: E402
from report import plot_confusion, plot_roc, write_report  # noqa: E402

ROOT = sources.ROOT
SHARED = sources.SHARED
PROFILE = sources.PROFILE
log = sources.log

# cic2017 columns that are never inputs: the second Fwd Header Length is a copy of the first; the bulk columns
# are always 0 in the 2017 build and the Subflow columns equal the totals (CIC-FEATURES.md §9).
EXCLUDED = [
    'Fwd Header Length.1',
    'Fwd Avg Bytes/Bulk', 'Fwd Avg Packets/Bulk', 'Fwd Avg Bulk Rate', 'Bwd Avg Bytes/Bulk', 'Bwd Avg Packets/Bulk', 'Bwd Avg Bulk Rate',
    'Subflow Fwd Packets', 'Subflow Fwd Bytes', 'Subflow Bwd Packets', 'Subflow Bwd Bytes',
]
# Columns suspected of carrying the identity of a network, an operating system or a tool rather than behaviour:
# the initial TCP windows (OS and tool defaults: hping3 sends 64, Linux 64240, Windows 8192...), and the header
# lengths (TCP options: Linux adds 12 bytes of timestamps, Windows none); and the rates, which scale with link
# speed. The ablation trains without each group and the selection keeps the set that generalises best.
IDENTITY_GROUPS = {
    'init_win': ['Init_Win_bytes_forward', 'Init_Win_bytes_backward'],
    'header': ['Fwd Header Length', 'Bwd Header Length', 'min_seg_size_forward'],
    'rates': ['Flow Bytes/s', 'Flow Packets/s', 'Fwd Packets/s', 'Bwd Packets/s'],
    # every clock-based column: round-trip times and host speed differ between networks (the lab's namespaces
    # answer in microseconds), but slow attacks are only visible in time
    'timing': ['Flow Duration', 'Flow IAT Mean', 'Flow IAT Std', 'Flow IAT Max', 'Flow IAT Min', 'Fwd IAT Total', 'Fwd IAT Mean',
               'Fwd IAT Std', 'Fwd IAT Max', 'Fwd IAT Min', 'Bwd IAT Total', 'Bwd IAT Mean', 'Bwd IAT Std', 'Bwd IAT Max', 'Bwd IAT Min',
               'Active Mean', 'Active Std', 'Active Max', 'Active Min', 'Idle Mean', 'Idle Std', 'Idle Max', 'Idle Min'],
    # the active periods: the 2017 build closes one only when a gap over 5 s follows (CIC-FEATURES.md §9 item 6),
    # so for a slow attack they measure where in the tool's 10 s send cycle the connection happened to open
    # (slowloris in the lab: 100 µs for the first connections, 1-2 s for later ones), not what the connection does
    'active': ['Active Mean', 'Active Std', 'Active Max', 'Active Min'],
}
FEATURE_SETS = {
    'all': [],
    'no_init_win': ['init_win'],
    'no_header': ['header'],
    'no_header_active': ['header', 'active'],
    'no_init_win_header': ['init_win', 'header'],
    'no_init_win_header_rates': ['init_win', 'header', 'rates'],
    'no_init_win_rates_timing': ['init_win', 'rates', 'timing'],
}
# Zero-duration flows have Flow Bytes/s and Flow Packets/s of Infinity (or NaN with no payload) in the 2017
# build; they become -1, as the corrected CICFlowMeter prints them. No clipping or scaling: trees need none.
PREPROCESSING = {'nan': -1.0, 'posinf': -1.0, 'neginf': -1.0, 'clip': None, 'scale': None}
# The benign false-positive budget the alert threshold is chosen for (on validation rows).
FPR_BUDGET = 0.002
# KDD'99 categories of the classes (stored with every verdict): scans probe; floods and resource exhaustion deny
# service; password guessing, web-application attacks and bot command-and-control are remote-to-local access;
# infiltration (a foothold inside, then internal discovery) is the closest this set has to user-to-root.
KDD = {'BENIGN': 'normal', 'DoS': 'DoS', 'PortScan': 'Probe', 'BruteForce': 'R2L', 'WebAttack': 'R2L', 'Bot': 'R2L',
       'Infiltration': 'U2R'}
# The attack model's size is bounded by the inference budget: both default models may cost at most 10 % of replay
# packets/s (README "inference cost"), about 1.5-2.5 µs a flow on a busy machine, of which the rest of the verdict
# path and the application model take ~1 µs. onnxruntime walks every tree of every row (bench/attack-size.py:
# ~15-25 ns a tree plus ~0.25 µs a row); version 5 (22 rounds x 7 classes = 154 trees) cost 11.7 % on big.pcap.
# Only gradient boosting of these fixed sizes (rounds, leaves per tree; x 7 classes trees) may ship; the selection
# score picks among them. The unbounded setting (`gradient_boosting`, version 5's) and the forests (40 trees of
# depth 16) are measured beside them: what the budget costs in generalisation.
# (rounds, leaves, learning rate): fewer rounds take a larger step to reach confident probabilities.
BUDGET_SIZES = ((5, 31, 0.25), (8, 31, 0.35), (10, 31, 0.25))
BUDGET_FAMILIES = tuple(f'gradient_boosting_{r}x{leaves}' for r, leaves, _ in BUDGET_SIZES)
# What may ship: the sizes within the budget, and the unbounded setting (version 5's). Shipping 8 x 31 (56 trees)
# saved ~2 points of big.pcap's cost but not enough to reach 10 % then (most of what is left is not the trees: README),
# and it raised the held-out nDPI benign FPR from 0.46 % to 0.80 %, past the 0.5 % budget, and lost 5-8 points of
# leave-one-tool-out: false alarms on foreign traffic cost a user more than a few per cent of replay speed. So the
# selection score chooses among them all. (Since stop 23 both default models with version 6's 154 trees cost 7-9 %
# of big.pcap's packets/s in `npm run bench`: the rest of the verdict path got cheaper.)
SHIPPABLE = BUDGET_FAMILIES + ('gradient_boosting',)
TRAIN_CAP = 3000  # training rows per (unit, label)
LOSO_CAP = 5000  # left-out rows measured per (unit, label): a random sample of the big flood phases
LOTO_CAP = 1000  # training rows per (unit, label) in the leave-one-tool-out fits (29 fits per candidate)
DRIFT_BINS = 10
PREVIOUS_MODEL_ON_TOOLS = 'measured-cic2017-attack@4.json'


def preprocess(x) -> np.ndarray:
    """The card's preprocessing, then float32 (what the ONNX graph takes)."""
    x = np.array(x, dtype=np.float64)
    x[np.isnan(x)] = PREPROCESSING['nan']
    x[np.isposinf(x)] = PREPROCESSING['posinf']
    x[np.isneginf(x)] = PREPROCESSING['neginf']
    return x.astype(np.float32)


def inputs_for(feature_set: str, candidates: list[str]) -> list[str]:
    drop = {c for g in FEATURE_SETS[feature_set] for c in IDENTITY_GROUPS[g]}
    return [c for c in candidates if c not in drop]


# ---- one model, measured ------------------------------------------------------------------------------------

def fit_rows(family: str, d: pd.DataFrame, rows: np.ndarray, inputs: list[str], small: bool, trees: int, depth: int):
    """A model of `family` fitted on `rows` with class-balancing weights."""
    if family in BUDGET_FAMILIES:
        rounds, leaves, rate = BUDGET_SIZES[BUDGET_FAMILIES.index(family)]
        model = families.make('gradient_boosting', rounds=rounds, leaves=leaves, rate=rate)
    else:
        model = families.make(family, trees=trees, depth=depth, small=small)
    x = preprocess(d.loc[rows, inputs].to_numpy())
    y = d.loc[rows, 'Label'].to_numpy()
    if family == 'knn' and len(y) > 30_000:  # kNN's prediction cost grows with its training set
        keep = np.random.default_rng(ev.SEED).choice(len(y), 30_000, replace=False)
        x, y = x[keep], y[keep]
    return families.fit(model, x, y, ev.class_weights(y))


class Fitted:
    """A model fitted on the training rows, with its alert threshold from the validation rows."""

    def __init__(self, family: str, inputs: list[str], d: pd.DataFrame, train: np.ndarray, val: np.ndarray, small: bool, trees: int, depth: int):
        self.family, self.inputs = family, inputs
        with ev.Timer() as t:
            self.model = fit_rows(family, d, train, inputs, small, trees, depth)
        self.train_seconds = round(t.seconds, 2)
        self.classes = [str(c) for c in self.model.classes_]
        yv = d.loc[val, 'Label'].to_numpy()
        pv = self.proba(d.loc[val])
        if BENIGN in self.classes and len(self.classes) > 1:
            _, score = ev.attack_best(pv, self.classes)
            self.threshold = ev.threshold_for_budget(score[yv == BENIGN], FPR_BUDGET)
        else:
            self.threshold = None
        self.val_pred = ev.verdicts(pv, self.classes, self.threshold) if len(yv) else np.array([], dtype=object)
        self.val_recall = ev.macro_attack_recall(yv, self.val_pred)
        self.val_tool_recall = ev.macro_detail_recall(d.loc[val, 'detail'].astype(str).to_numpy(), yv, self.val_pred)

    def proba(self, rows: pd.DataFrame) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros((0, len(self.classes)))
        return self.model.predict_proba(preprocess(rows[self.inputs].to_numpy()))

    def predict(self, rows: pd.DataFrame, threshold: bool = True) -> np.ndarray:
        return ev.verdicts(self.proba(rows), self.classes, self.threshold if threshold else None)


def tree_count(model) -> int | None:
    """The trees onnxruntime walks for every row (what inference costs): a forest's estimators, or gradient boosting's
    rounds x classes."""
    if hasattr(model, '_predictors'):
        return sum(len(r) for r in model._predictors)
    if hasattr(model, 'estimators_'):
        return len(model.estimators_)
    return None


def leave_one_source_out(d: pd.DataFrame, family: str, inputs: list[str], small: bool, trees: int, depth: int,
                         train: np.ndarray, val: np.ndarray) -> dict:
    """Train without source S (on the training rows of the other sources), test on every row of S: how the model
    does on a network, a tool set or an application mix it has never seen. Verdicts as the sensor gives them: with
    an alert threshold for the same budget, set on the other sources' validation rows (S has none to offer). Also
    by argmax, for comparison. The flood phases are measured on a random LOSO_CAP flows each."""
    out = {}
    srcs = d['source'].to_numpy()
    for s in sorted(set(srcs)):
        rest = srcs != s
        if len(set(d.loc[rest & train, 'Label'])) < 2:
            continue
        m = fit_rows(family, d, rest & train, inputs, small, trees, depth)
        classes = [str(c) for c in m.classes_]
        fold_val = d[rest & val]
        threshold = None
        if BENIGN in classes:
            _, score = ev.attack_best(m.predict_proba(preprocess(fold_val[inputs].to_numpy())), classes)
            threshold = ev.threshold_for_budget(score[fold_val['Label'].to_numpy() == BENIGN], FPR_BUDGET)
        held = d[ev.cap_rows(d, ~rest, LOSO_CAP)]
        yt = held['Label'].to_numpy()
        proba = m.predict_proba(preprocess(held[inputs].to_numpy()))
        pred = ev.verdicts(proba, classes, threshold)
        argmax = ev.verdicts(proba, classes, None)
        unseen = sorted(set(yt) - set(m.classes_))
        out[s] = {
            'rows': int(len(yt)), 'threshold': threshold, 'benign_fpr': ev.benign_fpr(yt, pred),
            'argmax_benign_fpr': ev.benign_fpr(yt, argmax),
            'argmax_macro_attack_recall': None if ev.macro_attack_recall(yt, argmax) is None else round(ev.macro_attack_recall(yt, argmax), 4),
            'macro_attack_recall': None if ev.macro_attack_recall(yt, pred) is None else round(ev.macro_attack_recall(yt, pred), 4),
            'attack_detection_rate': None if (yt != BENIGN).sum() == 0 else round(float((pred[yt != BENIGN] != BENIGN).mean()), 4),
            'classes_never_seen_in_training': unseen,
            'by_label': ev.by_detail(held['detail'].astype(str).to_numpy(), yt, pred),
        }
    return out


def tool_units(d: pd.DataFrame) -> list[str]:
    """The lab phases that hold an attack: one tool (or one tool's settings) each, in both labs."""
    lab = d['source'].isin(['lab', 'tools']).to_numpy() & (d['Label'] != BENIGN).to_numpy()
    return sorted(set(d.loc[lab, 'unit']))


def leave_one_tool_out(d: pd.DataFrame, family: str, inputs: list[str], small: bool, trees: int, depth: int,
                       train: np.ndarray, val: np.ndarray) -> dict:
    """Train without tool T (its lab phase: every row of it, benign background included), test on T's attack
    flows: does the model catch an attack of a known class made by a tool it has never seen? The threshold is set
    for the same benign budget on the other phases' validation rows. Training rows are capped at LOTO_CAP per unit
    and label (29 fits per candidate); the left-out attack flows at LOSO_CAP."""
    out = {}
    units = d['unit'].to_numpy()
    small_train = ev.cap_rows(d, train, LOTO_CAP)
    fold_val_all = ev.cap_rows(d, val, LOSO_CAP)
    for u in tool_units(d):
        rest = units != u
        m = fit_rows(family, d, small_train & rest, inputs, small, trees, depth)
        classes = [str(c) for c in m.classes_]
        fold_val = d[fold_val_all & rest]
        _, score = ev.attack_best(m.predict_proba(preprocess(fold_val[inputs].to_numpy())), classes)
        threshold = ev.threshold_for_budget(score[fold_val['Label'].to_numpy() == BENIGN], FPR_BUDGET)
        held = d[ev.cap_rows(d, ~rest & (d['Label'] != BENIGN).to_numpy(), LOSO_CAP)]
        yt = held['Label'].to_numpy()
        proba = m.predict_proba(preprocess(held[inputs].to_numpy()))
        pred = ev.verdicts(proba, classes, threshold)
        argmax = ev.verdicts(proba, classes, None)
        tool = str(held['detail'].astype(str).str.replace(sources.CUT, '', regex=False).mode().iloc[0])
        out[u] = {'tool': tool, 'class': str(yt[0]), 'rows': int(len(yt)), 'threshold': threshold,
                  'flagged_as_attack': round(float((pred != BENIGN).mean()), 4),
                  'right_class': round(float((pred == yt).mean()), 4),
                  'argmax_flagged_as_attack': round(float((argmax != BENIGN).mean()), 4),
                  'argmax_right_class': round(float((argmax == yt).mean()), 4)}
    return out


def loto_summary(loto: dict) -> dict:
    """Mean over left-out tools (each tool the same weight), overall and per source (lab = the first lab's tools,
    tools = the second lab's)."""
    def mean(vs, k):
        return round(float(np.mean([v[k] for v in vs])), 4) if vs else None
    vs = list(loto.values())
    out = {'tools': len(vs), 'flagged_as_attack': mean(vs, 'flagged_as_attack'), 'right_class': mean(vs, 'right_class'),
           'argmax_flagged_as_attack': mean(vs, 'argmax_flagged_as_attack'), 'argmax_right_class': mean(vs, 'argmax_right_class')}
    for src in ('lab', 'tools'):
        sv = [v for u, v in loto.items() if u.split(':', 1)[0] == src]
        out[src] = {'tools': len(sv), 'flagged_as_attack': mean(sv, 'flagged_as_attack'), 'right_class': mean(sv, 'right_class')}
    return out


def generalisation_score(fitted: Fitted, loso: dict, loto: dict | None = None) -> float:
    """The selection measure: the mean of (a) the validation rows' recall at the alert threshold, averaged over
    the attack tools and published labels (every tool counts the same: slowloris is 1 % of the DoS flows, and
    the issue asks for every lab attack group), (b) the macro attack recall at the threshold on sources left
    out of training (where that source has attacks) and, where measured, (c) the recall by the right class of
    each lab tool left out of training (leave_one_tool_out: a known attack made by an unseen tool), minus the
    benign false-positive rate at the threshold on left-out sources of benign traffic (nDPI, corpus, the second
    lab's users). Leave-one-source-out is judged with the threshold because
    that is how the sensor decides: by argmax, a feature set that moves probability mass near 0.5 scored as if it
    raised or cut false alarms that the threshold never lets through."""
    a = fitted.val_tool_recall or 0.0
    recalls = [v['macro_attack_recall'] for v in loso.values() if v['macro_attack_recall'] is not None]
    b = float(np.mean(recalls)) if recalls else a
    fprs = [v['benign_fpr'] for s, v in loso.items() if s in ('ndpi', 'corpus', 'tools') and v['benign_fpr'] is not None]
    parts = [a, b] + ([loto_summary(loto)['right_class']] if loto else [])
    return round(float(np.mean(parts)) - (float(np.mean(fprs)) if fprs else 0.0), 4)


def measure(fitted: Fitted, d: pd.DataFrame, test: np.ndarray, foreign: pd.DataFrame) -> dict:
    held = d[test]
    y = held['Label'].to_numpy()
    src = held['source'].to_numpy()
    with ev.Timer() as t:
        proba = fitted.proba(held)
    pred = ev.verdicts(proba, fitted.classes, fitted.threshold)
    argmax = ev.verdicts(proba, fitted.classes, None)
    classes = fitted.classes
    m = {
        'held_out_all': ev.evaluate(y, pred, classes),
        'held_out_all_argmax': {k: v for k, v in ev.evaluate(y, argmax, classes).items() if k != 'confusion_matrix'},
        'inference_seconds_per_1000_rows': round(1000 * t.seconds / max(1, len(y)), 4),
        'train_seconds': fitted.train_seconds,
    }
    for s in sorted(set(src)):
        m[f'held_out_{s}'] = ev.evaluate(y[src == s], pred[src == s], classes)
        m[f'held_out_{s}_by_label'] = ev.by_detail(held.loc[src == s, 'detail'].astype(str).to_numpy(), y[src == s], pred[src == s])
    if len(foreign):
        fp = fitted.predict(foreign)
        m['foreign_attack_captures'] = {
            u: {'class': str(g['Label'].iloc[0]), 'flows': int(len(g)),
                'flagged_as_attack': round(float((fp[foreign.index.get_indexer(g.index)] != BENIGN).mean()), 4),
                'right_class': round(float((fp[foreign.index.get_indexer(g.index)] == g['Label'].to_numpy()).mean()), 4)}
            for u, g in foreign.groupby('unit')
        }
    return m, proba


# ---- the card's extras --------------------------------------------------------------------------------------

def drift_reference(x: np.ndarray, y: np.ndarray, inputs: list[str], classes: list[str]) -> dict:
    """Per input: decile edges of the training rows (after preprocessing) and the share of rows in each bin,
    overall and per class. Bin rule (the card contract): the index of the first edge >= x, else the last bin."""
    feats = {}
    for j, name in enumerate(inputs):
        col = x[:, j].astype(np.float64)
        edges = np.unique(np.quantile(col, np.linspace(0, 1, DRIFT_BINS + 1)[1:-1]))
        def shares(v):
            counts = np.bincount(np.searchsorted(edges, v, side='left'), minlength=len(edges) + 1)
            return [round(float(c) / max(1, len(v)), 6) for c in counts]
        feats[name] = {'edges': [float(e) for e in edges], 'fractions': shares(col),
                       'per_class': {c: shares(col[y == c]) for c in classes if (y == c).any()}}
    return {'method': 'quantile-bins', 'rows': int(len(y)), 'features': feats}


def git_commit() -> str:
    try:
        head = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no', '--', 'models/train'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return head + ('-dirty' if dirty else '')
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def write_json(path: str, obj) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2, allow_nan=False)
        f.write('\n')


# ---- main ---------------------------------------------------------------------------------------------------

def load(args, features: list[str], work: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    cols = features + ['Label', 'detail', 'source', 'unit', 'order', 'app_group']
    # --cic-sample or --subset: the sample alone; otherwise every published row in --cic-dir
    only = args.cic_sample or (os.path.join(args.cic_dir, 'CICIDS2017_sample.csv') if args.subset else None)
    cic, lines = sources.load_cic(args.cic_dir, features, sample_only=only)
    parts = [cic[cols]]
    foreign = pd.DataFrame(columns=cols)
    if not args.no_lab:
        lab, more = sources.load_lab(args.lab_dir, ['sshpatator', 'ftppatator'] if args.subset else sources.LAB_RUN1, work, features, 'run1')
        parts.append(lab[cols])
        lines += more
        run2 = os.path.join(args.lab_dir, 'run2')
        if not args.subset and os.path.isdir(run2):
            lab2, more = sources.load_lab(run2, sources.LAB_RUN2, work, features, 'run2')
            parts.append(lab2[cols])
            lines += more
    if not args.no_lab and not args.subset and not args.no_tools_lab and os.path.isdir(args.tools_dir):
        tools, more = sources.load_lab_tools(args.tools_dir, work, features)
        parts.append(tools[cols])
        lines += more
    ndpi_dir = os.path.join(SHARED, 'data', 'ndpi')
    if not args.no_lab and os.path.isdir(ndpi_dir):
        nd, foreign, more = sources.load_ndpi(ndpi_dir, work, features, limit=24 if args.subset else None)
        parts.append(nd[cols])
        foreign = foreign[cols]
        lines += more
    corpus_dir = os.path.join(SHARED, 'corpus')
    if not args.no_lab and not args.subset and os.path.isdir(corpus_dir):
        co, more = sources.load_corpus(corpus_dir, work, features)
        parts.append(co[cols])
        lines += more
    d = pd.concat(parts, ignore_index=True)
    return d, foreign.reset_index(drop=True), lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=os.path.join(ROOT, 'models'), help='directory for <name>.onnx/.json/.md/.png')
    ap.add_argument('--name', default='cic2017-attack')
    ap.add_argument('--subset', action='store_true', help='CI: the CIC sample, two small lab phases, 24 nDPI captures, one feature set and family, a small forest')
    ap.add_argument('--check-dir', help="write the test rows and scikit-learn's probabilities here (for the ONNX agreement check)")
    ap.add_argument('--no-check', action='store_true', help='skip the onnxruntime agreement check (node)')
    ap.add_argument('--cic-dir', default=os.path.join(SHARED, 'data', 'cic'))
    ap.add_argument('--lab-dir', default=os.path.join(SHARED, 'data', 'lab'))
    ap.add_argument('--tools-dir', default=sources.LAB_TOOLS_DIR, help='the second lab (other tools; models/train/lab-tools.sh)')
    ap.add_argument('--no-tools-lab', action='store_true', help='leave the second lab out (what the model was before it)')
    ap.add_argument('--cic-sample', help='train on this CIC-IDS2017 sample CSV only (CI without ../shared, with --no-lab)')
    ap.add_argument('--no-lab', action='store_true', help='no captures at all (lab, nDPI, corpus): CI without ../shared')
    ap.add_argument('--data-cache', help='developing: keep the replayed data in this pickle and reuse it (delete it when the sensor or the data change)')
    ap.add_argument('--trees', type=int, default=None)
    ap.add_argument('--depth', type=int, default=None)
    args = ap.parse_args()

    small = args.subset
    # 40 trees of depth 16. Smaller forests were tried for inference cost (40 × 16 costs ~20 % of replay packets/s on
    # the SYN flood, one flow per 3 packets; bench/classify.mjs): 20 trees of depth 12 generalised much worse in the
    # leave-one-source-out runs (half of the left-out corpus flows called attacks), so generalisation won.
    trees = args.trees or (9 if small else 40)
    depth = args.depth or (8 if small else 16)
    sample = args.cic_sample or os.path.join(args.cic_dir, 'CICIDS2017_sample.csv')
    header = pd.read_csv(sample, nrows=0, encoding='latin-1').columns
    features = [c.strip() for c in header if c.strip() not in ('Label', 'Destination Port')]
    if len(features) != 77:
        raise SystemExit(f'train.py: expected the 77 cic2017 feature columns in {sample}, found {len(features)}')
    candidates = [c for c in features if c not in EXCLUDED]

    if args.data_cache and os.path.exists(args.data_cache):
        d, foreign, data_lines = pd.read_pickle(args.data_cache)
    else:
        work = tempfile.mkdtemp(prefix='sensor-train-')
        try:
            d, foreign, data_lines = load(args, features, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if args.data_cache:
            pd.to_pickle((d, foreign, data_lines), args.data_cache)
    test, val = ev.split(d)
    test, val = ev.keep_duplicates_together(d, test, val, features)
    train = ev.cap_rows(d, ~test & ~val, TRAIN_CAP)
    log(f'{len(d)} rows: train {int(train.sum())} (capped at {TRAIN_CAP} per unit and label), validation {int(val.sum())}, test {int(test.sum())}')
    log('training rows: ' + ', '.join(f'{s}/{c} {n}' for (s, c), n in d[train].groupby(['source', 'Label']).size().items()))

    # ---- ablation: which inputs generalise, for each exportable family (validation + leave-one-source-out)
    ablation = {}
    chosen_set = 'no_init_win'
    if not small:
        for fam in families.ABLATION:
            for fs in FEATURE_SETS:
                inputs = inputs_for(fs, candidates)
                f = Fitted(fam, inputs, d, train, val, small, trees, depth)
                loso = leave_one_source_out(d, fam, inputs, small, trees, depth, train, val)
                loto = leave_one_tool_out(d, fam, inputs, small, trees, depth, train, val)
                key = f'{fam}/{fs}'
                ablation[key] = {'family': fam, 'feature_set': fs, 'dropped': [c for c in candidates if c not in inputs], 'inputs': len(inputs),
                                 'validation_macro_attack_recall_at_threshold': round(f.val_recall or 0, 4),
                                 'validation_tool_recall_at_threshold': round(f.val_tool_recall or 0, 4),
                                 'validation_benign_fpr': ev.benign_fpr(d.loc[val, 'Label'].to_numpy(), f.val_pred),
                                 'threshold': f.threshold, 'leave_one_source_out': loso,
                                 'leave_one_tool_out': loto, 'leave_one_tool_out_summary': loto_summary(loto),
                                 'score': generalisation_score(f, loso, loto)}
                log(f'ablation {key}: score {ablation[key]["score"]} (validation tool recall {ablation[key]["validation_tool_recall_at_threshold"]}, '
                    + ', '.join(f'LOSO {s} recall {v["macro_attack_recall"]} FPR {v["benign_fpr"]}' for s, v in loso.items())
                    + f', LOTO {loto_summary(loto)})')
        chosen_set = ablation[max(ablation, key=lambda k: ablation[k]['score'])]['feature_set']
    inputs = inputs_for(chosen_set, candidates)
    log(f'inputs: feature set {chosen_set}, {len(inputs)} columns')

    # ---- model families on the chosen inputs
    comparison, fitted, probas = {}, {}, {}
    for fam in (families.FAMILIES + BUDGET_FAMILIES if not small else ('random_forest',)):
        f = Fitted(fam, inputs, d, train, val, small, trees, depth)
        m, proba = measure(f, d, test, foreign)
        loso = leave_one_source_out(d, fam, inputs, small, trees, depth, train, val) if not small else {}
        loto = leave_one_tool_out(d, fam, inputs, small, trees, depth, train, val) if not small and (fam in families.EXPORTABLE or fam in BUDGET_FAMILIES) else {}
        fitted[fam], probas[fam] = f, proba
        comparison[fam] = {
            'estimator': families.describe(fam, f.model), 'threshold': f.threshold,
            'validation_macro_attack_recall_at_threshold': round(f.val_recall or 0, 4),
            'validation_tool_recall_at_threshold': round(f.val_tool_recall or 0, 4),
            'score': generalisation_score(f, loso, loto), 'leave_one_source_out': loso,
            'leave_one_tool_out': loto, 'leave_one_tool_out_summary': loto_summary(loto) if loto else None,
            'test': {k: v for k, v in m['held_out_all'].items() if k != 'confusion_matrix'},
            'test_argmax': m['held_out_all_argmax'],
            'test_by_source': {k[len('held_out_'):]: {'benign_fpr': v['benign_fpr'], 'macro_f1': v['macro_f1']}
                               for k, v in m.items() if k.startswith('held_out_') and not k.endswith(('_by_label', '_argmax')) and k != 'held_out_all'},
            'train_seconds': m['train_seconds'], 'inference_seconds_per_1000_rows': m['inference_seconds_per_1000_rows'],
            'trees': tree_count(f.model),
        }
        log(f'{fam}: score {comparison[fam]["score"]}, test macro-F1 {m["held_out_all"]["macro_f1"]}, benign FPR {m["held_out_all"]["benign_fpr"]}, '
            f'train {m["train_seconds"]} s')
    shipped = max(SHIPPABLE if not small else ('random_forest',), key=lambda k: comparison.get(k, {'score': -9})['score'])
    best_any = max(comparison, key=lambda k: comparison[k]['score'])
    final = fitted[shipped]
    metrics, proba = measure(final, d, test, foreign)
    metrics.update({
        'split': (f'test = the later {int(ev.TEST_SHARE * 100)} % of each lab phase and published slice (time order) and '
                  f'{int(ev.TEST_SHARE * 100)} % of the nDPI and corpus captures (whole captures); validation = the '
                  f'{int(ev.VALIDATION_SHARE * 100)} % before it and {int(ev.VALIDATION_SHARE * 100)} % of other captures; '
                  f'a connection tail stays with its connection; duplicate feature vectors kept on one side; training rows capped at '
                  f'{TRAIN_CAP} per unit and label'),
        'fpr_budget': FPR_BUDGET, 'alert_threshold': final.threshold, 'feature_set': chosen_set,
        'shipped_family': shipped, 'best_family_by_score': best_any,
        'shippable_families': list(SHIPPABLE) if not small else ['random_forest'],
        'comparison': comparison, 'ablation': ablation,
    })
    # the previous default measured on the second lab with the sensor (measure_tools.py), kept next to the captures
    previous = os.path.join(args.tools_dir, PREVIOUS_MODEL_ON_TOOLS)
    if not small and not args.no_tools_lab and os.path.exists(previous):
        with open(previous) as f:
            metrics['tools_lab_previous_model'] = json.load(f)
    for k in ('held_out_all', 'held_out_cic', 'held_out_lab', 'held_out_ndpi', 'held_out_corpus'):
        if k in metrics:
            m = metrics[k]
            log(f'{k}: rows {m["rows"]} accuracy {m["accuracy"]} macro-F1 {m["macro_f1"]} benign FPR {m["benign_fpr"]}')

    # ---- export
    os.makedirs(args.out, exist_ok=True)
    model = model_to_onnx(final.model, len(inputs), name=args.name, doc=f'{args.name}: {shipped} on {PROFILE} CICFlowMeter features')
    onnx_path = os.path.join(args.out, f'{args.name}.onnx')
    onnx.save(model, onnx_path)
    card_path = os.path.join(args.out, f'{args.name}.json')
    x_train = preprocess(d.loc[train, inputs].to_numpy())
    y_train = d.loc[train, 'Label'].to_numpy()
    card = {
        'format': 'sensor-model-card/1',
        'name': args.name,
        'version': '6' if not small else '0-subset',
        'task': 'attack',
        'description': (f'{families.describe(shipped, final.model)} over {len(inputs)} {PROFILE} features; classes = CIC-IDS2017 groups; '
                        f'trained on published CIC-IDS2017 rows, two lab runs, '
                        f'{"a second lab of other attack tools, " if (d["source"] == "tools").any() else ""}nDPI application traffic and benign protocol traces'),
        'profile': PROFILE,
        'onnx': {'file': os.path.basename(onnx_path), 'input': INPUT_NAME, 'probabilities': PROBABILITIES_NAME, 'sha256': sources.sha256_file(onnx_path)},
        'inputs': inputs,
        'preprocessing': PREPROCESSING,
        'classes': final.classes,
        'benign': BENIGN,
        'alert_threshold': final.threshold,
        'kdd': {c: KDD[c] for c in final.classes},
        'provenance': {
            'data': data_lines,
            'created': dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace('+00:00', 'Z'),
            'code_commit': git_commit(),
            'command': 'python3 models/train/train.py' + (' --subset' if small else '') + (' --no-lab' if args.no_lab else ''),
            'label_mapping': sources.GROUP,
            'excluded_columns': EXCLUDED + [c for c in candidates if c not in inputs],
            'estimator': f'sklearn {sklearn.__version__} {families.describe(shipped, final.model)}, class-balanced sample weights, random_state={families.SEED}',
            'libraries': f'numpy {np.__version__}, pandas {pd.__version__}, onnx {onnx.__version__}',
            'train_rows': int(train.sum()),
        },
        'metrics': metrics,
        'drift_reference': drift_reference(x_train, y_train, inputs, final.classes),
    }
    write_json(card_path, card)

    # ---- rows for the ONNX/sklearn agreement check: every test row, plus every other row with a NaN or an
    # Infinity (raw profile rows, so the check covers the card's preprocessing too)
    check_dir = args.check_dir or tempfile.mkdtemp(prefix='sensor-check-')
    os.makedirs(check_dir, exist_ok=True)
    all_raw = d[features].to_numpy(dtype=np.float64)
    extra = ~test & ~np.isfinite(all_raw).all(axis=1)
    raw = np.concatenate([all_raw[test], all_raw[extra]])
    check_proba = np.concatenate([proba, final.proba(d[extra])])
    raw.astype('<f8').tofile(os.path.join(check_dir, 'rows.f64'))
    check_proba.astype('<f8').tofile(os.path.join(check_dir, 'proba.f64'))
    cls_index = {c: i for i, c in enumerate(final.classes)}
    write_json(os.path.join(check_dir, 'meta.json'), {
        'rows': int(raw.shape[0]), 'held_out_rows': int(test.sum()), 'non_finite_training_rows': int(extra.sum()),
        'columns': features, 'classes': final.classes, 'alert_threshold': final.threshold,
        'predicted': [int(i) for i in np.argmax(check_proba, axis=1)],
        'verdict': [cls_index[v] for v in ev.verdicts(check_proba, final.classes, final.threshold)],
        'card': card_path,
    })
    if not args.no_check:
        r = subprocess.run(['node', os.path.join(HERE, 'check_onnx.mjs'), check_dir], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f'train.py: ONNX and scikit-learn disagree:\n{r.stdout}{r.stderr}')
        agreement = json.loads(r.stdout)
        log(f'ONNX agreement: {agreement}')
        card['metrics']['onnx_agreement'] = agreement
        write_json(card_path, card)
    if not small:
        write_golden(os.path.join(HERE, f'golden-{args.name}.json'), d.loc[test], features, proba, final.classes, final.threshold)
        plot_confusion(os.path.join(args.out, f'{args.name}.png'), metrics, final.classes)
        y_test = d.loc[test, 'Label'].to_numpy()
        plot_roc(os.path.join(args.out, f'{args.name}-roc.png'), y_test, probas, {k: fitted[k].classes for k in fitted}, shipped)
        write_report(os.path.join(args.out, f'{args.name}.md'), card, {'onnx_bytes': os.path.getsize(onnx_path)})
    if not args.check_dir:
        shutil.rmtree(check_dir, ignore_errors=True)
    log(f'wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes) and {card_path}')


def write_golden(path: str, held_out: pd.DataFrame, columns: list[str], proba: np.ndarray, classes: list[str], threshold: float | None) -> None:
    """A few test rows per class with scikit-learn's probabilities: a test checks the shipped ONNX against them
    without Python. Rows with NaN/Infinity features are included on purpose."""
    rng = np.random.default_rng(ev.SEED)
    labels = held_out['Label'].to_numpy()
    raw = held_out[columns].to_numpy(dtype=np.float64)
    special = np.flatnonzero(~np.isfinite(raw).all(axis=1))
    pick = list(special[:10])
    for c in classes:
        idx = np.flatnonzero(labels == c)
        pick += list(rng.choice(idx, size=min(10, len(idx)), replace=False))
    pick = sorted(set(int(i) for i in pick))

    def cell(v: float):
        return 'NaN' if np.isnan(v) else 'Infinity' if v == np.inf else '-Infinity' if v == -np.inf else float(v)

    write_json(path, {
        'about': 'test rows (cic2017 profile columns, raw) and scikit-learn predict_proba of the model exported to models/; written by train.py',
        'columns': columns, 'classes': classes, 'alert_threshold': threshold,
        'rows': [[cell(v) for v in raw[i]] for i in pick],
        'labels': [str(labels[i]) for i in pick],
        'proba': [[round(float(p), 9) for p in proba[i]] for i in pick],
    })


if __name__ == '__main__':
    main()
