# rft: every target a new user or CI needs. `make help` lists them.
GO        ?= go
BIN       := bin/rft
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
BENCHTIME ?= 1x

.PHONY: help setup build test bench openblas compat lint demo replicate base clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: ## download Go modules and build bin/rft
	$(GO) mod download
	$(MAKE) build

build: ## build bin/rft (pure Go, no cgo)
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/rft

test: ## run the whole Go test suite
	$(GO) test -count=1 ./...

# OpenBLAS joins the matmul table when libopenblas-dev is installed (make openblas).
BENCH_TAGS := $(shell ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so ' && echo openblas)

bench: ## all benchmarks side by side in one run, as markdown tables (docs/BENCHMARKS.md)
	@{ $(GO) test -tags '$(BENCH_TAGS)' -run '^$$' -bench 'Matmul' -benchtime 0.2s ./policy/linalg/ ; \
	   $(GO) test -run '^$$' -bench 'ModelStep|Decode|Prefill|Attention' -benchtime 3x ./policy/ ; \
	   $(GO) test -run '^$$' -bench . -benchtime 0.5s ./policy/tokenizer/ ./rubric/ ./grpo/ ./rollout/... ; \
	   if [ -x compat/.venv/bin/python ]; then compat/.venv/bin/python compat/bench_torch_step.py --threads 1 2; \
	   else echo "PyTorch side skipped: run make compat first" >&2; fi ; } 2>&1 | tee bench.out | $(GO) run ./internal/benchreport

openblas: ## install OpenBLAS (Debian) so make bench adds it side by side (cgo build tag `openblas`)
	apt-get update -qq && apt-get install -y -qq libopenblas-dev

compat: ## cross-check against transformers/torch (own virtualenv) and rewrite the golden fixtures in testdata/
	bash compat/run.sh
	$(GO) test -count=1 -run 'Golden|Fixture' ./policy/... ./grpo/

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

demo: build ## the whole loop on tailworld, offline (about 6 minutes on 2 cores; README "The demo")
	$(BIN) demo $(DEMO_FLAGS)

replicate: build ## the paper's comparison on tailworld, default size (about 1 hour on 2 cores; docs/REPLICATE.md)
	$(BIN) replicate --config configs/replicate-tailworld.yaml --out runs/replicate

base: build ## train the tailworld base policy into assets/tailworld-base (docs/BASE.md; ~45 min on 2 cores)
	bash scripts/make-base.sh

clean:
	rm -rf bin
