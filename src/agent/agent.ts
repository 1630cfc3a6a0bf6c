/**
 * The agent daemon: event sources → rules engine → outputs queue → channels,
 * with the web server, rule reload (SIGHUP or a rules file change; validated
 * first, the running rules stay on error) and graceful shutdown (stop intake,
 * drain the queue within shutdown_timeout_ms).
 */
import { type FSWatcher, watch } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FalcoAlert } from '../alert/falco-alert.js';
import { parsePriority } from '../alert/priority.js';
import { type Channel, createChannels, OutputQueue, renderAlert } from '../channels/index.js';
import type { Logger } from '../common/log.js';
import type { AlertOptions, AnyExtractor, Engine, EngineOptions, LoadResult } from '../engine/api.js';
import { FALCO_ENGINE_VERSION, PEREGRINE_VERSION } from '../version.js';
import type { AgentConfig } from './config.js';
import type { EventSource } from './event-source.js';
import { AgentMetrics } from './metrics.js';
import { readRulesFiles, resolveRulesPaths } from './rules-files.js';
import { startWebServer, type WebServer } from './webserver.js';

export type EngineFactory = (opts: EngineOptions) => Engine;

export interface AgentDeps {
  createEngine: EngineFactory;
  sources: EventSource[];
  /** Extractors of sources that are not running, so their rules still load (e.g. syscall rules without BPF). */
  extraExtractors?: AnyExtractor[];
  log: Logger;
  /** Override the channels built from the config (tests). */
  channels?: Channel[];
  metrics?: AgentMetrics;
}

export class RulesLoadError extends Error {
  constructor(
    message: string,
    readonly result?: LoadResult,
  ) {
    super(message);
    this.name = 'RulesLoadError';
  }
}

/** Rate limiter for repeated log lines: at most one per interval, with the count of the suppressed ones. */
export class LogLimiter {
  private last = 0;
  private suppressed = 0;
  constructor(private readonly intervalMs: number) {}
  run(fn: (suppressed: number) => void): void {
    const now = Date.now();
    if (now - this.last >= this.intervalMs) {
      fn(this.suppressed);
      this.suppressed = 0;
      this.last = now;
    } else this.suppressed++;
  }
}

export class Agent {
  readonly metrics: AgentMetrics;
  private engine: Engine | undefined;
  private queue: OutputQueue | undefined;
  private web: WebServer | undefined;
  private watchers: FSWatcher[] = [];
  private reloadTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private started = false;
  private readonly alertOpts: AlertOptions;
  private readonly dropLog = new LogLimiter(10_000);
  private readonly errLog = new Map<string, LogLimiter>();
  /** Count of rules in the running engine. */
  rulesCount = 0;

  constructor(
    readonly config: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    this.metrics = deps.metrics ?? new AgentMetrics();
    this.alertOpts = {
      json_include_output_property: true,
      json_include_message_property: true,
      json_include_tags_property: config.json_include_tags_property,
      json_include_output_fields_property: config.json_include_output_fields_property,
      time_format_iso_8601: config.time_format_iso_8601,
    };
  }

  get webUrl(): string | undefined {
    return this.web?.url;
  }

  private newEngine(): Engine {
    return this.deps.createEngine({
      extractors: [
        ...this.deps.sources.map((s) => s.extractor),
        ...(this.deps.extraExtractors ?? []).filter(
          (x) => !this.deps.sources.some((s) => s.extractor.source === x.source),
        ),
      ],
      priority: this.config.priority,
      ruleMatching: this.config.rule_matching,
      hostname: this.config.hostname,
      selection: this.config.rules,
    });
  }

  /** Build an engine with the configured rules; throws RulesLoadError with positions on failure. */
  loadRules(): Engine {
    const files = (() => {
      try {
        return readRulesFiles(this.config.rules_files);
      } catch (e) {
        throw new RulesLoadError((e as Error).message);
      }
    })();
    const engine = this.newEngine();
    const res = engine.load(files, this.config.rules);
    if (!res.successful) throw new RulesLoadError(res.toText(false).trim(), res);
    const warnings = res.files.reduce((n, f) => n + f.warnings.length, 0);
    if (warnings > 0)
      this.deps.log.debug('rules loaded with warnings', { warnings, detail: res.toText(true) });
    return engine;
  }

  private installEngine(engine: Engine): void {
    this.engine = engine;
    this.rulesCount = engine.rules().filter((r) => r.enabled).length;
    this.metrics.rulesLoaded.set(this.rulesCount);
    for (const src of this.deps.sources) {
      if (!src.rulesLoaded) continue;
      Promise.resolve()
        .then(() => src.rulesLoaded!(engine))
        .catch((e: Error) =>
          this.deps.log.error('source could not adopt the new rules', { source: src.name, error: e.message }),
        );
    }
  }

  /** Queue an alert made outside the rules (internal alerts such as kernel drops). */
  emitInternal(alert: FalcoAlert): void {
    if (this.stopping || !this.queue) return;
    if (this.config.cluster_name) alert.cluster = this.config.cluster_name;
    this.queue.push({
      alert,
      line: renderAlert(alert, this.config),
      priority: parsePriority(alert.priority) ?? 7,
    });
  }

  async start(): Promise<void> {
    const log = this.deps.log;
    this.installEngine(this.loadRules());
    log.info('rules loaded', { files: this.config.rules_files.join(','), rules: this.rulesCount });

    const channels = this.deps.channels ?? createChannels(this.config, log);
    this.queue = new OutputQueue(channels, this.config.outputs_queue.capacity, {
      onDrop: (n) => {
        this.metrics.queueDrops.inc();
        this.dropLog.run((suppressed) =>
          log.error('outputs queue full: alert dropped', {
            capacity: this.config.outputs_queue.capacity,
            dropped_total: n,
            dropped_since_last_log: suppressed + 1,
          }),
        );
      },
      onError: (ch, err, count) => {
        this.metrics.channelErrors.inc({ channel: ch }, count);
        let lim = this.errLog.get(ch);
        if (!lim) this.errLog.set(ch, (lim = new LogLimiter(10_000)));
        lim.run((suppressed) =>
          log.error(`${ch} output failed`, {
            error: err.message,
            failed: count,
            suppressed_lines: suppressed,
          }),
        );
      },
      onSent: (ch, count) => this.metrics.channelSent.inc({ channel: ch }, count),
      onDepth: (d) => this.metrics.queueDepth.set(d),
    });

    if (this.config.webserver.enabled) {
      this.web = await startWebServer(this.config.webserver, {
        registry: this.metrics.registry,
        healthy: () => !this.stopping,
        versions: () => this.versions(),
      });
      log.info('web server listening', { url: this.web.url });
    }
    for (const src of this.deps.sources) {
      src.emitInternal = (a) => this.emitInternal(a);
      src.registerMetrics?.(this.metrics.registry);
      await src.start((ev) => this.handleEvent(src.name, ev));
      log.info('event source started', { source: src.name, ...(src.info?.() ?? {}) });
    }
    if (this.config.watch_config_files) this.watchRules();
    this.started = true;
  }

  versions(): Record<string, unknown> {
    const [, minor] = FALCO_ENGINE_VERSION.split('.');
    return {
      peregrine_version: PEREGRINE_VERSION,
      engine_version: minor,
      engine_version_semver: FALCO_ENGINE_VERSION,
      sources: this.deps.sources.map((s) => s.name),
      plugin_versions: {},
    };
  }

  /** Per-source metric children (label lookups are cached: they cost more than the increments). */
  private sourceMetrics(source: string) {
    let m = this.perSource.get(source);
    if (!m) {
      m = { events: this.metrics.events.labels(source), eval: this.metrics.ruleEval.labels(source) };
      this.perSource.set(source, m);
    }
    return m;
  }
  private readonly perSource = new Map<
    string,
    {
      events: ReturnType<AgentMetrics['events']['labels']>;
      eval: ReturnType<AgentMetrics['ruleEval']['labels']>;
    }
  >();
  private readonly perRule = new Map<string, ReturnType<AgentMetrics['alerts']['labels']>>();

  /** Run the rules on one event and queue its alerts. Never throws. */
  handleEvent(source: string, ev: unknown): void {
    if (this.stopping || !this.engine) return;
    const sm = this.sourceMetrics(source);
    sm.events.inc();
    const engine = this.engine;
    const t0 = performance.now();
    let matches: ReturnType<Engine['process']>;
    try {
      matches = engine.process(source, ev);
    } catch (e) {
      this.deps.log.error('rule evaluation failed', { source, error: (e as Error).message });
      return;
    }
    sm.eval.observe((performance.now() - t0) / 1000);
    for (const m of matches) {
      try {
        const alert = engine.toAlert(m, ev, this.alertOpts);
        if (this.config.cluster_name) alert.cluster = this.config.cluster_name;
        const key = `${alert.rule}\u0000${alert.priority}\u0000${alert.source}`;
        let counter = this.perRule.get(key);
        if (!counter) {
          counter = this.metrics.alerts.labels(alert.rule, alert.priority, alert.source);
          this.perRule.set(key, counter);
        }
        counter.inc();
        const level = parsePriority(alert.priority) ?? 7;
        this.queue?.push({ alert, line: renderAlert(alert, this.config), priority: level });
      } catch (e) {
        this.deps.log.error('alert formatting failed', { rule: m.rule.name, error: (e as Error).message });
      }
    }
  }

  /**
   * Validate the rules files and, when they load, switch to them; on error keep
   * the running rules and log the errors with their positions. Returns success.
   */
  reload(reason: string): Promise<boolean> {
    // Loading is synchronous (files are read and compiled in one go), so reloads never overlap.
    const log = this.deps.log;
    try {
      const engine = this.loadRules();
      this.installEngine(engine);
      this.metrics.reloads.inc({ result: 'ok' });
      log.info('rules reloaded', { reason, rules: this.rulesCount });
      if (this.config.watch_config_files && this.started) this.watchRules();
      return Promise.resolve(true);
    } catch (e) {
      this.metrics.reloads.inc({ result: 'error' });
      log.error(`rules reload failed (${reason}); keeping the running rules`, {
        errors: `\n${(e as Error).message}`,
      });
      return Promise.resolve(false);
    }
  }

  private watchRules(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    let files: string[];
    try {
      files = resolveRulesPaths(this.config.rules_files).map((f) => resolve(f));
    } catch {
      files = [];
    }
    const dirs = new Map<string, Set<string> | null>();
    for (const entry of this.config.rules_files) {
      const abs = resolve(entry);
      if (!files.includes(abs)) dirs.set(abs, null); // a configured directory: any yaml change
    }
    for (const f of files) {
      const d = dirname(f);
      const cur = dirs.get(d);
      if (cur === null) continue;
      const set = cur ?? new Set<string>();
      set.add(f.slice(d.length + 1));
      dirs.set(d, set);
    }
    for (const [dir, names] of dirs) {
      try {
        const w = watch(dir, { persistent: false }, (_ev, name) => {
          const n = name?.toString();
          if (names && n && !names.has(n)) return;
          if (!names && n && !/\.ya?ml$/.test(n)) return;
          this.scheduleReload(`rules file changed: ${n ?? dir}`);
        });
        w.on('error', () => {});
        this.watchers.push(w);
      } catch (e) {
        this.deps.log.warn('cannot watch rules directory', { dir, error: (e as Error).message });
      }
    }
  }

  private scheduleReload(reason: string): void {
    if (this.stopping) return;
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => void this.reload(reason), 250);
  }

  /** SIGUSR1: reopen output files (log rotation). */
  reopenOutputs(): void {
    this.queue?.reopen();
    this.deps.log.info('outputs reopened');
  }

  /** Stop intake, drain the queue (at most shutdown_timeout_ms), close everything. */
  async stop(): Promise<{ undelivered: number }> {
    if (this.stopping) return { undelivered: 0 };
    this.stopping = true;
    clearTimeout(this.reloadTimer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
    const log = this.deps.log;
    await Promise.all(
      this.deps.sources.map((s) =>
        s.stop().catch((e: Error) => log.warn('source stop failed', { source: s.name, error: e.message })),
      ),
    );
    let undelivered = 0;
    if (this.queue) {
      undelivered = await this.queue.drain(this.config.shutdown_timeout_ms);
      if (undelivered > 0)
        log.warn('shutdown timeout: alerts left undelivered', {
          undelivered,
          timeout_ms: this.config.shutdown_timeout_ms,
        });
      await this.queue.close();
    }
    await this.web?.close();
    return { undelivered };
  }
}
