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
4. otherwise the fitted tree's probabilities.

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
    Protocol in the input rows. `payload_groups`: for each protocol of the card's payload list, its group, or None for
    a carrier. `ports`: ((protocol, port), group) pairs."""

    def __init__(self, fallback, columns: dict[str, int], payload_groups: list[str | None], ports: list[tuple[tuple[int, int], str]]):
        self.fallback = fallback
        self.classes_ = np.asarray(fallback.classes_)
        classes = [str(c) for c in self.classes_]
        self.columns = columns
        C = len(classes)
        # Server Name Class: 0 no name, 1..C a group (1 + its index), C + 1 a name no suffix matches
        self.name_table = np.vstack([np.zeros((1, C)), np.eye(C), np.zeros((1, C))])
        # Payload Protocol Class: 0 none, k the card's protocol k - 1, len + 1 one the card does not list
        self.payload_table = np.zeros((len(payload_groups) + 2, C))
        for k, g in enumerate(payload_groups):
            if g is not None:
                self.payload_table[k + 1, classes.index(g)] = 1.0
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
        return [payload, name, port]

    def decided_by(self, x: np.ndarray) -> np.ndarray:
        """Which step decides each row: 0 payload protocol, 1 server name, 2 server port, 3 the fitted tree."""
        out = np.full(len(x), 3)
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


def with_knowledge_first(model: onnx.ModelProto, km: KnowledgeFirst, n_inputs: int) -> onnx.ModelProto:
    """Put the tables of `km` around an exported tree (onnx_export.with_server_port's graph, whose input is the card's
    [N, n_inputs] rows): the graph's outputs become the tables' answers where they have one, else the tree's."""
    g = model.graph
    tree = next(n for n in g.node if n.op_type == 'TreeEnsembleClassifier')
    tree.output[0], tree.output[1] = 'tree_label', 'tree_probabilities'
    c = km.columns
    C = len(km.classes_)
    if c['src_port'] != n_inputs - 3 or c['dst_port'] != n_inputs - 2 or c['protocol'] != n_inputs - 1:
        raise ValueError('with_knowledge_first: the ports and protocol must be the last three inputs')

    def i64(name, values):
        return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)

    def f32(name, a):
        a = np.asarray(a, dtype=np.float32)
        return helper.make_tensor(name, TensorProto.FLOAT, list(a.shape), a.ravel().tolist())

    g.initializer.extend([
        i64('k_name_from', [c['name']]), i64('k_name_to', [c['name'] + 1]),
        i64('k_payload_from', [c['payload']]), i64('k_payload_to', [c['payload'] + 1]),
        i64('k_flat', [-1]),
        f32('k_zero', np.float32(0)), f32('k_name_max', np.float32(len(km.name_table) - 1)),
        f32('k_payload_max', np.float32(len(km.payload_table) - 1)),
        f32('k_name_table', km.name_table), f32('k_payload_table', km.payload_table),
    ])
    # The port table, dense: one byte per TCP port, then per UDP port, then a last entry for any other protocol; each
    # 0 (no answer) or 1 + the group's index. One Gather a row instead of a comparison with every listed port.
    dense = np.zeros(2 * PORT_KEY + 1, dtype=np.uint8)
    for key, row in zip(km.port_keys.astype(np.int64), km.port_table):
        protocol, port = divmod(int(key), PORT_KEY)
        dense[(protocol == 17) * PORT_KEY + port] = 1 + int(np.argmax(row))
    g.initializer.extend([
        helper.make_tensor('k_port_dense', TensorProto.UINT8, [len(dense)], dense.tobytes(), raw=True),
        f32('k_tcp', np.float32(6)), f32('k_udp', np.float32(17)), f32('k_port_span', np.float32(PORT_KEY)),
        f32('k_port_other', np.float32(2 * PORT_KEY)),
        f32('k_port_answers', np.vstack([np.zeros((1, C)), np.eye(C)])),
    ])

    def code_lookup(what: str) -> list:
        """Slice the input column, clamp it to the table, and take the table's row: [N, C] one-hot or zeros."""
        return [
            helper.make_node('Slice', ['input', f'k_{what}_from', f'k_{what}_to', 'axis1'], [f'{what}_code'], name=f'{what}_code'),
            helper.make_node('Clip', [f'{what}_code', 'k_zero', f'k_{what}_max'], [f'{what}_clipped'], name=f'{what}_clipped'),
            helper.make_node('Cast', [f'{what}_clipped'], [f'{what}_index2d'], to=TensorProto.INT64, name=f'{what}_index2d'),
            helper.make_node('Reshape', [f'{what}_index2d', 'k_flat'], [f'{what}_index'], name=f'{what}_index'),
            helper.make_node('Gather', [f'k_{what}_table', f'{what}_index'], [f'{what}_answer'], axis=0, name=f'{what}_answer'),
        ]

    nodes = code_lookup('name') + code_lookup('payload') + [
        # server_port and protocol are [N, 1], computed by with_server_port's nodes: the entry is server_port for TCP,
        # PORT_KEY + server_port for UDP, the last one (no answer) for anything else
        helper.make_node('Equal', ['protocol', 'k_tcp'], ['is_tcp'], name='is_tcp'),
        helper.make_node('Equal', ['protocol', 'k_udp'], ['is_udp'], name='is_udp'),
        helper.make_node('Cast', ['is_udp'], ['is_udp_f'], to=TensorProto.FLOAT, name='is_udp_f'),
        helper.make_node('Mul', ['is_udp_f', 'k_port_span'], ['udp_offset'], name='udp_offset'),
        helper.make_node('Add', ['udp_offset', 'server_port'], ['port_entry_any'], name='port_entry_any'),
        helper.make_node('Or', ['is_tcp', 'is_udp'], ['tcp_or_udp'], name='tcp_or_udp'),
        helper.make_node('Where', ['tcp_or_udp', 'port_entry_any', 'k_port_other'], ['port_entry_f'], name='port_entry_f'),
        helper.make_node('Clip', ['port_entry_f', 'k_zero', 'k_port_other'], ['port_entry_clipped'], name='port_entry_clipped'),
        helper.make_node('Cast', ['port_entry_clipped'], ['port_entry2d'], to=TensorProto.INT64, name='port_entry2d'),
        helper.make_node('Reshape', ['port_entry2d', 'k_flat'], ['port_entry'], name='port_entry'),
        helper.make_node('Gather', ['k_port_dense', 'port_entry'], ['port_code_u8'], axis=0, name='port_code_u8'),
        helper.make_node('Cast', ['port_code_u8'], ['port_code'], to=TensorProto.INT64, name='port_code'),
        helper.make_node('Gather', ['k_port_answers', 'port_code'], ['port_answer'], axis=0, name='port_answer'),
    ]
    chosen = 'tree_probabilities'
    for what in ('port', 'name', 'payload'):  # innermost first: the payload protocol's answer wins over the rest
        nodes += [
            helper.make_node('ReduceMax', [f'{what}_answer'], [f'{what}_max'], axes=[1], keepdims=1, name=f'{what}_max'),
            helper.make_node('Greater', [f'{what}_max', 'k_zero'], [f'{what}_has'], name=f'{what}_has'),
            helper.make_node('Where', [f'{what}_has', f'{what}_answer', chosen], [f'after_{what}'], name=f'after_{what}'),
        ]
        chosen = f'after_{what}'
    nodes[-1].output[0] = PROBABILITIES_NAME
    nodes.append(helper.make_node('ArgMax', [PROBABILITIES_NAME], [LABEL_NAME], axis=1, keepdims=0, name='label'))
    g.node.extend(nodes)
    if C != g.output[1].type.tensor_type.shape.dim[1].dim_value:
        raise ValueError('with_knowledge_first: the tree and the tables have different classes')
    onnx.checker.check_model(model)
    return model
