#!/bin/sh
# Build a reference dist/ of a git revision (default HEAD) into a temp dir, for same-run before/after
# comparisons in the micro-benchmarks: `sh bench/relay/micro/build-ref.sh [rev] [outdir]` prints the dist path.
# Uses `git archive` (no worktree, the working tree is untouched) and the repo's node_modules.
set -eu
rev=${1:-HEAD}
out=${2:-/tmp/peregrine-ref-$(git rev-parse --short "$rev")}
root=$(git rev-parse --show-toplevel)
rm -rf "$out"
mkdir -p "$out"
git -C "$root" archive "$rev" src tsconfig.json tsconfig.build.json package.json | tar -x -C "$out"
ln -s "$root/node_modules" "$out/node_modules"
(cd "$out" && "$root/node_modules/.bin/tsc" -p tsconfig.build.json >/dev/null 2>&1 || true)
test -f "$out/dist/relay/intake/payload.js"
echo "$out/dist"
