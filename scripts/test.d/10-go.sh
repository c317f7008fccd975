#!/usr/bin/env bash
# Go: formatting, vet, and every Go test (real ClickHouse engine, real
# processes, real OTel SDK clients).
set -euo pipefail
unformatted="$(gofmt -l $(git ls-files '*.go' | grep -v '/node_modules/'))"
if [[ -n "$unformatted" ]]; then
  echo "gofmt needed:" >&2; echo "$unformatted" >&2; exit 1
fi
go vet ./...
go test -count=1 -timeout 20m ./...
