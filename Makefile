# rft: every target a new user or CI needs. `make help` lists them.
GO        ?= go
BIN       := bin/rft
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
BENCHTIME ?= 1x

.PHONY: help setup build test bench bench-openblas openblas compat lint demo clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: ## download Go modules and build bin/rft
	$(GO) mod download
	$(MAKE) build

build: ## build bin/rft (pure Go, no cgo)
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/rft

test: ## run the whole Go test suite
	$(GO) test -count=1 ./...

bench: ## benchmarks side by side (matmul backends, model step); see docs/BENCHMARKS.md
	$(GO) test -run '^$$' -bench 'Matmul' -benchtime 20x ./policy/linalg/
	$(GO) test -run '^$$' -bench 'ModelStep' -benchtime 3x ./policy/

openblas: ## install OpenBLAS (Debian) for the optional `openblas` build tag
	apt-get update -qq && apt-get install -y -qq libopenblas-dev

bench-openblas: openblas ## matmul benchmarks including OpenBLAS (cgo build tag)
	CGO_ENABLED=1 $(GO) test -tags openblas -run '^$$' -bench 'Matmul' -benchtime 20x ./policy/linalg/

compat: ## cross-check against transformers/torch (own virtualenv) and rewrite the golden fixtures in testdata/
	bash compat/run.sh
	$(GO) test -count=1 -run 'Golden|Fixture' ./policy/...

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

demo: build ## the whole loop on tailworld (lands with the tailworld issue)
	$(BIN) demo

clean:
	rm -rf bin
