#!/usr/bin/env bash
# Build the eBPF collector (collector/build/peregrine-collector and the bench load
# generator). vmlinux.h is generated from this machine's kernel BTF by the Makefile.
set -euo pipefail
cd "$(dirname "$0")/../../collector"
if [[ ! -r /sys/kernel/btf/vmlinux ]]; then
  echo "[collector] /sys/kernel/btf/vmlinux missing: kernel BTF is required to build the collector; skipped" >&2
  exit 0
fi
make -s
echo "[collector] built $(pwd)/build/peregrine-collector" >&2
