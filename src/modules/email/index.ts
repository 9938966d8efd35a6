import { campaignSendHandler } from '../../channels/campaign-engine.js';
import type { Module } from '../module.js';
import { registerAnalyticsRoutes } from './analytics.js';
import { CAMPAIGN_QUEUE, emailCampaignChannel } from './campaign-channel.js';
import { registerCampaignRoutes } from './campaign-routes.js';
import { acquireMailer } from './mailer.js';
import { registerOutboxRoutes } from './outbox-routes.js';
import { acquireRenderPool } from './render-pool.js';
import { registerSendRoutes } from './send-routes.js';
import { TokenSigner } from './tokens.js';
import { registerTrackingRoutes } from './tracking.js';
import { registerEmailWebhook } from './webhook.js';

/** The email channel: campaign records, sending, tracking, provider webhooks and analytics. */
export const emailModule: Module = {
  name: 'email',
  routes(app, { config, db }) {
    const { mailer, release } = acquireMailer(config);
    const signer = new TokenSigner(config.secrets.encryptionKey);
    // Shared with the in-process job worker; the threads end with the last holder.
    const renderer = acquireRenderPool(config.templates);
    app.addHook('onClose', async () => {
      release();
      await renderer.release();
    });
    registerCampaignRoutes(app, { pool: renderer.pool, config });
    registerSendRoutes(app, { config, mailer, signer, pool: renderer.pool });
    registerOutboxRoutes(app, config);
    registerTrackingRoutes(app, { db, signer, config });
    registerEmailWebhook(app, { db, config });
    registerAnalyticsRoutes(app);
  },
  jobs({ db, config }) {
    const { mailer, release } = acquireMailer(config);
    // The process's render pool (shared with the API when the worker runs in-process), released on stop.
    const renderer = acquireRenderPool(config.templates);
    return {
      handlers: {
        [CAMPAIGN_QUEUE]: campaignSendHandler(
          db,
          emailCampaignChannel({ db, config, mailer, signer: new TokenSigner(config.secrets.encryptionKey), pool: renderer.pool }),
        ),
      },
      async close() {
        release();
        await renderer.release();
      },
    };
  },
};
