import type { K8sAuditConfig } from '../../agent/config.js';
import type { EventSource } from '../../agent/event-source.js';
import type { AnyExtractor } from '../../engine/api.js';
import type { AuditEvent } from './event.js';
import { k8sAuditExtractor } from './extractor.js';
import { startWebhook, type WebhookHooks, type WebhookServer } from './webhook.js';

export interface K8sAuditSourceOptions {
  config: K8sAuditConfig;
  clusterName?: string;
  hooks?: Omit<WebhookHooks, 'onEvents'>;
}

/** The `k8s_audit` event source: the audit webhook behind the agent's EventSource interface. */
export class K8sAuditSource implements EventSource<AuditEvent> {
  readonly name = 'k8s_audit';
  readonly extractor: AnyExtractor;
  private server: WebhookServer | undefined;

  constructor(private readonly opts: K8sAuditSourceOptions) {
    this.extractor = k8sAuditExtractor({ clusterName: opts.clusterName });
  }

  get url(): string | undefined {
    return this.server?.url;
  }

  async start(onEvent: (ev: AuditEvent) => void): Promise<void> {
    const c = this.opts.config;
    this.server = await startWebhook(
      {
        listenAddress: c.listen_address,
        port: c.listen_port,
        endpoint: c.endpoint,
        maxEventSize: c.maxEventSize,
        maxBatchSize: c.webhookMaxBatchSize,
        tls: c.ssl_enabled ? { certFile: c.ssl_certificate, keyFile: c.ssl_key || undefined } : undefined,
        bearerToken: c.bearer_token || undefined,
      },
      {
        ...this.opts.hooks,
        onEvents: (evs) => {
          for (const ev of evs) onEvent(ev);
        },
      },
    );
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await s?.close();
  }

  info(): Record<string, unknown> {
    return { k8s_audit_webhook: this.server?.url ?? null };
  }
}
