#!/usr/bin/env bash
# bench/chart.sh: the bar chart of README's Performance section, docs/bench.png, from the
# hyperfine JSON of bench/startup.sh (runtime start) and bench/engine.sh (engine run): medians,
# with the interquartile range as error bars. Needs gnuplot (apt package gnuplot-nox, installed
# if missing) and python3. See bench/README.md.
#
#   sudo bench/chart.sh                              # runs both benchmarks (RUNS=30), then charts
#   bench/chart.sh STARTUP_RESULTS ENGINE_RESULTS    # charts results kept from earlier runs
#                                                    # (either may be "" to leave its panel out)
#
# Environment: OUT (default <repo>/docs/bench.png); RUNS, ROUNDS, WARMUP and DOCKER are passed
# on to the benchmarks when the script runs them.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

OUT=${OUT:-$REPO/docs/bench.png}
if ! command -v gnuplot >/dev/null; then
	bench_need_root chart.sh
	bench_apt gnuplot:gnuplot-nox
fi

if [ $# -ge 1 ]; then
	SDIR=$1
	EDIR=${2:-}
	for d in "$SDIR" "$EDIR"; do
		[ -z "$d" ] || [ -d "$d" ] || { echo "chart.sh: no such directory: $d" >&2; exit 1; }
	done
else
	bench_need_root chart.sh
	SDIR=$(mktemp -d /tmp/nook-bench-results.XXXXXX)
	EDIR=$(mktemp -d /tmp/nook-engine-results.XXXXXX)
	export RUNS=${RUNS:-30}
	RESULTS_DIR=$SDIR "$HERE/startup.sh"
	RESULTS_DIR=$EDIR "$HERE/engine.sh"
fi

mkdir -p "$(dirname "$OUT")"
bench_chart "$SDIR" "$EDIR" "$OUT"
echo "chart.sh: wrote $OUT ($(du -k "$OUT" | cut -f1) KiB) from ${SDIR:-(no startup results)} and ${EDIR:-(no engine results)}"
