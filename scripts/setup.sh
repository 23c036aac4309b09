#!/usr/bin/env bash
# Installs everything the tests and benchmarks use: Debian packages (real kernel tools, peers,
# clients, Chromium) when running as root, then the npm dependencies (which build engine.wasm and
# the TypeScript). Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(openssl iproute2 iptables nftables nfacct conntrack ipvsadm ipset haproxy nginx-light iperf3 wrk curl dnsutils socat chromium)
missing=()
for d in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q 'install ok installed' || missing+=("$d")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts these services on install; tests and benchmarks run their own instances.
    for svc in nginx haproxy; do
      if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then systemctl stop "$svc" || true; fi
      pkill -x "$svc" 2>/dev/null || true
    done
  else
    echo "setup: not root, skipping Debian packages (${missing[*]}); tests that need them will skip"
  fi
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi

# The real Kubernetes components (kube-apiserver, kube-controller-manager, kube-proxy, kubectl,
# etcd) from the Go module proxy, cached outside the repo; without Go their suites skip.
bash scripts/k8s/setup.sh
bash scripts/envoy/setup.sh   # envoycheck: envoy.yaml against Envoy's own v3 API (go-control-plane)
bash scripts/dns/setup-coredns.sh
