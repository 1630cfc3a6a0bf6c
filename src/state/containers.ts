/**
 * Container metadata from a Docker-compatible API socket (dockerd, or podman's
 * `podman system service`), cached per container id, bounded, with hit/miss metrics.
 * Lookups are asynchronous; `get()` answers from the cache and starts a fetch on a miss.
 */
import http from 'node:http';
import type { ContainerRuntime } from './cgroup.js';

export interface ContainerMount {
  source: string;
  dest: string;
  mode: string;
  rdwr: boolean;
  propagation: string;
}

export interface ContainerInfo {
  /** Full 64-hex id. */
  id: string;
  type: ContainerRuntime;
  /** True when the API answered for this id; false = only the cgroup told us it is a container. */
  hasMetadata: boolean;
  name?: string;
  image?: string;
  imageId?: string;
  imageRepository?: string;
  imageTag?: string;
  imageDigest?: string;
  labels: Record<string, string>;
  privileged?: boolean;
  mounts: ContainerMount[];
  /** Start time, ns since the epoch. */
  startTs?: number;
  ip?: string;
  hostPid?: boolean;
  hostNetwork?: boolean;
  hostIpc?: boolean;
  /** Host pid of the container's init process (State.Pid). */
  pid?: number;
  healthcheck?: string;
  podName?: string;
  podNamespace?: string;
  podUid?: string;
  podSandboxId?: string;
  podLabels: Record<string, string>;
}

export interface ContainerStats {
  size: number;
  hits: number;
  /** Lookups of an id the API did not know (or could not be asked). */
  misses: number;
  apiErrors: number;
  apiRequests: number;
}

export interface ContainerRegistryOptions {
  /** Docker-compatible API socket; undefined = no metadata (ids only). */
  socketPath?: string;
  maxEntries?: number;
  /** Re-ask the API for an id it did not know after this long. */
  negativeTtlMs?: number;
  timeoutMs?: number;
  onError?: (msg: string) => void;
}

/** `repo[:tag][@digest]` → parts (a registry port is not a tag). */
export function parseImageRef(ref: string): { repository: string; tag?: string; digest?: string } {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { repository: rest, tag, digest };
}

interface DockerInspect {
  Id?: string;
  Name?: string;
  Image?: string;
  Created?: string;
  Config?: {
    Image?: string;
    Labels?: Record<string, string> | null;
    Healthcheck?: { Test?: string[] } | null;
  };
  HostConfig?: { Privileged?: boolean; PidMode?: string; NetworkMode?: string; IpcMode?: string };
  State?: { StartedAt?: string; Pid?: number };
  Mounts?:
    | { Source?: string; Destination?: string; Mode?: string; RW?: boolean; Propagation?: string }[]
    | null;
  NetworkSettings?: { IPAddress?: string; Networks?: Record<string, { IPAddress?: string }> | null };
}

export function containerFromInspect(id: string, type: ContainerRuntime, j: DockerInspect): ContainerInfo {
  const labels = j.Config?.Labels ?? {};
  const imageRef = j.Config?.Image ?? '';
  const img = parseImageRef(imageRef);
  const started = j.State?.StartedAt ? Date.parse(j.State.StartedAt) : Number.NaN;
  let ip = j.NetworkSettings?.IPAddress || undefined;
  if (!ip && j.NetworkSettings?.Networks) {
    for (const n of Object.values(j.NetworkSettings.Networks)) if (n.IPAddress) ip = n.IPAddress;
  }
  const podLabels: Record<string, string> = {};
  const podName = labels['io.kubernetes.pod.name'];
  if (podName !== undefined) {
    for (const [k, v] of Object.entries(labels)) {
      if (!k.startsWith('io.kubernetes.') && !k.startsWith('annotation.')) podLabels[k] = v;
    }
  }
  const test = j.Config?.Healthcheck?.Test;
  return {
    id,
    type,
    hasMetadata: true,
    name: (j.Name ?? '').replace(/^\//, '') || undefined,
    image: imageRef || undefined,
    imageId: j.Image ? j.Image.replace(/^sha256:/, '') : undefined,
    imageRepository: img.repository || undefined,
    imageTag: img.tag,
    imageDigest: img.digest,
    labels,
    privileged: j.HostConfig?.Privileged ?? false,
    mounts: (j.Mounts ?? []).map((m) => ({
      source: m.Source ?? '',
      dest: m.Destination ?? '',
      mode: m.Mode ?? '',
      rdwr: m.RW ?? false,
      propagation: m.Propagation ?? '',
    })),
    startTs: Number.isNaN(started) ? undefined : started * 1e6,
    ip,
    hostPid: j.HostConfig?.PidMode === 'host',
    hostNetwork: j.HostConfig?.NetworkMode === 'host',
    hostIpc: j.HostConfig?.IpcMode === 'host',
    pid: j.State?.Pid || undefined,
    healthcheck: test && test.length > 1 ? test.slice(1).join(' ') : undefined,
    podName,
    podNamespace: labels['io.kubernetes.pod.namespace'],
    podUid: labels['io.kubernetes.pod.uid'],
    podSandboxId: labels['io.kubernetes.sandbox.id'],
    podLabels,
  };
}

function bareContainer(id: string, type: ContainerRuntime): ContainerInfo {
  return { id, type, hasMetadata: false, labels: {}, mounts: [], podLabels: {} };
}

export class ContainerRegistry {
  private readonly cache = new Map<string, ContainerInfo>();
  private readonly missAt = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<ContainerInfo>>();
  private readonly max: number;
  private readonly negativeTtlMs: number;
  private readonly timeoutMs: number;
  readonly stats: ContainerStats = { size: 0, hits: 0, misses: 0, apiErrors: 0, apiRequests: 0 };

  constructor(private readonly opts: ContainerRegistryOptions = {}) {
    this.max = opts.maxEntries ?? 4096;
    this.negativeTtlMs = opts.negativeTtlMs ?? 2000;
    this.timeoutMs = opts.timeoutMs ?? 2000;
  }

  /** Cached info (possibly without metadata yet); starts a fetch when needed. */
  get(id: string, type: ContainerRuntime): ContainerInfo {
    const c = this.cache.get(id);
    if (c?.hasMetadata) {
      this.stats.hits++;
      return c;
    }
    if (c && !this.shouldRetry(id)) return c;
    void this.fetch(id, type);
    return this.cache.get(id) ?? this.put(bareContainer(id, type));
  }

  /** Resolves once metadata for `id` has been fetched (or the fetch failed). */
  fetch(id: string, type: ContainerRuntime): Promise<ContainerInfo> {
    const running = this.inflight.get(id);
    if (running) return running;
    const cached = this.cache.get(id);
    if (cached?.hasMetadata) return Promise.resolve(cached);
    if (cached && !this.shouldRetry(id)) return Promise.resolve(cached);
    if (!this.opts.socketPath) {
      this.stats.misses++;
      this.missAt.set(id, Date.now());
      return Promise.resolve(cached ?? this.put(bareContainer(id, type)));
    }
    const p = this.inspect(id)
      .then((j) => {
        if (!j) {
          this.stats.misses++;
          this.missAt.set(id, Date.now());
          return this.cache.get(id) ?? this.put(bareContainer(id, type));
        }
        this.missAt.delete(id);
        return this.put(containerFromInspect(id, type, j));
      })
      .finally(() => this.inflight.delete(id));
    this.inflight.set(id, p);
    return p;
  }

  /** True while a fetch for `id` is running. */
  isPending(id: string): boolean {
    return this.inflight.has(id);
  }

  peek(id: string): ContainerInfo | undefined {
    return this.cache.get(id);
  }

  /** Forget a container (e.g. on a `die`/`remove` event). */
  forget(id: string): void {
    this.cache.delete(id);
    this.missAt.delete(id);
    this.stats.size = this.cache.size;
  }

  private shouldRetry(id: string): boolean {
    const at = this.missAt.get(id);
    return at === undefined || Date.now() - at >= this.negativeTtlMs;
  }

  private put(info: ContainerInfo): ContainerInfo {
    this.cache.delete(info.id);
    this.cache.set(info.id, info);
    while (this.cache.size > this.max) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
      this.missAt.delete(oldest);
    }
    this.stats.size = this.cache.size;
    return info;
  }

  private inspect(id: string): Promise<DockerInspect | undefined> {
    this.stats.apiRequests++;
    const socketPath = this.opts.socketPath!;
    return new Promise((resolve) => {
      const req = http.get(
        {
          socketPath,
          path: `/v1.41/containers/${id}/json`,
          timeout: this.timeoutMs,
          headers: { host: 'docker' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode === 404) return resolve(undefined);
            if (res.statusCode !== 200) {
              this.stats.apiErrors++;
              this.opts.onError?.(
                `container API ${socketPath}: HTTP ${res.statusCode} for ${id.slice(0, 12)}`,
              );
              return resolve(undefined);
            }
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as DockerInspect);
            } catch (e) {
              this.stats.apiErrors++;
              this.opts.onError?.(
                `container API ${socketPath}: bad JSON for ${id.slice(0, 12)}: ${String(e)}`,
              );
              resolve(undefined);
            }
          });
          res.on('error', () => resolve(undefined));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)));
      req.on('error', (e) => {
        this.stats.apiErrors++;
        this.opts.onError?.(`container API ${socketPath}: ${e.message}`);
        resolve(undefined);
      });
    });
  }
}
