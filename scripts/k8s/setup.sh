#!/usr/bin/env bash
# Builds the real Kubernetes components the cluster suites use, from the Go module proxy, pinned to
# one release: kube-apiserver, kube-controller-manager, kube-proxy and kubectl (k8s.io/kubernetes
# through the wrapper module in tools/go/k8s) and etcd (tools/go/etcd). Binaries are cached per
# version outside the repo, in ${VIPWASM_CACHE:-~/.cache/vipwasm}/k8s/<version>/bin. Idempotent:
# a binary already built is kept. Without Go it says so and exits 0; the suites then skip.
set -euo pipefail
cd "$(dirname "$0")/../.."

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.7.3
BIN="${VIPWASM_CACHE:-$HOME/.cache/vipwasm}/k8s/$K8S_VERSION/bin"

if ! command -v go >/dev/null 2>&1; then
  echo "setup:k8s: Go not found on PATH; the real-Kubernetes suites will skip (they need $BIN)"
  exit 0
fi
. scripts/go-cached-build.sh

# A binary is reused when it was built from the same wrapper module (go.mod and go.sum).
build() { # build <module dir> <binary name> <package>
  go_cached_build setup:k8s "$1" "$3" "$BIN/$2" "$1/go.mod" "$1/go.sum"
}

build tools/go/etcd etcd vipwasm.dev/tools/etcd
for cmd in kube-apiserver kube-controller-manager kube-proxy kubectl; do
  build tools/go/k8s "$cmd" "k8s.io/kubernetes/cmd/$cmd"
done
printf 'kubernetes %s\netcd %s\n' "$K8S_VERSION" "$ETCD_VERSION" > "$BIN/VERSIONS"
echo "setup:k8s: ready in $BIN"
