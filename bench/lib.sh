# shellcheck shell=bash
# bench/lib.sh: helpers shared by the bench/*.sh scripts. Source it; it sets no options and
# runs nothing by itself.
#
#   bench_need_root NAME              exit 1 unless root
#   bench_apt CMD:PKG...              apt-get install the packages whose command is missing
#   bench_host                        one line: OS, kernel, CPUs, load, cgroup layout
#   bench_cgroup_layout               hybrid | v1 | v2
#   bench_mounts_under DIR            mount points under DIR, deepest first
#   bench_unmount_under DIR           unmount them (lazily if busy)
#   bench_free_port                   a free TCP port on 127.0.0.1
#   bench_stop_pid PID [NAME]         SIGTERM, up to 10 s, then SIGKILL; one process by its pid
#   bench_procs_under DIR             pids of processes whose command line or exe names DIR
#   bench_busybox_bundle DIR RUNTIME  a busybox OCI bundle whose process is `true` (as startup.sh)
#   bench_hf_rounds ...               hyperfine in rotated rounds (see below)
#   bench_hf_table TITLE BASE JSON... a table of medians and BASE/peer ratios from hyperfine JSON
#   bench_chart STARTUP_DIR ENGINE_DIR OUT.png
#                                     the bar chart of startup.sh's and engine.sh's results


# The directory of the bench scripts (for bench/settle.sh).
BENCH_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

bench_need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "$1: needs root (sudo $1)" >&2
		exit 1
	fi
}

# bench_apt CMD:PKG...: install (apt-get, noninteractive) every PKG whose CMD is not found.
# CMD may be an absolute path. apt-get update runs only when the first install attempt fails.
bench_apt() {
	local spec cmd pkgs=()
	for spec in "$@"; do
		cmd=${spec%%:*}
		if [ "${cmd#/}" != "$cmd" ]; then
			[ -x "$cmd" ] && continue
		else
			command -v "$cmd" >/dev/null 2>&1 && continue
		fi
		pkgs+=("${spec#*:}")
	done
	[ ${#pkgs[@]} -gt 0 ] || return 0
	echo "installing from apt: ${pkgs[*]}"
	local -a get=(apt-get -q -y -o DPkg::Lock::Timeout=600 install --no-install-recommends)
	DEBIAN_FRONTEND=noninteractive "${get[@]}" "${pkgs[@]}" >/tmp/nook-bench-apt.$$.log 2>&1 ||
		{ apt-get -q -y update >>/tmp/nook-bench-apt.$$.log 2>&1 &&
			DEBIAN_FRONTEND=noninteractive "${get[@]}" "${pkgs[@]}" >>/tmp/nook-bench-apt.$$.log 2>&1; } || {
		tail -n 20 /tmp/nook-bench-apt.$$.log >&2
		rm -f /tmp/nook-bench-apt.$$.log
		echo "apt-get install ${pkgs[*]} failed" >&2
		return 1
	}
	rm -f /tmp/nook-bench-apt.$$.log
}

bench_cgroup_layout() {
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo v2
	elif mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
		echo hybrid
	else
		echo v1
	fi
}

bench_host() {
	# shellcheck disable=SC1091
	echo "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), $(nproc) CPUs," \
		"load $(cut -d' ' -f1-3 /proc/loadavg), cgroups $(bench_cgroup_layout)"
}

bench_mounts_under() {
	# mountinfo field 5 is the mount point.
	awk -v d="${1%/}/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

bench_unmount_under() {
	local m
	for m in $(bench_mounts_under "$1"); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	[ -z "$(bench_mounts_under "$1")" ]
}

bench_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "cleanup: ${2:-pid $pid} did not stop on SIGTERM, SIGKILL"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || true
}

# Processes whose command line or executable mentions DIR (our private state dirs and binary
# snapshots live there): what a script started and must not leave behind.
bench_procs_under() {
	local d=$1 p
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = "$$" ] && continue
		if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$d" ||
			readlink "$p/exe" 2>/dev/null | grep -qF "$d"; then
			echo "${p#/proc/}"
		fi
	done
}

# bench_busybox_bundle DIR NOOK_RUNTIME: DIR/rootfs (busybox + applet symlinks) and
# DIR/config.json from `nook-runtime spec`, args ["true"], no terminal, writable root,
# ociVersion 1.0.2 (crun 1.8 rejects newer ones).
bench_busybox_bundle() {
	local b=$1 rt=$2 d applet
	mkdir -p "$b/rootfs/bin"
	for d in proc sys dev tmp etc root; do mkdir -p "$b/rootfs/$d"; done
	cp /bin/busybox "$b/rootfs/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ -e "$b/rootfs/bin/$applet" ] || ln -s busybox "$b/rootfs/bin/$applet"
	done
	"$rt" spec -b "$b"
	python3 - "$b/config.json" <<-'EOF'
		import json, sys
		p = sys.argv[1]
		c = json.load(open(p))
		c["ociVersion"] = "1.0.2"
		c["process"]["args"] = ["true"]
		c["process"]["terminal"] = False
		c["root"]["readonly"] = False
		json.dump(c, open(p, "w"), indent=1)
	EOF
}

# bench_hf_rounds OUT RUNS ROUNDS WARMUP NAME CMD PREPARE [NAME CMD PREPARE]...
#
# hyperfine 1.15 runs all runs of one command before the next and cannot interleave them. So
# the runs are split into ROUNDS hyperfine calls (each over every command, with WARMUP warm-up
# runs each) of ceil(RUNS/ROUNDS) runs, and the order of the commands rotates from round to
# round: slow drift of the machine's load hits every command alike. ROUNDS=1 is one plain
# hyperfine call. PREPARE ("" for none) runs before every run of its command, untimed. CMD runs
# without a shell (-N) unless it contains shell syntax (then under sh; hyperfine subtracts the
# shell's start-up). Before each command's set of runs, bench/settle.sh waits (untimed, up to
# 10 s) until the machine is quiet: a peer's background cleanup after its block (dockerd,
# Podman's) otherwise lands on the next command's runs. Writes OUT-roundN.json and appends
# hyperfine's output to OUT.log. Returns hyperfine's nonzero status at the first failed round.
bench_hf_rounds() {
	local out=$1 runs=$2 rounds=$3 warmup=$4 r i j n per rc shellopt=-N
	shift 4
	local -a names=() cmds=() preps=()
	while [ $# -ge 3 ]; do
		names+=("$1") cmds+=("$2") preps+=("$3")
		case $2 in *[\;\|\&\<\>\$\`]*) shellopt= ;; esac
		shift 3
	done
	n=${#names[@]}
	per=$(((runs + rounds - 1) / rounds))
	[ "$per" -ge 2 ] || per=2
	local anyprep=
	for ((i = 0; i < n; i++)); do [ -z "${preps[$i]}" ] || anyprep=1; done
	for ((r = 1; r <= rounds; r++)); do
		local -a args=() order=()
		for ((i = 0; i < n; i++)); do
			j=$(((i + r - 1) % n))
			order+=("${names[$j]}")
			args+=(--command-name "${names[$j]}" "${cmds[$j]}")
			# hyperfine takes either one --prepare for all or one per command.
			[ -z "$anyprep" ] || args+=(--prepare "${preps[$j]:-true}")
		done
		echo "  round $r/$rounds: $per runs + $warmup warm-up each; order: ${order[*]}"
		rc=0
		echo "### $(basename "$out") round $r: ${order[*]}" >>"$out.log"
		# hyperfine runs in the background and we wait for it: a shell does not run its INT/TERM
		# traps while a foreground child runs, so a signal to the script alone (not its process
		# group) would wait for the whole round. On INT/TERM hyperfine is stopped, then the
		# script exits through its traps (the callers' are 'exit 130' and 'exit 143').
		# shellcheck disable=SC2086 # $shellopt: -N or nothing
		hyperfine $shellopt --style basic --warmup "$warmup" --runs "$per" --setup "$BENCH_LIB_DIR/settle.sh" \
			--export-json "$out-round$r.json" "${args[@]}" >>"$out.log" 2>&1 </dev/null &
		local hf=$!
		# shellcheck disable=SC2064 # $hf now
		trap "kill -TERM $hf 2>/dev/null; wait $hf; exit 130" INT
		# shellcheck disable=SC2064
		trap "kill -TERM $hf 2>/dev/null; wait $hf; exit 143" TERM
		wait "$hf" || rc=$?
		trap 'exit 130' INT
		trap 'exit 143' TERM
		if [ "$rc" != 0 ]; then
			echo "  FAILED: hyperfine exited $rc in round $r; the end of $out.log:"
			tail -n 15 "$out.log" | sed 's/^/    /'
			rm -f "$out-round$r.json"
			return "$rc"
		fi
	done
}

# bench_hf_table TITLE BASE JSON...: pools the runs of every command over the given hyperfine
# JSON files; prints median, mean ± stddev, min, runs and BASE's median / the command's median.
# Extra columns: BENCH_TABLE_MBYTES=N adds MB/s (N MB / median).
bench_hf_table() {
	python3 - "$@" <<-'EOF'
		import json, os, statistics, sys
		title, base, files = sys.argv[1], sys.argv[2], sys.argv[3:]
		mb = float(os.environ.get("BENCH_TABLE_MBYTES") or 0)
		times, order = {}, []
		for p in files:
		    for r in json.load(open(p))["results"]:
		        if r["command"] not in times:
		            order.append(r["command"])
		        times.setdefault(r["command"], []).extend(r["times"])
		if base in order:
		    order.remove(base)
		    order.insert(0, base)
		print(title)
		if not times:
		    print("  no results")
		    sys.exit(0)
		med = {k: statistics.median(v) for k, v in times.items()}
		unit, f = ("s", 1) if max(med.values()) >= 2 else ("ms", 1000)
		hdr = f"  {'command':<22} {'median':>10} {'mean ± stddev':>21} {'min':>10} {'runs':>5}"
		if mb:
		    hdr += f" {'MB/s':>7}"
		print(hdr + f"  {base}/peer")
		for k in order:
		    v = [t * f for t in times[k]]
		    sd = statistics.stdev(v) if len(v) > 1 else 0.0
		    line = (f"  {k:<22} {med[k] * f:>7.3g} {unit:<2} {statistics.mean(v):>7.3g} ± {sd:6.3g} {unit:<2}"
		            f" {min(v):>7.3g} {unit:<2} {len(v):>5}")
		    if mb:
		        line += f" {mb / med[k]:>7.1f}"
		    if k != base and base in med:
		        line += f"  {med[base] / med[k]:.2f}"
		    print(line)
	EOF
}

# bench_chart STARTUP_DIR ENGINE_DIR OUT.png: two bar charts side by side from hyperfine's JSON,
# medians with the interquartile range as error bars. Left: startup.sh's runtime start
# (cgroup2ns-*.json, hybrid-*.json). Right: engine.sh's engine run (SETTING-roundN.json, pooled).
# Either directory may be "" (that panel is left out).
bench_chart() {
	local sdir=$1 edir=$2 out=$3 tmp
	tmp=$(mktemp -d /tmp/nook-chart.XXXXXX)
	python3 - "$sdir" "$edir" "$tmp" <<-'EOF' || { rm -rf "$tmp"; return 1; }
		import glob, json, os, statistics, sys
		sdir, edir, tmp = sys.argv[1:4]
		def q(v):
		    v = sorted(v)
		    qs = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
		    return qs[1] * 1000, qs[0] * 1000, qs[2] * 1000
		panels = []
		# Runtime start: groups = settings, bars = runtimes.
		if sdir:
		    rows = []
		    for setting, label in (("cgroup2ns", "private cgroup2 mount"), ("hybrid", "host, cgroup v1 hybrid")):
		        vals = []
		        for rt in ("nook", "runc", "crun"):
		            p = os.path.join(sdir, f"{setting}-{rt}.json")
		            vals.append(q(json.load(open(p))["results"][0]["times"]) if os.path.exists(p) else None)
		        if any(vals):
		            rows.append((label, vals))
		    panels.append(("runtime start: nook-runtime / runc / crun run (busybox true)",
		                   ["nook-runtime", "runc", "crun"], rows))
		if edir:
		    rows = []
		    labels = {"hybrid": "host, cgroup v1 hybrid", "v1ns": "private ns, plain v1",
		              "v1": "host, cgroup v1", "v2": "host, cgroup v2"}
		    keys = ["nook", "nook-runc", "podman", "podman-runc", "docker"]
		    for setting in ("hybrid", "v1ns", "v1", "v2"):
		        times = {}
		        for p in sorted(glob.glob(os.path.join(edir, f"{setting}-round*.json"))):
		            for r in json.load(open(p))["results"]:
		                times.setdefault(r["command"], []).extend(r["times"])
		        if times:
		            rows.append((labels[setting], [q(times[k]) if k in times else None for k in keys]))
		    names = ["nook", "nook --runtime runc", "podman (crun)", "podman --runtime runc", "docker (runc)"]
		    # Leave out engines with no data at all.
		    keep = [i for i in range(len(keys)) if any(r[1][i] for r in rows)]
		    rows = [(l, [v[i] for i in keep]) for l, v in rows]
		    panels.append(("engine run: run --rm --network none busybox true",
		                   [names[i] for i in keep], rows))
		with open(os.path.join(tmp, "panels"), "w") as pf:
		    for n, (title, series, rows) in enumerate(panels):
		        with open(os.path.join(tmp, f"p{n}.dat"), "w") as f:
		            for label, vals in rows:
		                cells = []
		                for v in vals:
		                    cells += ["%.2f %.2f %.2f" % v if v else "NaN NaN NaN"]
		                f.write('"%s" %s\n' % (label, " ".join(cells)))
		        pf.write("%d\t%s\t%s\n" % (n, title, "|".join(series)))
		EOF
	{
		echo "set terminal pngcairo size 1100,420 font 'DejaVu Sans,9'"
		echo "set output '$out'"
		echo "set style data histogram"
		echo "set style histogram errorbars gap 1 lw 1"
		echo "set style fill solid 0.85 border -1"
		echo "set boxwidth 0.9"
		echo "set ylabel 'ms (median; bars: interquartile range)'"
		echo "set yrange [0:*]"
		echo "set grid ytics lc rgb '#dddddd'"
		echo "set key top left"
		echo "set xtics nomirror scale 0"
		echo "set format y '%g'"
		echo "set linetype 1 lc rgb '#2a7ab9'"
		echo "set linetype 2 lc rgb '#8fbde0'"
		echo "set linetype 3 lc rgb '#e07b39'"
		echo "set linetype 4 lc rgb '#f2b482'"
		echo "set linetype 5 lc rgb '#7a7a7a'"
		local np
		np=$(wc -l <"$tmp/panels")
		echo "set multiplot layout 1,$np"
		local n title series i plot
		while IFS=$'\t' read -r n title series; do
			echo "set title '$title'"
			plot="plot"
			i=0
			IFS='|' read -ra names <<<"$series"
			for name in "${names[@]}"; do
				local c=$((2 + 3 * i))
				[ "$plot" = plot ] || plot="$plot,"
				plot="$plot '$tmp/p$n.dat' using $c:$((c + 1)):$((c + 2)):xtic(1) title '$name' lt $((i + 1))"
				i=$((i + 1))
			done
			echo "$plot"
		done <"$tmp/panels"
		echo "unset multiplot"
	} >"$tmp/plot.gp"
	local rc=0
	gnuplot "$tmp/plot.gp" || rc=$?
	rm -rf "$tmp"
	return "$rc"
}
