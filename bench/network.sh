#!/usr/bin/env bash
# bench/network.sh: TCP throughput through nook's networking, as ratios to the host's loopback,
# measured with iperf3 in one run. Needs root and iperf3. See bench/README.md.
#
#   sudo bench/network.sh                  # 3 runs of 5 s per path, medians
#   sudo RUNS=5 DURATION=10 bench/network.sh
#
# Environment:
#   RUNS         iperf3 runs per path; the table reports the median (default 3). The runs go
#                in rounds: each round measures every path once, and the order of the paths
#                rotates from round to round, so slow drift of the machine's load hits every
#                path alike.
#   DURATION     seconds per iperf3 run, iperf3 -t (default 5)
#   HOSTPORT     host port to publish the server's 5201 on (default 0: nook picks a free one)
#   NOOK         nook binary (default: <repo>/bin/nook, built with `make build` if missing). It
#                is copied into the temp dir first, so a concurrent rebuild of bin/ cannot swap
#                binaries in the middle of a benchmark.
#   RESULTS_DIR  if set, iperf3's JSON output of every run is kept there
#
# The containers are nook.local/busybox (built in, made offline), which has no iperf3. So the
# iperf3 server (and for path 5 the client too) is the HOST's iperf3 run inside the container's
# network namespace, `nsenter --net=/run/nook/network/netns/<container id> iperf3 ...`. The
# packets take exactly nook's path (veth, bridge, nftables NAT); only the process is not the
# container's (not its cgroup, seccomp or mount namespace, none of which touches the data path).
#
# Paths, each one TCP stream, iperf3 -t DURATION, Gbit/s as the receiver counted them:
#   loopback         server on the host at 127.0.0.1, client on the host: the baseline
#   ctr-addr         server in container P's netns (default network `bridge`, nook0), client on
#                    the host to P's address: host routing, nook0, veth
#   pub-localhost    the same server published with -p HOSTPORT:5201, client on the host to
#                    127.0.0.1:HOSTPORT: DNAT in nook's output chain, route_localnet,
#                    masquerade of the loopback source
#   pub-gateway      the same, client to the bridge's gateway address GW:HOSTPORT (10.77.0.1)
#   ctr-ctr          server in container A's netns, client in container B's netns, both on one
#                    user-defined network made for this run: veth, bridge, veth
# Everything runs on this machine's own CPUs: client and server take one core each.
#
# Nothing goes anywhere but 127.0.0.1, nook0's gateway and the containers' addresses. Network
# state is host-wide (/run/nook/network), so the containers join the host's nook networks; the
# user network is this run's own (nookbench-<pid>) and is removed at the end.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")

if [ "$(id -u)" != 0 ]; then
	echo "network.sh: needs root (sudo $0)" >&2
	exit 1
fi
missing=
for tool in iperf3 nsenter ss python3 findmnt; do
	command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	echo "network.sh: missing:$missing (apt-get install -y iperf3 util-linux iproute2 python3)" >&2
	exit 1
fi

RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
HOSTPORT=${HOSTPORT:-0}
if [ "$RUNS" -lt 1 ] || [ "$DURATION" -lt 1 ]; then
	echo "network.sh: need RUNS >= 1 and DURATION >= 1" >&2
	exit 1
fi

NOOK_SRC=${NOOK:-$REPO/bin/nook}
if [ ! -x "$NOOK_SRC" ]; then
	echo "building $NOOK_SRC (make build)"
	make -C "$REPO" build
fi

NETNS_DIR=${NOOK_NETWORK_ROOT:-/run/nook/network}/netns
WORK=$(mktemp -d /tmp/nook-network.XXXXXX)
NOOK_BIN="$WORK/bin/nook"
NOOK_ROOT="$WORK/nook"
NOOK_CMD="$NOOK_BIN --root $NOOK_ROOT"
TAG="nookbench-$$"
NET="$TAG"           # the user-defined network of path ctr-ctr
CTR_P="$TAG-pub"     # default network, published port
CTR_A="$TAG-a"       # user network, server
CTR_B="$TAG-b"       # user network, client
NET_MADE=
SERVER_PID=
mkdir -p "$WORK/bin" "$WORK/json"
: >"$WORK/ids"
[ -z "${RESULTS_DIR:-}" ] || mkdir -p "$RESULTS_DIR"

our_mounts() { findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r || true; }

cleanup() {
	local rc=$? m ids id
	trap - EXIT INT TERM
	set +e
	echo
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill "$SERVER_PID"
		wait "$SERVER_PID" 2>/dev/null
		echo "cleanup: stopped iperf3 server (pid $SERVER_PID)"
	fi
	if [ -x "$NOOK_BIN" ] && [ -d "$NOOK_ROOT" ]; then
		ids=$($NOOK_CMD ps -aq 2>/dev/null)
		# shellcheck disable=SC2086 # container ids: no blanks
		[ -z "$ids" ] || $NOOK_CMD rm -f $ids >/dev/null
		[ -z "$NET_MADE" ] || $NOOK_CMD network rm "$NET" >/dev/null
		while read -r id; do
			[ ! -e "$NETNS_DIR/$id" ] || echo "cleanup: WARNING: $NETNS_DIR/$id still exists"
		done <"$WORK/ids"
	fi
	for m in $(our_mounts); do umount "$m" 2>/dev/null || umount -l "$m"; done
	m=$(our_mounts)
	if [ -n "$m" ]; then
		echo "cleanup: WARNING: still mounted, $WORK kept:"
		# shellcheck disable=SC2086 # mount paths: no blanks
		printf '    %s\n' $m
		rc=1
	else
		rm -rf "$WORK"
		echo "cleanup: removed containers${NET_MADE:+, network $NET} and $WORK (nook root, iperf3 output)"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cp "$NOOK_SRC" "$NOOK_BIN"
# the lean per-container monitor nook hands a running container over to, if built
[ ! -x "$(dirname "$NOOK_SRC")/nook-monitor" ] || cp "$(dirname "$NOOK_SRC")/nook-monitor" "$(dirname "$NOOK_BIN")/"

# bridge-nf-call-iptables: with br_netfilter loaded (and this 1), frames the bridge forwards
# between two of its ports also pass the IPv4 netfilter hooks (conntrack, nook's inet forward
# chain), which costs on ctr-ctr. Reported, not changed: the sysctl is the host's.
BRNF=/proc/sys/net/bridge/bridge-nf-call-iptables
if [ -r "$BRNF" ]; then
	BRNF_STATE="br_netfilter loaded, net.bridge.bridge-nf-call-iptables=$(cat $BRNF)"
else
	BRNF_STATE="br_netfilter not loaded (no $BRNF)"
fi

echo "nook:    $("$NOOK_BIN" --version 2>&1 | head -1) ($NOOK_SRC)"
echo "iperf3:  $(iperf3 --version | head -1)"
# shellcheck disable=SC1091
echo "host:    $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bridge:  $BRNF_STATE"
echo "runs:    $RUNS per path, iperf3 -t $DURATION, TCP, 1 stream, median reported"
echo "how:     the host's iperf3 run inside each container's network namespace"
echo "         (nsenter --net=$NETNS_DIR/<id>): the image has no iperf3; the packets take"
echo "         nook's own path (veth, bridge, nftables DNAT/masquerade)"

# ---------------------------------------------------------------------------------------------
# Containers and network.
echo
echo "setup:"
$NOOK_CMD network create "$NET" >/dev/null
NET_MADE=1
$NOOK_CMD run -d --name "$CTR_P" -p "$HOSTPORT:5201" nook.local/busybox sleep 100000 >/dev/null
$NOOK_CMD run -d --name "$CTR_A" --network "$NET" nook.local/busybox sleep 100000 >/dev/null
$NOOK_CMD run -d --name "$CTR_B" --network "$NET" nook.local/busybox sleep 100000 >/dev/null

ctr_id() { $NOOK_CMD inspect --format '{{.Id}}' "$1"; }
ctr_ip() { $NOOK_CMD inspect --format "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }
ID_P=$(ctr_id "$CTR_P")
ID_A=$(ctr_id "$CTR_A")
ID_B=$(ctr_id "$CTR_B")
printf '%s\n' "$ID_P" "$ID_A" "$ID_B" >"$WORK/ids"
IP_P=$(ctr_ip "$CTR_P" bridge)
IP_A=$(ctr_ip "$CTR_A" "$NET")
IP_B=$(ctr_ip "$CTR_B" "$NET")
GW=$($NOOK_CMD inspect --format '{{(index .NetworkSettings.Networks "bridge").Gateway}}' "$CTR_P")
PUB=$($NOOK_CMD inspect --format '{{(index (index .NetworkSettings.Ports "5201/tcp") 0).HostPort}}' "$CTR_P")
for v in ID_P ID_A ID_B IP_P IP_A IP_B GW PUB; do
	if [ -z "${!v}" ] || [ "${!v}" = "<no value>" ]; then
		echo "network.sh: could not read $v from nook inspect" >&2
		exit 1
	fi
done
for id in "$ID_P" "$ID_A" "$ID_B"; do
	if [ ! -e "$NETNS_DIR/$id" ]; then
		echo "network.sh: no network namespace at $NETNS_DIR/$id" >&2
		exit 1
	fi
done
# A free loopback port for the baseline server.
LOOPPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "  $CTR_P  $IP_P on bridge (gateway $GW), -p $PUB:5201 (nook port: $($NOOK_CMD port "$CTR_P" | tr '\n' ' '))"
echo "  $CTR_A  $IP_A on $NET ($($NOOK_CMD network inspect "$NET" | python3 -c 'import json,sys; n=json.load(sys.stdin)[0]; print(n["Options"]["com.docker.network.bridge.name"], n["IPAM"]["Config"][0]["Subnet"])'))"
echo "  $CTR_B  $IP_B on $NET"
echo "  loopback baseline server: 127.0.0.1:$LOOPPORT"

# ---------------------------------------------------------------------------------------------
# One measurement. Paths: name -> server netns ("host" or a container id), server bind address
# ("" = all), server port, client netns, client target address, client target port.
declare -A DESC SRV_NS SRV_BIND SRV_PORT CLI_NS DST DPORT
add_path() {
	SRV_NS[$1]=$2 SRV_BIND[$1]=$3 SRV_PORT[$1]=$4 CLI_NS[$1]=$5 DST[$1]=$6 DPORT[$1]=$7 DESC[$1]=$8
}
PATHS=(loopback ctr-addr pub-localhost pub-gateway ctr-ctr)
add_path loopback host 127.0.0.1 "$LOOPPORT" host 127.0.0.1 "$LOOPPORT" \
	"host -> 127.0.0.1:$LOOPPORT (host loopback)"
add_path ctr-addr "$ID_P" "" 5201 host "$IP_P" 5201 \
	"host -> container $IP_P:5201"
add_path pub-localhost "$ID_P" "" 5201 host 127.0.0.1 "$PUB" \
	"host -> published 127.0.0.1:$PUB"
add_path pub-gateway "$ID_P" "" 5201 host "$GW" "$PUB" \
	"host -> published $GW:$PUB"
add_path ctr-ctr "$ID_A" "" 5201 "$ID_B" "$IP_A" 5201 \
	"container $IP_B -> container $IP_A"

in_ns() { # in_ns NS CMD...: run CMD in the host's netns or a container's
	local ns=$1
	shift
	if [ "$ns" = host ]; then "$@"; else nsenter --net="$NETNS_DIR/$ns" "$@"; fi
}

measure() { # measure PATH RUN: one iperf3 run, appends "PATH<TAB>Gbit/s<TAB>retransmits" to results
	local p=$1 run=$2 out="$WORK/json/$1-$2.json" i gbps
	local -a bind=()
	[ -z "${SRV_BIND[$p]}" ] || bind=(-B "${SRV_BIND[$p]}")
	# -1: serve one test, then exit. nsenter execs iperf3, so $! is iperf3's pid.
	in_ns "${SRV_NS[$p]}" iperf3 -s -1 "${bind[@]}" -p "${SRV_PORT[$p]}" >"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	for ((i = 0; i < 50; i++)); do
		in_ns "${SRV_NS[$p]}" ss -Hltn "sport = :${SRV_PORT[$p]}" | grep -q . && break
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! in_ns "${CLI_NS[$p]}" iperf3 -c "${DST[$p]}" -p "${DPORT[$p]}" -t "$DURATION" -J >"$out" 2>&1; then
		echo "network.sh: iperf3 client failed on $p (run $run):" >&2
		sed 's/^/    /' "$out" >&2
		echo "  server's log:" >&2
		sed 's/^/    /' "$WORK/server.log" >&2
		exit 1
	fi
	wait "$SERVER_PID" || true
	SERVER_PID=
	[ -z "${RESULTS_DIR:-}" ] || cp "$out" "$RESULTS_DIR/"
	gbps=$(python3 - "$out" <<-'EOF'
		import json, sys
		e = json.load(open(sys.argv[1]))["end"]
		print("%.3f\t%d" % (e["sum_received"]["bits_per_second"] / 1e9, e["sum_sent"].get("retransmits", 0)))
	EOF
	)
	printf '%s\t%s\n' "$p" "$gbps" >>"$WORK/results"
	printf '    %-14s %7s Gbit/s\n' "$p" "${gbps%%	*}"
}

echo
echo "measuring: ${#PATHS[@]} paths x $RUNS runs x ${DURATION}s (about $(((${#PATHS[@]} * RUNS * (DURATION + 1) + 59) / 60)) min)"
: >"$WORK/results"
n=${#PATHS[@]}
for ((r = 1; r <= RUNS; r++)); do
	echo "  round $r/$RUNS, load $(cut -d' ' -f1 /proc/loadavg):"
	for ((i = 0; i < n; i++)); do
		measure "${PATHS[$(((i + r - 1) % n))]}" "$r"
	done
done

# ---------------------------------------------------------------------------------------------
echo
echo "results: TCP, 1 stream, iperf3 -t $DURATION, median of $RUNS; $BRNF_STATE; load now $(cut -d' ' -f1-3 /proc/loadavg)"
for p in "${PATHS[@]}"; do printf '%s\t%s\n' "$p" "${DESC[$p]}"; done >"$WORK/desc"
python3 - "$WORK/results" "$WORK/desc" "${PATHS[@]}" <<-'EOF'
	import statistics, sys
	res, desc, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
	runs, retr = {}, {}
	for line in open(res):
	    p, g, r = line.split("\t")
	    runs.setdefault(p, []).append(float(g))
	    retr.setdefault(p, []).append(int(r))
	d = dict(l.rstrip("\n").split("\t", 1) for l in open(desc))
	base = statistics.median(runs["loopback"])
	print("  %-14s %-44s %8s  %-23s %8s  %s" % ("path", "what", "Gbit/s", "runs", "retrans", "ratio to loopback"))
	for p in paths:
	    m = statistics.median(runs[p])
	    print("  %-14s %-44s %8.2f  %-23s %8d  %.2f" % (
	        p, d[p], m, " ".join("%.2f" % g for g in runs[p]), statistics.median(retr[p]), m / base))
EOF
