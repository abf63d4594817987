"""A model whose output depends only on one input, Server Name Class (test/server-name-class.test.ts) or Payload
Protocol Class (test/payload-protocol-class.test.ts).

One decision tree (a random forest of one tree, no bootstrap) learns a table of class counts per input value 0..4,
chosen so that every value gives another (group, probability) pair: the group and score the sensor stores for a
flow then say which value the flow's input had. Writes names.onnx, its card names.json and expected.json:
scikit-learn's probabilities for values 0..4.

    python3 server-name-model.py DIR SUFFIXES_JSON                 the server_names suffix table, [[suffix, group], ...]
    python3 server-name-model.py DIR PROTOCOLS_JSON --payload      the payload_protocols list, [name, name, name]
"""
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'models' / 'train'))
from onnx_export import INPUT_NAME, PROBABILITIES_NAME, model_to_onnx  # noqa: E402

CLASSES = ['Web', 'Network', 'Other']
# Rows of class [Web, Network, Other] per input value: 0 no name, 1 Web, 2 Network, 3 Other, 4 no suffix matches
# (payload: 0 no protocol, 1-3 the list's protocols, 4 a protocol not listed).
INPUT = {False: 'Server Name Class', True: 'Payload Protocol Class'}
COUNTS = [[1, 1, 8], [7, 2, 1], [1, 6, 3], [2, 3, 5], [4, 3, 3]]


def main(out_dir: str, table_json: str, payload: bool) -> None:
    out = Path(out_dir)
    X, y = [], []
    for value, counts in enumerate(COUNTS):
        for k, n in enumerate(counts):
            X += [[value]] * n
            y += [k] * n
    X = np.array(X, dtype=np.float32)
    forest = RandomForestClassifier(n_estimators=1, bootstrap=False, max_features=None, random_state=0).fit(X, np.array(y))
    onnx_path = out / 'names.onnx'
    onnx_path.write_bytes(model_to_onnx(forest, 1, name='names').SerializeToString())
    card = {
        'format': 'sensor-model-card/1', 'name': 'names', 'version': '1', 'task': 'application',
        'description': f'test model: the group depends only on {INPUT[payload]} (test/helpers/server-name-model.py)',
        'profile': 'cic2017',
        'onnx': {'file': onnx_path.name, 'input': INPUT_NAME, 'probabilities': PROBABILITIES_NAME,
                 'sha256': hashlib.sha256(onnx_path.read_bytes()).hexdigest()},
        'inputs': [INPUT[payload]],
        **({'payload_protocols': {'protocols': json.loads(table_json)}} if payload else {'server_names': {'suffixes': json.loads(table_json)}}),
        'preprocessing': {'nan': -1, 'posinf': -1, 'neginf': -1, 'clip': None, 'scale': None},
        'classes': CLASSES, 'benign': 'Other',
        'provenance': {'data': ['COUNTS in test/helpers/server-name-model.py'], 'created': '2026-12-07T00:00:00Z',
                       'code_commit': 'test', 'command': 'python3 test/helpers/server-name-model.py DIR SUFFIXES'},
        'metrics': {'training_rows': len(y)},
    }
    (out / 'names.json').write_text(json.dumps(card, indent=2))
    proba = forest.predict_proba(np.arange(len(COUNTS), dtype=np.float32).reshape(-1, 1))
    (out / 'expected.json').write_text(json.dumps({'classes': CLASSES, 'proba': proba.tolist()}))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], sys.argv[3:] == ['--payload'])
