#!/usr/bin/env bash
# Lint: golangci-lint, pinned here, over the whole main module with the
# checks in .golangci.yml (bugs, not style). Installed once into .cache/bin.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=2.15.0
bin="$PWD/.cache/bin/golangci-lint"
if ! "$bin" version 2>/dev/null | grep -q "version $version "; then
  echo "installing golangci-lint v$version"
  GOBIN="$PWD/.cache/bin" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$version"
fi
"$bin" run ./...
