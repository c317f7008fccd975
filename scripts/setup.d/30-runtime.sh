#!/usr/bin/env bash
# Function runtime: the interpreters functions run with (Node.js 20 at
# /usr/bin/node, Python 3 at /usr/bin/python3) and the OpenTelemetry JS
# 2.x packages of the Node example, whose spans the tests check.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ ! -x /usr/bin/python3 ]]; then
  echo "runtime: installing python3 (python3.11 functions run with /usr/bin/python3)"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends python3
fi
command -v node >/dev/null || { echo "runtime: Node.js 20 is needed for nodejs20 functions" >&2; exit 1; }
npm ci --prefix examples/node-hello --omit=dev --no-audit --no-fund --loglevel=error
