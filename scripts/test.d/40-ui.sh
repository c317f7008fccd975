#!/usr/bin/env bash
# The web UI: type check, component tests (Vitest), then the end-to-end
# tests: a real `coldtrace up` (built with the UI embedded), real spans from
# the OpenTelemetry SDK, real headless Chromium. The initial-load budget is
# checked by `npm run build` in scripts/setup.d/40-ui.sh.
set -euo pipefail
cd "$(dirname "$0")/../../ui"
npm run typecheck
npm test
npm run e2e
