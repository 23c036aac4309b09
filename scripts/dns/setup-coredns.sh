#!/usr/bin/env bash
# Builds the real CoreDNS (github.com/coredns/coredns, pinned below) from the Go module proxy, with
# the plugins the DNS comparison test and bench use (kubernetes, forward, errors, ready, bind; see
# tools/go/coredns). The binary is cached per version outside the repo, in
# ${VIPWASM_CACHE:-~/.cache/vipwasm}/coredns/<version>/coredns. Idempotent: a binary built from the
# same wrapper module is kept. Without Go it says so and exits 0; the comparison then skips.
set -euo pipefail
cd "$(dirname "$0")/../.."

COREDNS_VERSION=v1.14.7
DIR="${VIPWASM_CACHE:-$HOME/.cache/vipwasm}/coredns/$COREDNS_VERSION"
MODULE=tools/go/coredns

if ! command -v go >/dev/null 2>&1; then
  echo "setup:coredns: Go not found on PATH; the CoreDNS comparison test and bench will skip (they need $DIR/coredns)"
  exit 0
fi
grep -q "github.com/coredns/coredns $COREDNS_VERSION" "$MODULE/go.mod" || { echo "setup:coredns: $MODULE/go.mod does not require coredns $COREDNS_VERSION" >&2; exit 1; }
. scripts/go-cached-build.sh
go_cached_build setup:coredns "$MODULE" . "$DIR/coredns" "$MODULE/go.mod" "$MODULE/go.sum" "$MODULE/main.go"
