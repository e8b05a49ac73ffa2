# nook — build and test entry points. `make help` lists them.
#
# On a fresh machine make itself may be missing: `sudo hack/ci.sh` and `sudo hack/demo.sh`
# install it (and everything else) first, then come back here.

GO ?= go
# sudo's secure_path usually lacks the Go toolchain.
export PATH := $(PATH):/usr/local/go/bin
# `sudo make` in a clone owned by someone else: git refuses the repository ("dubious ownership")
# and with it the go tool's VCS stamping, failing the build. Trust this one directory.
ifndef GIT_CONFIG_COUNT
export GIT_CONFIG_COUNT := 1
export GIT_CONFIG_KEY_0 := safe.directory
export GIT_CONFIG_VALUE_0 := $(CURDIR)
endif

COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BIN := $(abspath bin)
RUNTIME := $(BIN)/nook-runtime
PROBE := $(BIN)/probe

# Test packages compiled for the cgroup v2 VM lane (test-v2), besides test/integration:
# every package under internal/ that has tests. Override with VM_PKGS='./internal/x ./internal/y'.
# Packages to leave out of the VM lane (none today).
VM_SKIP_PKGS ?=
VM_PKGS ?= $(filter-out $(VM_SKIP_PKGS),$(shell $(GO) list -e -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./internal/... 2>/dev/null | sed 's|^github.com/nook-containers/nook/|./|'))
# The engine tests the VM lane runs (single commands are 30-70x slower there than on the host):
# the ones whose behaviour depends on the cgroup version or the kernel.
VM_ENGINE_TESTS ?= ^(TestPullRun|TestLimits|TestMemoryOOM|TestRunTTY|TestExec|TestLogs|TestStats|TestRestartOnFailure|TestKilledMonitor)$$
# The network tests it runs: published ports, masquerade, recovery (the rest is kernel-version
# independent and slow there).
VM_NETWORK_TESTS ?= ^(TestPublishedPort|TestMasquerade|TestContainerCrashed)$$
# The interop tests it runs (Podman, containerd and Docker driving nook-runtime): running
# containers and their limits; not the TTY relays or containerd's handler config, which do not
# depend on the cgroup version. Empty: all of them.
VM_INTEROP_TESTS ?= ^(TestDocker|TestPodmanRun|TestContainerdRun|TestPodmanResources|TestContainerdResources)$$
# Upper bound for the one VM boot of test-v2 (seconds; everything runs ~10x slower there), and
# its memory: the VM's writable layers (/tmp, and writes anywhere else) live in it too.
VM_TIMEOUT ?= 2700
VM_MEM ?= 4G
# -test.timeout of each test binary in the VM.
VM_TEST_TIMEOUT ?= 30m

.DEFAULT_GOAL := build
.PHONY: build test vet fuzz test-root test-engine test-network test-security test-interop test-v2 ci demo clean help

help:
	@echo 'build      bin/nook-runtime, bin/nook, bin/nook-monitor and the static bin/probe (default)'
	@echo 'test       unit tests, no root needed (integration tests skip)'
	@echo 'vet        gofmt check and go vet'
	@echo 'fuzz       every fuzz target for FUZZTIME (5s) each'
	@echo 'test-root  as root, on this host: integration tests and root-only unit tests'
	@echo 'test-engine  as root: the nook engine (bin/nook) against a loopback registry'
	@echo 'test-network  as root: bridges, published ports, DNS, the article topology (bin/nook)'
	@echo 'test-security  as root: escape-and-abuse attacks from inside default-config containers'
	@echo 'test-interop  as root: Podman, containerd (ctr, CRI handler) and Docker driving nook-runtime'
	@echo 'test-compat  as root: the same commands against runc and nook-runtime, outputs and errors compared'
	@echo 'test-v2    as root: the same compiled tests in a pure cgroup v2 VM (test/vmlane)'
	@echo 'test-systemd  as root: the systemd cgroup driver, with containerd and Podman, in VMs booting systemd'
	@echo 'ci         install deps, vet, every test target, test-v2, bench-ci (what .ci/run does)'
	@echo 'demo       as root: a busybox shell in a nook container (hack/demo.sh)'
	@echo 'bench-ci   as root: short runtime-start and engine-run benchmark, ratios vs targets (bench/ci.sh)'

build:
	CGO_ENABLED=1 $(GO) build -trimpath -tags osusergo,netgo -ldflags "-s -w -X main.commit=$(COMMIT) -extldflags -static" -o bin/nook-runtime ./cmd/nook-runtime
	CGO_ENABLED=1 $(GO) build -trimpath -tags osusergo,netgo -ldflags "-s -w -X main.commit=$(COMMIT) -X main.runtimeBuildID=$$($(GO) tool buildid bin/nook-runtime) -extldflags -static" -o bin/nook ./cmd/nook
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o bin/nook-monitor ./cmd/nook-monitor
	CGO_ENABLED=0 $(GO) build -o bin/probe ./test/probe
	CGO_ENABLED=0 $(GO) build -o bin/escape ./test/security/testdata/escape

test:
	$(GO) test -count=1 -timeout 10m ./...

vet:
	@files=$$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -print0 | xargs -0 -r gofmt -l); \
	if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...

# Each fuzz target briefly (FUZZTIME, default 5s); a crasher lands in testdata/fuzz/.
fuzz:
	hack/fuzz.sh

# Two runs, not one: go test runs packages in parallel, and the integration tests compare the
# host's mount table before and after, while internal/image/rootfs's tests mount overlays.
test-root: build
	NOOK_RUNTIME=$(RUNTIME) NOOK_PROBE=$(PROBE) $(GO) test -count=1 -timeout 15m -v ./test/integration/
	NOOK_RUNTIME=$(RUNTIME) NOOK_PROBE=$(PROBE) $(GO) test -count=1 -timeout 15m -v ./internal/...

# The engine: bin/nook pulling from a docker-registry on loopback, running, logging, stopping.
test-engine: build
	NOOK=$(BIN)/nook NOOK_PROBE=$(PROBE) $(GO) test -count=1 -timeout 15m -v ./test/engine/

# Networking through bin/nook: traffic only to loopback, containers and namespaces the tests make.
test-network: build
	NOOK=$(BIN)/nook NOOK_PROBE=$(PROBE) $(GO) test -count=1 -timeout 15m -v ./test/network/

# Escape-and-abuse attacks from inside default-config containers, on this host.
test-security: build
	NOOK_RUNTIME=$(RUNTIME) NOOK_PROBE=$(PROBE) NOOK_ESCAPE=$(BIN)/escape $(GO) test -count=1 -timeout 10m -v ./test/security/

# nook-runtime driven by Podman (--runtime) and containerd (ctr --runc-binary), on this host.
test-interop: build
	NOOK_RUNTIME=$(RUNTIME) NOOK_PROBE=$(PROBE) $(GO) test -count=1 -timeout 10m -v ./test/interop/

# The same scenarios against runc and nook-runtime, comparing what engines parse (test/compat).
.PHONY: test-compat
test-compat: build
	NOOK_RUNTIME=$(RUNTIME) $(GO) test -count=1 -timeout 10m -v ./test/compat/

# Compile the tests on the host (the VM is too slow for the go tool), then VM boots run them
# (hack/vm-tests.sh reads bin/vmtests-N.list, "binary package-dir [run-regexp]" lines): two at
# once, test/integration and the internal packages in one, the engine, network and interop
# tests in the other; then test/security alone, whose exhaustion tests measure the VM's own
# throughput against a baseline (a second VM beside it steals from both).
test-v2: build
	rm -f bin/*.test bin/vmtests*.list
	@set -e; for p in ./test/integration ./test/security ./test/engine ./test/network ./test/interop $(VM_PKGS); do \
		d=$${p#./}; b=bin/$$(echo "$$d" | tr / -).test; \
		[ "$$d" = test/integration ] && b=bin/integration.test; \
		echo "$(GO) test -c -o $$b $$p"; $(GO) test -c -o $$b $$p; \
		run=; [ "$$d" = test/engine ] && run='$(VM_ENGINE_TESTS)'; [ "$$d" = test/network ] && run='$(VM_NETWORK_TESTS)'; \
		[ "$$d" = test/interop ] && run='$(VM_INTEROP_TESTS)'; \
		case $$d in test/engine|test/network|test/interop) l=2 ;; test/security) l=3 ;; *) l=1 ;; esac; \
		if [ -f "$$b" ]; then echo "$$b $$d $$run" >> bin/vmtests-$$l.list; fi; \
	done
	VM_TEST_TIMEOUT=$(VM_TEST_TIMEOUT) VMLANE_ENV=VM_TEST_TIMEOUT VMLANE_TIMEOUT=$(VM_TIMEOUT) \
		VMLANE_MEM=$(VM_MEM) hack/test-v2.sh bin/vmtests-1.list bin/vmtests-2.list
	VM_TEST_TIMEOUT=$(VM_TEST_TIMEOUT) VMLANE_ENV=VM_TEST_TIMEOUT VMLANE_TIMEOUT=$(VM_TIMEOUT) \
		VMLANE_MEM=$(VM_MEM) hack/test-v2.sh bin/vmtests-3.list

# The systemd cgroup driver (--systemd-cgroup) needs systemd as PID 1, which these hosts lack:
# two VM boots at once with systemd as init (test/vmlane VMLANE_INIT=systemd), one with pure
# cgroup v2 and one with v1 controllers (hybrid), each running the runtime's and the engines' (containerd with
# the runc shim's SystemdCgroup, Podman's systemd cgroup manager) systemd tests.
SYSTEMD_TESTS ?= Systemd
.PHONY: test-systemd
test-systemd: build
	$(GO) test -c -o bin/integration.test ./test/integration
	$(GO) test -c -o bin/test-interop.test ./test/interop
	printf 'bin/integration.test test/integration $(SYSTEMD_TESTS)\nbin/test-interop.test test/interop $(SYSTEMD_TESTS)\n' >bin/vmtests-systemd.list
	VMLANE_INIT=systemd VMLANE_CGROUPS="v2 hybrid" NOOK_WANT_SYSTEMD=1 VM_TEST_TIMEOUT=4m \
		VMLANE_ENV="VM_TEST_TIMEOUT NOOK_WANT_SYSTEMD" VMLANE_TIMEOUT=900 VMLANE_MEM=$(VM_MEM) \
		hack/test-v2.sh bin/vmtests-systemd.list

# Sequential on purpose: fail fast, in this order, even under make -j.
ci:
	hack/install-deps.sh
	$(MAKE) --no-print-directory vet
	$(MAKE) --no-print-directory test
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory test-root
	$(MAKE) --no-print-directory test-engine
	$(MAKE) --no-print-directory test-network
	$(MAKE) --no-print-directory test-security
	$(MAKE) --no-print-directory test-interop
	$(MAKE) --no-print-directory test-compat
	$(MAKE) --no-print-directory test-v2
	$(MAKE) --no-print-directory test-systemd
	@# Ratios against the performance targets: loud warnings, never a failure on the numbers;
	@# a benchmark that cannot run is reported, not fatal.
	$(MAKE) --no-print-directory bench-ci || echo "ci: WARNING: bench-ci could not run (above)"

demo:
	hack/demo.sh

# A short benchmark (a minute or two) that prints ratios against the performance targets; it
# fails only when a benchmarked command fails, never on the numbers (bench/README.md).
.PHONY: bench-ci
bench-ci: build
	bench/ci.sh

clean:
	rm -rf bin
