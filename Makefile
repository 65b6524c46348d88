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

unit:
	$(GO) vet ./...
	$(GO) test ./...

fmt:
	gofmt -l -w cmd pkg test bench
