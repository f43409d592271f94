# pkfs: `make run` to start, `make test` before every commit.

GO      ?= go
BIN     := bin/pkfs
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The whole suite must stay well under 15 minutes on 2 cores; the timeout
# only stops a hung test.
TEST_TIMEOUT ?= 20m

.PHONY: all build test fmt-check vet test-race fuzz bench run clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/pkfs

# gofmt, go vet, then every test with the race detector. Fuzz targets run
# only their seed corpus here (no -fuzz).
test: fmt-check vet test-race

fmt-check:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt: these files are not formatted:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# -count=1: the integration tests build and run bin/pkfs themselves, which
# go test's cache cannot see, so a cached pass could hide a broken binary.
test-race:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

# Every fuzz target for FUZZTIME each (default 30s; FUZZ=regexp picks
# targets, FUZZPARALLEL=N workers): not part of make test, which replays
# only the seeds and the committed corpora (testdata/fuzz).
fuzz:
	scripts/fuzz.sh

# Benchmarks, never mixed with tests: a table of pkfs against its baselines.
bench:
	scripts/bench.sh

# Install what is missing, build, create a node if there is none, mount.
run: build
	scripts/run.sh

clean:
	rm -rf bin
