"""Splits, the verdict rule, the alert threshold and the measures train.py reports.

The verdict rule is the sensor's (the card contract): A = the non-benign class with the highest probability;
the flow is called A when p[A] >= the alert threshold, else benign. The threshold is chosen on validation rows
for a benign false-positive budget, never on test rows.
"""
from __future__ import annotations

import time
import zlib

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

BENIGN = 'BENIGN'
SEED = 20261123
TEST_SHARE = 0.30       # the later 30 % of each time-ordered unit, or 30 % of the captures, are test rows
VALIDATION_SHARE = 0.20  # the next 20 % (before the test part in time, or other captures): validation rows
CAPTURE_SOURCES = ('ndpi', 'corpus')  # split by capture; the others (cic, lab) by time inside each unit


# ---- split --------------------------------------------------------------------------------------------------

def capture_bucket(unit: str) -> float:
    """A capture's fixed place in [0, 1): the split by capture does not depend on which captures are present."""
    return (zlib.crc32(unit.encode()) % 10_000) / 10_000


def split(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(test, validation) masks. nDPI and corpus captures go whole to one side (by a hash of the capture name);
    a lab phase or a published CIC slice is split by time: its later 30 % is test, the 20 % before that is
    validation. (By flow count rather than by clock: the port scan phase has 99 % of its flows in 2 s.)"""
    test = np.zeros(len(d), dtype=bool)
    val = np.zeros(len(d), dtype=bool)
    for unit, idx in d.groupby('unit').groups.items():
        pos = d.index.get_indexer(idx)
        if unit.split(':', 1)[0] in CAPTURE_SOURCES:
            b = capture_bucket(unit)
            test[pos] = b < TEST_SHARE
            val[pos] = TEST_SHARE <= b < TEST_SHARE + VALIDATION_SHARE
        else:
            r = (d.loc[idx, 'order'].rank(method='first').to_numpy() - 1) / len(idx)
            test[pos] = r >= 1 - TEST_SHARE
            val[pos] = (r >= 1 - TEST_SHARE - VALIDATION_SHARE) & (r < 1 - TEST_SHARE)
    return test, val


def keep_duplicates_together(d: pd.DataFrame, test: np.ndarray, val: np.ndarray, features: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Published rows repeat some feature vectors: every copy goes where its first copy is, so no test row is a
    training row in disguise. (Only published rows: a flood's flows repeat because the flood does, and its
    later flows are rightly test rows.)"""
    test, val = test.copy(), val.copy()
    published = np.flatnonzero((d['source'] == 'cic').to_numpy())
    key = pd.util.hash_pandas_object(d.iloc[published][features].round(9), index=False).to_numpy()
    first: dict[int, tuple[bool, bool]] = {}
    for pos, k in zip(published, key):
        if k in first:
            test[pos], val[pos] = first[k]
        else:
            first[k] = (test[pos], val[pos])
    return test, val


def cap_rows(d: pd.DataFrame, mask: np.ndarray, cap: int) -> np.ndarray:
    """At most `cap` rows per (unit, label) among `mask`: the flood and scan phases have 10^5 near-identical
    flows, which would otherwise be most of the training set. Evaluation rows are never capped."""
    rng = np.random.default_rng(SEED)
    keep = mask.copy()
    sub = d[mask]
    for _, idx in sub.groupby(['unit', 'Label']).groups.items():
        if len(idx) > cap:
            drop = rng.choice(np.asarray(idx), size=len(idx) - cap, replace=False)
            keep[d.index.get_indexer(drop)] = False
    return keep


def class_weights(y: np.ndarray) -> np.ndarray:
    """Every class weighs the same in total (scikit-learn's 'balanced'), as sample weights any estimator takes."""
    w = np.ones(len(y))
    classes = np.unique(y)
    for c in classes:
        w[y == c] = len(y) / (len(classes) * (y == c).sum())
    return w


# ---- verdicts -----------------------------------------------------------------------------------------------

def attack_best(proba: np.ndarray, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(best non-benign class, its probability) per row; ties go to the first class in `classes` order."""
    cls = np.asarray(classes, dtype=object)
    p = proba.copy()
    p[:, classes.index(BENIGN)] = -1.0
    a = p.argmax(axis=1)
    return cls[a], proba[np.arange(len(a)), a]


def verdicts(proba: np.ndarray, classes: list[str], threshold: float | None) -> np.ndarray:
    if threshold is None:
        return np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    label, score = attack_best(proba, classes)
    out = label.copy()
    out[score < threshold] = BENIGN
    return out


def threshold_for_budget(attack_score_of_benign: np.ndarray, budget: float) -> float:
    """The smallest threshold at which at most `budget` of these benign rows would be called attacks."""
    s = np.sort(attack_score_of_benign)[::-1]
    allowed = int(np.floor(budget * len(s)))
    if len(s) == 0:
        return 0.5
    if allowed >= len(s):
        return float(np.nextafter(0.0, 1.0))
    return float(min(1.0, np.nextafter(s[allowed], 2.0)))


# ---- measures -----------------------------------------------------------------------------------------------

def per_class(y_true, y_pred, classes) -> dict:
    rep = classification_report(y_true, y_pred, labels=classes, output_dict=True, zero_division=0)
    return {c: {'precision': round(rep[c]['precision'], 4), 'recall': round(rep[c]['recall'], 4),
                'f1': round(rep[c]['f1-score'], 4), 'support': int(rep[c]['support'])} for c in classes}


def benign_fpr(y_true, y_pred) -> float | None:
    b = y_true == BENIGN
    return None if b.sum() == 0 else round(float((y_pred[b] != BENIGN).mean()), 5)


def evaluate(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict:
    present = [c for c in classes if (y_true == c).any()]
    attacks = y_true != BENIGN
    return {
        'rows': int(len(y_true)),
        'accuracy': round(float(accuracy_score(y_true, y_pred)), 4) if len(y_true) else None,
        'macro_f1': round(float(f1_score(y_true, y_pred, labels=present, average='macro', zero_division=0)), 4) if present else None,
        'per_class': per_class(y_true, y_pred, present) if present else {},
        'benign_fpr': benign_fpr(y_true, y_pred),
        'attack_detection_rate': None if attacks.sum() == 0 else round(float((y_pred[attacks] != BENIGN).mean()), 4),
        'confusion_matrix': {'labels': classes, 'rows_true_cols_predicted': confusion_matrix(y_true, y_pred, labels=classes).tolist()},
    }


def macro_attack_recall(y_true: np.ndarray, y_pred: np.ndarray) -> float | None:
    """Mean over attack classes present of the share called by their own class: the selection measure."""
    attacks = [c for c in np.unique(y_true) if c != BENIGN]
    if not attacks:
        return None
    return float(np.mean([(y_pred[y_true == c] == c).mean() for c in attacks]))


def macro_detail_recall(detail: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray) -> float | None:
    """Mean over the attack rows' original labels (a lab tool, a published label) of the share called by their
    own class: each tool counts the same, however many flows it made."""
    attacks = sorted(set(detail[y_true != BENIGN]))
    if not attacks:
        return None
    return float(np.mean([(y_pred[detail == k] == y_true[detail == k]).mean() for k in attacks]))


def by_detail(detail: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Per original label (the lab's tool labels, nDPI categories...): rows, share called by the right class,
    share called any attack."""
    out = {}
    for k in sorted(set(detail)):
        m = detail == k
        out[str(k)] = {'rows': int(m.sum()), 'right_class': round(float((y_pred[m] == y_true[m]).mean()), 4),
                       'flagged_as_attack': round(float((y_pred[m] != BENIGN).mean()), 4)}
    return out


class Timer:
    def __enter__(self):
        self.t = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t
