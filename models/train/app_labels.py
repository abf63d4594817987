"""Ground truth for the application-group model: which application group each replayed flow belongs to.

Two ways, each said in the card's provenance:
  * nDPI: ../shared/data/ndpi/result/NAME.out is what nDPI's ndpiReader printed for pcap/NAME, one line per flow
    (protocol, endpoints, `[proto: ...]`, `[cat: CATEGORY/N]`). A sensor flow takes the category of the nDPI flow
    with the same protocol and endpoint pair (either direction); nDPI's timeouts differ from CICFlowMeter's, so
    several sensor flows may take one nDPI line. The category becomes a group by the data README's table
    (sources.APP_GROUPS; anything else, and no category, is Other).
  * server port: traffic whose server is a known plain service (the lab's nginx, dnsmasq, OpenSSH, vsftpd and
    iperf3; the corpus's plain protocol traces) takes the group nDPI gives that protocol in its own results
    (SERVICE_PORTS says which, with the nDPI protocol name it stands for).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sources import CATEGORY_GROUP, NDPI_BAD_CATEGORY, NDPI_BAD_RISK

GROUPS = ['Web', 'Media', 'Chat', 'VoIP', 'VPN', 'RemoteAccess', 'Transfer', 'Network', 'Game', 'Other']

# `<n>\t<PROTO> <a> <-> <b> [VLAN: x][proto: ...]...`: nDPI's flow lines (the statistics above them do not start
# with a number and a protocol name). The VLAN tag, when there is one, comes before `[proto:`.
FLOW_LINE = re.compile(r'^\s+\d+\s+(TCP|UDP|ICMP)\s+(\S+)\s+(?:<->|->)\s+(\S+)\s+(?:\[VLAN: \d+\])?\[proto: ([\d.]+)/([^\]]+)\]')
CATEGORY = re.compile(r'\[cat: ([^/\]]+)/\d+\]')
RISK = re.compile(r'\[Risk: ([^\]]*)\]')
PROTO_NUMBER = {'TCP': 6, 'UDP': 17, 'ICMP': 1}
# Outer ports of the tunnels nDPI looks into (GTP-U, VXLAN): nDPI reports the inner flow, the cic2017 profile
# (like CICFlowMeter) the outer one, so such flows have no nDPI line of their own.
TUNNEL_PORTS = {2152, 4789}


def endpoint(s: str) -> tuple[str, int]:
    """`1.2.3.4:80` or `[2001:db8::1]:443` → (address, port); an address alone (ICMP) has port 0."""
    if s.startswith('['):
        addr, _, port = s[1:].partition(']:')
        return addr, int(port) if port.isdigit() else 0
    addr, sep, port = s.rpartition(':')
    if not sep or ':' in addr:
        return s, 0
    return addr, int(port) if port.isdigit() else 0


def flow_key(proto: int, a: tuple[str, int], b: tuple[str, int]) -> tuple:
    return (proto, *sorted([a, b]))


def parse_ndpi(path: str) -> dict[tuple, dict]:
    """nDPI's per-flow verdicts of one capture: flow key → {app, category, group, risk, line}. A key that nDPI
    printed twice with different categories maps to None (ambiguous: it is left unlabelled)."""
    out: dict[tuple, dict | None] = {}
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            m = FLOW_LINE.match(line)
            if not m:
                continue
            cat = CATEGORY.search(line)
            risk = RISK.search(line)
            category = cat.group(1) if cat else 'Unknown'
            v = {'app': m.group(5), 'category': category, 'group': CATEGORY_GROUP.get(category, 'Other'),
                 'risk': risk.group(1) if risk else '', 'line': line.strip()}
            k = flow_key(PROTO_NUMBER[m.group(1)], endpoint(m.group(2)), endpoint(m.group(3)))
            if k in out and (out[k] is None or out[k]['category'] != category):
                out[k] = None
            else:
                out[k] = v
    return out


def not_benign(v: dict) -> bool:
    """A flow nDPI calls malware or mining, or that carries an exploit risk: not a benign sample (as train.py)."""
    return v['category'] in NDPI_BAD_CATEGORY or bool(NDPI_BAD_RISK.search(v['risk']))


def match_ndpi(d: pd.DataFrame, verdicts: dict[tuple, dict | None]) -> tuple[list[dict | None], list[str]]:
    """Per sensor flow: nDPI's verdict (or None) and why it has none ('' when matched)."""
    out, why = [], []
    for src, sp, dst, dp, proto in zip(d['src_ip'], d['src_port'], d['dst_ip'], d['dst_port'], d['protocol']):
        proto = int(proto)
        k = flow_key(proto, (src, int(sp)), (dst, int(dp)))
        if k in verdicts and verdicts[k] is None:
            out.append(None)
            why.append('nDPI printed this endpoint pair twice with different categories')
        elif k in verdicts:
            out.append(verdicts[k])
            why.append('')
        elif proto not in PROTO_NUMBER.values():
            # cic2017 reads every frame as Ethernet/IPv4 as the 2017 CICFlowMeter did: IPv6 and other link types
            # become flows of protocol 0 between made-up addresses
            out.append(None)
            why.append('not TCP/UDP/ICMP over IPv4 as the cic2017 profile reads it (IPv6 or another link type)')
        elif int(sp) in TUNNEL_PORTS or int(dp) in TUNNEL_PORTS:
            out.append(None)
            why.append('tunnel (GTP-U/VXLAN): nDPI reports the inner flow')
        else:
            out.append(None)
            why.append('no nDPI flow with this protocol and endpoint pair')
    return out, why


# Plain services by server port → (group, the nDPI protocol whose category gives the group, in
# ../shared/data/ndpi/result). iperf3 has no nDPI protocol: it is a bandwidth test, and the speed tests nDPI
# knows (TargusDataspeed, Ookla) are in its Network category.
SERVICE_PORTS: dict[tuple[int, int], tuple[str, str]] = {
    (6, 80): ('Web', 'HTTP → Web'),
    (6, 8080): ('Web', 'HTTP_Proxy → Web'),
    (17, 53): ('Network', 'DNS → Network'),
    (6, 53): ('Network', 'DNS → Network'),
    (17, 123): ('Network', 'NTP → System'),
    (17, 67): ('Network', 'DHCP → Network'),
    (17, 68): ('Network', 'DHCP → Network'),
    (6, 445): ('Network', 'SMBv23 → System'),
    (6, 139): ('Network', 'NetBIOS → System'),
    (17, 137): ('Network', 'NetBIOS → System'),
    (17, 138): ('Network', 'NetBIOS → System'),
    (6, 22): ('RemoteAccess', 'SSH → RemoteAccess'),
    (6, 23): ('RemoteAccess', 'Telnet → RemoteAccess'),
    (6, 21): ('Transfer', 'FTP_CONTROL → Download'),
    (6, 20): ('Transfer', 'FTP_DATA → Download'),
    (6, 25): ('Chat', 'SMTP → Email'),
    (6, 110): ('Chat', 'POP3 → Email'),
    (6, 143): ('Chat', 'IMAP → Email'),
    (6, 502): ('Other', 'Modbus → IoT-Scada'),
    (6, 5201): ('Network', 'iperf3 (no nDPI protocol; speed tests such as TargusDataspeed → Network)'),
    (17, 5201): ('Network', 'iperf3 (no nDPI protocol; speed tests such as TargusDataspeed → Network)'),
}


def server_port_group(protocol: int, src_port: int, dst_port: int, extra: dict[tuple[int, int], tuple[str, str]] | None = None) -> str | None:
    """The group of a flow by its server's port: the destination port when it is a known service, else the
    source port (a flow that begins with the server's packet, e.g. a connection's tail); None when neither is."""
    table = SERVICE_PORTS if extra is None else {**SERVICE_PORTS, **extra}
    for port in (dst_port, src_port):
        hit = table.get((protocol, port))
        if hit is not None:
            return hit[0]
    return None


def label_by_server_port(d: pd.DataFrame, extra: dict[tuple[int, int], tuple[str, str]] | None = None) -> np.ndarray:
    """Per flow: its group by server port (server_port_group), or None."""
    return np.array([server_port_group(int(p), int(s), int(t), extra) for p, s, t in zip(d['protocol'], d['src_port'], d['dst_port'])], dtype=object)


def server_name_class(name: str | None, suffixes: dict[str, str], classes: list[str]) -> int:
    """The `Server Name Class` input of a flow (docs: README "Server name"): 0 without a name; else 1 + the index in
    `classes` of the group of the longest suffix that matches the name on a label boundary (`s` matches `n` when
    n == s or n ends with "." + s, lower-case, a trailing dot ignored); len(classes) + 1 for a name no suffix
    matches. The sensor computes the same from the card's `server_names` (src/classify)."""
    if name is None:
        return 0
    n = name.lower().rstrip('.')
    if not n:
        return 0
    # the name itself, then each suffix after a dot, longest first: the first one in the table is the longest match
    at = 0
    while True:
        g = suffixes.get(n[at:])
        if g is not None:
            return classes.index(g) + 1
        dot = n.find('.', at)
        if dot < 0:
            return len(classes) + 1
        at = dot + 1



def payload_protocol_class(protocol: str | None, protocols: list[str]) -> int:
    """The `Payload Protocol Class` input of a flow (README "Payload protocol"): 0 when the sensor recognised no
    protocol in the flow's first payload bytes; else 1 + the protocol's index in the card's `payload_protocols`
    list; len(protocols) + 1 for a protocol the list does not have (one a newer sensor recognises). The sensor
    computes the same from the card (src/classify)."""
    if protocol is None or protocol == '':
        return 0
    return protocols.index(protocol) + 1 if protocol in protocols else len(protocols) + 1
