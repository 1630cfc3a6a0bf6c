/**
 * `peregrine agent` (the daemon) and `peregrine replay` (rules over a recorded
 * event file, one alert JSON per line on stdout).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Agent, LogLimiter, RulesLoadError } from '../agent/agent.js';
import { type AgentConfig, ConfigError, loadConfig } from '../agent/config.js';
import type { EventSource } from '../agent/event-source.js';
import { RulesFileError, readRulesFiles } from '../agent/rules-files.js';
import { SyscallEventSource, syscallDecision } from '../agent/syscall-source.js';
import { renderAlert } from '../channels/index.js';
import { createLogger } from '../common/log.js';
import { type AnyExtractor, createEngine } from '../engine/index.js';
import { k8sAuditExtractor } from '../sources/k8saudit/extractor.js';
import { AuditParseError, parseAuditFile } from '../sources/k8saudit/parse.js';
import { K8sAuditSource } from '../sources/k8saudit/source.js';
import { readCapture } from '../sources/syscall/capture.js';
import { SyscallExtractor } from '../sources/syscall/extractor.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface CommonOpts {
  configFile?: string;
  rulesFile?: string[];
  option?: string[];
}

function fail(cmd: string, msg: string, code = 1): never {
  process.stderr.write(`peregrine ${cmd}: ${msg.endsWith('\n') ? msg : `${msg}\n`}`);
  process.exit(code);
}

function configFrom(cmd: string, opts: CommonOpts): AgentConfig {
  try {
    return loadConfig({
      file: opts.configFile,
      rules: opts.rulesFile,
      overrides: opts.option,
      warn: (w) => process.stderr.write(`peregrine ${cmd}: warning: ${w}\n`),
    });
  } catch (e) {
    if (e instanceof ConfigError) fail(cmd, e.message);
    throw e;
  }
}

/**
 * Event sources the agent runs for a config: the Kubernetes audit webhook and the
 * live syscall source (on by default when root with BPF; otherwise the log says why).
 */
export function agentSources(
  cfg: AgentConfig,
  hooks: ConstructorParameters<typeof K8sAuditSource>[0]['hooks'],
  log = createLogger('agent'),
) {
  const sources: EventSource[] = [];
  const syscall = syscallDecision(cfg.syscall);
  if (syscall.run) {
    if (syscall.reason)
      log.warn('syscall source forced on although it may not work here', { reason: syscall.reason });
    sources.push(new SyscallEventSource(cfg.syscall, cfg.hostname, log.child('syscall')) as EventSource);
  } else log.warn('syscall source off', { reason: syscall.reason });
  if (cfg.k8s_audit.enabled)
    sources.push(
      new K8sAuditSource({ config: cfg.k8s_audit, clusterName: cfg.cluster_name || undefined, hooks }),
    );
  return sources;
}

/** Extractors of every source the agent knows, so any default rules file loads even with a source off. */
export function allExtractors(cfg: AgentConfig): AnyExtractor[] {
  return [new SyscallExtractor(), k8sAuditExtractor({ clusterName: cfg.cluster_name || undefined })];
}

/** Replay readers per source: file content → extractor + events. */
export const REPLAY_SOURCES: Record<
  string,
  (path: string, cfg: AgentConfig) => { extractor: AnyExtractor; events: Iterable<unknown> }
> = {
  k8s_audit: (path, cfg) => {
    const text = readFileSync(path, 'utf8');
    const { events } = parseAuditFile(text, { maxEventSize: cfg.k8s_audit.maxEventSize });
    return { extractor: k8sAuditExtractor({ clusterName: cfg.cluster_name || undefined }), events };
  },
  syscall: (path) => ({ extractor: new SyscallExtractor(), events: readCapture(path) }),
};

export function registerAgentCommands(program: Command): void {
  program
    .command('agent')
    .description('run the agent: audit webhook (:9765/k8s-audit) → rules → alert channels; web on :8765')
    .option('-c, --config-file <file>', 'agent config (falco.yaml keys); default: config/peregrine.yaml')
    .option('-r, --rules-file <path>', 'rules file or directory; replaces rules_files (repeatable)', collect)
    .option('-o, --option <key=value>', 'set a config key by dotted path (repeatable)', collect)
    .option('--check', 'validate the configuration and the rules, then exit')
    .action(async (opts: CommonOpts & { check?: boolean }) => {
      const cfg = configFrom('agent', opts);
      const log = createLogger('agent');
      const metricsHolder: { agent?: Agent } = {};
      const rejectLog = new LogLimiter(10_000);
      const sources = agentSources(cfg, {
        onRequest: (code) => metricsHolder.agent?.metrics.webhookRequests.inc({ code: String(code) }),
        onSkipped: (reason, n) =>
          metricsHolder.agent?.metrics.eventsSkipped.inc({ source: 'k8s_audit', reason }, n),
        onError: (msg) =>
          rejectLog.run((suppressed) =>
            log.warn('audit webhook rejected a request', {
              reason: msg,
              similar_lines_suppressed: suppressed,
            }),
          ),
      });
      const agent = new Agent(cfg, { createEngine, sources, extraExtractors: allExtractors(cfg), log });
      metricsHolder.agent = agent;
      if (opts.check) {
        try {
          agent.loadRules();
        } catch (e) {
          fail('agent', (e as Error).message);
        }
        process.stdout.write(`config and rules ok (${cfg.rules_files.join(', ')})\n`);
        return;
      }
      try {
        await agent.start();
      } catch (e) {
        if (e instanceof RulesLoadError) fail('agent', `rules failed to load:\n${e.message}`);
        fail('agent', (e as Error).message);
      }
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        log.info('stopping: intake closed, draining outputs', { signal: sig });
        agent.stop().then(
          ({ undelivered }) => {
            log.info('stopped', { undelivered });
            process.exit(0);
          },
          (e: Error) => {
            log.error('stop failed', { error: e.message });
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => void agent.reload('SIGHUP'));
      process.on('SIGUSR1', () => agent.reopenOutputs());
      log.info('agent running', { pid: process.pid });
    });

  program
    .command('replay')
    .description('run the rules over recorded events (JSON, NDJSON or EventList); one alert JSON per line')
    .requiredOption('--source <name>', `event source (${Object.keys(REPLAY_SOURCES).join(', ')})`)
    .argument('<file>', 'events file')
    .option(
      '-c, --config-file <file>',
      'agent config for rules_files, priority, rule_matching, json_include_*',
    )
    .option('-r, --rules-file <path>', 'rules file or directory; replaces rules_files (repeatable)', collect)
    .option('-o, --option <key=value>', 'set a config key by dotted path (repeatable)', collect)
    .action((file: string, opts: CommonOpts & { source: string }) => {
      const reader = REPLAY_SOURCES[opts.source];
      if (!reader)
        fail('replay', `unknown source '${opts.source}' (known: ${Object.keys(REPLAY_SOURCES).join(', ')})`);
      const cfg = configFrom('replay', opts);
      let input: ReturnType<typeof reader>;
      try {
        input = reader(file, cfg);
      } catch (e) {
        if (e instanceof AuditParseError) fail('replay', `${file}: ${e.message}`);
        const err = e as NodeJS.ErrnoException;
        fail('replay', `cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
      }
      const engine = createEngine({
        extractors: [
          input.extractor,
          ...allExtractors(cfg).filter((x) => x.source !== input.extractor.source),
        ],
        priority: cfg.priority,
        ruleMatching: cfg.rule_matching,
        hostname: cfg.hostname,
        selection: cfg.rules,
      });
      let files: ReturnType<typeof readRulesFiles>;
      try {
        files = readRulesFiles(cfg.rules_files);
      } catch (e) {
        if (e instanceof RulesFileError) fail('replay', e.message);
        throw e;
      }
      const res = engine.load(files, cfg.rules);
      if (!res.successful) fail('replay', `rules failed to load:\n${res.toText()}`);
      const alertOpts = {
        json_include_output_property: true,
        json_include_message_property: true,
        json_include_tags_property: cfg.json_include_tags_property,
        json_include_output_fields_property: cfg.json_include_output_fields_property,
        time_format_iso_8601: cfg.time_format_iso_8601,
      };
      const jsonCfg = { ...cfg, json_output: true };
      let out = '';
      for (const ev of input.events) {
        for (const m of engine.process(opts.source, ev)) {
          const alert = engine.toAlert(m, ev, alertOpts);
          if (cfg.cluster_name) alert.cluster = cfg.cluster_name;
          out += `${renderAlert(alert, jsonCfg)}\n`;
          if (out.length > 1 << 16) {
            process.stdout.write(out);
            out = '';
          }
        }
      }
      process.stdout.write(out);
    });
}
