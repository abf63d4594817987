"""models/<name>.md and <name>.png for the application-group model (app_train.py writes them): what it is, how it
was made and measured by capture, how the families and inputs compare, where it fails."""
from __future__ import annotations

import numpy as np

from report import _table_confusion, _table_per_class, draw_confusion, pyplot_or_none


def _f(x, fmt='{:.3f}') -> str:
    return 'n/a' if x is None else fmt.format(x)


def plot_confusion(path: str, card: dict) -> None:
    """The grouped-CV confusion matrix on nDPI's captures (rows normalised; counts written in the cells)."""
    plt = pyplot_or_none(path)
    if plt is None:
        return
    m = card['metrics']['grouped_cv_ndpi']
    labels = m['confusion_matrix']['labels']
    fig, ax = plt.subplots(figsize=(7.6, 6.4))
    draw_confusion(ax, m['confusion_matrix']['rows_true_cols_predicted'], labels, 'predicted (argmax)', 'nDPI group',
                   f'{card["name"]}: nDPI captures held out by capture\naccuracy {m["accuracy"]}, macro-F1 {m["macro_f1"]} '
                   f'({card["metrics"]["shipped_family"]}; counts over {len(m["accuracy_by_repeat"])} repeats of the grouped CV)', fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(path: str, card: dict) -> None:
    m = card['metrics']
    prov = card['provenance']
    name = card['name']
    cv = m['grouped_cv_ndpi']
    seen = m['application_seen_in_training']
    L = [
        f'# {name}: the application-group model',
        '',
        f'{card["description"]}.',
        f'Task `application`: the verdict is the most probable group (no threshold). Groups: {", ".join(card["classes"])}',
        f'(`benign` = `{card["benign"]}` only because the card format requires one). Inputs: {len(card["inputs"])}, '
        f'among them {", ".join(f"`{c}`" for c in card["inputs"] if c in ("Destination Port", "Source Port", "Protocol")) or "no identity column"}.',
        f'Files: `{name}.onnx` ({m["onnx_bytes"] // 1024} KB), `{name}.json` (card, with the drift reference), `{name}.png` (confusion matrix).',
        '',
        '## Reproduce',
        '',
        '```sh',
        'npm run train:app        # = python3 models/train/app_train.py',
        '```',
        '',
        'Debian\'s python3-sklearn, python3-pandas, python3-numpy, python3-onnx, python3-matplotlib; Node and a built checkout',
        '(captures are replayed by `bin/sensor.js --profile cic2017 --no-model`); `../shared/data` and `../shared/corpus`.',
        f'This one: {prov["created"]}, code {prov["code_commit"]}, {prov["estimator"]}, {prov["libraries"]}.',
        '',
        '## Ground truth',
        '',
    ]
    L += [f'- {line}' for line in prov['data']]
    L += [
        '',
        'nDPI: a sensor flow takes the category of the nDPI flow with the same protocol and endpoint pair (either direction;',
        'nDPI\'s timeouts differ from CICFlowMeter\'s, so one nDPI flow may label several sensor flows; no key was printed twice',
        'with different categories), and the category its group by the table of `../shared/data/ndpi/README.md`. Flows left',
        'unmatched are said above with why: the `cic2017` profile reads IPv4 only, as the 2017 CICFlowMeter did (IPv6 frames',
        'become protocol-0 flows between made-up addresses), and nDPI reports a tunnel\'s inner flow where the sensor reports',
        'the outer one. Server ports (lab, corpus): the group nDPI\'s own results give the protocol ('
        + '; '.join(f'{k} {v}' for k, v in list(prov['label_mapping']['server_ports'].items())[:8]) + '; ...: the card lists all).',
        '',
        '| group | rows | captures | ' + ' | '.join(m['rows_per_source_and_group']) + ' |',
        '|---|---:|---:|' + '---:|' * len(m['rows_per_source_and_group']),
    ]
    for g, n in m['rows_per_group'].items():
        L.append(f'| {g} | {n} | {m["captures_per_group"].get(g, 0)} | ' + ' | '.join(str(v.get(g, 0)) for v in m['rows_per_source_and_group'].values()) + ' |')
    L += [
        '',
        '## How it was measured',
        '',
        f'{m["validation"]}. The inputs and the weights were chosen by the accuracy on nDPI\'s captures; the family among',
        'those within 0.01 of the best accuracy by the mean accuracy per capture (the held-out half is other captures, each',
        'mostly one application, and here a few large captures move the accuracy over flows by points: the mean per capture',
        'gives each application one vote). The model is judged on the other half of nDPI\'s suite, so what counts is how it',
        'does on captures it has never seen, never a split of rows. Every figure below is out-of-fold (each row predicted by',
        'a model that saw no row of its capture), on nDPI\'s captures unless said otherwise.',
        '',
        f'**Shipped: {m["shipped_family"]}**, inputs `{m["inputs_chosen"]}`, weights `{m["weights_chosen"]}`: grouped-CV accuracy',
        f'**{cv["accuracy"]}** (repeats: {", ".join(str(a) for a in cv["accuracy_by_repeat"])}), macro-F1 **{cv["macro_f1"]}** on {cv["rows"]} nDPI flows',
        f'(mean accuracy per capture {m["grouped_cv_ndpi_per_capture_mean_accuracy"]}); all sources: accuracy {m["grouped_cv_all_sources"]["accuracy"]},',
        f'macro-F1 {m["grouped_cv_all_sources"]["macro_f1"]}. Per group and confusion matrix (nDPI flows; support and counts add the',
        f'{len(cv["accuracy_by_repeat"])} repeats, so each flow counts once per repeat):',
        '',
        _table_per_class({'per_class': cv['per_group'], 'macro_f1': cv['macro_f1'], 'rows': cv['rows']}),
        '',
        _table_confusion(cv),
        '',
    ]
    steps = m.get('knowledge_first_steps')
    if steps:
        L += [
            '### Knowledge first',
            '',
            'The shipped model applies its tables in order, each only where it has an answer, and asks the fitted tree only',
            'about the flows no table knows (`models/train/app_knowledge.py`; the ONNX graph does the same from the card\'s inputs):',
            '1. a recognised payload protocol that is not a carrier: its group (`app_payload.csv`). Carriers (TLS, HTTP, QUIC, DTLS)',
            '   are the protocols nDPI names by what they carry (`TLS.Google`, `QUIC.YouTube`): the name decides those;',
            '2. a server name the table knows: its suffix\'s group (`app_names.csv`);',
            '3. a server port the table knows, for the flow\'s protocol: its group (`app_ports.csv`);',
            '4. a carrier that neither said anything about: the carrier\'s own group (Web), as nDPI reports a bare `TLS`;',
            '5. the tree fitted on the training captures (the same one as the `decision_tree` family).',
            '',
            'A tree fitted on everything learns the tables where its training captures use them and the captures themselves',
            'elsewhere; held out by capture it gave a table\'s answer on some flows and a neighbouring capture\'s on others.',
            'Which step decides the nDPI flows, and how often it is right (out of fold):',
            '',
            '| step | flows | share | accuracy |',
            '|---|---:|---:|---:|',
        ]
        L += [f'| {k} | {v["flows"]} | {v["share"]:.3f} | {_f(v["accuracy"])} |' for k, v in steps.items()]
        L.append('')
    L += [
        '### Why the accuracy is what it is',
        '',
        f'Most of nDPI\'s captures record one application each. Held out by capture, only '
        f'{_f(100 * seen["share_of_ndpi_flows_whose_application_is_in_a_training_capture"], "{:.0f}")} % of the nDPI flows belong to',
        f'an application (nDPI\'s protocol name) that occurs in a training capture of their fold; the shipped model\'s accuracy',
        f'is {_f(seen["accuracy_seen_application"])} on those and {_f(seen["accuracy_unseen_application"])} on the others. TLS on port 443 alone carries Web,',
        'VPN, Chat, Media, Transfer and Network flows, which neither the port nor (across networks) the flow\'s sizes and',
        'timing tell apart. The flow features made the forest worse on unseen captures (ablation below): what they learn',
        'is the capture (its network\'s round-trip times, its hosts\' windows) more than the application.',
        '',
        '## Families (grouped CV, chosen inputs and weights)',
        '',
        '| family | nDPI accuracy | nDPI macro-F1 | mean per capture | all sources accuracy | all sources macro-F1 | CV time |',
        '|---|---:|---:|---:|---:|---:|---:|',
    ]
    for fam, v in m['comparison'].items():
        L.append(f'| {fam}{" (shipped)" if fam == m["shipped_family"] else ""} | {v["ndpi_accuracy"]:.3f} | {v["ndpi_macro_f1"]:.3f} | '
                 f'{v["ndpi_per_capture_mean_accuracy"]:.3f} | {v["all_accuracy"]:.3f} | {v["all_macro_f1"]:.3f} | {v["cv_seconds"]:.0f} s |')
    L += [
        '',
        'Only forests (`decision_tree` is a forest of one tree grown on every row, every input at each split) and histogram',
        'gradient boosting export to ONNX here (`onnx_export.py`), and `knowledge_first` (a graph of table lookups around the',
        'exported tree); the shipped family is the exportable one with the best mean accuracy per capture among those within',
        f'0.01 of the best nDPI accuracy (best accuracy of all: {m["best_family_by_accuracy"]}).',
        '',
        '## Inputs and weights (ablation: random forest, half the inputs per split, grouped CV)',
        '',
        'Server port and `Protocol` are legitimate inputs for this task. `dst_port` is CICFlowMeter\'s `Destination Port`, the',
        'port of whoever received the flow\'s first packet (the client, when a capture starts mid-conversation or the server',
        'speaks first); `server_port` is the lower of the two ports, which the ONNX graph computes from `Source Port` and',
        '`Destination Port` (`onnx_export.with_server_port`). The port prior (`models/train/app_ports.csv`, '
        + (f'{prov["port_prior"]["rows"]} rows, each weighing {prov["port_prior"]["weight_per_row"]}' if prov.get('port_prior') else 'not used by the shipped inputs')
        + ') is a table of well-known service ports',
        'and the group of each protocol\'s nDPI category, written from IANA\'s service-name registry and nDPI\'s categories',
        'rather than fitted to these captures; but its author had seen which services these captures hold, so the gain it',
        'shows here is an upper estimate of its gain on captures it was not written beside'
        + (f' (the shipped family without it: nDPI accuracy {m["shipped_family_without_port_prior"]["ndpi_accuracy"]:.3f}, macro-F1 '
           f'{m["shipped_family_without_port_prior"]["ndpi_macro_f1"]:.3f})' if m.get('shipped_family_without_port_prior') else '') + '. What each adds:',
        '',
        '| inputs | weights | nDPI accuracy | nDPI macro-F1 | mean per capture | all sources accuracy |',
        '|---|---|---:|---:|---:|---:|',
    ]
    for v in m['ablation'].values():
        L.append(f'| {v["inputs"]} | {v["weights"]} | {v["ndpi_accuracy"]:.3f} | {v["ndpi_macro_f1"]:.3f} | {v["ndpi_per_capture_mean_accuracy"]:.3f} | {v["all_accuracy"]:.3f} |')
    L += [
        '',
        '`capture` weights give every capture the same total weight, `group` every group; training rows are capped per',
        'capture and group either way.',
        '',
        '## ONNX and inference cost',
        '',
    ]
    agree = m.get('onnx_agreement')
    if agree:
        L.append(f'Checked with onnxruntime through the sensor\'s Classifier against scikit-learn on every row ({agree["rows"]}, ports and protocol from the')
        L.append(f'flow identity, NaN/Infinity rows included): same group on {agree["same_class"]} (ties {agree["ties"]}), probabilities within {agree["max_abs_prob_diff"]}.')
    bench = m.get('inference_bench')
    if bench:
        L += ['', 'Inference as the sensor runs it (the Classifier: onnxruntime-node in its worker thread, one intra-op thread, one batch',
              'at a time, on the rows above), measured by `node models/train/app_bench.mjs CHECK_DIR` right after training, beside the',
              'default attack model and both one after the other (a run with both models does both per batch):', '', '```']
        L += bench
        L += ['```']
    L.append('')
    with open(path, 'w') as f:
        f.write('\n'.join(L))
