import { campaignSendHandler } from '../../channels/campaign-engine.js';
import { acquireRenderPool } from '../email/render-pool.js';
import type { Module } from '../module.js';
import { smsChannel } from './channel.js';
import { registerSmsRoutes } from './routes.js';
import { SMS_CAMPAIGN_QUEUE } from './send-service.js';
import { registerSmsWebhooks } from './webhooks.js';

/** The SMS channel: campaigns and their sends, settings, previews, analytics, Twilio webhooks, inbound messages. */
export const smsModule: Module = {
  name: 'sms',
  routes(app, { config, db, bus }) {
    // The process's template pool (shared with email and the in-process job worker).
    const renderer = acquireRenderPool(config.templates);
    app.addHook('onClose', () => renderer.release());
    registerSmsRoutes(app, { pool: renderer.pool, config });
    registerSmsWebhooks(app, { db, config, bus });
  },
  jobs({ db, config }) {
    const renderer = acquireRenderPool(config.templates);
    return {
      handlers: { [SMS_CAMPAIGN_QUEUE]: campaignSendHandler(db, smsChannel({ db, config, pool: renderer.pool })) },
      close: () => renderer.release(),
    };
  },
};
