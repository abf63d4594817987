"""The training data's sources, each turned into one table of `cic2017` feature rows with a label.

Every row carries: the 77 cic2017 feature columns (CIC-IDS2017 names, pandas' `.1` for the repeated Fwd Header
Length), `Label` (the model's class), `source` (cic, lab, ndpi, corpus), `unit` (what a split keeps together: a
capture, a lab phase, a slice of a published file), `order` (position in time inside the unit, for splits by
time) and, where known, `detail` (the original label or nDPI category) and `app_group` (nDPI's application group).

Captures are replayed by this checkout's sensor (`bin/sensor.js --profile cic2017 --no-model --db`), so the rows
are exactly what the sensor computes at run time. Published CIC-IDS2017 rows are read as they are: the `cic2017`
profile reproduces them (README "Which profile?").
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), 'shared')
PROFILE = 'cic2017'
BENIGN = 'BENIGN'
# The cic2017 profile's columns that hold the first packet's SYN, FIN and ACK (the 2017 build prints its flag counters
# in a hash map's order: CIC-FEATURES.md §9 item 2).
FIRST_PACKET_SYN = 'PSH Flag Count'
FIRST_PACKET_FIN = 'URG Flag Count'
FIRST_PACKET_ACK = 'ACK Flag Count'
TAIL = ' (connection tail)'
PROBE = ' (availability probe)'
CUT = ' (cut at the end of the phase)'
# The slow DoS tools' labels: slowhttptest checks every 3 s whether the server still answers with one ordinary
# request (sources.availability_probes).
SLOW_DOS = ('DoS slowloris', 'DoS Slowhttptest')

# Published CIC-IDS2017 labels (as spelled in the day files, web attacks with an en dash, 0x96 or U+FFFD) and the
# lab's labels → the model's classes. DDoS and the floods are DoS: a per-flow model cannot see that several
# sources take part (a property across flows), so what it can learn from one flow is "denial of service".
GROUP = {
    'BENIGN': 'BENIGN', 'DoS': 'DoS', 'DDoS': 'DoS', 'DoS Hulk': 'DoS', 'DoS GoldenEye': 'DoS', 'DoS slowloris': 'DoS',
    'DoS Slowhttptest': 'DoS', 'Heartbleed': 'DoS', 'DDoS-ACK': 'DoS', 'DDoS-PSH-ACK': 'DoS',
    'PortScan': 'PortScan', 'BruteForce': 'BruteForce', 'FTP-Patator': 'BruteForce', 'SSH-Patator': 'BruteForce',
    'WebAttack': 'WebAttack', 'Bot': 'Bot', 'Infiltration': 'Infiltration',
}

# nDPI categories → application groups (../shared/data/ndpi/README.md); anything else is Other.
APP_GROUPS = {
    'Web': ['Web', 'Advertisement', 'Shopping', 'SocialNetwork', 'AdultContent', 'Gambling'],
    'Media': ['Media', 'Video', 'Streaming', 'Music'],
    'Chat': ['Chat', 'Collaborative', 'Email', 'VirtAssistant'],
    'VoIP': ['VoIP'], 'VPN': ['VPN'], 'RemoteAccess': ['RemoteAccess'],
    'Transfer': ['Download', 'DataTransfer', 'Cloud', 'SoftwareUpdate'],
    'Network': ['Network', 'System', 'RPC', 'ConnCheck', 'Database'],
    'Game': ['Game'],
}
CATEGORY_GROUP = {c: g for g, cs in APP_GROUPS.items() for c in cs}

# nDPI captures that are not benign samples (the data README: attacks, exploits, malware, scans, exfiltration
# tunnels, fuzzing, deliberately malformed traffic). Kept out of training; the attack ones are a foreign test set.
NDPI_NOT_BENIGN = re.compile(
    r'attack|exploit|malware|scan|emotet|log4j|sql_?inj|xss|dos_|exfil|iodine|dns2tcp|tunnel|fuzz|crash|malformed|'
    r'bad-?|badpackets|invalid|custom_risk|portable_executable|mining|ossfuzz|_error|false_positive|teso', re.I)
# nDPI captures of attacks recorded elsewhere, with the class their traffic is (capture level: every flow of the
# capture that nDPI does not name a known benign service counts as that attack). Evaluation only.
NDPI_FOREIGN_ATTACKS = {'synscan.pcap': 'PortScan', 'sql_injection.pcap': 'WebAttack', 'xss.pcap': 'WebAttack'}
# nDPI categories and risks that make a flow not benign even in a benign capture.
NDPI_BAD_CATEGORY = {'Malware', 'Mining'}
NDPI_BAD_RISK = re.compile(r'exploit|malicious|suspicious entropy', re.I)

# ../shared/corpus captures that are plainly benign protocol traces (ordinary clients and servers; not fuzzed,
# truncated or malformed on purpose).
CORPUS_BENIGN = [
    'zeek/wikipedia.pcap', 'zeek/http-vlan-0.pcap', 'zeek/http-qinq-0.pcap', 'zeek/vlan-qinqinq.pcap',
    'zeek/mixed-vlan-mpls.pcap', 'zeek/echo-connections.pcap.gz', 'zeek/communityid/tcp.pcap',
    'zeek/communityid/udp.pcap', 'zeek/communityid/icmp.pcap', 'zeek/raw_packets.pcap',
    'suricata-verify/flow-test-01.pcap', 'suricata-verify/pppoe-session-http.pcap',
]
CORPUS_BENIGN_DIRS = ['zeek/dns', 'zeek/ftp', 'zeek/http', 'zeek/smb', 'zeek/quic', 'zeek/modbus']

LAB_RUN1 = ['benign', 'portscan', 'hulk', 'slowloris', 'slowbody', 'ddos', 'sshpatator', 'ftppatator']
LAB_RUN2 = ['ackflood', 'pshack']


def log(msg: str) -> None:
    print(f'train: {msg}', file=sys.stderr, flush=True)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


# ---- replay -------------------------------------------------------------------------------------------------

def replay(pcap: str, work: str, model: str | None = None) -> pd.DataFrame:
    """One capture through this checkout's sensor (cic2017, no model): its flows with identity and features.
    With `model` (a card), the sensor classifies the flows as a user's run would, and the verdict columns
    (`label`, `attack_label`, `attack_score`) come along as `verdict`, `attack_label`, `attack_score`."""
    db = os.path.join(work, hashlib.sha1(f'{pcap}|{model}'.encode()).hexdigest()[:16] + '.sqlite')
    for p in (db, db + '-wal', db + '-shm'):
        if os.path.exists(p):
            os.remove(p)
    judge = ['--model', model, '--no-app-model'] if model else ['--no-model']
    cmd = ['node', os.path.join(ROOT, 'bin', 'sensor.js'), '--replay', pcap, '--profile', PROFILE, '--db', db, *judge, '-q']
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode not in (0,):
        raise SystemExit(f'train.py: {" ".join(cmd)} failed ({r.returncode}): {r.stderr.strip()}')
    con = sqlite3.connect(db)
    cols = json.loads(con.execute("SELECT value FROM meta WHERE key = 'columns'").fetchone()[0])
    sql = ', '.join(f'"{c["sql"]}"' for c in cols)
    verdict = ', label AS verdict, attack_label, attack_score' if model else ''
    # the flow's server name (TLS SNI, HTTP Host, DNS query), for the application model
    flow_columns = {r[1] for r in con.execute('PRAGMA table_info(flows)')}
    named = 'server_name' in flow_columns
    verdict += ', server_name' if named else ''
    # where the name came from: the flow's own packets, its connection's earlier flow, or DNS answers seen before
    sourced = 'server_name_source' in flow_columns
    verdict += ', server_name_source' if sourced else ''
    # the protocol its first payload bytes show (SSH, RTP, STUN...), for the application model
    payload = 'payload_protocol' in flow_columns
    verdict += ', payload_protocol' if payload else ''
    d = pd.read_sql(f'SELECT src_ip, src_port, dst_ip, dst_port, protocol, start_us, end_us, {sql}{verdict} FROM flows ORDER BY start_us, id', con)
    con.close()
    for p in (db, db + '-wal', db + '-shm'):
        if os.path.exists(p):
            os.remove(p)
    names, seen = [], set()
    for c in cols:  # the profile's names; pandas' ".1" for the repeated Fwd Header Length, as in the sample
        n = c['name']
        names.append(n + '.1' if n in seen else n)
        seen.add(n)
    d.columns = ['src_ip', 'src_port', 'dst_ip', 'dst_port', 'protocol', 'start_us', 'end_us', *names,
                 *(['verdict', 'attack_label', 'attack_score'] if model else []), *(['server_name'] if named else []),
                 *(['server_name_source'] if sourced else []), *(['payload_protocol'] if payload else [])]
    for n in names:
        d[n] = d[n].astype(float)  # SQLite NULL (a NaN feature) → NaN
    return d


def replay_many(pcaps: list[str], work: str, model: str | None = None) -> dict[str, pd.DataFrame]:
    with ThreadPoolExecutor(max_workers=2) as ex:
        return dict(zip(pcaps, ex.map(lambda p: replay(p, work, model), pcaps)))


# ---- CIC-IDS2017 published rows -------------------------------------------------------------------------------

def clean_label(s: str) -> str:
    s = str(s).strip()
    if s.startswith('Web Attack'):
        return 'WebAttack'
    return s


def load_cic(cic_dir: str, features: list[str], sample_only: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The 6,311-row sample, the Friday head and the further published rows of `more/` (not `flagged/`),
    deduplicated by feature values (the README says some files overlap). unit = the file (the sample: its
    contiguous slices), order = file order."""
    files = [sample_only] if sample_only else [os.path.join(cic_dir, 'CICIDS2017_sample.csv'), os.path.join(cic_dir, 'cicids2017-friday-ddos-head.csv')]
    more = os.path.join(cic_dir, 'more', 'CIC-IDS2017')
    if not sample_only and os.path.isdir(more):
        files += sorted(os.path.join(more, f) for f in os.listdir(more) if f.endswith('.csv'))
    parts, lines = [], []
    for f in files:
        d = pd.read_csv(f, encoding='latin-1', low_memory=False)
        d.columns = [c.strip() for c in d.columns]
        if 'Fwd Header Length.1' not in d.columns:
            raise SystemExit(f'train.py: {f}: no second Fwd Header Length column')
        d['detail'] = d['Label'].map(clean_label)
        d['Label'] = d['detail'].map(lambda s: GROUP.get(s, s))
        for c in features:
            d[c] = pd.to_numeric(d[c], errors='coerce') if d[c].dtype == object else d[c].astype(float)
        name = os.path.basename(f)
        d['source'] = 'cic'
        d['unit'] = cic_slices(d['Label'], name) if name.startswith('CICIDS2017_sample') else f'cic:{name}'
        d['order'] = np.arange(len(d), dtype=float)
        d['app_group'] = None
        parts.append(d[features + ['Label', 'detail', 'source', 'unit', 'order', 'app_group']])
        lines.append(f'CIC-IDS2017 {name}: {len(d)} rows, sha256 {sha256_file(f)[:16]}')
    d = pd.concat(parts, ignore_index=True)
    key = pd.util.hash_pandas_object(d[features].round(6), index=False)
    dup = key.duplicated()
    log(f'cic: {len(d)} published rows, {int(dup.sum())} duplicates of earlier rows dropped')
    d = d[~dup].reset_index(drop=True)
    d = relabel_published_tails(d)
    unknown = sorted(set(d['Label']) - set(GROUP.values()))
    if unknown:
        raise SystemExit(f'train.py: unknown CIC labels {unknown}')
    lines.append(f'CIC-IDS2017 rows after dropping duplicate feature vectors: {len(d)}')
    return d, lines


def published_tails(d: pd.DataFrame) -> np.ndarray:
    """Published rows that are a connection tail by their features alone (their 5-tuples are not published):
    a flow of at most 3 packets without payload whose first packet is FIN+ACK without SYN, i.e. one side's
    closing handshake (connection_tails has the connection context for the captures replayed here)."""
    packets = d['Total Fwd Packets'] + d['Total Backward Packets']
    payload = d['Total Length of Fwd Packets'] + d['Total Length of Bwd Packets']
    return ((d[FIRST_PACKET_SYN] == 0) & (d[FIRST_PACKET_FIN] > 0) & (d[FIRST_PACKET_ACK] > 0) & (packets <= 3) & (payload == 0)).to_numpy()


def relabel_published_tails(d: pd.DataFrame) -> pd.DataFrame:
    """CIC-IDS2017 labels every flow of an attacker's connections as the attack, tails included (Engelen et al.
    2021). With class-balanced weights, the few dozen tails labelled BruteForce or WebAttack outweighed a thousand
    benign tails and taught the model that the closing handshake of any connection is an attack. They become
    BENIGN with the detail '<label> (connection tail)', as the lab's do."""
    d = d.copy()
    tail = published_tails(d) & (d['Label'] != BENIGN).to_numpy()
    d.loc[tail, 'detail'] = d.loc[tail, 'detail'].astype(str) + TAIL
    d.loc[tail, 'Label'] = BENIGN
    log(f'cic: {int(tail.sum())} attack rows that are connection tails relabelled BENIGN')
    return d


def cic_slices(labels: pd.Series, name: str) -> np.ndarray:
    """Contiguous slices of the sample: runs of one attack group with benign rows in between; a benign row
    belongs to the slice of the attack rows before it (or after, at the start)."""
    attack = labels.where(labels != BENIGN).ffill().bfill()
    slice_id = (attack != attack.shift()).cumsum()
    return np.array([f'cic:{name}:{i:02d}:{a}' for i, a in zip(slice_id, attack)])


# ---- the lab ------------------------------------------------------------------------------------------------

def label_lab(d: pd.DataFrame, rules: pd.DataFrame) -> pd.Series:
    """labels.csv's rule: the row whose window holds the flow's first packet and whose src_ip is an endpoint;
    a flow matching no row is BENIGN. Attack rows win over the run-2 background row that spans them."""
    t = d['start_us'] / 1e6
    out = pd.Series(BENIGN, index=d.index, dtype=object)
    for _, r in rules.sort_values('label', key=lambda s: s != BENIGN).iterrows():
        m = (t >= r.start_epoch) & (t <= r.end_epoch) & ((d['src_ip'] == r.src_ip) | (d['dst_ip'] == r.src_ip))
        out[m] = r.label
    return out


def connection_tails(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(is_tail, head) per flow of one capture, rows in start order. The 2017 build ends a TCP flow at the first
    FIN; the rest of the connection (the other side's FIN, the last ACK) becomes a new flow under the same key
    (CIC-FEATURES.md §9 item 1): a two-packet flow with no payload that looks the same whatever the connection
    carried (Engelen et al. 2021 call these artefact flows). A tail is a TCP flow that does not begin with a SYN
    and follows a flow of the same 5-tuple that did, which ended before the 120 s timeout (a timeout split is a
    continuation, not a tail). head = the row index of that earlier flow (the tail's own index otherwise).
    Floods and scans that send no SYN (ACK floods, FIN/Xmas scans) have no SYN flow before them and are no tails."""
    n = len(d)
    is_tail = np.zeros(n, dtype=bool)
    head = np.arange(n)
    last: dict[tuple, int] = {}
    syn = d[FIRST_PACKET_SYN].to_numpy() > 0
    dur = d['Flow Duration'].to_numpy()
    keys = zip(d['protocol'].to_numpy(), d['src_ip'].to_numpy(), d['src_port'].to_numpy(), d['dst_ip'].to_numpy(), d['dst_port'].to_numpy())
    for i, (proto, *ends) in enumerate(keys):
        if proto != 6:
            continue
        a, b = (ends[0], int(ends[1])), (ends[2], int(ends[3]))
        k = (a, b) if a <= b else (b, a)
        j = last.get(k)
        if j is not None and not syn[i] and syn[head[j]] and dur[head[j]] < 120e6:
            is_tail[i], head[i] = True, head[j]
        last[k] = i
    return is_tail, head


def availability_probes(d: pd.DataFrame) -> np.ndarray:
    """Flows of a slow DoS tool that the server answered. slowhttptest (-H and -B) sends, every 3 s, one complete
    ordinary request to see whether the service is still up (13 per 41 s phase in the lab): a page fetch like any
    browser's, answered 200. The slow connections themselves never get an answer within the phase (the server
    waits for the rest of the headers or body). Labelled as the attack, a probe teaches the model that an
    ordinary request of that size is DoS (the lab's slowloris probes got the same 915-byte page as Hulk)."""
    return d['detail'].isin(SLOW_DOS).to_numpy() & (d['Total Length of Bwd Packets'].to_numpy() > 0)


def cut_by_phase_end(d: pd.DataFrame, is_tail: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Connections the end of a lab phase cut short: TCP flows with payload both ways (an application exchange,
    not a flood's or a scan's probe) that began in the capture's last 2 s and that were not closed regularly.
    When a phase ends its tool is stopped: patator opened six more FTP connections in its last 0.3 s, sent USER
    and PASS on each and dropped them 30-90 ms later, before the server's answer (whole tries take 8-9 s). No
    training flow looks like that (a split by time puts the end of a phase in test), and a benign login abandoned
    after its first PASS would look the same. They keep their label and are reported on lines of their own.

    Not closed regularly = no tail follows (the rest of a closing handshake, written when it has 2 packets), or
    the only tail is the initiator's FIN sent again: the tail begins with the initiator's packet, the flow before
    it ended with the initiator's (its FIN: Fwd IAT Total = Flow Duration) and the responder had been silent for
    over 1 ms by then (Flow Duration - Bwd IAT Total; it also holds the handshake's round trip, microseconds in
    the labs). Version 5 had only the first test and counted one of patator's six phase-end connections with the
    tool: its FIN was repeated, and the repeat with the server's ACK made a two-packet flow (the other five's
    remainder, one ACK, is not written); the server never answered or closed. In a regular close the second FIN
    is the responder's (a tail that begins with it) or the flow ends at the responder's FIN.
    """
    n = len(d)
    t = np.flatnonzero(is_tail)
    src, sport = d['src_ip'].to_numpy(), d['src_port'].to_numpy()
    by_initiator = (src[t] == src[head[t]]) & (sport[t] == sport[head[t]])
    responder_tail = np.zeros(n, dtype=bool)
    responder_tail[head[t[~by_initiator]]] = True
    initiator_tail = np.zeros(n, dtype=bool)
    initiator_tail[head[t[by_initiator]]] = True
    duration = d['Flow Duration'].to_numpy()
    fin_repeated = (initiator_tail & (d['Fwd IAT Total'].to_numpy() == duration)
                    & (duration - d['Bwd IAT Total'].to_numpy() > 1e3))
    closed = responder_tail | (initiator_tail & ~fin_repeated)
    last = np.nanmax(d['end_us'].to_numpy()) if n else 0
    talk = (d['Total Length of Fwd Packets'].to_numpy() > 0) & (d['Total Length of Bwd Packets'].to_numpy() > 0)
    return (d['protocol'].to_numpy() == 6) & talk & ~is_tail & ~closed & (d['start_us'].to_numpy() >= last - 2e6)


def mark_connections(d: pd.DataFrame, window, probes) -> None:
    """In place, for one lab phase (both labs): `order` = the connection's first flow's place in the phase `window`
    (labels.csv's row), so a split by time keeps a connection on one side; an attack connection's tail
    (connection_tails) BENIGN with the detail + TAIL; the flows `probes(d)` picks (the slow tools' availability
    probes, found once the tails are benign) BENIGN + PROBE; attack exchanges cut by the phase's end + CUT."""
    d['order'] = (d['start_us'] / 1e6 - window.start_epoch) / (window.end_epoch - window.start_epoch)
    is_tail, head = connection_tails(d)
    d['order'] = d['order'].to_numpy()[head]
    attack_tail = is_tail & (d['Label'] != BENIGN).to_numpy()
    d.loc[attack_tail, 'detail'] = d.loc[attack_tail, 'detail'] + TAIL
    d.loc[attack_tail, 'Label'] = BENIGN
    probe = probes(d)
    d.loc[probe, 'detail'] = d.loc[probe, 'detail'] + PROBE
    d.loc[probe, 'Label'] = BENIGN
    cut = cut_by_phase_end(d, is_tail, head) & (d['Label'] != BENIGN).to_numpy()
    d.loc[cut, 'detail'] = d.loc[cut, 'detail'] + CUT


def load_lab(lab_dir: str, phases: list[str], work: str, features: list[str], run: str) -> tuple[pd.DataFrame, list[str]]:
    """The lab's phases labelled by labels.csv; the connection tail of an attack connection (connection_tails)
    gets the label BENIGN and the detail '<tool label> (connection tail)': it holds nothing of the attack, and
    labelled as the attack it taught the model that the benign tails of every ordinary connection are attacks.
    A tail keeps its connection's place in time, so a split by time keeps a connection on one side."""
    rules = pd.read_csv(os.path.join(lab_dir, 'labels.csv'), comment='#')
    pcaps = [os.path.join(lab_dir, f'phase-{p}.pcap.gz') for p in phases]
    flows = replay_many(pcaps, work)
    parts, lines = [], []
    for phase, pcap in zip(phases, pcaps):
        d = flows[pcap]
        d['detail'] = label_lab(d, rules)
        d['Label'] = d['detail'].map(GROUP)
        w = rules[(rules.phase == phase)].iloc[0]
        d['source'] = 'lab'
        d['unit'] = f'lab:{run}:{phase}'
        mark_connections(d, w, availability_probes)
        d['app_group'] = None
        log(f'lab {run} {phase}: {len(d)} flows ' + ', '.join(f'{k} {v}' for k, v in d['detail'].value_counts().items()))
        parts.append(d[features + ['Label', 'detail', 'source', 'unit', 'order', 'app_group', 'src_ip', 'dst_ip', 'dst_port', 'protocol']])
        lines.append(f'lab {run} phase-{phase}.pcap.gz: {len(d)} flows, sha256 {sha256_file(pcap)[:16]}')
    lines.append(f'lab {run} labels.csv sha256 {sha256_file(os.path.join(lab_dir, "labels.csv"))[:16]}')
    return pd.concat(parts, ignore_index=True), lines


# ---- the second lab: other tools (models/train/lab-tools.sh) ------------------------------------------------

LAB_TOOLS_DIR = os.path.join(HERE, 'data', 'lab-tools')
LAB_TOOLS_CLIENT = '172.30.5.40'
# The slowhttptest phases of the second lab (range and slow read), whose availability probes get the same treatment
# as the first lab's (lab_tools_probes).
LAB_TOOLS_SLOWHTTPTEST = ('slowrange', 'slowread')


def lab_tools_phases(lab_dir: str) -> list[str]:
    rules = pd.read_csv(os.path.join(lab_dir, 'labels.csv'), comment='#')
    return [p for p in rules['phase'] if p != 'background']


def label_lab_tools(d: pd.DataFrame, rules: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(label, tool) per flow by labels.csv's rule: the row whose window holds the flow's first packet and whose
    src_ip is an endpoint (src_ip '*', the spoofed flood: neither endpoint is the benign client); else BENIGN.
    Attack rows win over the background row that spans them."""
    t = d['start_us'] / 1e6
    label = pd.Series(BENIGN, index=d.index, dtype=object)
    tool = pd.Series(BENIGN, index=d.index, dtype=object)
    for _, r in rules.sort_values('label', key=lambda s: s != BENIGN).iterrows():
        if r.src_ip == '*':
            ends = (d['src_ip'] != LAB_TOOLS_CLIENT) & (d['dst_ip'] != LAB_TOOLS_CLIENT)
        else:
            ends = (d['src_ip'] == r.src_ip) | (d['dst_ip'] == r.src_ip)
        m = (t >= r.start_epoch) & (t <= r.end_epoch) & ends
        label[m] = r.label
        tool[m] = r.tool if r.label != BENIGN else BENIGN
    return label, tool


def lab_tools_probes(d: pd.DataFrame, phase: str) -> np.ndarray:
    """slowhttptest's availability probes in the range (-R) and slow-read (-X) phases: one ordinary short request
    every few seconds, answered at once. The attack's own connections differ from them: a range request carries
    a Range header of thousands of bytes; a slow-read connection reads for the whole phase."""
    if phase not in LAB_TOOLS_SLOWHTTPTEST:
        return np.zeros(len(d), dtype=bool)
    return ((d['Label'] != BENIGN).to_numpy() & (d['Total Length of Bwd Packets'].to_numpy() > 0)
            & (d['Total Length of Fwd Packets'].to_numpy() < 400) & (d['Flow Duration'].to_numpy() < 3e6))


def load_lab_tools(lab_dir: str, work: str, features: list[str], model: str | None = None,
                   phases: list[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The second lab (other tools, another network), labelled as the first: detail = the tool (labels.csv's
    `tool`), connection tails of attack connections BENIGN with the detail '<tool> (connection tail)', the slow
    tools' availability probes BENIGN ('<tool> (availability probe)'), application exchanges cut by the phase's
    end marked '<tool> (cut at the end of the phase)'. unit = the phase (one tool each). With `model`, the
    sensor's own verdicts come along (replay)."""
    rules = pd.read_csv(os.path.join(lab_dir, 'labels.csv'), comment='#')
    phases = phases or lab_tools_phases(lab_dir)
    pcaps = [os.path.join(lab_dir, f'phase-{p}.pcap.gz') for p in phases]
    flows = replay_many(pcaps, work, model)
    parts, lines = [], []
    for phase, pcap in zip(phases, pcaps):
        d = flows[pcap]
        label, tool = label_lab_tools(d, rules)
        d['Label'] = label.map(GROUP)
        d['detail'] = tool
        w = rules[rules.phase == phase].iloc[0]
        d['source'] = 'tools'
        d['unit'] = f'tools:{phase}'
        mark_connections(d, w, lambda x: lab_tools_probes(x, phase))
        d['app_group'] = None
        log(f'lab-tools {phase}: {len(d)} flows ' + ', '.join(f'{k} {v}' for k, v in d['detail'].value_counts().items()))
        parts.append(d)
        lines.append(f'lab-tools phase-{phase}.pcap.gz: {len(d)} flows, sha256 {sha256_file(pcap)[:16]}')
    lines.append(f'lab-tools labels.csv sha256 {sha256_file(os.path.join(lab_dir, "labels.csv"))[:16]}')
    return pd.concat(parts, ignore_index=True), lines


# ---- nDPI's captures ----------------------------------------------------------------------------------------

FLOW_LINE = re.compile(r'^\s+\d+\s+(TCP|UDP|ICMP|ICMPV6|\S+)\s+(\S+)\s+(<->|->)\s+(\S+)\s+\[proto:')


def split_endpoint(s: str) -> tuple[str, int]:
    """`1.2.3.4:80`, `[2001:db8::1]:443`, or an address without port (ICMP)."""
    if s.startswith('['):
        addr, _, port = s[1:].partition(']:')
        return addr, int(port) if port.isdigit() else 0
    addr, sep, port = s.rpartition(':')
    if not sep or '.' not in addr:
        return s, 0
    return addr, int(port) if port.isdigit() else 0


PROTO_NUMBER = {'TCP': 6, 'UDP': 17, 'ICMP': 1}


def parse_ndpi_result(path: str) -> dict[tuple, dict]:
    """nDPI's per-flow verdicts: key (protocol number, endpoint A, endpoint B) with A < B → category, risks."""
    out: dict[tuple, dict] = {}
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            m = FLOW_LINE.match(line)
            if not m:
                continue
            proto = PROTO_NUMBER.get(m.group(1))
            if proto is None:
                continue
            a, b = split_endpoint(m.group(2)), split_endpoint(m.group(4))
            cat = re.search(r'\[cat: ([^/\]]+)/', line)
            risk = re.search(r'\[Risk: ([^\]]*)\]', line)
            app = re.search(r'\[proto: [\d.]+/([^\]]+)\]', line)
            out[(proto, *sorted([a, b]))] = {
                'category': cat.group(1) if cat else 'Unknown', 'risk': risk.group(1) if risk else '',
                'app': app.group(1) if app else 'Unknown',
            }
    return out


def ndpi_match(d: pd.DataFrame, verdicts: dict[tuple, dict]) -> list[dict | None]:
    out = []
    for src, sp, dst, dp, proto in zip(d['src_ip'], d['src_port'], d['dst_ip'], d['dst_port'], d['protocol']):
        a, b = (src, int(sp)), (dst, int(dp))
        out.append(verdicts.get((int(proto), *sorted([a, b]))))
    return out


def load_ndpi(ndpi_dir: str, work: str, features: list[str], limit: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Benign captures (all flows BENIGN unless nDPI calls the flow malware/mining or an exploit) and the foreign
    attack captures (evaluation only). unit = the capture."""
    pdir = os.path.join(ndpi_dir, 'pcap')
    names = sorted(os.listdir(pdir))
    benign = [n for n in names if not NDPI_NOT_BENIGN.search(n)]
    if limit:
        benign = benign[::max(1, len(benign) // limit)][:limit]
    attacks = [n for n in names if n in NDPI_FOREIGN_ATTACKS] if not limit else []
    flows = replay_many([os.path.join(pdir, n) for n in benign + attacks], work)
    parts, foreign, dropped = [], [], 0
    for n in benign + attacks:
        d = flows[os.path.join(pdir, n)]
        if d.empty:
            continue
        res = os.path.join(ndpi_dir, 'result', n + '.out')
        verdicts = parse_ndpi_result(res) if os.path.exists(res) else {}
        match = ndpi_match(d, verdicts)
        cats = [m['category'] if m else None for m in match]
        d['detail'] = [c or 'unmatched' for c in cats]
        d['app_group'] = [None if c is None else CATEGORY_GROUP.get(c, 'Other') for c in cats]
        d['source'] = 'ndpi'
        d['unit'] = f'ndpi:{n}'
        d['order'] = (d['start_us'] - d['start_us'].min()).astype(float)
        if n in NDPI_FOREIGN_ATTACKS:
            d['Label'] = NDPI_FOREIGN_ATTACKS[n]
            foreign.append(d)
            continue
        bad = np.array([bool(m) and (m['category'] in NDPI_BAD_CATEGORY or bool(NDPI_BAD_RISK.search(m['risk']))) for m in match])
        dropped += int(bad.sum())
        d = d[~bad].copy()
        d['Label'] = BENIGN
        parts.append(d)
    cols = features + ['Label', 'detail', 'source', 'unit', 'order', 'app_group', 'src_ip', 'dst_ip', 'dst_port', 'protocol']
    d = pd.concat(parts, ignore_index=True)[cols]
    f = pd.concat(foreign, ignore_index=True)[cols] if foreign else pd.DataFrame(columns=cols)
    lines = [f'nDPI test suite (ntop/nDPI 3b1286ab, LGPL-3.0) ../shared/data/ndpi/pcap: {len(benign)} benign captures, '
             f'{len(d)} flows ({dropped} flows nDPI calls malware, mining or an exploit left out), matched to nDPI results '
             f'for {int(d["app_group"].notna().sum())}; sha256 of the sorted capture list {hashlib.sha256("".join(benign).encode()).hexdigest()[:16]}']
    log(lines[-1])
    return d, f, lines


# ---- ../shared/corpus ---------------------------------------------------------------------------------------

def load_corpus(corpus_dir: str, work: str, features: list[str]) -> tuple[pd.DataFrame, list[str]]:
    paths = [os.path.join(corpus_dir, p) for p in CORPUS_BENIGN]
    for sub in CORPUS_BENIGN_DIRS:
        full = os.path.join(corpus_dir, sub)
        if os.path.isdir(full):
            paths += sorted(os.path.join(full, f) for f in os.listdir(full) if re.search(r'\.(pcap|pcapng|cap)(\.gz)?$', f))
    paths = [p for p in paths if os.path.exists(p)]
    flows = replay_many(paths, work)
    parts = []
    for p in paths:
        d = flows[p]
        if d.empty:
            continue
        d['detail'] = 'corpus'
        d['Label'] = BENIGN
        d['source'] = 'corpus'
        d['unit'] = 'corpus:' + os.path.relpath(p, corpus_dir)
        d['order'] = (d['start_us'] - d['start_us'].min()).astype(float)
        d['app_group'] = None
        parts.append(d)
    cols = features + ['Label', 'detail', 'source', 'unit', 'order', 'app_group', 'src_ip', 'dst_ip', 'dst_port', 'protocol']
    d = pd.concat(parts, ignore_index=True)[cols]
    line = f'../shared/corpus benign protocol traces (Zeek BSD-3-Clause, suricata-verify MIT): {len(paths)} captures, {len(d)} flows'
    log(line)
    return d, [line]


def workdir() -> str:
    return tempfile.mkdtemp(prefix='sensor-train-')
