#!/usr/bin/env bash
# Starts Coldtrace on a fresh machine: installs the embedded ClickHouse
# engine (libchdb) if it is missing, builds the web UI when npm is there,
# builds the binary, and runs `coldtrace up` with any arguments given,
# e.g. ./scripts/up.sh --examples
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

./scripts/install-chdb.sh
if command -v npm >/dev/null; then
  # The example functions' packages (the Node example uses OpenTelemetry JS).
  bash scripts/setup.d/30-runtime.sh
fi
if [[ -f ui/package.json ]]; then
  if command -v npm >/dev/null; then
    if [[ ! -f ui/dist/index.html || -n "$(find ui/src ui/index.html ui/package.json -newer ui/dist/index.html -print -quit)" ]]; then
      echo "building the web UI ..."
      (cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build)
    fi
  else
    echo "npm not found: the binary will serve a page explaining how to build the web UI" >&2
  fi
fi
mkdir -p bin
go build -o bin/coldtrace ./cmd/coldtrace
exec ./bin/coldtrace up "$@"
