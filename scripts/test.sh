#!/usr/bin/env bash
# Runs every test of Coldtrace on a fresh Debian machine with Go and Node:
# first each scripts/setup.d/*.sh (installs what the tests need), then each
# scripts/test.d/*.sh in order. Stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
for step in scripts/setup.d/*.sh scripts/test.d/*.sh; do
  echo "==> $step"
  start=$(date +%s)
  bash "$step"
  echo "<== $step ($(( $(date +%s) - start ))s)"
done
echo "all tests passed"
