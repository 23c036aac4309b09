#!/usr/bin/env bash
# Builds envoycheck (tools/go/envoycheck): Envoy's v3 API protos and protoc-gen-validate rules from
# github.com/envoyproxy/go-control-plane through the Go module proxy, which the Envoy suites run on
# every example and generated envoy.yaml (Envoy itself cannot be installed here). Cached outside the
# repo in ${VIPWASM_CACHE:-~/.cache/vipwasm}/envoycheck/bin. Idempotent: rebuilt only when the
# checker's sources or go.mod/go.sum change. Without Go it says so and exits 0; the checks then skip.
set -euo pipefail
cd "$(dirname "$0")/../.."

SRC=tools/go/envoycheck
BIN="${VIPWASM_CACHE:-$HOME/.cache/vipwasm}/envoycheck/bin"

if ! command -v go >/dev/null 2>&1; then
  echo "setup:envoy: Go not found on PATH; the envoy.yaml checks against Envoy's API will skip (they need $BIN/envoycheck)"
  exit 0
fi
. scripts/go-cached-build.sh
go_cached_build setup:envoy "$SRC" . "$BIN/envoycheck" "$SRC"/go.mod "$SRC"/go.sum "$SRC"/*.go
