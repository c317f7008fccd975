#!/usr/bin/env bash
# The race detector over every package whose concurrency is ours to get
# wrong: ingest and its spool, the collector, the query server, the runtime.
# It found acknowledged spans lost by the spool and a crash-prone map read
# that the plain run never showed (docs/engineering-notes.md).
# cmd/coldtrace is left out: its tests drive the coldtrace binary, built
# without -race, so the detector would watch only the test's own side.
set -euo pipefail
pkgs=$(go list ./... | grep -v -e '/cmd/coldtrace$' -e '/bench/' -e '/examples/')
go test -race -count=1 -timeout 30m $pkgs
