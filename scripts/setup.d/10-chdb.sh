#!/usr/bin/env bash
# The embedded ClickHouse engine.
exec "$(dirname "$0")/../install-chdb.sh"
