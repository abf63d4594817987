#!/usr/bin/env python3
"""Train the sensor's default flow classifier and export it as models/<name>.onnx + .json (+ .md, .png).

    python3 models/train/train.py                      # the shipped model (about a minute on 2 cores)
    python3 models/train/train.py --subset --out DIR --check-dir DIR   # CI: small and fast, same code path

Data (all in the sensor's `cic2017` feature definitions, the build that produced CIC-IDS2017):
  * ../shared/data/cic/CICIDS2017_sample.csv: 6,311 published CIC-IDS2017 rows (groups BENIGN, DoS, PortScan,
    BruteForce, WebAttack, Bot, Infiltration);
  * ../shared/data/cic/cicids2017-friday-ddos-head.csv: the first 299 rows of the Friday DDoS day file (all BENIGN);
  * ../shared/data/lab/phase-*.pcap.gz, replayed by this checkout (`bin/sensor.js --profile cic2017 --db`) and
    labelled with labels.csv's rule (flow start time within a row's window and an endpoint equal to its src_ip).

Split (never random rows; see split_* below and models/<name>.md): the later 30 % of each lab phase's time
window, the later 30 % of each contiguous slice of the CIC sample (rows in file order), and the later 30 % of the
Friday head are held out; exact duplicate feature vectors of the CIC sample stay on one side.

Needs Debian's python3-sklearn, python3-pandas, python3-numpy, python3-onnx (python3-matplotlib for the PNG);
no PyPI. Node and a built checkout (`npm install` / `npx tsc`) replay the lab captures and check the ONNX export
against scikit-learn with onnxruntime, the runtime the sensor uses.
"""
from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True  # no models/train/__pycache__ in the checkout
# A pyenv/venv python3 first on PATH lacks Debian's packages: use the system interpreter that has them.
try:
    import sklearn  # noqa: F401
except ImportError:
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3', *sys.argv])
    sys.exit('train.py: scikit-learn is missing: apt-get install python3-sklearn python3-pandas python3-onnx python3-matplotlib')

import argparse
import datetime as dt
import hashlib
import json
import shutil
import sqlite3
import subprocess
import tempfile

import numpy as np
import onnx
import pandas as pd
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from onnx_export import INPUT_NAME, PROBABILITIES_NAME, forest_to_onnx  # noqa: E402
from report import write_report  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), 'shared')
PROFILE = 'cic2017'
BENIGN = 'BENIGN'
SEED = 20261123
HOLDOUT = 0.30  # the later fraction of each time-ordered unit that is held out

PHASES = ['benign', 'portscan', 'hulk', 'slowloris', 'slowbody', 'ddos', 'sshpatator', 'ftppatator']
# Lab labels → the CIC sample's groups. DDoS → DoS: the sample has no DDoS group, the lab's "DDoS" is an
# hping3 SYN flood (CIC-IDS2017's was an HTTP flood), and a per-flow model cannot see that several sources
# take part (that is a property across flows), so what it can learn from these flows is "denial of service".
LAB_GROUP = {
    'BENIGN': 'BENIGN', 'PortScan': 'PortScan',
    'DoS Hulk': 'DoS', 'DoS slowloris': 'DoS', 'DoS Slowhttptest': 'DoS', 'DDoS': 'DoS',
    'SSH-Patator': 'BruteForce', 'FTP-Patator': 'BruteForce',
}
# cic2017 columns left out of the model's inputs: the second Fwd Header Length is a copy of the first; the bulk
# columns are always 0 in the 2017 build and the Subflow columns equal the totals (CIC-FEATURES.md §9).
EXCLUDED = [
    'Fwd Header Length.1',
    'Fwd Avg Bytes/Bulk', 'Fwd Avg Packets/Bulk', 'Fwd Avg Bulk Rate', 'Bwd Avg Bytes/Bulk', 'Bwd Avg Packets/Bulk', 'Bwd Avg Bulk Rate',
    'Subflow Fwd Packets', 'Subflow Fwd Bytes', 'Subflow Bwd Packets', 'Subflow Bwd Bytes',
]
# Zero-duration flows have Flow Bytes/s and Flow Packets/s of Infinity (or NaN with no payload) in the 2017
# build; they become -1, as the corrected CICFlowMeter prints them. No clipping or scaling: trees need none.
PREPROCESSING = {'nan': -1.0, 'posinf': -1.0, 'neginf': -1.0, 'clip': None, 'scale': None}


def log(msg: str) -> None:
    print(f'train: {msg}', file=sys.stderr, flush=True)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


# ---- data ---------------------------------------------------------------------------------------------------

def load_cic_sample(path: str) -> pd.DataFrame:
    d = pd.read_csv(path)
    d.columns = [c.strip() for c in d.columns]
    d['source'] = 'cic-sample'
    d['unit'] = cic_slices(d['Label'])
    d['order'] = np.arange(len(d), dtype=float)
    return d


def cic_slices(labels: pd.Series) -> np.ndarray:
    """Contiguous slices of the sample: it is made of runs of one attack group (from one day file) with benign
    rows in between; a benign row belongs to the slice of the attack rows before it (or after, at the start)."""
    attack = labels.where(labels != BENIGN).ffill().bfill()
    slice_id = (attack != attack.shift()).cumsum()
    return np.array([f'cic-sample:{i:02d}:{a}' for i, a in zip(slice_id, attack)])


def load_friday_head(path: str) -> pd.DataFrame:
    d = pd.read_csv(path, skipinitialspace=True)
    d.columns = [c.strip() for c in d.columns]
    d['source'] = 'cic-friday-head'
    d['unit'] = 'cic-friday-head'
    d['order'] = np.arange(len(d), dtype=float)  # Timestamp is the same minute for all rows: file order
    return d


def replay_phase(phase: str, lab_dir: str, work: str) -> pd.DataFrame:
    """Replay one lab capture with this checkout's sensor in the cic2017 profile; the flows as a DataFrame."""
    pcap = os.path.join(lab_dir, f'phase-{phase}.pcap.gz')
    db = os.path.join(work, f'{phase}.sqlite')
    for p in (db, db + '-wal', db + '-shm'):
        if os.path.exists(p):
            os.remove(p)
    cmd = ['node', os.path.join(ROOT, 'bin', 'sensor.js'), '--replay', pcap, '--profile', PROFILE, '--db', db, '--no-model', '-q']
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f'train.py: {" ".join(cmd)} failed ({r.returncode}): {r.stderr.strip()}')
    con = sqlite3.connect(db)
    cols = json.loads(con.execute("SELECT value FROM meta WHERE key = 'columns'").fetchone()[0])
    sql = ', '.join(f'"{c["sql"]}"' for c in cols)
    d = pd.read_sql(f'SELECT src_ip, dst_ip, start_us, {sql} FROM flows ORDER BY start_us, id', con)
    con.close()
    names, seen = [], set()
    for c in cols:  # the profile's names; pandas' ".1" for the repeated Fwd Header Length, as in the sample
        n = c['name']
        names.append(n + '.1' if n in seen else n)
        seen.add(n)
    d.columns = ['src_ip', 'dst_ip', 'start_us', *names]
    for n in names:
        d[n] = d[n].astype(float)  # SQLite NULL (a NaN feature) → NaN
    return d


def label_lab(d: pd.DataFrame, rules: pd.DataFrame) -> pd.Series:
    """labels.csv's rule: the row whose window holds the flow's first packet and whose src_ip is an endpoint;
    a flow matching no row is BENIGN."""
    t = d['start_us'] / 1e6
    out = pd.Series(BENIGN, index=d.index, dtype=object)
    for _, r in rules.iterrows():
        m = (t >= r.start_epoch) & (t <= r.end_epoch) & ((d['src_ip'] == r.src_ip) | (d['dst_ip'] == r.src_ip))
        out[m] = r.label
    return out


def load_lab(lab_dir: str, phases: list[str], work: str) -> pd.DataFrame:
    rules = pd.read_csv(os.path.join(lab_dir, 'labels.csv'), comment='#')
    parts = []
    for phase in phases:
        d = replay_phase(phase, lab_dir, work)
        d['lab_label'] = label_lab(d, rules)
        d['Label'] = d['lab_label'].map(LAB_GROUP)
        w = rules[rules.phase == phase].iloc[0]
        d['source'] = 'lab'
        d['unit'] = f'lab:{phase}'
        # Position in the phase's window, 0..1: the split key.
        d['order'] = (d['start_us'] / 1e6 - w.start_epoch) / (w.end_epoch - w.start_epoch)
        log(f'lab {phase}: {len(d)} flows ' + ', '.join(f'{k} {v}' for k, v in d['lab_label'].value_counts().items()))
        parts.append(d)
    return pd.concat(parts, ignore_index=True)


# ---- split --------------------------------------------------------------------------------------------------

def split_by_time(d: pd.DataFrame) -> np.ndarray:
    """Held out (True) = the later HOLDOUT of the rows of each unit, in time order: a lab phase's flows by their
    first packet, a CIC sample slice and the Friday head in file order. (By flow count rather than by clock: the
    port scan phase has 99 % of its flows in its first 2 seconds, so a clock split would hold out 17 flows.)"""
    test = np.zeros(len(d), dtype=bool)
    for _, idx in d.groupby('unit').groups.items():
        rank = d.loc[idx, 'order'].rank(method='first') - 1
        test[d.index.get_indexer(idx)] = (rank >= np.floor(len(idx) * (1 - HOLDOUT))).to_numpy()
    return test


def keep_duplicates_together(d: pd.DataFrame, test: np.ndarray, features: list[str]) -> np.ndarray:
    """The CIC sample repeats some feature vectors (1,015 rows): every copy goes where its first copy is, so no
    held-out row is a training row in disguise."""
    test = test.copy()
    cic = (d['source'] != 'lab').to_numpy()
    key = pd.util.hash_pandas_object(d.loc[cic, features].round(9), index=False).to_numpy()
    first_side: dict[int, bool] = {}
    positions = np.flatnonzero(cic)
    for pos, k in zip(positions, key):
        if k in first_side:
            test[pos] = first_side[k]
        else:
            first_side[k] = test[pos]
    return test


def cap_training(d: pd.DataFrame, train: np.ndarray, cap: int) -> np.ndarray:
    """At most `cap` training flows per (lab phase, label): the DDoS and scan phases have 10^5 near-identical
    flows, which would otherwise be most of the training set. The held-out set keeps every flow."""
    rng = np.random.default_rng(SEED)
    keep = train.copy()
    lab_train = d[train & (d['source'] == 'lab').to_numpy()]
    for _, idx in lab_train.groupby(['unit', 'Label']).groups.items():
        if len(idx) > cap:
            drop = rng.choice(np.asarray(idx), size=len(idx) - cap, replace=False)
            keep[d.index.get_indexer(drop)] = False
    return keep


# ---- model --------------------------------------------------------------------------------------------------

def preprocess(x: np.ndarray) -> np.ndarray:
    """The card's preprocessing, then float32 (what the ONNX graph takes)."""
    x = np.array(x, dtype=np.float64)
    x[np.isnan(x)] = PREPROCESSING['nan']
    x[np.isposinf(x)] = PREPROCESSING['posinf']
    x[np.isneginf(x)] = PREPROCESSING['neginf']
    return x.astype(np.float32)


def per_class(y_true, y_pred, classes) -> dict:
    rep = classification_report(y_true, y_pred, labels=classes, output_dict=True, zero_division=0)
    return {c: {'precision': round(rep[c]['precision'], 4), 'recall': round(rep[c]['recall'], 4),
                'f1': round(rep[c]['f1-score'], 4), 'support': int(rep[c]['support'])} for c in classes}


def benign_fpr(y_true, y_pred) -> float | None:
    b = y_true == BENIGN
    return None if b.sum() == 0 else round(float((y_pred[b] != BENIGN).mean()), 4)


def evaluate(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict:
    present = [c for c in classes if (y_true == c).any()]
    return {
        'rows': int(len(y_true)),
        'accuracy': round(float(accuracy_score(y_true, y_pred)), 4),
        'macro_f1': round(float(f1_score(y_true, y_pred, labels=present, average='macro', zero_division=0)), 4),
        'per_class': per_class(y_true, y_pred, present),
        'benign_fpr': benign_fpr(y_true, y_pred),
        'attack_detection_rate': None if (y_true != BENIGN).sum() == 0 else round(float((y_pred[y_true != BENIGN] != BENIGN).mean()), 4),
        'confusion_matrix': {'labels': classes, 'rows_true_cols_predicted': confusion_matrix(y_true, y_pred, labels=classes).tolist()},
    }


def make_forest(trees: int, depth: int) -> RandomForestClassifier:
    return RandomForestClassifier(
        n_estimators=trees, max_depth=depth, min_samples_leaf=2, max_features=0.5,
        class_weight='balanced_subsample', random_state=SEED, n_jobs=2,
    )


def random_split_reference(d: pd.DataFrame, inputs: list[str], trees: int, depth: int, cap: int) -> dict:
    """For comparison only: the same forest on a random 70/30 split of rows, the way many published figures are
    made. The gap to the time split is how much a random split flatters a model on this data."""
    rng = np.random.default_rng(SEED)
    test = rng.random(len(d)) < HOLDOUT
    train = cap_training(d, ~test, cap)
    f = make_forest(trees, depth).fit(preprocess(d.loc[train, inputs].to_numpy()), d.loc[train, 'Label'].to_numpy())
    y = d.loc[test, 'Label'].to_numpy()
    p = f.predict(preprocess(d.loc[test, inputs].to_numpy()))
    src = d.loc[test, 'source'].to_numpy()
    out = {}
    for k, m in (('all', src == src), ('cic', src != 'lab'), ('lab', src == 'lab')):
        present = sorted(set(y[m]))
        out[k] = {'accuracy': round(float(accuracy_score(y[m], p[m])), 4),
                  'macro_f1': round(float(f1_score(y[m], p[m], labels=present, average='macro', zero_division=0)), 4)}
    return out


def git_commit() -> str:
    try:
        head = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no', '--', 'models/train'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return head + ('-dirty' if dirty else '')
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=os.path.join(ROOT, 'models'), help='directory for <name>.onnx/.json/.md/.png')
    ap.add_argument('--name', default='cic2017-rf')
    ap.add_argument('--subset', action='store_true', help='CI: the CIC sample and two small lab phases, a small forest')
    ap.add_argument('--check-dir', help='write the held-out rows and scikit-learn\'s probabilities here (for the ONNX agreement check)')
    ap.add_argument('--no-check', action='store_true', help='skip the onnxruntime agreement check (node)')
    ap.add_argument('--cic-dir', default=os.path.join(SHARED, 'data', 'cic'))
    ap.add_argument('--lab-dir', default=os.path.join(SHARED, 'data', 'lab'))
    ap.add_argument('--cic-sample', help='the CIC-IDS2017 sample CSV (default: CICIDS2017_sample.csv in --cic-dir)')
    ap.add_argument('--no-lab', action='store_true', help='CI without ../shared: train on --cic-sample only (no lab captures)')
    ap.add_argument('--trees', type=int, default=None)
    ap.add_argument('--depth', type=int, default=None)
    args = ap.parse_args()

    # Chosen on a validation split inside the training part (the later 20 % of each unit's training rows),
    # never on the held-out rows; the trials are listed in models/<name>.md.
    trees = args.trees or (9 if args.subset else 25)
    depth = args.depth or (8 if args.subset else 12)
    phases = ['sshpatator', 'ftppatator'] if args.subset else PHASES
    cap = 3000

    sample_path = args.cic_sample or os.path.join(args.cic_dir, 'CICIDS2017_sample.csv')
    friday_path = os.path.join(args.cic_dir, 'cicids2017-friday-ddos-head.csv')
    cic = load_cic_sample(sample_path)
    features_all = [c for c in cic.columns if c not in ('Label', 'source', 'unit', 'order')]
    if len(features_all) != 77:
        raise SystemExit(f'train.py: expected the 77 cic2017 feature columns in {sample_path}, found {len(features_all)}')
    inputs = [c for c in features_all if c not in EXCLUDED]
    parts = [cic]
    data_lines = [f'{os.path.basename(sample_path)}: {len(cic)} rows, sha256 {sha256_file(sample_path)[:16]}']
    if not args.subset:
        fri = load_friday_head(friday_path)
        parts.append(fri[features_all + ['Label', 'source', 'unit', 'order']])
        data_lines.append(f'{os.path.basename(friday_path)}: {len(fri)} rows, sha256 {sha256_file(friday_path)[:16]}')
    if not args.no_lab:
        work = tempfile.mkdtemp(prefix='sensor-train-')
        try:
            lab = load_lab(args.lab_dir, phases, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        for p in phases:
            f = os.path.join(args.lab_dir, f'phase-{p}.pcap.gz')
            data_lines.append(f'lab phase-{p}.pcap.gz: {int((lab.unit == f"lab:{p}").sum())} flows (sensor --profile cic2017), sha256 {sha256_file(f)[:16]}')
        data_lines.append(f'lab labels.csv sha256 {sha256_file(os.path.join(args.lab_dir, "labels.csv"))[:16]}')
        parts.append(lab[features_all + ['Label', 'lab_label', 'source', 'unit', 'order']])
    d = pd.concat(parts, ignore_index=True)

    test = split_by_time(d)
    test = keep_duplicates_together(d, test, features_all)
    train = cap_training(d, ~test, cap)
    classes = sorted(d['Label'].unique())
    log(f'{len(d)} rows: train {int(train.sum())} (after capping lab phases at {cap}), held out {int(test.sum())}; classes {classes}')

    x_train = preprocess(d.loc[train, inputs].to_numpy())
    y_train = d.loc[train, 'Label'].to_numpy()
    forest = make_forest(trees, depth)
    forest.fit(x_train, y_train)
    classes = [str(c) for c in forest.classes_]

    x_test = preprocess(d.loc[test, inputs].to_numpy())
    y_test = d.loc[test, 'Label'].to_numpy()
    proba = forest.predict_proba(x_test)
    y_pred = forest.classes_[np.argmax(proba, axis=1)]
    src = d.loc[test, 'source'].to_numpy()
    metrics = {
        'split': (f'held out = the later {int(HOLDOUT * 100)} % of each lab phase\'s time window, of each contiguous slice of the CIC sample '
                  '(file order) and of the Friday head; duplicate CIC vectors kept on one side; lab training flows capped at '
                  f'{cap} per phase and label'),
        'held_out_all': evaluate(y_test, y_pred, classes),
        'held_out_cic': evaluate(y_test[src != 'lab'], y_pred[src != 'lab'], classes),
    }
    if not args.no_lab:
        metrics['held_out_lab'] = evaluate(y_test[src == 'lab'], y_pred[src == 'lab'], classes)
        lab_test = d.loc[test & (d['source'] == 'lab').to_numpy()]
        lab_pred = y_pred[src == 'lab']
        metrics['held_out_lab_by_label'] = {
            lbl: {'flows': int((lab_test['lab_label'] == lbl).sum()),
                  'predicted': {k: int(v) for k, v in pd.Series(lab_pred[(lab_test['lab_label'] == lbl).to_numpy()]).value_counts().items()}}
            for lbl in sorted(lab_test['lab_label'].unique())
        }
    if not args.subset:
        metrics['random_row_split_for_comparison'] = random_split_reference(d, inputs, trees, depth, cap)
    for k in ('held_out_all', 'held_out_cic', 'held_out_lab'):
        if k not in metrics:
            continue
        m = metrics[k]
        log(f'{k}: rows {m["rows"]} accuracy {m["accuracy"]} macro-F1 {m["macro_f1"]} benign FPR {m["benign_fpr"]}')

    # ---- export
    os.makedirs(args.out, exist_ok=True)
    model = forest_to_onnx(forest, len(inputs), name=args.name, doc=f'{args.name}: random forest on {PROFILE} CICFlowMeter features')
    onnx_path = os.path.join(args.out, f'{args.name}.onnx')
    onnx.save(model, onnx_path)
    card_path = os.path.join(args.out, f'{args.name}.json')
    card = {
        'format': 'sensor-model-card/1',
        'name': args.name,
        'version': '1' if not args.subset else '0-subset',
        'description': f'random forest ({trees} trees, depth <= {depth}) over {len(inputs)} {PROFILE} features; classes = CIC-IDS2017 sample groups',
        'profile': PROFILE,
        'onnx': {'file': os.path.basename(onnx_path), 'input': INPUT_NAME, 'probabilities': PROBABILITIES_NAME, 'sha256': sha256_file(onnx_path)},
        'inputs': inputs,
        'preprocessing': PREPROCESSING,
        'classes': classes,
        'benign': BENIGN,
        'provenance': {
            'data': data_lines,
            'created': dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace('+00:00', 'Z'),
            'code_commit': git_commit(),
            'command': 'python3 models/train/train.py' + (' --subset' if args.subset else '') + (' --no-lab' if args.no_lab else ''),
            'label_mapping': LAB_GROUP,
            'excluded_columns': EXCLUDED,
            'estimator': f'sklearn {sklearn.__version__} RandomForestClassifier(n_estimators={trees}, max_depth={depth}, min_samples_leaf=2, max_features=0.5, class_weight="balanced_subsample", random_state={SEED})',
            'libraries': f'numpy {np.__version__}, pandas {pd.__version__}, onnx {onnx.__version__}',
            'train_rows': int(train.sum()),
        },
        'metrics': metrics,
    }
    write_json(card_path, card)

    # ---- rows for the ONNX/sklearn agreement check: every held-out row, plus every other row with a NaN or an
    # Infinity (raw profile rows, so the check covers the card's preprocessing too)
    check_dir = args.check_dir or tempfile.mkdtemp(prefix='sensor-check-')
    os.makedirs(check_dir, exist_ok=True)
    all_raw = d[features_all].to_numpy(dtype=np.float64)
    extra = ~test & ~np.isfinite(all_raw).all(axis=1)
    raw = np.concatenate([all_raw[test], all_raw[extra]])
    check_proba = np.concatenate([proba, forest.predict_proba(preprocess(d.loc[extra, inputs].to_numpy()))])
    raw.astype('<f8').tofile(os.path.join(check_dir, 'rows.f64'))
    check_proba.astype('<f8').tofile(os.path.join(check_dir, 'proba.f64'))
    write_json(os.path.join(check_dir, 'meta.json'), {
        'rows': int(raw.shape[0]), 'held_out_rows': int(test.sum()), 'non_finite_training_rows': int(extra.sum()),
        'columns': features_all, 'classes': classes,
        'predicted': [int(i) for i in np.argmax(check_proba, axis=1)], 'card': card_path,
    })
    if not args.no_check:
        r = subprocess.run(['node', os.path.join(HERE, 'check_onnx.mjs'), check_dir], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f'train.py: ONNX and scikit-learn disagree:\n{r.stdout}{r.stderr}')
        agreement = json.loads(r.stdout)
        log(f'ONNX agreement: {agreement}')
        card['metrics']['onnx_agreement'] = agreement
        write_json(card_path, card)
    if not args.subset:
        write_golden(os.path.join(HERE, f'golden-{args.name}.json'), d.loc[test], features_all, proba, classes)
        plot_confusion(os.path.join(args.out, f'{args.name}.png'), metrics, classes)
        write_report(os.path.join(args.out, f'{args.name}.md'), card, {'onnx_bytes': os.path.getsize(onnx_path)})
    if not args.check_dir:
        shutil.rmtree(check_dir, ignore_errors=True)
    log(f'wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes) and {card_path}')


def write_json(path: str, obj) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2, allow_nan=False)
        f.write('\n')


def write_golden(path: str, held_out: pd.DataFrame, columns: list[str], proba: np.ndarray, classes: list[str]) -> None:
    """A few held-out rows per class with scikit-learn's probabilities: a test checks the shipped ONNX against them
    without Python. Rows with NaN/Infinity features are included on purpose."""
    rng = np.random.default_rng(SEED)
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
        'about': 'held-out rows (cic2017 profile columns, raw) and scikit-learn predict_proba of the forest exported to models/; written by train.py',
        'columns': columns, 'classes': classes,
        'rows': [[cell(v) for v in raw[i]] for i in pick],
        'labels': [str(labels[i]) for i in pick],
        'proba': [[round(float(p), 9) for p in proba[i]] for i in pick],
    })


def plot_confusion(path: str, metrics: dict, classes: list[str]) -> None:
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        log('python3-matplotlib missing: no confusion-matrix PNG')
        return
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.6))
    for ax, key, title in ((axes[0], 'held_out_cic', 'CIC-IDS2017 sample, held out'), (axes[1], 'held_out_lab', 'lab captures, held out')):
        cm = np.array(metrics[key]['confusion_matrix']['rows_true_cols_predicted'], dtype=float)
        norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(norm, cmap='Blues', vmin=0, vmax=1)
        ax.set_xticks(range(len(classes)), classes, rotation=45, ha='right')
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel('predicted')
        ax.set_ylabel('true')
        ax.set_title(f'{title} (macro-F1 {metrics[key]["macro_f1"]})')
        for i in range(len(classes)):
            for j in range(len(classes)):
                if cm[i, j] > 0:
                    ax.text(j, i, f'{int(cm[i, j])}', ha='center', va='center', fontsize=7, color='white' if norm[i, j] > 0.5 else 'black')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == '__main__':
    main()
