#!/usr/bin/env bash
# bench/ci.sh: a short benchmark for CI (`make bench-ci`), about 1-2 minutes. Runtime start
# (bench/startup.sh: nook-runtime, runc, crun) and engine run (bench/engine.sh: nook run vs
# podman --runtime runc run), RUNS (10) timed runs each, then the ratios of the medians against
# the performance targets. Needs root; installs hyperfine, podman, runc, crun and
# busybox-static from apt if missing.
#
# It never fails on the numbers: the exit status is 0 whatever the ratios, nonzero only when a
# benchmarked command itself failed (or a tool could not be installed). A ratio above 1.5x its
# target prints a WARNING banner.
#
# Environment: RUNS (10), WARMUP (3), NOOK_RUNTIME and NOOK (binaries, default bin/), KEEP=1
# keeps the hyperfine JSON and logs (their directory is printed).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

bench_need_root ci.sh
bench_apt hyperfine:hyperfine podman:podman runc:runc crun:crun /bin/busybox:busybox-static \
	python3:python3 unshare:util-linux || exit 1
if [ ! -x "${NOOK_RUNTIME:-$REPO/bin/nook-runtime}" ] || [ ! -x "${NOOK:-$REPO/bin/nook}" ]; then
	make -C "$REPO" build || exit 1
fi

RUNS=${RUNS:-10}
WARMUP=${WARMUP:-3}
OUT=$(mktemp -d /tmp/nook-bench-ci.XXXXXX)
cleanup() {
	if [ "${KEEP:-}" = 1 ]; then echo "bench-ci: results kept in $OUT"; else rm -rf "$OUT"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "bench-ci: $(bench_host); $RUNS runs per command"
rc=0
start=$SECONDS
echo "bench-ci: runtime start (bench/startup.sh) ..."
if ! RUNS=$RUNS WARMUP=$WARMUP RESULTS_DIR=$OUT/startup "$HERE/startup.sh" >"$OUT/startup.log" 2>&1; then
	echo "bench-ci: bench/startup.sh failed; its output:"
	sed 's/^/    /' "$OUT/startup.log"
	rc=1
elif grep -q '^skipped:' "$OUT/startup.log"; then
	echo "bench-ci: bench/startup.sh skipped runtimes that failed:"
	sed -n '/^skipped:/,/^$/p' "$OUT/startup.log" | sed 's/^/    /'
	rc=1
fi
echo "bench-ci: engine run (bench/engine.sh, nook vs podman --runtime runc) ..."
if ! RUNS=$RUNS ROUNDS=2 WARMUP=2 DOCKER=0 COMMANDS="nook podman-runc" RESULTS_DIR=$OUT/engine \
	"$HERE/engine.sh" >"$OUT/engine.log" 2>&1; then
	echo "bench-ci: bench/engine.sh failed; its output:"
	sed 's/^/    /' "$OUT/engine.log"
	rc=1
fi
echo "bench-ci: measured in $((SECONDS - start)) s"
echo

python3 - "$OUT" <<'EOF' || rc=1
import glob, json, os, statistics, sys
out = sys.argv[1]
def startup(setting, rt):
    p = os.path.join(out, "startup", f"{setting}-{rt}.json")
    if not os.path.exists(p):
        return None
    return statistics.median(json.load(open(p))["results"][0]["times"])
def engine(setting, cmd):
    t = []
    for p in glob.glob(os.path.join(out, "engine", f"{setting}-round*.json")):
        for r in json.load(open(p))["results"]:
            if r["command"] == cmd:
                t += r["times"]
    return statistics.median(t) if t else None
checks = [
    # what, venue, nook median, peer median, target
    ("nook-runtime run / crun", "venue 2: private cgroup2 mount", startup("cgroup2ns", "nook"), startup("cgroup2ns", "crun"), 1.0),
    ("nook-runtime run / runc", "venue 2: private cgroup2 mount", startup("cgroup2ns", "nook"), startup("cgroup2ns", "runc"), 0.35),
    ("nook-runtime run / runc", "venue 1: host cgroup v1 hybrid", startup("hybrid", "nook"), startup("hybrid", "runc"), 0.4),
    ("nook run --rm / podman --runtime runc", "host cgroup v1 hybrid", engine("hybrid", "nook"), engine("hybrid", "podman-runc"), 0.2),
    ("nook run --rm / podman --runtime runc", "private ns, plain cgroup v1", engine("v1ns", "nook"), engine("v1ns", "podman-runc"), 0.2),
]
print("bench-ci: ratios of medians (below 1: nook is faster), against the targets")
print(f"  {'ratio':<38} {'venue':<31} {'nook':>9} {'peer':>9} {'ratio':>6} {'target':>7}  status")
warn, missing = [], 0
for what, venue, n, p, target in checks:
    if n is None or p is None:
        print(f"  {what:<38} {venue:<31} {'-':>9} {'-':>9} {'-':>6} {target:>7.2f}  NO DATA (a command failed)")
        missing += 1
        continue
    r = n / p
    status = "ok" if r <= target else ("above target" if r <= 1.5 * target else "WARNING: above 1.5x target")
    if r > 1.5 * target:
        warn.append(f"{what} ({venue}) = {r:.2f}, more than 1.5x its target {target:.2f}")
    print(f"  {what:<38} {venue:<31} {n * 1000:>6.1f} ms {p * 1000:>6.1f} ms {r:>6.2f} {target:>7.2f}  {status}")
if warn:
    print()
    print("#" * 100)
    for w in warn:
        print(f"# WARNING: {w}")
    print("# (bench-ci does not fail on the numbers: runs are short and the machine may be busy)")
    print("#" * 100)
sys.exit(1 if missing else 0)
EOF
exit "$rc"
