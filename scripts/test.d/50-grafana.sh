#!/usr/bin/env bash
# The Grafana data source plugin (grafana-plugin/, its own Go module).
# Frontend: production build, type check, lint, Jest (editors, data source,
# and the trace frame contract on the backend's golden frames).
# Backend: vet, then the Go tests, which build cmd/coldtrace, run
# `coldtrace up` with the embedded engine, send it FaaS spans with the OTel
# SDK, and query it in process, over the SDK's gRPC server and through the
# built plugin binary launched with Grafana's go-plugin handshake.
# Last, the release builds Grafana loads: linux/amd64 and linux/arm64.
set -euo pipefail
cd "$(dirname "$0")/../../grafana-plugin"

npm run build
npm run typecheck
npm run lint
npm run test:ci

unformatted="$(gofmt -l Magefile.go pkg)"
if [[ -n "$unformatted" ]]; then
  echo "gofmt needed:" >&2; echo "$unformatted" >&2; exit 1
fi
go vet ./pkg/...
go test -count=1 -timeout 15m ./pkg/...

go tool mage -v build:linux
go tool mage -v build:linuxARM64
for arch in amd64 arm64; do
  bin="dist/gpx_coldtrace_linux_${arch}"
  [[ -x "$bin" ]] || { echo "missing $bin" >&2; exit 1; }
  # ELF e_machine: 0x3e x86-64, 0xb7 AArch64.
  machine="$(od -An -tx1 -j18 -N1 "$bin" | tr -d ' ')"
  want=$([[ $arch == amd64 ]] && echo 3e || echo b7)
  [[ "$machine" == "$want" ]] || { echo "$bin is not a linux/$arch executable (e_machine $machine)" >&2; exit 1; }
  echo "$bin: linux/$arch, $(stat -c %s "$bin") bytes"
done
