# Sourced by the setup scripts that build real components from the Go module proxy (k8s, CoreDNS,
# envoycheck): one binary, cached outside the repo, rebuilt only when its stamp inputs change.
#
# go_cached_build <tag> <module dir> <package> <output path> <stamp input file>...
#   The stamp is the first 16 hex digits of the sha256 of the stamp inputs, concatenated; a binary
#   whose <output>.stamp matches is kept. The build writes a temporary file, then moves it into place,
#   so an interrupted build never leaves a binary that looks cached.
go_cached_build() {
  local tag=$1 dir=$2 pkg=$3 out=$4
  shift 4
  local name stamp start
  name=$(basename "$out")
  stamp=$(cat "$@" | sha256sum | cut -c1-16)
  if [ -x "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$tag: $name is cached ($out)"
    return
  fi
  echo "$tag: building $name from $pkg in $dir (a few minutes the first time)"
  start=$SECONDS
  mkdir -p "$(dirname "$out")"
  (cd "$dir" && GOFLAGS="-trimpath -buildvcs=false" go build -ldflags='-s -w' -o "$out.tmp.$$" "$pkg")
  mv "$out.tmp.$$" "$out"
  echo "$stamp" > "$out.stamp"
  echo "$tag: built $name in $((SECONDS - start)) s ($out)"
}
