#!/usr/bin/env bash
# Installs libchdb.so (the embedded ClickHouse engine) into Coldtrace's cache
# directory, unless CHDB_LIB_PATH already points at one. The library ships
# in the npm package @chdb/lib-linux-x64-gnu; nothing is built.
set -euo pipefail

VERSION="26.5.3"
PACKAGE="@chdb/lib-linux-x64-gnu"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/coldtrace/chdb/$VERSION"

if [[ -n "${CHDB_LIB_PATH:-}" ]]; then
  if [[ -f "$CHDB_LIB_PATH" || -f "$CHDB_LIB_PATH/libchdb.so" ]]; then
    echo "libchdb: using CHDB_LIB_PATH=$CHDB_LIB_PATH"
    exit 0
  fi
  echo "libchdb: CHDB_LIB_PATH=$CHDB_LIB_PATH holds no libchdb.so" >&2
  exit 1
fi
if [[ -f "$CACHE/libchdb.so" ]]; then
  echo "libchdb: $CACHE/libchdb.so"
  exit 0
fi
if [[ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]]; then
  echo "libchdb: $PACKAGE is built for linux/x86_64 (this is $(uname -s)/$(uname -m)); use --clickhouse with a ClickHouse server instead" >&2
  exit 1
fi
command -v npm >/dev/null || { echo "libchdb: npm is needed to download $PACKAGE@$VERSION" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "libchdb: downloading $PACKAGE@$VERSION (166 MB) ..."
(cd "$tmp" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/libchdb.so
mkdir -p "$CACHE"
mv "$tmp/package/libchdb.so" "$CACHE/libchdb.so.partial"
mv "$CACHE/libchdb.so.partial" "$CACHE/libchdb.so"
echo "libchdb: installed $CACHE/libchdb.so"
