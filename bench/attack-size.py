#!/usr/bin/env python3
"""What the attack model's size costs per flow: throwaway HistGradientBoosting models of several sizes (iterations x
leaves per tree), on the default attack card's 66 inputs, timed in onnxruntime-node as the sensor runs them.

    /usr/bin/python3 bench/attack-size.py [--iters 10,20,50,100] [--leaves 15,31,63] [--rows 40000]

The models are fitted on ../shared/data/cic/CICIDS2017_sample.csv (its 7 most frequent labels; NaN/Infinity -> -1 as
the card does) with early stopping off, so every model has exactly iters x classes trees, exported with
models/train/onnx_export.py (what train.py ships), and timed by node on the sample's rows (1,024 rows a batch, one
intra-op thread, warm: the median of 5 passes). They are never shipped: this says what a size costs, not how good it is.
Prints one line per model: trees, leaves, ONNX size, µs per flow.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'models', 'train'))
import onnx_export  # noqa: E402

TIMER = r"""
const { createRequire } = require('node:module');
const { readFileSync } = require('node:fs');
const ort = createRequire(process.argv[1] + '/')('onnxruntime-node');
const [root, rowsFile, width, ...models] = process.argv.slice(1);
const x = new Float32Array(readFileSync(rowsFile).buffer.slice(0));
const W = Number(width), n = x.length / W, B = 1024;
(async () => {
  for (const m of models) {
    const s = await ort.InferenceSession.create(m, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    const passes = [];
    for (let p = 0; p < 6; p++) {
      const t = performance.now();
      for (let o = 0; o + B <= n; o += B) await s.run({ input: new ort.Tensor('float32', x.subarray(o * W, (o + B) * W), [B, W]) }, ['probabilities']);
      if (p > 0) passes.push(((performance.now() - t) * 1000) / (Math.floor(n / B) * B));
    }
    passes.sort((a, b) => a - b);
    console.log(JSON.stringify({ model: m, us_per_flow: passes[2] }));
  }
})();
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--iters', default='10,20,50,100')
    ap.add_argument('--leaves', default='15,31,63')
    ap.add_argument('--rows', type=int, default=40000)
    args = ap.parse_args()
    card = json.load(open(os.path.join(ROOT, 'models', 'cic2017-attack.json')))
    inputs = card['inputs']
    sample = os.path.join(ROOT, '..', 'shared', 'data', 'cic', 'CICIDS2017_sample.csv')
    d = pd.read_csv(sample, encoding='latin-1', low_memory=False)
    d.columns = [c.strip() for c in d.columns]
    top = d['Label'].value_counts().index[:7]
    d = d[d['Label'].isin(top)].sample(frac=1.0, random_state=1).head(args.rows)
    x = d[inputs].apply(pd.to_numeric, errors='coerce').to_numpy(dtype=np.float64)
    x[~np.isfinite(x)] = -1.0
    y = d['Label'].to_numpy()
    tmp = tempfile.mkdtemp(prefix='attack-size-')
    rows_file = os.path.join(tmp, 'rows.f32')
    x.astype(np.float32).tofile(rows_file)
    made = []
    for iters in [int(v) for v in args.iters.split(',')]:
        for leaves in [int(v) for v in args.leaves.split(',')]:
            m = HistGradientBoostingClassifier(max_iter=iters, max_leaf_nodes=leaves, learning_rate=0.25, early_stopping=False, random_state=0)
            m.fit(x, y)
            trees = sum(len(it) for it in m._predictors)
            leaf_count = sum(int(p.nodes['is_leaf'].sum()) for it in m._predictors for p in it)
            path = os.path.join(tmp, f'hgb-{iters}-{leaves}.onnx')
            proto = onnx_export.model_to_onnx(m, len(inputs), name=f'hgb-{iters}-{leaves}')
            with open(path, 'wb') as f:
                f.write(proto.SerializeToString())
            made.append((path, iters, leaves, trees, leaf_count))
    out = subprocess.run(['node', '-e', TIMER, ROOT, rows_file, str(len(inputs)), *[p for p, *_ in made]], capture_output=True, text=True, check=True)
    timing = {r['model']: r['us_per_flow'] for r in map(json.loads, out.stdout.split('\n')[:-1])}
    print(f'load average {" ".join(f"{v:.2f}" for v in os.getloadavg())}; {len(x)} rows of {sample}, classes {list(top)}')
    print('iterations | max leaves | trees | leaves (total) | ONNX KB | µs/flow')
    for path, iters, leaves, trees, leaf_count in made:
        print(f'{iters} | {leaves} | {trees} | {leaf_count} | {os.path.getsize(path) // 1024} | {timing[path]:.2f}')
    for p, *_ in made:
        os.remove(p)
    os.remove(rows_file)
    os.rmdir(tmp)


if __name__ == '__main__':
    main()
