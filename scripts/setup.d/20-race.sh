#!/usr/bin/env bash
# The race detector (scripts/test.d/20-race.sh) builds with cgo, so it needs
# a C compiler and the C library's headers.
set -euo pipefail

if ! command -v gcc >/dev/null || [[ ! -e /usr/include/stdlib.h ]]; then
  sudo=""
  [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends gcc libc6-dev
fi
gcc --version | head -1
