import { slackWebhookSink } from '../../delivery/slack-webhook.js';

export const create = slackWebhookSink('rocketchat');
