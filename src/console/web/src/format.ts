export function fmtNumber(n: number): string {
  return n.toLocaleString('en-US');
}

export function fmtBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function fmtTime(iso: string): string {
  const d = new Date(iso);
  const pad = (x: number, l = 2) => String(x).padStart(l, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function fmtDuration(ms: number): string {
  if (!ms) return 'forever';
  const d = ms / 86_400_000;
  if (d >= 1 && Number.isInteger(d)) return `${d} day${d === 1 ? '' : 's'}`;
  const h = ms / 3_600_000;
  if (h >= 1 && Number.isInteger(h)) return `${h} hour${h === 1 ? '' : 's'}`;
  return `${Math.round(ms / 60_000)} min`;
}

export function priorityClass(p: string): string {
  return `prio prio-${p.toLowerCase()}`;
}
