#!/usr/bin/env bash
# Fuzzing, bounded by executions: each target runs FUZZEXECS inputs (default
# 50000, 4-20 s each here) on top of its corpus in testdata/fuzz (which
# `go test ./...` also replays as regular tests). A failing input is written
# to testdata/fuzz: commit it.
#
# Why a count and not -fuzztime 20s: Go 1.26's fuzz coordinator races its own
# -fuzztime deadline and can fail a target with a bare "context deadline
# exceeded" and no crasher (golang/go#75804, fixed in Go 1.27). A count budget
# sets no deadline, so that race cannot happen; it happened to us in CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
execs="${FUZZEXECS:-50000}"
# package and target of every fuzz test in the module
git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | while read -r file; do
  pkg="./$(dirname "$file")"
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //' | while read -r target; do
    echo "fuzz $pkg $target for $execs inputs"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "${execs}x" "$pkg"
  done
done
