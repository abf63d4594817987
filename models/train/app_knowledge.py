"""Knowledge first: the application model's tables decide where they speak, a tree fitted on the data decides the rest.

The application model's inputs are lookups in written tables (the server name's suffix, the payload protocol, the
server port) plus the protocol. A tree fitted on nDPI's captures learns those tables where its training captures use
them and learns the captures themselves elsewhere: held out by capture it gives a table's answer on some flows and a
neighbouring capture's on others. `KnowledgeFirst` applies the tables in a fixed order, each one only where it has an
answer, and asks the fitted tree only about the flows no table knows:

1. a payload protocol that is not a carrier: its group (app_payload.csv). Carriers are the protocols nDPI names by
   what they carry rather than by themselves (`TLS.Google`, `HTTP.Microsoft`, `QUIC.YouTube`, `DTLS.Discord`): their
   group comes from the server name, when there is one. STUN is not one: nDPI names a STUN flow after the call it
   sets up (`STUN.WhatsAppCall`, VoIP) whatever the server's name, and app_payload.csv lists it as VoIP;
2. a server name in the table: its suffix's group (app_names.csv);
3. a server port in the table, for the flow's protocol: its group (app_ports.csv);
4. a carrier whose name and port said nothing: the carrier's own group (app_payload.csv: Web for all four). That is
   what nDPI reports for such a flow, the bare `TLS`, `QUIC`, `DTLS` or `HTTP` in its own category; a tree fitted
   on other captures has no better ground for a guess there;
5. otherwise the fitted tree's probabilities.

The tables' answers are one-hot probabilities. The ONNX graph (`with_knowledge_first`) does the same from the card's
inputs, so the sensor needs nothing new; scikit-learn's side is `predict_proba` here, which the export check compares
with onnxruntime on every row.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from onnx_export import LABEL_NAME, PROBABILITIES_NAME

# Protocols nDPI names by what they carry (its `MASTER.APP` names), so the server name decides their group. Not STUN:
# nDPI's STUN.<App>Call names are calls (VoIP) whichever application's server it is.
CARRIERS = ('TLS', 'HTTP', 'QUIC', 'DTLS')
PORT_KEY = 65536  # a (protocol, port) pair as one number: protocol * PORT_KEY + port (exact in float32)


class KnowledgeFirst:
    """The tables in order, then `fallback` (a fitted classifier over the same inputs, with `classes_`).

    `columns`: the positions of Server Name Class, Payload Protocol Class, Source Port, Destination Port and
    Protocol in the input rows. `payload`: for each protocol of the card's payload list, its group and whether it is a
    carrier (whose group is step 4's, not step 1's). `ports`: ((protocol, port), group) pairs."""

    def __init__(self, fallback, columns: dict[str, int], payload: list[tuple[str, bool]], ports: list[tuple[tuple[int, int], str]]):
        self.fallback = fallback
        self.classes_ = np.asarray(fallback.classes_)
        classes = [str(c) for c in self.classes_]
        self.columns = columns
        C = len(classes)
        # Server Name Class: 0 no name, 1..C a group (1 + its index), C + 1 a name no suffix matches
        self.name_table = np.vstack([np.zeros((1, C)), np.eye(C), np.zeros((1, C))])
        # Payload Protocol Class: 0 none, k the card's protocol k - 1, len + 1 one the card does not list
        # (the carriers' groups in a table of their own, step 4)
        self.payload_table = np.zeros((len(payload) + 2, C))
        self.carrier_table = np.zeros_like(self.payload_table)
        for k, (g, carrier) in enumerate(payload):
            (self.carrier_table if carrier else self.payload_table)[k + 1, classes.index(g)] = 1.0
        self.port_keys = np.array([p * PORT_KEY + n for (p, n), _ in ports], dtype=np.float64)
        self.port_table = np.zeros((len(ports), C))
        for i, (_, g) in enumerate(ports):
            self.port_table[i, classes.index(g)] = 1.0
        if len(set(self.port_keys.tolist())) != len(self.port_keys):
            raise ValueError('KnowledgeFirst: a (protocol, port) pair is listed twice')

    def _lookup(self, table: np.ndarray, codes: np.ndarray) -> np.ndarray:
        return table[np.clip(np.nan_to_num(codes), 0, len(table) - 1).astype(np.int64)]

    def tables(self, x: np.ndarray) -> list[np.ndarray]:
        """Each table's one-hot answer per row (all zeros where it has none), in the order they are applied."""
        c = self.columns
        payload = self._lookup(self.payload_table, x[:, c['payload']])
        name = self._lookup(self.name_table, x[:, c['name']])
        key = x[:, c['protocol']] * PORT_KEY + np.minimum(x[:, c['src_port']], x[:, c['dst_port']])
        port = (key[:, None] == self.port_keys[None, :]).astype(np.float64) @ self.port_table
        carrier = self._lookup(self.carrier_table, x[:, c['payload']])
        return [payload, name, port, carrier]

    def decided_by(self, x: np.ndarray) -> np.ndarray:
        """Which step decides each row: 0 payload protocol, 1 server name, 2 server port, 3 the carrier, 4 the fitted
        tree."""
        out = np.full(len(x), 4)
        for i, t in reversed(list(enumerate(self.tables(x)))):
            out[t.max(axis=1) > 0] = i
        return out

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        out = self.fallback.predict_proba(x)
        for t in reversed(self.tables(x)):
            has = t.max(axis=1, keepdims=True) > 0
            out = np.where(has, t, out)
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(x), axis=1)]


def _segments(answers: list[int | None]) -> list[tuple[float, int | None]]:
    """Codes 0..n-1 and each one's answer, as runs of equal answers: [(upper bound, answer)], the last bound +inf. The
    first run also takes every code below 0 and the last every code above n-1, as KnowledgeFirst clips them."""
    runs: list[tuple[float, int | None]] = []
    for code, a in enumerate(answers):
        if runs and runs[-1][1] == a:
            runs[-1] = (code + 0.5, a)
        else:
            runs.append((code + 0.5, a))
    runs[-1] = (float('inf'), runs[-1][1])
    return runs


class _TreeBuilder:
    """The nodes of one ONNX tree (TreeEnsembleClassifier's parallel arrays), built depth first."""

    def __init__(self):
        self.feature, self.value, self.mode, self.true, self.false = [], [], [], [], []
        self.leaf_class: dict[int, int] = {}

    def node(self) -> int:
        for a, v in ((self.feature, 0), (self.value, 0.0), (self.mode, 'LEAF'), (self.true, 0), (self.false, 0)):
            a.append(v)
        return len(self.mode) - 1

    def leaf(self, cls: int) -> int:
        n = self.node()
        self.leaf_class[n] = cls
        return n

    def split(self, feature: int, runs: list, then) -> int:
        """A search over `runs` of `feature` (BRANCH_LEQ at each run's upper bound); `then(answer)` builds a run's node."""
        if len(runs) == 1:
            return then(runs[0][1])
        mid = len(runs) // 2
        n = self.node()
        self.feature[n], self.value[n], self.mode[n] = feature, runs[mid - 1][0], 'BRANCH_LEQ'
        self.true[n] = self.split(feature, runs[:mid], then)
        self.false[n] = self.split(feature, runs[mid:], then)
        return n


def with_knowledge_first(model: onnx.ModelProto, km: KnowledgeFirst, n_inputs: int) -> onnx.ModelProto:
    """Put the tables of `km` in front of an exported tree (onnx_export.with_server_port's graph, whose tree reads
    [name and payload columns..., server_port, protocol]): the graph's probabilities become the tables' answers where
    they have one, else the tree's.

    The tables are a second tree of their own (one TreeEnsembleClassifier, so one operator a batch): a search on the
    payload protocol class, where it has no answer one on the server name class, where that has none one on the
    protocol and then the server port; its leaves give the table's group, where the port has none the carrier's group
    (known from the payload search above it: each of its runs is one carrier group or none), else an extra class
    `none`. Codes and ports are integers, so each split sits half-way between two of them."""
    g = model.graph
    tree = next(n for n in g.node if n.op_type == 'TreeEnsembleClassifier')
    tree.output[0], tree.output[1] = 'tree_label', 'tree_probabilities'
    c = km.columns
    C = len(km.classes_)
    if c['src_port'] != n_inputs - 3 or c['dst_port'] != n_inputs - 2 or c['protocol'] != n_inputs - 1:
        raise ValueError('with_knowledge_first: the ports and protocol must be the last three inputs')
    # the columns of tree_input (with_server_port): the other inputs in order, then server_port, then protocol
    f_name, f_payload, f_port, f_protocol = c['name'], c['payload'], n_inputs - 3, n_inputs - 2
    NONE = C

    def answers(table: np.ndarray) -> list[int | None]:
        return [int(np.argmax(row)) if row.max() > 0 else None for row in table]

    ports: dict[int, dict[int, int]] = {6: {}, 17: {}}
    for key, row in zip(km.port_keys.astype(np.int64), km.port_table):
        protocol, port = divmod(int(key), PORT_KEY)
        ports.setdefault(protocol, {})[port] = int(np.argmax(row))
    # each search's runs, once: a search is built again under every run of the one before that has no answer
    port_runs = {protocol: _segments([listed.get(p) for p in range(PORT_KEY)]) for protocol, listed in ports.items()}
    protocol_runs = _segments([p if p in ports else None for p in range(max(ports) + 2)])
    name_runs = _segments(answers(km.name_table))
    t = _TreeBuilder()

    def by_port(protocol: int | None, last: int) -> int:
        if protocol is None:
            return t.leaf(last)
        return t.split(f_port, port_runs[protocol], lambda a: t.leaf(last if a is None else a))

    # `last`: the leaf where no table speaks, the carrier's group or NONE
    by_protocol = lambda last: t.split(f_protocol, protocol_runs, lambda p: by_port(p, last))  # noqa: E731
    by_name = lambda last: t.split(f_name, name_runs, lambda a: by_protocol(last) if a is None else t.leaf(a))  # noqa: E731
    # the payload search's runs: (the protocol's group, or None) with (the carrier's group, or None)
    payload_answers = list(zip(answers(km.payload_table), answers(km.carrier_table)))
    t.split(f_payload, _segments(payload_answers), lambda a: by_name(NONE if a[1] is None else a[1]) if a[0] is None else t.leaf(a[0]))
    n = len(t.mode)
    leaves = sorted(t.leaf_class)
    tables = helper.make_node(
        'TreeEnsembleClassifier', inputs=['tree_input'], outputs=['table_label', 'table_answer'], domain='ai.onnx.ml', name='tables',
        classlabels_int64s=list(range(C + 1)), post_transform='NONE',
        nodes_treeids=[0] * n, nodes_nodeids=list(range(n)), nodes_featureids=t.feature, nodes_values=[float(v) for v in t.value],
        nodes_modes=t.mode, nodes_truenodeids=t.true, nodes_falsenodeids=t.false,
        class_treeids=[0] * len(leaves), class_nodeids=leaves, class_ids=[t.leaf_class[k] for k in leaves], class_weights=[1.0] * len(leaves))

    def i64(name, values):
        return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)

    g.initializer.extend([i64('k_groups_from', [0]), i64('k_groups_to', [C]), i64('k_none_to', [C + 1]),
                          helper.make_tensor('k_half', TensorProto.FLOAT, [], [0.5])])
    nodes = [
        tables,
        helper.make_node('Slice', ['table_answer', 'k_groups_from', 'k_groups_to', 'axis1'], ['table_groups'], name='table_groups'),
        helper.make_node('Slice', ['table_answer', 'k_groups_to', 'k_none_to', 'axis1'], ['table_none'], name='table_none'),
        helper.make_node('Greater', ['table_none', 'k_half'], ['ask_tree'], name='ask_tree'),
        helper.make_node('Where', ['ask_tree', 'tree_probabilities', 'table_groups'], [PROBABILITIES_NAME], name='knowledge_first'),
        helper.make_node('ArgMax', [PROBABILITIES_NAME], [LABEL_NAME], axis=1, keepdims=0, name='label'),
    ]
    g.node.extend(nodes)
    if C != g.output[1].type.tensor_type.shape.dim[1].dim_value:
        raise ValueError('with_knowledge_first: the tree and the tables have different classes')
    onnx.checker.check_model(model)
    return model
