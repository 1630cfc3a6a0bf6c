#!/usr/bin/env bash
# Set up a Debian 12 machine (as root) to build, run and test peregrine.
# Idempotent: installs only the Debian packages that are missing, runs
# `apt-get update` only when something must be installed, then `npm ci` and the build.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' scripts/debian-packages.txt | grep -v '^$')
missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    log "missing Debian packages (${missing[*]}); run this script as root"
    exit 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Packages whose maintainer scripts would start system services: keep them stopped,
  # tests start their own instances on free loopback ports.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/peregrine-apt.log 2>&1; then
    log "apt-get install failed; refreshing package lists and retrying"
    apt-get update >>/tmp/peregrine-apt.log 2>&1
    apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/peregrine-apt.log 2>&1 \
      || { tail -n 40 /tmp/peregrine-apt.log >&2; exit 1; }
  fi
else
  log "Debian packages: all present"
fi

# Node dependencies (lockfile exact) and the build.
if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund
else
  log "node_modules up to date"
fi

for hook in scripts/setup.d/*.sh; do
  [[ -e "$hook" ]] || continue
  log "running $hook"
  bash "$hook"
done

log "build"
npm run --silent build
log "done"
