import type { App, ModuleDeps } from '../../http/types.js';
import { registerAnalyticsRoutes } from './analytics.js';
import { registerCampaignRoutes } from './campaign-routes.js';
import { createMailer } from './mailer.js';
import { registerOutboxRoutes } from './outbox-routes.js';
import { acquireRenderPool } from './render-pool.js';
import { registerSendRoutes } from './send-routes.js';
import { TokenSigner } from './tokens.js';
import { registerTrackingRoutes } from './tracking.js';
import { registerEmailWebhook } from './webhook.js';

/** The email channel: campaign records, sending, tracking, provider webhooks and analytics. */
export function registerEmailModule(app: App, { config, db }: ModuleDeps) {
  const mailer = createMailer(config);
  const signer = new TokenSigner(config.secrets.encryptionKey);
  // Shared with the in-process job worker; the threads end with the last holder.
  const renderer = acquireRenderPool(config.templates);
  app.addHook('onClose', async () => {
    mailer.close();
    await renderer.release();
  });
  registerCampaignRoutes(app, { pool: renderer.pool, config });
  registerSendRoutes(app, { config, mailer, signer, pool: renderer.pool });
  registerOutboxRoutes(app, config);
  registerTrackingRoutes(app, { db, signer, config });
  registerEmailWebhook(app, { db, config });
  registerAnalyticsRoutes(app);
}
