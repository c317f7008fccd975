#!/usr/bin/env bash
# Fuzzing, bounded in time: each target runs for FUZZTIME (default 20s) on
# top of its corpus in testdata/fuzz (which `go test ./...` also replays as
# regular tests). A failing input is written to testdata/fuzz: commit it.
set -euo pipefail
cd "$(dirname "$0")/../.."
fuzztime="${FUZZTIME:-20s}"
# package and target of every fuzz test in the module
git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | while read -r file; do
  pkg="./$(dirname "$file")"
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //' | while read -r target; do
    echo "fuzz $pkg $target for $fuzztime"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
  done
done
