#!/usr/bin/env bash
# The Grafana data source plugin: its Node packages (npm ci, from
# grafana-plugin/package-lock.json) and its Go module's dependencies.
set -euo pipefail
cd "$(dirname "$0")/../../grafana-plugin"
npm ci --no-audit --no-fund
go mod download
