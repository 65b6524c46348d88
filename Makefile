# kubectl-podtask
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
PKG := github.com/podtask-dev/kubectl-podtask
LDFLAGS := -s -w -X $(PKG)/pkg/plugin.version=$(VERSION) -X $(PKG)/pkg/plugin.commit=$(COMMIT) -X $(PKG)/pkg/plugin.date=$(DATE)
export PODTASK_CLUSTER_DIR ?= /tmp/podtask-cluster

.PHONY: build test unit e2e cluster cluster-down cluster-env demo fmt vet

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/kubectl-podtask ./cmd/kubectl-podtask

# Unit tests, with the race detector: everything but the end-to-end suite,
# which `test` runs on the cluster (test/e2e/race_test.go runs a -race build there).
unit:
	$(GO) vet ./...
	CGO_ENABLED=1 $(GO) test -race $$($(GO) list ./... | grep -v /test/e2e)

fmt:
	gofmt -l -w cmd pkg test bench

# --- local cluster and end-to-end tests (see test/cluster/README.md) ---
PODTASK_BIN ?= $(CURDIR)/bin/kubectl-podtask
E2E_ENV := PODTASK_BIN=$(PODTASK_BIN) KUBECONFIG=$(PODTASK_CLUSTER_DIR)/kubeconfig

cluster:
	test/cluster/up.sh

cluster-down:
	test/cluster/down.sh

cluster-env:
	@test/cluster/env.sh

e2e:
	$(E2E_ENV) $(GO) test ./test/e2e/... -count=1 -parallel 4 -timeout 60m -v

# unit + build, then the e2e tests on a fresh (or running) local cluster,
# which is stopped afterwards even when they fail (KEEP_CLUSTER=1 keeps it).
# The exit status is the cluster start's or the e2e tests'.
test: unit build
	@rc=0; \
	$(MAKE) --no-print-directory cluster && $(MAKE) --no-print-directory e2e || rc=$$?; \
	if [ "$(KEEP_CLUSTER)" != 1 ]; then $(MAKE) --no-print-directory cluster-down || true; \
	else echo "cluster kept running: eval \"\$$(make cluster-env)\""; fi; \
	exit $$rc

demo: build cluster
	test/cluster/demo.sh

# --- distribution: Krew archives, manifest, install from source ---
DIST_VERSION ?= $(shell hack/version.sh)
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin

.PHONY: dist manifest install

# Cross-builds every platform into dist/ (archives, SHA256SUMS, VERSION).
dist:
	VERSION=$(DIST_VERSION) COMMIT=$(COMMIT) GO=$(GO) hack/dist.sh

# Rewrites plugins/podtask.yaml's version, URIs and sha256 sums from dist/.
manifest: dist
	hack/krew-manifest.sh

# Installs the plugin and its completion helper where kubectl finds them.
install: build
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 bin/kubectl-podtask kubectl_complete-podtask $(DESTDIR)$(BINDIR)/
	@echo "installed kubectl-podtask and kubectl_complete-podtask in $(DESTDIR)$(BINDIR): try 'kubectl podtask version --client'"

# Benchmarks against kubectl on the local cluster (not part of `make test`):
# builds, brings the cluster up if needed, writes bench/RESULTS.md.
.PHONY: bench
bench:
	$(GO) run ./bench $(BENCH_FLAGS)
