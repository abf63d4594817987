"""Export a fitted scikit-learn forest or histogram gradient boosting to ONNX (ai.onnx.ml TreeEnsembleClassifier).

skl2onnx is not packaged for Debian, so this writes the graph itself with python3-onnx. The graph is

    input  float32 [N, F]  ->  TreeEnsembleClassifier  ->  label int64 [N], probabilities float32 [N, C]

and reproduces `RandomForestClassifier.predict_proba`: each leaf carries the class distribution of its
training samples (sklearn's `tree_.value`, normalised to sum 1) divided by the number of trees, and the
operator adds the leaves the row reaches (post_transform NONE), which is the forest's average.

Thresholds: sklearn casts X to float32 and tests `x <= t` with `t` a float64 (the midpoint of two float32
training values). ONNX stores thresholds as float32, so `t` is rounded *down* to the largest float32 <= t:
for every float32 x, `x <= t` and `x <= floor32(t)` are then the same test (rounding to nearest could
round up onto the next training value and send it left instead of right).
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

INPUT_NAME = 'input'
LABEL_NAME = 'label'
PROBABILITIES_NAME = 'probabilities'


def floor_float32(t: np.ndarray) -> np.ndarray:
    """Largest float32 <= t, elementwise (t float64)."""
    f = t.astype(np.float32)
    over = f.astype(np.float64) > t
    f[over] = np.nextafter(f[over], np.float32(-np.inf))
    return f


def forest_to_onnx(forest, n_features: int, *, name: str, doc: str = '') -> onnx.ModelProto:
    """The ONNX model of a fitted RandomForestClassifier (single output, classes 0..C-1 as int64 labels)."""
    estimators = forest.estimators_
    n_trees = len(estimators)
    n_classes = len(forest.classes_)
    if forest.n_outputs_ != 1:
        raise ValueError('only single-output forests are supported')
    if n_classes < 3:
        # onnxruntime treats a 2-class ensemble with one weight per leaf as a binary classifier; the sensor's
        # models have more classes, and refusing here is simpler than exporting that special case.
        raise ValueError(f'need at least 3 classes, got {n_classes}')

    nodes_treeids: list[int] = []
    nodes_nodeids: list[int] = []
    nodes_featureids: list[int] = []
    nodes_values: list[np.ndarray] = []
    nodes_modes: list[str] = []
    nodes_true: list[int] = []
    nodes_false: list[int] = []
    class_treeids: list[int] = []
    class_nodeids: list[int] = []
    class_ids: list[int] = []
    class_weights: list[float] = []

    for t, est in enumerate(estimators):
        tree = est.tree_
        n = tree.node_count
        left = tree.children_left
        right = tree.children_right
        is_leaf = left == -1
        thresholds = floor_float32(tree.threshold.astype(np.float64))
        values = tree.value[:, 0, :].astype(np.float64)
        for i in range(n):
            nodes_treeids.append(t)
            nodes_nodeids.append(i)
            if is_leaf[i]:
                nodes_featureids.append(0)
                nodes_values.append(np.float32(0))
                nodes_modes.append('LEAF')
                nodes_true.append(0)
                nodes_false.append(0)
                total = values[i].sum()
                for c in range(n_classes):
                    w = values[i, c] / total / n_trees
                    if w != 0.0:
                        class_treeids.append(t)
                        class_nodeids.append(i)
                        class_ids.append(c)
                        class_weights.append(w)
            else:
                nodes_featureids.append(int(tree.feature[i]))
                nodes_values.append(thresholds[i])
                nodes_modes.append('BRANCH_LEQ')
                nodes_true.append(int(left[i]))
                nodes_false.append(int(right[i]))

    return _ensemble_model(name, doc, n_features, n_classes, 'NONE', None, nodes_treeids, nodes_nodeids, nodes_featureids,
                           nodes_values, nodes_modes, nodes_true, nodes_false, class_treeids, class_nodeids, class_ids, class_weights)


def gradient_boosting_to_onnx(model, n_features: int, *, name: str, doc: str = '') -> onnx.ModelProto:
    """The ONNX model of a fitted HistGradientBoostingClassifier (multi-class): every iteration has one tree per
    class; a row's raw score for class c is the baseline plus the values of the leaves it reaches in c's trees,
    and the probabilities are their softmax (post_transform SOFTMAX, base_values = the baseline). A node sends
    x left when x <= its threshold; the sensor's inputs never hold NaN (the card replaces it), so the missing-value
    direction is not needed. Thresholds are rounded down to float32 as for the forests."""
    n_classes = len(model.classes_)
    if n_classes < 3:
        raise ValueError(f'need at least 3 classes, got {n_classes}')
    if any(p.nodes['is_categorical'].any() for it in model._predictors for p in it):
        raise ValueError('categorical splits are not supported')
    base = np.asarray(model._baseline_prediction, dtype=np.float64).ravel()
    if base.shape != (n_classes,):
        raise ValueError(f'unexpected baseline shape {np.shape(model._baseline_prediction)}')
    lists: tuple[list, ...] = tuple([] for _ in range(12))
    (nodes_treeids, nodes_nodeids, nodes_featureids, nodes_values, nodes_modes, nodes_true, nodes_false,
     class_treeids, class_nodeids, class_ids, class_weights, _) = lists
    t = 0
    for iteration in model._predictors:
        for c, predictor in enumerate(iteration):
            nodes = predictor.nodes
            thresholds = floor_float32(nodes['num_threshold'].astype(np.float64))
            for i in range(len(nodes)):
                nodes_treeids.append(t)
                nodes_nodeids.append(i)
                if nodes['is_leaf'][i]:
                    nodes_featureids.append(0)
                    nodes_values.append(np.float32(0))
                    nodes_modes.append('LEAF')
                    nodes_true.append(0)
                    nodes_false.append(0)
                    class_treeids.append(t)
                    class_nodeids.append(i)
                    class_ids.append(c)
                    class_weights.append(float(nodes['value'][i]))
                else:
                    nodes_featureids.append(int(nodes['feature_idx'][i]))
                    nodes_values.append(thresholds[i])
                    nodes_modes.append('BRANCH_LEQ')
                    nodes_true.append(int(nodes['left'][i]))
                    nodes_false.append(int(nodes['right'][i]))
            t += 1
    return _ensemble_model(name, doc, n_features, n_classes, 'SOFTMAX', base, nodes_treeids, nodes_nodeids, nodes_featureids,
                           nodes_values, nodes_modes, nodes_true, nodes_false, class_treeids, class_nodeids, class_ids, class_weights)


def model_to_onnx(model, n_features: int, *, name: str, doc: str = '') -> onnx.ModelProto:
    """Forests and histogram gradient boosting: the families train.py may ship."""
    if hasattr(model, '_predictors'):
        return gradient_boosting_to_onnx(model, n_features, name=name, doc=doc)
    return forest_to_onnx(model, n_features, name=name, doc=doc)


def _ensemble_model(name, doc, n_features, n_classes, post_transform, base_values, nodes_treeids, nodes_nodeids, nodes_featureids,
                    nodes_values, nodes_modes, nodes_true, nodes_false, class_treeids, class_nodeids, class_ids, class_weights) -> onnx.ModelProto:
    extra = {} if base_values is None else {'base_values': [float(v) for v in base_values]}
    node = helper.make_node(
        'TreeEnsembleClassifier',
        inputs=[INPUT_NAME],
        outputs=[LABEL_NAME, PROBABILITIES_NAME],
        domain='ai.onnx.ml',
        name='forest',
        classlabels_int64s=list(range(n_classes)),
        post_transform=post_transform,
        **extra,
        nodes_treeids=nodes_treeids,
        nodes_nodeids=nodes_nodeids,
        nodes_featureids=nodes_featureids,
        nodes_values=[float(v) for v in nodes_values],
        nodes_modes=nodes_modes,
        nodes_truenodeids=nodes_true,
        nodes_falsenodeids=nodes_false,
        class_treeids=class_treeids,
        class_nodeids=class_nodeids,
        class_ids=class_ids,
        class_weights=[float(np.float32(w)) for w in class_weights],
    )
    graph = helper.make_graph(
        [node],
        name,
        inputs=[helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ['N', n_features])],
        outputs=[
            helper.make_tensor_value_info(LABEL_NAME, TensorProto.INT64, ['N']),
            helper.make_tensor_value_info(PROBABILITIES_NAME, TensorProto.FLOAT, ['N', n_classes]),
        ],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid('', 17), helper.make_opsetid('ai.onnx.ml', 3)],
        producer_name='sensor models/train',
        producer_version='1',
        doc_string=doc,
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def with_server_port(model: onnx.ModelProto, n_inputs: int) -> onnx.ModelProto:
    """Put the application model's server-port step in front of a tree ensemble exported for `n_inputs - 1` columns.

    The card's last three inputs are Source Port, Destination Port and Protocol; the trees were fitted on the other
    inputs, then min(Source Port, Destination Port), then Protocol (app_train.py `server_inputs`): the port a
    service listens on is the lower one of a client/server pair whichever side the flow's first packet came from.
    The graph takes [N, n_inputs] as before and does the same in float32, which is exact for port numbers."""
    g = model.graph
    tree = g.node[0]
    tree.input[0] = 'tree_input'

    def const(name: str, values: list[int]) -> onnx.TensorProto:
        return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)

    g.initializer.extend([const('axis1', [1]), const('ports_from', [n_inputs - 3]), const('protocol_from', [n_inputs - 1]),
                          const('end', [n_inputs])])
    nodes = [
        helper.make_node('Slice', [INPUT_NAME, 'ports_from', 'protocol_from', 'axis1'], ['ports'], name='ports'),
        helper.make_node('ReduceMin', ['ports'], ['server_port'], axes=[1], keepdims=1, name='server_port'),
        helper.make_node('Slice', [INPUT_NAME, 'protocol_from', 'end', 'axis1'], ['protocol'], name='protocol'),
    ]
    parts = ['server_port', 'protocol']
    if n_inputs > 3:
        g.initializer.append(const('flow_from', [0]))  # only here: onnxruntime warns of an initializer no node uses
        nodes.insert(0, helper.make_node('Slice', [INPUT_NAME, 'flow_from', 'ports_from', 'axis1'], ['flow'], name='flow'))
        parts.insert(0, 'flow')
    nodes.append(helper.make_node('Concat', parts, ['tree_input'], axis=1, name='tree_input'))
    del g.node[:]
    g.node.extend(nodes + [tree])
    g.input[0].type.tensor_type.shape.dim[1].dim_value = n_inputs
    onnx.checker.check_model(model)
    return model
