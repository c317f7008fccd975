#!/usr/bin/env bash
# The web UI: Debian's Chromium for the end-to-end tests, the Node packages
# (npm ci, from ui/package-lock.json), and the built UI in ui/dist, which
# `go build` then embeds into the binary.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ ! -x /usr/bin/chromium ]]; then
  sudo=""
  [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
fi
/usr/bin/chromium --version

cd ui
npm ci --no-audit --no-fund
# npm ci runs it as postinstall; again in case scripts were disabled: it
# keeps `go vet ./...` out of node_modules.
node scripts/guard-node-modules.mjs
npm run build
