/**
 * Every sink, in one explicit list. Each sink's folder has `index.ts` (its config keys and defaults, when
 * it is enabled) and `sink.ts` (encoder, sender, healthcheck), loaded lazily so unused client libraries are
 * never imported.
 */
import type { SinkDefinition } from '../delivery/sink.js';
import { alertmanagerSink } from './alertmanager/index.js';
import { cloudeventsSink } from './cloudevents/index.js';
import { consoleSink } from './console/index.js';
import { datadogSink } from './datadog/index.js';
import { discordSink } from './discord/index.js';
import { elasticsearchSink } from './elasticsearch/index.js';
import { fileSink } from './file/index.js';
import { googlechatSink } from './googlechat/index.js';
import { influxdbSink } from './influxdb/index.js';
import { lokiSink } from './loki/index.js';
import { mattermostSink } from './mattermost/index.js';
import { mqttSink } from './mqtt/index.js';
import { natsSink } from './nats/index.js';
import { opsgenieSink } from './opsgenie/index.js';
import { pagerdutySink } from './pagerduty/index.js';
import { postgresqlSink } from './postgresql/index.js';
import { rabbitmqSink } from './rabbitmq/index.js';
import { redisSink } from './redis/index.js';
import { rocketchatSink } from './rocketchat/index.js';
import { slackSink } from './slack/index.js';
import { smtpSink } from './smtp/index.js';
import { stdoutSink } from './stdout/index.js';
import { syslogSink } from './syslog/index.js';
import { teamsSink } from './teams/index.js';
import { webhookSink } from './webhook/index.js';
import { webuiSink } from './webui/index.js';

export const SINKS: SinkDefinition[] = [
  stdoutSink,
  fileSink,
  webhookSink,
  slackSink,
  rocketchatSink,
  mattermostSink,
  teamsSink,
  discordSink,
  googlechatSink,
  pagerdutySink,
  opsgenieSink,
  datadogSink,
  influxdbSink,
  lokiSink,
  elasticsearchSink,
  alertmanagerSink,
  cloudeventsSink,
  consoleSink,
  webuiSink,
  natsSink,
  mqttSink,
  redisSink,
  postgresqlSink,
  smtpSink,
  syslogSink,
  rabbitmqSink,
];
