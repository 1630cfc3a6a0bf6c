import { existsSync } from 'node:fs';

/**
 * Live tests (eBPF, real containers) need root and BPF. They may skip only when
 * those are missing, printing why; with CI=true a missing prerequisite fails.
 */
export function liveUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'kernel BTF (/sys/kernel/btf/vmlinux) missing';
  if (!existsSync('/sys/fs/bpf')) return 'BPF filesystem missing';
  return undefined;
}

export function liveOrSkip(what: string): boolean {
  const reason = liveUnavailableReason();
  if (!reason) return true;
  if (process.env.CI === 'true') throw new Error(`${what}: cannot run live test under CI: ${reason}`);
  process.stderr.write(`[live] ${what} skipped: ${reason}\n`);
  return false;
}
