#!/usr/bin/env bash
# bench/pull.sh: pull a ~150 MB five-layer Debian image from a docker-registry on loopback:
# `nook pull` against `podman pull` and `skopeo copy` + `umoci unpack` (and `skopeo copy`
# alone), timed with hyperfine; the pulled image is removed before every run. Needs root. See
# bench/README.md.
#
#   sudo bench/pull.sh                    # 30 timed runs per command, in 5 rounds
#   sudo RUNS=10 ROUNDS=2 bench/pull.sh
#
# Environment:
#   RUNS, ROUNDS, WARMUP  timed runs per command (30), split in rounds whose command order
#                         rotates (5), warm-up runs per command and round (1)
#   NOOK                  nook binary (default <repo>/bin/nook, `make build` if missing); copied
#   RESULTS_DIR           where hyperfine's JSON and log go (default: a new
#                         /tmp/nook-pull-results.XXXXXX, kept)
#
# The image: hack/debian-rootfs.sh's Debian bookworm minbase + python3 (cached in
# /var/cache/nook-test; debootstrap from deb.debian.org the first time), split into five layers
# by path (the rest of the tree, /usr/lib/python3*, the rest of /usr/lib, /usr/share,
# /usr/bin + /usr/sbin + /usr/libexec), written as a docker-archive and pushed with `skopeo copy`
# (gzip) to docker-registry (apt package docker-registry) serving on 127.0.0.1:<free port> from
# the temp dir.
#
# Timed commands (each preceded, untimed, by removing what the previous run pulled):
#   nook          nook --root R pull -q REF                       (prepare: nook rmi REF)
#   podman        podman <private store> pull -q --tls-verify=false REF (prepare: podman rmi -af)
#   skopeo+umoci  skopeo copy docker://REF oci:DIR:bench && umoci unpack --image DIR:bench B
#                                                                 (prepare: rm -rf DIR B)
#   skopeo        skopeo copy docker://REF oci:DIR:bench alone: download and verify, no unpack
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

bench_need_root pull.sh
bench_apt hyperfine:hyperfine podman:podman skopeo:skopeo umoci:umoci \
	/usr/bin/docker-registry:docker-registry python3:python3 debootstrap:debootstrap || true
for t in hyperfine podman skopeo /usr/bin/docker-registry python3; do
	command -v "$t" >/dev/null || { echo "pull.sh: $t is missing and could not be installed" >&2; exit 1; }
done
HAVE_UMOCI=
command -v umoci >/dev/null && HAVE_UMOCI=1

RUNS=${RUNS:-30}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-1}
NOOK_SRC=${NOOK:-$REPO/bin/nook}
if [ ! -x "$NOOK_SRC" ]; then
	echo "building $NOOK_SRC (make build)"
	make -C "$REPO" build
fi

WORK=$(mktemp -d /tmp/nook-pull.XXXXXX)
CREATED_RESULTS=
if [ -z "${RESULTS_DIR:-}" ]; then
	RESULTS_DIR=$(mktemp -d /tmp/nook-pull-results.XXXXXX)
	CREATED_RESULTS=1
fi
mkdir -p "$RESULTS_DIR" "$WORK/bin" "$WORK/podman/tmp" "$WORK/registry"
NOOK_BIN=$WORK/bin/nook
NOOK_CMD="$NOOK_BIN --root $WORK/nook"
PODMAN_CMD="podman --root $WORK/podman/storage --runroot $WORK/podman/run --tmpdir $WORK/podman/tmp --cgroup-manager cgroupfs --events-backend file --storage-driver overlay"
REG_PID=

cleanup() {
	local rc=$? left
	trap - EXIT INT TERM
	set +e
	echo
	[ ! -d "$WORK/podman/storage" ] || $PODMAN_CMD rmi -af >/dev/null 2>&1
	if [ -n "$REG_PID" ]; then
		bench_stop_pid "$REG_PID" docker-registry
		echo "cleanup: stopped docker-registry (pid $REG_PID)"
	fi
	left=$(bench_procs_under "$WORK")
	if [ -n "$left" ]; then
		echo "cleanup: leftover processes, SIGKILL: $(echo $left)"
		# shellcheck disable=SC2086 # pids
		kill -KILL $left 2>/dev/null
		sleep 0.3
	fi
	if ! bench_unmount_under "$WORK"; then
		echo "cleanup: WARNING: still mounted, $WORK kept:"
		bench_mounts_under "$WORK" | sed 's/^/    /'
		rc=1
	else
		rm -rf "$WORK"
		echo "cleanup: removed $WORK (registry storage, image, nook root, Podman store, OCI layouts)"
	fi
	[ -z "$CREATED_RESULTS" ] || [ "$rc" = 0 ] || rm -rf "$RESULTS_DIR"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cp "$NOOK_SRC" "$NOOK_BIN"
echo "nook:      $("$NOOK_BIN" --version 2>&1 | tr '\n' ' ')($NOOK_SRC)"
echo "podman:    $(podman --version) (overlay storage)"
echo "skopeo:    $(skopeo --version)"
if [ -n "$HAVE_UMOCI" ]; then
	echo "umoci:     $(umoci --version)"
else
	echo "umoci:     not installed and not installable from apt here: skopeo copy is timed alone"
fi
echo "registry:  $(/usr/bin/docker-registry --version 2>&1 | head -1)"
echo "hyperfine: $(hyperfine --version)"
echo "host:      $(bench_host)"

# ---------------------------------------------------------------------------------------------
echo
echo "=== image ==="
"$REPO/hack/debian-rootfs.sh" "$WORK/rootfs.tar"
python3 - "$WORK/rootfs.tar" "$WORK/archive" <<'EOF'
import hashlib, io, json, os, sys, tarfile
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out)
names = ["rest", "usr-lib-python3", "usr-lib", "usr-share", "usr-bin"]
def layer_of(path):
    p = path[2:] if path.startswith("./") else path
    if p.startswith("usr/lib/python3"):
        return 1
    if p.startswith("usr/lib/"):
        return 2
    if p.startswith("usr/share/"):
        return 3
    if p.startswith(("usr/bin/", "usr/sbin/", "usr/libexec/")):
        return 4
    return 0
t = tarfile.open(src)
members = t.getmembers()
where = {}
for m in members:
    where[m.name] = layer_of(m.name)
# A hard link goes with its target, so that every link's target is in its layer.
for m in members:
    if m.islnk():
        where[m.name] = where.get(m.linkname, where.get("./" + m.linkname.lstrip("./"), where[m.name]))
outs = [tarfile.open(os.path.join(out, f"{n}.tar"), "w", format=tarfile.PAX_FORMAT) for n in names]
for m in members:
    outs[where[m.name]].addfile(m, t.extractfile(m) if m.isreg() else None)
for o in outs:
    o.close()
diff_ids, sizes = [], []
for n in names:
    h = hashlib.sha256()
    with open(os.path.join(out, f"{n}.tar"), "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    diff_ids.append("sha256:" + h.hexdigest())
    sizes.append(os.path.getsize(os.path.join(out, f"{n}.tar")))
cfg = {
    "architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
    "config": {"Cmd": ["/bin/bash"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
    "rootfs": {"type": "layers", "diff_ids": diff_ids},
    "history": [{"created": "1970-01-01T00:00:00Z", "created_by": f"bench/pull.sh: {n}"} for n in names],
}
cb = json.dumps(cfg).encode()
cname = hashlib.sha256(cb).hexdigest() + ".json"
open(os.path.join(out, cname), "wb").write(cb)
json.dump([{"Config": cname, "RepoTags": ["nookbench/debian:latest"], "Layers": [f"{n}.tar" for n in names]}],
          open(os.path.join(out, "manifest.json"), "w"))
for n, s in zip(names, sizes):
    print(f"  layer {n:<16} {s / 1e6:7.1f} MB uncompressed")
print(f"  total            {sum(sizes) / 1e6:7.1f} MB uncompressed")
EOF
rm -f "$WORK/rootfs.tar"
tar -C "$WORK/archive" -cf "$WORK/image.tar" .
rm -rf "$WORK/archive"

# The registry, private, on a free loopback port.
PORT=$(bench_free_port)
cat >"$WORK/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
EOF
/usr/bin/docker-registry serve "$WORK/registry/config.yml" >"$WORK/registry/log" 2>&1 &
REG_PID=$!
python3 - "$PORT" <<'EOF' || { echo "pull.sh: registry did not come up:"; cat "$WORK/registry/log"; exit 1; }
import sys, time, urllib.request
for _ in range(300):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v2/", timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit(1)
EOF
REF=127.0.0.1:$PORT/nookbench/debian:latest
echo "registry: docker-registry pid $REG_PID on 127.0.0.1:$PORT, storage in $WORK/registry"
skopeo copy -q --dest-tls-verify=false "docker-archive:$WORK/image.tar" "docker://$REF"
rm -f "$WORK/image.tar"
read -r NLAYERS MBYTES < <(skopeo inspect --raw --tls-verify=false "docker://$REF" | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(len(m["layers"]), "%.1f" % ((sum(l["size"] for l in m["layers"]) + m["config"]["size"]) / 1e6))')
echo "pushed $REF: $NLAYERS layers, $MBYTES MB compressed (gzip; layer blobs + config), what every pull downloads"

# ---------------------------------------------------------------------------------------------
# Trial pulls, which also show that the prepare steps really clear the image.
w=$WORK/cmd
mkdir -p "$w"
cat >"$w/nook-prep" <<EOF
#!/bin/sh
$NOOK_CMD rmi $REF >/dev/null 2>&1
exit 0
EOF
cat >"$w/nook" <<EOF
#!/bin/sh
exec $NOOK_CMD pull -q $REF >/dev/null
EOF
cat >"$w/podman-prep" <<EOF
#!/bin/sh
$PODMAN_CMD rmi -af >/dev/null 2>&1
exit 0
EOF
cat >"$w/podman" <<EOF
#!/bin/sh
exec $PODMAN_CMD pull -q --tls-verify=false $REF >/dev/null
EOF
cat >"$w/oci-prep" <<EOF
#!/bin/sh
rm -rf $WORK/oci $WORK/umoci-bundle
EOF
cat >"$w/skopeo+umoci" <<EOF
#!/bin/sh
set -e
skopeo copy -q --src-tls-verify=false docker://$REF oci:$WORK/oci:bench
exec umoci unpack --image $WORK/oci:bench $WORK/umoci-bundle >/dev/null
EOF
cat >"$w/skopeo" <<EOF
#!/bin/sh
exec skopeo copy -q --src-tls-verify=false docker://$REF oci:$WORK/oci:bench
EOF
chmod +x "$w"/*

CMDS=(nook podman)
[ -z "$HAVE_UMOCI" ] || CMDS+=(skopeo+umoci)
CMDS+=(skopeo)
prep_of() { case $1 in nook) echo "$w/nook-prep" ;; podman) echo "$w/podman-prep" ;; *) echo "$w/oci-prep" ;; esac; }

echo
echo "=== trial pulls ==="
for c in "${CMDS[@]}"; do
	"$(prep_of "$c")"
	t0=$EPOCHREALTIME
	if ! out=$("$w/$c" 2>&1); then
		echo "pull.sh: $c failed:"
		printf '%s\n' "$out" | sed 's/^/    /'
		exit 1
	fi
	t1=$EPOCHREALTIME
	case $c in
	nook) size=$(du -sm "$WORK/nook" | cut -f1) ;;
	podman) size=$(du -sm "$WORK/podman/storage" | cut -f1) ;;
	*) size=$( (du -sm "$WORK/oci" "$WORK/umoci-bundle" 2>/dev/null || true) | awk '{s += $1} END {print s}') ;;
	esac
	printf '  %-13s %6.2f s, %s MB on disk after the pull' "$c" "$(awk "BEGIN { print $t1 - $t0 }")" "$size"
	"$(prep_of "$c")"
	case $c in
	nook) echo ", $(du -sm "$WORK/nook" | cut -f1) MB after nook rmi" ;;
	podman) echo ", $(du -sm "$WORK/podman/storage" | cut -f1) MB after podman rmi -af" ;;
	*) echo ", removed" ;;
	esac
done

echo
echo "=== timing: $RUNS runs per command ($ROUNDS rounds, $WARMUP warm-up each) ==="
args=()
for c in "${CMDS[@]}"; do args+=("$c" "$w/$c" "$(prep_of "$c")"); done
bench_hf_rounds "$RESULTS_DIR/pull" "$RUNS" "$ROUNDS" "$WARMUP" "${args[@]}"
"$w/oci-prep"

echo
BENCH_TABLE_MBYTES=$MBYTES bench_hf_table \
	"pull of $REF ($NLAYERS layers, $MBYTES MB gzip) from docker-registry on loopback; host: $(bench_host)" \
	nook "$RESULTS_DIR"/pull-round*.json
echo "  MB/s: compressed MB downloaded / median. nook/peer: nook's median / the peer's (below 1: nook is faster)."
[ -n "$HAVE_UMOCI" ] || echo "  umoci is not installable here, so skopeo copy (no unpacking) is the only non-Podman peer."
echo "hyperfine JSON and log: $RESULTS_DIR"
