"""models/<name>.md and its PNGs: what the model is, how it was made and measured, how it compares, where it
fails (train.py writes them)."""
from __future__ import annotations

import sys

import numpy as np

BENIGN = 'BENIGN'


def _pct(x) -> str:
    return 'n/a' if x is None else f'{100 * x:.2f} %'


def _num(x, fmt='{:.3f}') -> str:
    return 'n/a' if x is None else fmt.format(x)


def _table_per_class(m: dict) -> str:
    rows = ['| class | precision | recall | F1 | support |', '|---|---:|---:|---:|---:|']
    for c, v in m['per_class'].items():
        rows.append(f'| {c} | {v["precision"]:.3f} | {v["recall"]:.3f} | {v["f1"]:.3f} | {v["support"]} |')
    rows.append(f'| **macro** | | | **{_num(m["macro_f1"])}** | {m["rows"]} |')
    return '\n'.join(rows)


def _table_confusion(m: dict) -> str:
    labels = m['confusion_matrix']['labels']
    cm = m['confusion_matrix']['rows_true_cols_predicted']
    keep = [i for i, row in enumerate(cm) if sum(row) > 0 or sum(r[i] for r in cm) > 0]
    rows = ['| true \\ predicted | ' + ' | '.join(labels[j] for j in keep) + ' |', '|---|' + '---:|' * len(keep)]
    for i in keep:
        rows.append(f'| {labels[i]} | ' + ' | '.join(str(cm[i][j]) for j in keep) + ' |')
    return '\n'.join(rows)


def wilson(share: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a share measured on n flows: what a recall on a few flows can show."""
    if n == 0:
        return 0.0, 1.0
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _interval(v: dict) -> str:
    lo, hi = wilson(v['right_class'], v['rows'])
    return f'{100 * lo:.1f}–{100 * hi:.1f} %'


def _table_by_label(by: dict, min_rows: int = 1, interval: bool = False) -> str:
    """Per original label; with `interval`, the 95 % interval of the right-class share (attack lines)."""
    rows = ['| original label | flows | right class | flagged as any attack |' + (' right class, 95 % interval |' if interval else ''),
            '|---|---:|---:|---:|' + ('---:|' if interval else '')]
    for k, v in by.items():
        if v['rows'] >= min_rows:
            attack = interval and k != BENIGN and not k.endswith(')')
            rows.append(f'| {k} | {v["rows"]} | {_pct(v["right_class"])} | {_pct(v["flagged_as_attack"])} |'
                        + (f' {_interval(v) if attack else ""} |' if interval else ''))
    return '\n'.join(rows)


# FTP brute force in every source's test rows (the first lab's patator line alone is a few dozen flows).
FTP_BRUTE_FORCE = (('lab', 'FTP-Patator', 'first lab, patator'), ('tools', 'hydra ftp', 'second lab, hydra'),
                   ('tools', 'medusa ftp', 'second lab, medusa'), ('cic', 'FTP-Patator', 'published CIC-IDS2017 rows'))


def _few_flows(m: dict) -> list[str]:
    """How much a recall measured on a few held-out flows can show, with FTP brute force pooled over the sources."""
    lines, lines_n, pooled_n, pooled_right = [], [], 0, 0.0
    for src, label, what in FTP_BRUTE_FORCE:
        v = m.get(f'held_out_{src}_by_label', {}).get(label)
        if v:
            lines.append(f'| {what} | {v["rows"]} | {_pct(v["right_class"])} | {_interval(v)} |')
            pooled_n += v['rows']
            lines_n.append(v['rows'])
            pooled_right += v['right_class'] * v['rows']
    if not lines:
        return []
    pooled = {'rows': pooled_n, 'right_class': pooled_right / pooled_n}
    need = int(np.ceil(0.95 * 1.96 ** 2 / 0.05))  # n at which 100 % gives a lower bound of 0.95: n / (n + z²) = 0.95
    return ['### How many flows a recall rests on', '',
            'A tool line of a few dozen held-out flows cannot show a recall of 0.95: with every flow caught, the 95 % (Wilson)',
            f"interval reaches below 0.95 until about {need} flows. The first lab's FTP-Patator line is {lines_n[0]} flows. FTP brute",
            "force in every source's test rows (the second lab's tools were in training too, their earlier",
            'flows; the published rows are another testbed):', '',
            '| FTP brute force, test rows | flows | right class | 95 % interval |', '|---|---:|---:|---:|', *lines,
            f'| **all of them** | {pooled_n} | {_pct(pooled["right_class"])} | {_interval(pooled)} |', '']


def _table_loso(loso: dict) -> str:
    at_threshold = any('threshold' in v for v in loso.values())
    if not at_threshold:  # a card written before leave-one-source-out was judged at the threshold
        rows = ['| left out | rows | benign FPR | macro attack recall | attacks flagged | classes it never saw |', '|---|---:|---:|---:|---:|---|']
        for s, v in loso.items():
            rows.append(f'| {s} | {v["rows"]} | {_pct(v["benign_fpr"])} | {_num(v["macro_attack_recall"])} | '
                        f'{_pct(v["attack_detection_rate"])} | {", ".join(v["classes_never_seen_in_training"]) or "-"} |')
        return '\n'.join(rows)
    rows = ['| left out | rows | threshold | benign FPR | macro attack recall | attacks flagged | argmax: benign FPR, macro recall | classes it never saw |',
            '|---|---:|---:|---:|---:|---:|---|---|']
    for s, v in loso.items():
        rows.append(f'| {s} | {v["rows"]} | {_num(v["threshold"], "{:.4f}")} | {_pct(v["benign_fpr"])} | {_num(v["macro_attack_recall"])} | '
                    f'{_pct(v["attack_detection_rate"])} | {_pct(v["argmax_benign_fpr"])}, {_num(v["argmax_macro_attack_recall"])} | '
                    f'{", ".join(v["classes_never_seen_in_training"]) or "-"} |')
    return '\n'.join(rows)


# What the corrected labels gave, measured 2026-12-06 on the data of version 2 (extra trees, 40 trees of depth 16,
# threshold for the same budget): shown while the shipped model is one trained before the correction.
RETRAINED_WITH_TAILS_RELABELLED = [
    '**This model (version 2) was trained before that correction**: its tables below count tails as attacks. Retrained',
    'with the corrected labels on the same data and splits, held-out lab **connections** (tails apart; every tail was',
    'called benign) were caught as follows (test rows, threshold for the same 0.2 % validation budget):',
    '',
    '| | v2 (tails counted) | retrained, v2\'s inputs | retrained, no `Active` | the selection rule\'s choice |',
    '|---|---:|---:|---:|---:|',
    '| inputs | 63 (no header lengths) | 63 | 59 | 57 (no windows, header lengths, rates) |',
    '| SYN flood | 99.4 % | 99.7 % | 100 % | **0 %** |',
    '| ACK flood | 95.3 % | 83.7 % | 89.0 % | **0 %** |',
    '| PSH-ACK flood | 98.9 % | 99.7 % | 100 % | 100 % |',
    '| Hulk | 32.3 % (65 % of connections) | 97.1 % | 66.6 % | 69.2 % |',
    '| slow body | 0 % (no connection in test) | 94.5 % | 94.5 % | 94.5 % |',
    '| slowloris | 0 % (no connection in test) | 25.7 % | 99.5 % | 0.5 % |',
    '| SSH-Patator | 47.4 % (98 % of connections) | 98.3 % | 98.3 % | 93.0 % |',
    '| FTP-Patator (22 connections) | 80.0 % | 72.7 % | 72.7 % | 72.7 % |',
    '| port scan | 79.4 % | 79.4 % | 74.2 % | 98.0 % |',
    '| nDPI test captures, benign FPR | 0 % | 0 % | 0 % | **0.46 %** |',
    '| published rows, benign FPR | 0.20 % | 0.41 % | 0.42 % | 0.30 % |',
    '| left-out nDPI / corpus benign FPR (argmax) | 5.21 % / 0.35 % | 2.74 % / 0.96 % | 2.29 % / 0.17 % | 7.50 % / 1.40 % |',
    '| left-out CIC / lab macro recall (argmax) | 0.097 / 0.513 | 0.139 / 0.095 | 0.127 / 0.093 | 0.156 / 0.424 |',
    '',
    'The selection score of version 2 (validation class recall and leave-one-source-out recall by argmax, minus left-out',
    'benign FPR by argmax) picked the last column: without the windows and rates the lab\'s SYN flood and port scan look',
    'like CIC-IDS2017\'s, which lifted the left-out lab recall from 0.09 to 0.42 and outweighed a left-out nDPI FPR of',
    '7.5 %, yet that model lost both SYN and ACK floods on held-out lab rows and raised the nDPI test FPR. The score now',
    'averages the validation recall over attack tools (each counts the same, as the issue asks) and judges the left-out',
    'sources at the threshold, as the sensor decides: by argmax the forests\' input sets called 0.8–7.5 % of left-out',
    'nDPI flows attacks, at the threshold 0–0.18 % (corpus: 0 %). The threshold carries over to benign traffic never',
    'seen; attack knowledge hardly carries over between CIC-IDS2017 and our lab (left-out recall at most 0.21 for the',
    'CIC rows and 0.09 for the lab, every forest and input set).',
    '',
    'With that score `npm run train` chooses the inputs without header lengths and `Active` (extra trees\' best set) and',
    'then, on them, **histogram gradient boosting** (score 0.576; extra trees 0.476, random forest 0.450). Its held-out',
    'lab connections: SYN, ACK and PSH-ACK floods and Hulk 100 %, port scan 98.4 %, slowloris 99.5 %, slow body 94.5 %,',
    'SSH-Patator 98.3 %, FTP-Patator 72.7 % (16 of 22); published rows: benign FPR 0.34 %, macro-F1 0.78; ONNX equal to',
    'scikit-learn on all 172,741 check rows. But it called 1 of the 874 nDPI test flows and 1 of the 81 corpus test',
    'flows attacks, where version 2 called none (replayed through the sensor: a Viber flow and a Modbus flow, both',
    'Infiltration, the class of 36 published rows), and its scikit-learn inference costs 7 times extra trees\' (0.11 against',
    '0.016 s per 1,000 rows; version 2 already exceeds the 10 % budget). It raises the held-out benign FPR, so it was not',
    'shipped; the three nDPI attack captures recorded elsewhere (11 flows) are still all called benign.',
    '',
    'Per-class thresholds (each class lowered from the single threshold as far as the validation benign budget allows,',
    'the same 22 validation benign flows called attacks) took the no-`Active` model\'s Hulk from 66.6 % to 99.4 % and the',
    'ACK flood from 89.0 % to 98.3 % at a test benign FPR of 0.212 % (0.206 % with one threshold); the card holds one',
    'threshold today. A smaller forest (20 trees of depth 12, the inference budget) called 7.5 % of the left-out corpus',
    'flows attacks and none of the published BruteForce test rows: size still buys generalisation here.',
    '',
]


# Version 3's figures on its own test rows (its card, 2026-12-06): tool label → share of connections called the
# right class (tails apart). Its probes and phase-end connections were counted with the tool.
VERSION_3_LAB = {'DDoS': 1.0, 'DDoS-ACK': 1.0, 'DDoS-PSH-ACK': 1.0, 'DoS Hulk': 1.0, 'DoS Slowhttptest': 0.945, 'DoS slowloris': 0.9954,
                 'FTP-Patator': 0.7273, 'PortScan': 0.9835, 'SSH-Patator': 0.9825}


def _versus_version_3(m: dict) -> list[str]:
    by = m.get('held_out_lab_by_label', {})
    L = ['Against version 3 (same data and split; its tool lines counted the probes and the phase-end connections):', '',
         '| lab tool | version 3 | this model, whole connections | probes / cut at the phase\'s end: flows, called attacks |',
         '|---|---:|---:|---|']
    for k, v3 in VERSION_3_LAB.items():
        now = by.get(k, {}).get('right_class')
        apart = [(s, by[k + s]) for s in (' (availability probe)', ' (cut at the end of the phase)') if k + s in by]
        L.append(f'| {k} | {_pct(v3)} | {_pct(now)} | ' + ('; '.join(f'{s.strip(" ()")}: {v["rows"]}, {_pct(v["flagged_as_attack"])}' for s, v in apart) or '-') + ' |')
    return L + ['']


PROBES_AND_PHASE_ENDS = [
    '## Availability probes and connections cut at a phase\'s end (version 4)',
    '',
    'Version 3 missed 5.5 % of the held-out slow-body connections and 27 % of the FTP-Patator ones. Looked at flow by flow:',
    '',
    '- **slow body (and slowloris)**: every miss was one of slowhttptest\'s availability probes. Every 3 s the tool sends',
    '  one complete ordinary request (`GET /api/upload`) to see whether the server still answers (13 per 41 s phase); the',
    '  server answers 200 at once. The slow connections themselves never get an answer within the phase. A probe is a',
    '  page fetch like any browser\'s: labelled DoS, it teaches the model that a request of that size is an attack (the',
    '  lab\'s slowloris probes fetched the same 915-byte page as Hulk, which is why those were "caught"). They are now',
    '  BENIGN with the detail "<label> (availability probe)", on lines of their own, like the tails.',
    '- **FTP-Patator**: the six misses were the last six connections of the phase. Patator, being stopped, opened them in',
    '  its last 0.3 s, sent USER and PASS, and dropped them 30-90 ms later before the server\'s 530 (whole tries last',
    '  8-9 s). A split by time puts only those in test, and a benign login abandoned after its first PASS looks the same.',
    '  They keep their label, with the detail "<label> (cut at the end of the phase)" (a TCP exchange with payload both',
    '  ways that began in the capture\'s last 2 s and was not closed regularly), on lines of their own.',
    '- **FTP-Patator, version 6**: version 5 counted one of the six with the tool (its one miss, 94 %: 16 of 17). Its',
    '  packets (tshark) are those of the other five: USER, PASS, the client\'s FIN 28 ms later, no answer, no FIN from the',
    '  server. Its FIN was sent twice, and the repeat with the server\'s ACK made a two-packet flow, written as a',
    '  connection tail (the other five\'s remainder, one ACK, is not written), so "no tail follows" passed it as closed.',
    '  A connection whose only tail is the initiator\'s FIN again, after the responder had been silent over 1 ms, is now',
    '  not closed regularly. Checked on every phase of both labs: that one flow is the only change. The model still',
    '  calls all six benign (table below): no training flow looks like them.',
    '',
]


def _loto_cell(summary: dict | None) -> str:
    if not summary:
        return '-'
    return f'{_num(summary["lab"]["right_class"])} / {_num(summary["tools"]["right_class"])}'


def _tools_table(t: dict) -> list[str]:
    """measure_tools.py's table (the previous default model replayed by the sensor on the second lab)."""
    L = ['| tool | class | flows | flagged as an attack | right class |', '|---|---|---:|---:|---:|']
    for k, v in sorted(t['tools'].items(), key=lambda kv: (kv[1]['class'], kv[0])):
        L.append(f'| {k} | {v["class"]} | {v["flows"]} | {_pct(v["flagged_as_attack"])} | {_pct(v["right_class"])} |')
    for g, v in t['groups'].items():
        L.append(f'| **{g}**, mean of {v["tools"]} tools | | | {_pct(v["flagged_as_attack"])} | {_pct(v["right_class"])} |')
    L.append(f'| **mean over tools** | | | {_pct(t["macro_over_tools"]["flagged_as_attack"])} | {_pct(t["macro_over_tools"]["right_class"])} |')
    L.append(f'| benign flows: called attacks | BENIGN | {t["benign"]["flows"]} | {_pct(t["benign"]["fpr"])} | |')
    return L


def _other_tools(m: dict, shipped: dict, card: dict) -> list[str]:
    """The second lab: the previous model on it (measured with the sensor), this model trained without it (LOSO),
    each tool left out (LOTO), and this model's test rows of it."""
    prev = m.get('tools_lab_previous_model')
    loso = shipped.get('leave_one_source_out', {}).get('tools')
    loto = shipped.get('leave_one_tool_out') or {}
    if not (prev or loso or loto):
        return []
    L = ['## Attacks made by other tools (the second lab)', '',
         'The first lab has one tool per attack kind, so a model can learn the tool rather than the behaviour.',
         '`models/train/lab-tools.sh` makes the same classes with other tools and settings on another network (another',
         'subnet, a server without TCP timestamps and with another receive buffer): masscan; nmap -sA/-sN/-sW/-sT -T3/-O -sC;',
         'hydra, medusa and ncrack against SSH and FTP; a GoldenEye-like keep-alive flood, a python slowloris, slowhttptest',
         '-R (range) and -X (slow read), ab and siege as floods; hping3 spoofed SYN flood, UDP flood and a slow one-source SYN',
         'flood; sqlmap, gobuster, dirb and a webshell\'s command requests; benign users of other kinds (wget mirroring, curl',
         'keep-alive and range downloads, form posts, ssh and sftp sessions, FTP, DNS). Its captures are in',
         '`models/train/data/lab-tools/` (README: how made, sha256).', '']
    if prev:
        L += [f'**{prev["model"]}** (the previous default, trained without this lab), each capture replayed by the sensor',
              '(`python3 models/train/measure_tools.py --model ...`; connection tails and probes not counted as attacks):', '',
              *_tools_table(prev), '']
    if loso:
        L += ['**This model\'s settings, trained without the second lab** (leave-one-source-out; every flow of the lab, floods',
              'sampled):', '', _table_by_label({k: v for k, v in loso['by_label'].items()}), '',
              f'Benign FPR {_pct(loso["benign_fpr"])}; macro attack recall {_num(loso["macro_attack_recall"])}.', '']
    if loto:
        L += ['**Leave one tool out** (train without one lab phase, i.e. one tool, test on its attack flows; threshold for the same',
              'budget from the other phases\' validation rows; training rows capped at 1,000 per phase and label in these fits):', '',
              '| left-out phase | tool | class | flows | flagged as an attack | right class | argmax: flagged | argmax: right class |',
              '|---|---|---|---:|---:|---:|---:|---:|']
        for u, v in loto.items():
            L.append(f'| {u} | {v["tool"]} | {v["class"]} | {v["rows"]} | {_pct(v["flagged_as_attack"])} | {_pct(v["right_class"])} | '
                     f'{_pct(v.get("argmax_flagged_as_attack"))} | {_pct(v.get("argmax_right_class"))} |')
        sm = shipped.get('leave_one_tool_out_summary') or {}
        if sm:
            L.append(f'| **mean**, first lab ({sm["lab"]["tools"]} tools) / second lab ({sm["tools"]["tools"]}) | | | | '
                     f'{_pct(sm["lab"]["flagged_as_attack"])} / {_pct(sm["tools"]["flagged_as_attack"])} | '
                     f'{_pct(sm["lab"]["right_class"])} / {_pct(sm["tools"]["right_class"])} | | |')
            L.append(f'| **mean**, all {sm["lab"]["tools"] + sm["tools"]["tools"]} tools | | | | {_pct(sm["flagged_as_attack"])} | {_pct(sm["right_class"])} | '
                     f'{_pct(sm.get("argmax_flagged_as_attack"))} | {_pct(sm.get("argmax_right_class"))} |')
        L.append('')
    if 'held_out_tools_by_label' in m:
        L += ['**This model on the second lab\'s test rows** (the later 30 % of each phase; the earlier flows of the same tools',
              'were in training, so this is not a foreign measure):', '', _table_by_label(m['held_out_tools_by_label'], interval=True), '']
    return L


def write_report(path: str, card: dict, counts: dict) -> None:
    m = card['metrics']
    prov = card['provenance']
    name = card['name']
    comp = m['comparison']
    shipped = m['shipped_family']
    allm = m['held_out_all']
    L = [
        f'# {name}: the default attack classifier',
        '',
        f'{card["description"]}.',
        f'Classes: {", ".join(card["classes"])} (benign: `{card["benign"]}`). Alert threshold **{card["alert_threshold"]:.4f}**: a flow',
        'is called an attack when its best attack class has at least this probability, otherwise benign (its best attack',
        'class and probability are stored all the same). KDD\'99 categories: ' + ', '.join(f'{c} → {k}' for c, k in card['kdd'].items()) + '.',
        f'Files: `{name}.onnx` ({counts["onnx_bytes"] // 1024} KB), `{name}.json` (the card the sensor checks, with the drift reference),',
        f'`{name}.png` (confusion matrices), `{name}-roc.png` (ROC curves). `sensor models inspect models/{name}.onnx` prints the contract.',
        '',
        '## Reproduce',
        '',
        '```sh',
        'npm run train        # = python3 models/train/train.py',
        '```',
        '',
        'Debian packages python3-sklearn, python3-pandas, python3-numpy, python3-onnx, python3-matplotlib (no PyPI), Node and a',
        'built checkout (captures are replayed by `bin/sensor.js --profile cic2017`), `../shared/data` + `../shared/corpus`, and',
        'the second lab\'s captures in this repository (`models/train/data/lab-tools/`, made by `models/train/lab-tools.sh`).',
        f'Fixed seed. This one: {prov["created"]}, code {prov["code_commit"]}, {prov["estimator"]}, {prov["libraries"]}.',
        '',
        '## Data (every row from files a later engineer can get again)',
        '',
        *[f'- {line}' for line in prov['data']],
        '',
        f'Labels → classes: {", ".join(f"{k} → {v}" for k, v in prov["label_mapping"].items() if k != v)}.',
        f'Training rows: {prov["train_rows"]}. Split: {m["split"]}.',
        '',
        '## Decision rule and false-positive budget',
        '',
        f'The threshold is chosen on the **validation** rows for a benign false-positive budget of {_pct(m["fpr_budget"])}: the',
        f'smallest threshold at which at most that share of validation benign flows is called an attack. It gives {card["alert_threshold"]:.4f}.',
        f'On the test rows: benign FPR {_pct(allm["benign_fpr"])}, attacks flagged {_pct(allm["attack_detection_rate"])}, macro-F1',
        f'{_num(allm["macro_f1"])}; by argmax alone (no threshold): benign FPR {_pct(m["held_out_all_argmax"]["benign_fpr"])}, macro-F1',
        f'{_num(m["held_out_all_argmax"]["macro_f1"])}. `--alert-threshold P` moves the line; `attack_label`/`attack_score` show what lies below it.',
        '',
        '## Connection tails, and why version 2 missed slow DoS, Hulk and SSH',
        '',
        'The 2017 build ends a TCP flow at its first FIN; the rest of the connection (the other side\'s FIN and the last ACK)',
        'becomes a flow of its own, two packets without payload whose first packet is FIN+ACK (CIC-FEATURES.md §9; Engelen',
        'et al. 2021 call them artefact flows). Such a tail looks the same whatever the connection carried. Version 2 labelled',
        'the tails of attack connections as the attack, and that explains its misses (measured on its own test rows):',
        '',
        '- **slowloris and slow body, 0 %**: slowhttptest opens its 800 connections in the first second of the phase and',
        '  closes them all at its end, so the split by start time put all 800 connections (7 + 5 packets, ~35 s) in',
        '  training and only their tails in test: the test rows held no slow connection at all, and the tails (1 + 1 packets)',
        '  are rightly called benign.',
        '- **Hulk, 32 %; SSH-Patator, 47 %**: half of each tool\'s flows were tails (20,000 of 40,000; 196 of 400). Called',
        '  benign, all of them; of the connections themselves SSH-Patator was caught 98 %, Hulk 65 %.',
        '- The published CIC-IDS2017 rows label tails as attacks too (found by their features: 200 rows, mostly BruteForce',
        '  and WebAttack). Class-balanced weights made those few dozen rows outweigh a thousand benign tails, so a model',
        '  trained without our lab called 89 % of the lab\'s benign flows (tails, most of them) attacks; 1 % once relabelled.',
        '',
        'The training code now labels a tail of an attack connection BENIGN (detail "<label> (connection tail)", a line of',
        'its own in the tables: the alert is on the connection\'s first flow) and keeps it at its connection\'s place in',
        'time, so the split keeps a connection on one side. In the lab a tail is found by its 5-tuple (a flow without SYN',
        'after a flow of the same 5-tuple that began with one); in published rows, which have no 5-tuples, by its features.',
        'The per-unit cap did not starve these classes (slow DoS had 800 connections, below the cap of 3,000; Hulk kept',
        '3,000 of its 20,000 training flows, half of them tails, so about 1,500 connections).',
        '',
        'With the tails out of the way the slow connections showed a second problem: the `Active` columns. The 2017 build',
        'closes an active period only when a gap over 5 s follows, so for slowloris they measure where in the tool\'s 10 s',
        'send cycle a connection opened (median 100 µs for the first connections, 1–2 s for the later ones), not what it',
        'does; the ablation\'s `active` group drops them. Published slow DoS rows differ from the lab\'s (flows of ~100 s',
        'cut by the 120 s timeout, 2–18 packets, another server): both sources are in training, neither predicts the other.',
        '',
    ]
    if 'connection tail' not in m['split']:
        L += RETRAINED_WITH_TAILS_RELABELLED
    elif any('(availability probe)' in k for k in m.get('held_out_lab_by_label', {})):
        L += PROBES_AND_PHASE_ENDS + _versus_version_3(m)
    L += [
        '## Test results by source (with the threshold)',
        '',
        '| source | rows | accuracy | macro-F1 | benign FPR | attacks flagged |',
        '|---|---:|---:|---:|---:|---:|',
    ]
    for s in ('cic', 'lab', 'tools', 'ndpi', 'corpus'):
        k = f'held_out_{s}'
        if k in m:
            v = m[k]
            L.append(f'| {s} | {v["rows"]} | {_num(v["accuracy"])} | {_num(v["macro_f1"])} | {_pct(v["benign_fpr"])} | {_pct(v["attack_detection_rate"])} |')
    L += ['', '### All test rows', '', _table_per_class(allm), '', _table_confusion(allm), '']
    if 'held_out_lab_by_label' in m:
        L += ['### Lab test flows by tool label', '', _table_by_label(m['held_out_lab_by_label'], interval=True), '']
        L += _few_flows(m)
    if 'held_out_cic_by_label' in m:
        L += ['### Published CIC-IDS2017 test rows by label', '', _table_by_label(m['held_out_cic_by_label']), '']
    if 'held_out_ndpi_by_label' in m:
        L += ['### nDPI test captures (benign application traffic) by nDPI category', '', _table_by_label(m['held_out_ndpi_by_label']), '']
    if m.get('foreign_attack_captures'):
        L += ['### Attack captures recorded elsewhere (nDPI suite; every flow of the capture taken as the attack)', '',
              '| capture | class | flows | flagged as attack | right class |', '|---|---|---:|---:|---:|']
        for u, v in m['foreign_attack_captures'].items():
            L.append(f'| {u} | {v["class"]} | {v["flows"]} | {_pct(v["flagged_as_attack"])} | {_pct(v["right_class"])} |')
        L.append('')
    L += _other_tools(m, comp[shipped], card)
    L += [
        '## Leave one source out (the shipped family and inputs)',
        '',
        *(['Trained without a source (on the other sources\' training rows), tested on all of it, with the alert threshold for',
           'the same budget set on the other sources\' validation rows (the left-out source has none to offer); argmax too.']
          if any('threshold' in v for v in comp[shipped]['leave_one_source_out'].values()) else
          ['Trained without a source (every row of it), tested on all of it, verdicts by argmax (no validation rows of that',
           'source to set a threshold on).']),
        'This is the question "does it work on a network it has never seen?".',
        '',
        _table_loso(comp[shipped]['leave_one_source_out']),
        '',
        '## Model comparison (same inputs, same splits)',
        '',
        'Each family is trained on the training rows with class-balanced sample weights (kNN unweighted), its threshold set on',
        *((['validation rows for the same budget, and measured on the test rows. Score = mean of the validation recall at the',
             'threshold averaged over attack tools and published labels, the leave-one-source-out macro attack recall at the',
             'threshold and the leave-one-tool-out recall by the right class (exportable families only: 29 fits each), minus the',
             'left-out benign FPR at the threshold (nDPI, corpus, the second lab). Scores with and without leave-one-tool-out',
             'are not comparable.']
            if comp[shipped].get('leave_one_tool_out') else
            ['validation rows for the same budget, and measured on the test rows. Score = mean of the validation recall at the',
             'threshold averaged over attack tools and published labels, and the leave-one-source-out macro attack recall at the',
             'threshold, minus the left-out benign FPR at the threshold (nDPI, corpus).'])
          if 'validation_tool_recall_at_threshold' in comp[shipped] else
          ['validation rows for the same budget, and measured on the test rows. Score = mean of validation macro attack recall',
           'at the threshold and leave-one-source-out macro attack recall, minus the left-out benign FPR (nDPI, corpus).']),
        '',
        '| family | estimator | trees | score | threshold | test accuracy | test macro-F1 | test benign FPR | argmax macro-F1 | LOTO right class (lab / tools) | train s | infer s/1000 rows |',
        '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ]
    shippable = m.get('shippable_families')
    for fam, v in comp.items():
        t = v['test']
        mark = ' (shipped)' if fam == shipped else ' (within the budget)' if shippable and fam in shippable else ''
        L.append(f'| {fam}{mark} | `{v["estimator"]}` | {v.get("trees") or "-"} | {v["score"]:.3f} | {_num(v["threshold"], "{:.4f}")} | '
                 f'{_num(t["accuracy"])} | {_num(t["macro_f1"])} | {_pct(t["benign_fpr"])} | {_num(v["test_argmax"]["macro_f1"])} | '
                 f'{_loto_cell(v.get("leave_one_tool_out_summary"))} | {v["train_seconds"]} | {v["inference_seconds_per_1000_rows"]} |')
    L += ['']
    if shippable and len(shippable) > 1:
        L += ['Only gradient boosting of a fixed size within the **inference budget** may ship (both default models at most 10 % of',
              'replay packets/s: about 1 µs a flow for the attack model\'s trees on a busy machine; onnxruntime walks every tree for',
              'every flow): ' + ', '.join(f'`{f}`' for f in shippable) + ' (rounds x leaves per tree; x 7 classes trees). The best score',
              f'among them ships ({shipped}). The other rows are what the budget costs: `gradient_boosting` is version 5\'s',
              'setting (up to 50 rounds, stopped early), the forests 40 trees of depth 16.', '']
    elif m['best_family_by_score'] != shipped:
        best = m['best_family_by_score']
        unlike = ' (its score has no leave-one-tool-out term, which was measured for the exportable families only)' \
            if comp[shipped].get('leave_one_tool_out') and not comp[best].get('leave_one_tool_out') else ''
        L += [f'The best score is {best}\'s{unlike}; the shipped model is the best family the ONNX exporter handles (forests and gradient boosting).', '']
    L += ['Per-class test F1 by family:', '']
    classes = list(allm['per_class'].keys())
    L += ['| family | ' + ' | '.join(classes) + ' |', '|---|' + '---:|' * len(classes)]
    for fam, v in comp.items():
        L.append(f'| {fam} | ' + ' | '.join(_num(v['test']['per_class'].get(c, {}).get('f1')) for c in classes) + ' |')
    L += ['', f'ROC curves (test rows, one-vs-rest per class with micro and macro averages, and each family\'s macro average): `{name}-roc.png`.', '']
    if m['ablation']:
        L += [
            '## Feature ablation (both forests)',
            '',
            'Which columns carry the identity of a network or a tool rather than behaviour. Each set drops groups of',
            'columns (the initial windows, the header lengths, the rates, every clock-based column, the active periods); the selection keeps the',
            'set of the best (family, set) score (validation, leave-one-source-out and, where measured, leave-one-tool-out; never test).',
            '',
            '| family / feature set | inputs | dropped | score | validation recall at threshold (classes / tools) | validation benign FPR | LOSO cic recall | LOSO lab recall | LOSO tools recall | LOSO ndpi FPR | LOSO corpus FPR | LOSO tools FPR | LOTO right class (lab / tools) |',
            '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
        ]
        loto = {k: v['leave_one_tool_out_summary']['right_class'] for k, v in m['ablation'].items() if v.get('leave_one_tool_out_summary')}
        if loto:
            best_loto = max(loto, key=loto.get)
            verdict = (': dropping the columns that look like',
                       'a tool\'s or a network\'s identity did not make unseen tools easier to catch.') if best_loto.endswith('/all') else ('.',)
            L[-3:-3] = [f'In the tool-held-out view (last column: a lab phase left out of training, its tool\'s attack flows called by the',
                        f'right class, mean over the {len(next(iter(m["ablation"].values()))["leave_one_tool_out"])} tools) the best '
                        f'set was {best_loto} ({loto[best_loto]:.3f}){verdict[0]}', *verdict[1:]]
        for fs, v in m['ablation'].items():
            lo = v['leave_one_source_out']
            g = lambda s, k: lo.get(s, {}).get(k)  # noqa: E731
            dropped = [grp for grp in ('init_win', 'header', 'rates', 'timing', 'active') if grp in v['feature_set']]
            L.append(f'| {fs}{" (chosen)" if v["feature_set"] == m["feature_set"] and v["family"] == m["shipped_family"] else ""} | {v["inputs"]} | {", ".join(dropped) or "-"} | {v["score"]:.3f} | '
                     f'{v["validation_macro_attack_recall_at_threshold"]:.3f} / {_num(v.get("validation_tool_recall_at_threshold"))} | {_pct(v["validation_benign_fpr"])} | {_num(g("cic", "macro_attack_recall"))} | '
                     f'{_num(g("lab", "macro_attack_recall"))} | {_num(g("tools", "macro_attack_recall"))} | {_pct(g("ndpi", "benign_fpr"))} | '
                     f'{_pct(g("corpus", "benign_fpr"))} | {_pct(g("tools", "benign_fpr"))} | {_loto_cell(v.get("leave_one_tool_out_summary"))} |')
        L += ['']
    agree = m.get('onnx_agreement')
    if agree:
        L += ['## ONNX export', '',
              f'Checked with onnxruntime through the sensor\'s own Classifier on {agree["rows"]} rows (every test row and every training row',
              f'with NaN/Infinity): same class on {agree["same_class"]} ({agree["ties"]} ties), largest probability difference {agree["max_abs_prob_diff"]}.', '']
    L += [
        '## Known limits',
        '',
        '- Per-flow features cannot tell a single two-packet flow of a flood or scan (SYN→RST, ACK→RST) from the many benign',
        '  two-packet flows of real networks; the threshold trades those off, and the floods are caught because they are',
        '  flows of one shape by the thousand, not because one flow is unmistakable.',
        '- Leave-one-source-out shows how little attack knowledge transfers between the CIC testbed and our lab (table above):',
        '  a tool or network the model has not seen may well be called benign. Retrain with your own labelled traffic.',
        '- A connection tail is called benign whatever its connection was: the alert is on the connection\'s first flow.',
        '  A slow attack that lasts past the 120 s timeout is cut into flows the lab (phases of 41 s) never showed.',
        '- The lab\'s held-out attack flows are the later connections of the same run as the training ones: the same tool,',
        '  host and network. The attack captures recorded elsewhere and leave-one-source-out are the foreign measures.',
        '- One threshold for every class. Per-class thresholds were measured before (extra trees: Hulk 66.6 → 99.4 %, ACK',
        '  flood 89.0 → 98.3 % at the same validation budget); for this model they buy nothing on the lab: every tool\'s',
        '  validation connections score near 1, so a threshold chosen on them stays where it is, and the flows still',
        '  missed in test (the phase-end FTP connections, scored far below it) are shapes validation never showed.',
        '- Bot and Infiltration come only from the published rows (a few hundred and 36 rows); their test figures are',
        '  those of one testbed. The published Bot test rows (the last 30 % of the one Bot slice, by time) are all one',
        '  shape that training never saw: three SYNs answered by three RSTs in ~1 s, no payload (the bot retrying a',
        '  command server that refused it); the training rows are its earlier HTTP polls (4 + 3 packets, ~200 bytes). A',
        '  refused connection retried is what any client does: called benign, all 391.',
        *(['- The selection kept every input (`all`), the initial windows, header lengths and `Active` columns included:',
            '  on these validations and left-out sources they did not hurt (the sets without them scored lower). They are',
            '  still what differs most between operating systems and tools (hping3\'s window of 64, nmap\'s 1024): on traffic',
            '  from other tools and hosts these are the first columns to suspect (`sensor models drift` shows them).']
          if m.get('feature_set') == 'all' else []),
        *(['- **Tools it has not seen.** Leave-one-tool-out (above) is the honest figure for an attack tool that is not in',
           '  training: most of its flows pass as benign, even when other tools of its class are in training. Per flow, an',
           '  HTTP flood of ab or siege is an ordinary page fetch, a brute-force try an ordinary failed login, a directory',
           '  brute force an ordinary 404: what gives them away is the rate and the count across flows, which a per-flow',
           '  model does not see. The second lab\'s tools are caught because they are in training (their later flows, same',
           '  run, same network).',
           '- The `cic2017` profile writes no one-packet flow (as the 2017 build): a spoofed SYN flood whose SYN-ACKs',
           '  never leave the victim, or a UDP flood with a new source port per datagram, makes no flows at all. The second',
           '  lab\'s spoofed flood is answered through a gateway and its UDP flood uses six sockets, so both make flows.']
          if m.get('tools_lab_previous_model') or 'held_out_tools' in m else []),
        '- nDPI\'s captures are short and many are IPv4-less or single-packet; the sensor writes no flow for those',
        '  (cic2017 writes no one-packet flows and no IPv6), so the benign application traffic is about 2,000 flows.',
        '',
    ]
    with open(path, 'w') as f:
        f.write('\n'.join(L))


def draw_confusion(ax, rows_true_cols_predicted, labels: list[str], xlabel: str, ylabel: str, title: str, **title_kw) -> None:
    """One confusion matrix on `ax`: rows normalised to shares (the colour), the counts written in the cells."""
    cm = np.array(rows_true_cols_predicted, dtype=float)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap='Blues', vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha='right')
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, **title_kw)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if cm[i, j] > 0:
                ax.text(j, i, f'{int(cm[i, j])}', ha='center', va='center', fontsize=7, color='white' if norm[i, j] > 0.5 else 'black')


def pyplot_or_none(path: str):
    """matplotlib's pyplot (Agg), or None with a warning that `path` is not drawn: the file already there, if any,
    is then the previous model's, which a commit must not ship as this one's."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        print(f'warning: {path} not drawn: matplotlib is not installed (Debian python3-matplotlib); '
              'a file already there is the previous model\'s', file=sys.stderr)
        return None


def plot_confusion(path: str, metrics: dict, classes: list[str]) -> None:
    plt = pyplot_or_none(path)
    if plt is None:
        return
    panels = [(k, t) for k, t in (('held_out_cic', 'CIC-IDS2017 rows'), ('held_out_lab', 'lab captures'),
                                  ('held_out_ndpi', 'nDPI captures (benign)'), ('held_out_corpus', 'corpus traces (benign)')) if k in metrics]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 5.6))
    axes = np.atleast_1d(axes)
    for ax, (key, title) in zip(axes, panels):
        draw_confusion(ax, metrics[key]['confusion_matrix']['rows_true_cols_predicted'], classes,
                       'predicted (with the alert threshold)', 'true', f'{title}, test (macro-F1 {metrics[key]["macro_f1"]})')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_roc(path: str, y: np.ndarray, probas: dict, classes: dict, shipped: str) -> None:
    """Left: the shipped model, one-vs-rest ROC per class with micro and macro averages. Right: each family's
    macro-average ROC. Log-scaled false-positive axis: the budget is a fraction of a percent."""
    plt = pyplot_or_none(path)
    if plt is None:
        return
    from sklearn.metrics import auc, roc_curve

    def curves(proba, cls):
        per, grid = {}, np.logspace(-5, 0, 400)
        for k, c in enumerate(cls):
            t = (y == c).astype(int)
            if t.sum() == 0 or t.sum() == len(t):
                continue
            fpr, tpr, _ = roc_curve(t, proba[:, k])
            per[c] = (fpr, tpr, auc(fpr, tpr))
        macro = np.mean([np.interp(grid, f, t) for f, t, _ in per.values()], axis=0) if per else np.zeros_like(grid)
        onehot = np.stack([(y == c).astype(int) for c in cls], axis=1)
        mf, mt, _ = roc_curve(onehot.ravel(), proba.ravel())
        return per, (grid, macro), (mf, mt, auc(mf, mt))

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.6))
    per, (g, mac), (mf, mt, mauc) = curves(probas[shipped], classes[shipped])
    ax = axes[0]
    for c, (f, t, a) in per.items():
        ax.plot(np.maximum(f, 1e-5), t, lw=1, label=f'{c} (AUC {a:.3f})')
    ax.plot(np.maximum(mf, 1e-5), mt, 'k--', lw=2, label=f'micro average (AUC {mauc:.3f})')
    ax.plot(g, mac, 'k:', lw=2, label='macro average')
    ax.set_title(f'{shipped} (shipped), test rows, one-vs-rest')
    for fam, proba in probas.items():
        _, (g2, m2), (f2, t2, a2) = curves(proba, classes[fam])
        axes[1].plot(g2, m2, lw=1.5, label=f'{fam} (micro AUC {a2:.3f})')
    axes[1].set_title('macro-average ROC by family, test rows')
    for ax in axes:
        ax.set_xscale('log')
        ax.set_xlim(1e-5, 1)
        ax.set_ylim(0, 1.01)
        ax.set_xlabel('false-positive rate (log)')
        ax.set_ylabel('true-positive rate')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc='lower right')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
