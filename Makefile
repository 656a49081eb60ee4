# The habits of this project. CI (.ci/run) calls these same targets.
GO        ?= go
BIN       := bin/dbaasd
DATA_DIR  ?= ./data
GOFLAGS_TEST ?= -race -count=1 -timeout 40m

.PHONY: all deps tools build run test test-local test-short test-k8s k8s-up k8s-down generate check-generate lint fmt bench bench-quick clean console-vendor

all: build

# Engines and tools the server and the tests need (idempotent; uses sudo when not root).
deps:
	./scripts/install-deps.sh

build:
	$(GO) build -o $(BIN) ./cmd/dbaasd

# Run the server on 127.0.0.1:8080 with its state in $(DATA_DIR).
run: deps build
	./$(BIN) --data-dir $(DATA_DIR) $(ARGS)

# Every test: those on this machine's engines (test-local), then the
# Kubernetes runtime's on a single-node cluster started for them
# (test-k8s), one after the other.
test:
	$(MAKE) test-local
	$(MAKE) test-k8s

# Unit, store conformance (SQLite and PostgreSQL), engine drivers and
# end-to-end tests against real engines started by the tests (the
# Kubernetes tests skip without a cluster).
test-local: deps
	$(GO) test $(GOFLAGS_TEST) ./...

# The Kubernetes test bed (scripts/k8s): builds what it needs from Go
# modules into a cache keyed by version (/var/cache/dbaasd-k8s), starts a
# single-node cluster with CloudNativePG and an S3-compatible server, and
# tears everything down again. Needs root.
k8s-up:
	./scripts/k8s/up.sh

k8s-down:
	./scripts/k8s/down.sh

# The Kubernetes runtime's end-to-end tests and the PostgreSQL part of the
# compatibility suite on the test bed, torn down after.
test-k8s: deps k8s-up
	status=0; DBAAS_K8S_ENV=/var/lib/dbaasd-k8s/env $(GO) test $(GOFLAGS_TEST) -v \
		./internal/e2e/kubernetes/ ./internal/compat/ -run 'Kubernetes' || status=$$?; \
	./scripts/k8s/down.sh; exit $$status

# The fast tests only (no engines).
test-short:
	$(GO) test -short -count=1 ./...

generate:
	$(GO) generate ./internal/httpapi/gen

# Fails when the generated code is stale.
check-generate: generate
	git diff --exit-code -- internal/httpapi/gen

# The pinned linter, installed where `go install` puts binaries (GOBIN, or GOPATH/bin).
tools:
	$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

# Fails when golangci-lint is neither in PATH nor where `make tools` installs it.
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet ./...
	@lint=$$(command -v golangci-lint || true); \
	gopath_bin=$$($(GO) env GOPATH | cut -d: -f1)/bin; \
	for dir in $$($(GO) env GOBIN) "$$gopath_bin"; do \
		if [ -z "$$lint" ] && [ -x "$$dir/golangci-lint" ]; then lint=$$dir/golangci-lint; fi; \
	done; \
	if [ -z "$$lint" ]; then echo "golangci-lint not found in PATH nor in $$gopath_bin; run 'make tools'" >&2; exit 1; fi; \
	"$$lint" run ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

bench: deps build
	$(GO) run ./bench/cmd/harness -out bench/results/latest.md $(BENCH_ARGS)

bench-quick: deps build
	$(GO) run ./bench/cmd/harness -quick -out bench/results/quick.md $(BENCH_ARGS)

# Refreshes the web console's vendored libraries (internal/console/ui/vendor)
# from internal/console/package-lock.json. Only needed to change a version:
# the files are committed, so building needs neither npm nor the network.
console-vendor:
	cd internal/console && npm ci --ignore-scripts --no-audit --no-fund
	cp internal/console/node_modules/uplot/dist/uPlot.esm.js internal/console/node_modules/uplot/dist/uPlot.min.css \
		internal/console/node_modules/uplot/LICENSE internal/console/ui/vendor/uplot/
	rm -rf internal/console/node_modules

clean:
	rm -rf bin
