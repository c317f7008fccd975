# Coldtrace's make targets. The test and lint targets run the same scripts
# as CI (.ci/run -> scripts/test.sh), so a green `make test` is a green CI.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BENCH   ?= .
BENCHTIME ?= 1s

.PHONY: all build ui plugin test lint vet bench bench-ingest image compose-check clean help

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ui/dist/index.html ## bin/coldtrace with the web UI embedded (builds the UI once)
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/coldtrace ./cmd/coldtrace

ui: ## rebuild the web UI (ui/dist), embedded by the next go build
	cd ui && npm ci --no-audit --no-fund && npm run build

ui/dist/index.html:
	$(MAKE) ui

plugin: ## the Grafana plugin (grafana-plugin/dist) docker-compose.yml mounts
	cd grafana-plugin && npm ci --no-audit --no-fund && npm run build && go tool mage -v build:linux build:linuxARM64

test: ## every test: installs, then scripts/test.d/* (what CI runs)
	./scripts/test.sh

lint: ## golangci-lint, pinned in scripts/test.d/70-lint.sh
	./scripts/test.d/70-lint.sh

vet: ## gofmt and go vet only
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v /node_modules/))" || { gofmt -l $$(git ls-files '*.go' | grep -v /node_modules/); exit 1; }
	go vet ./...

bench: ## Go benchmarks (BENCH=regexp, BENCHTIME=1s); figures go to docs/benchmarks.md
	go test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem ./...

bench-ingest: ## ingest throughput and bytes per span (bench/ingest)
	cd bench/ingest && go run . -duration 20s

image: ## the Docker image (needs a Docker engine)
	docker build -t coldtrace:$(VERSION) --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) .

compose-check: ## validate docker-compose.yml and run its services here
	./scripts/test.d/60-deploy.sh

clean:
	rm -rf bin
