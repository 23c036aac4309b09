#!/usr/bin/env bash
# Repeat the timing-sensitive source tests (file watching, API-server reconnects) to catch flakes,
# as Cilium's stress.sh does for its control-plane tests.  Usage: test/sources/stress.sh [runs=20]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-20}
for i in $(seq "$runs"); do
  echo "run $i/$runs"
  npx vitest run test/sources test/golden/sources.test.ts --reporter=dot >/tmp/vipwasm-stress.log 2>&1 || { cat /tmp/vipwasm-stress.log; echo "failed on run $i"; exit 1; }
done
echo "all $runs runs passed"
