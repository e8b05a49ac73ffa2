#!/bin/sh
# bench/settle.sh: wait until this machine is quiet, at most 10 s: five samples in a row, 100 ms
# apart, with no more than one runnable task besides the sampling itself. The bench scripts run
# it (hyperfine --setup) before each command's set of runs, so that the background work a peer
# leaves behind (dockerd's and Podman's cleanup after `run --rm`) is not timed against the
# command after it.
#
# bench/settle.sh stop|cont PID: only pause (SIGSTOP) or resume process PID and its children.
# engine.sh pauses its private dockerd (and the containerd it started) before each run of the
# other engines (hyperfine --prepare), as its idle activity would otherwise land on their runs on
# a 2-CPU host, and resumes it before each of Docker's own.
case ${1:-} in
stop | cont)
	sig=$(echo "$1" | tr a-z A-Z)
	pid=$2
	# shellcheck disable=SC2046 # the child pids, one word each
	kill -"$sig" "$pid" $(pgrep -P "$pid") 2>/dev/null
	exit 0
	;;
esac
quiet=0
i=0
while [ "$i" -lt 100 ] && [ "$quiet" -lt 5 ]; do
	# procs_running counts this read too (and the sh running us when it is on a CPU).
	n=$(sed -n 's/^procs_running //p' /proc/stat)
	if [ "${n:-0}" -le 2 ]; then quiet=$((quiet + 1)); else quiet=0; fi
	i=$((i + 1))
	sleep 0.1
done
exit 0
