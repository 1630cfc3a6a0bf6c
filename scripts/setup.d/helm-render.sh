#!/usr/bin/env bash
# Build tools/helm-render (the offline `helm template` stand-in used by the chart tests)
# from Debian's Go packages: golang-go, golang-github-masterminds-sprig-dev,
# golang-gopkg-yaml.v3-dev, golang-k8s-sigs-yaml-dev (see scripts/debian-packages.txt).
# GOPATH mode against /usr/share/gocode: nothing is downloaded. Go resolves the
# "/v3" import of sprig (minimal module compatibility) only for code inside a GOPATH
# that has a go.mod, so the sources are copied into a throwaway GOPATH first.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=tools/helm-render
out="$src/bin/helm-render"
if [[ -x "$out" ]] && [[ -z "$(find "$src" -maxdepth 1 \( -name '*.go' -o -name go.mod \) -newer "$out")" ]]; then
  echo "[helm-render] up to date" >&2
  exit 0
fi
command -v go >/dev/null || { echo "[helm-render] go not found: install golang-go (scripts/debian-packages.txt)" >&2; exit 1; }
gopath=$(mktemp -d)
trap 'rm -rf "$gopath"' EXIT
mkdir -p "$gopath/src/helm-render" "$src/bin"
cp "$src"/*.go "$src/go.mod" "$gopath/src/helm-render/"
(
  cd "$gopath/src/helm-render"
  GO111MODULE=off GOFLAGS= GOPROXY=off GOPATH="$gopath:/usr/share/gocode" \
    GOCACHE="${GOCACHE:-$gopath/cache}" go build -trimpath -o "$OLDPWD/$out" .
)
echo "[helm-render] built $out" >&2
