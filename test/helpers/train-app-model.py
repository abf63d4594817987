"""A small application-task model for test/app-model.test.ts, trained here honestly on the sensor's own rows.

Input: a CSV the sensor wrote (--profile cic2017 --no-model --no-app-model) and an output directory. Each flow is
labelled by its server port (80/443/8080 Web; 53, 123, 137, 5355 Network; anything else Other, as the issue allows
for lab services), a 5-tree random forest learns it from inputs that differ from the attack model's (two of them,
Destination Port and Protocol, come from the flow's identity, not its features), and models/train/onnx_export.py
writes the ONNX. Writes test-app.onnx, its card test-app.json and expected.json: scikit-learn's predicted group and
probabilities for every CSV row, in order, which the test compares with what the sensor stored.
"""
import csv
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'models' / 'train'))
from onnx_export import INPUT_NAME, PROBABILITIES_NAME, model_to_onnx  # noqa: E402

INPUTS = ['Destination Port', 'Protocol', 'Flow Duration', 'Total Fwd Packets', 'Total Backward Packets',
          'Fwd Packet Length Max', 'Flow Bytes/s', 'Init_Win_bytes_forward']
CLASSES = ['Web', 'Network', 'Other']
NAN, POSINF, NEGINF = -1.0, -1.0, -1.0


def group(port: int) -> int:
    if port in (80, 443, 8080):
        return 0
    if port in (53, 123, 137, 5355):
        return 1
    return 2


def value(text: str) -> float:
    x = float(text)  # Java prints NaN and Infinity, which float() reads
    if math.isnan(x):
        return NAN
    if math.isinf(x):
        return POSINF if x > 0 else NEGINF
    return x


def main(csv_path: str, out_dir: str) -> None:
    out = Path(out_dir)
    rows = list(csv.reader(open(csv_path, newline='')))
    header, body = rows[0], rows[1:]
    at = [header.index(n) for n in INPUTS]  # first copy of a name, as the sensor resolves it
    X = np.array([[value(r[j]) for j in at] for r in body], dtype=np.float64).astype(np.float32)
    y = np.array([group(int(r[header.index('Destination Port')])) for r in body])
    forest = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(X, y)
    assert list(forest.classes_) == [0, 1, 2], forest.classes_
    onnx_path = out / 'test-app.onnx'
    onnx_path.write_bytes(model_to_onnx(forest, len(INPUTS), name='test-app').SerializeToString())
    card = {
        'format': 'sensor-model-card/1', 'name': 'test-app', 'version': '1', 'task': 'application',
        'description': 'test model: application group by server port (test/helpers/train-app-model.py)',
        'profile': 'cic2017',
        'onnx': {'file': onnx_path.name, 'input': INPUT_NAME, 'probabilities': PROBABILITIES_NAME,
                 'sha256': hashlib.sha256(onnx_path.read_bytes()).hexdigest()},
        'inputs': INPUTS,
        'preprocessing': {'nan': NAN, 'posinf': POSINF, 'neginf': NEGINF, 'clip': None, 'scale': None},
        'classes': CLASSES, 'benign': 'Other',
        'provenance': {'data': [f'{Path(csv_path).name}: {len(body)} rows'], 'created': '2026-12-06T00:00:00Z',
                       'code_commit': 'test', 'command': 'python3 test/helpers/train-app-model.py CSV DIR'},
        'metrics': {'training_rows': len(body)},
    }
    (out / 'test-app.json').write_text(json.dumps(card, indent=2))
    proba = forest.predict_proba(X)
    (out / 'expected.json').write_text(json.dumps({'classes': CLASSES, 'proba': proba.tolist(), 'truth': [CLASSES[k] for k in y]}))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
