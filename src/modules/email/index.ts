import type { App, ModuleDeps } from '../../http/types.js';
import { registerAnalyticsRoutes } from './analytics.js';
import { registerCampaignRoutes } from './campaign-routes.js';
import { createMailer } from './mailer.js';
import { registerOutboxRoutes } from './outbox-routes.js';
import { registerSendRoutes } from './send-routes.js';
import { TokenSigner } from './tokens.js';
import { registerTrackingRoutes } from './tracking.js';
import { registerEmailWebhook } from './webhook.js';

/** The email channel: campaign records, sending, tracking, provider webhooks and analytics. */
export function registerEmailModule(app: App, { config, db }: ModuleDeps) {
  const mailer = createMailer(config);
  const signer = new TokenSigner(config.secrets.encryptionKey);
  app.addHook('onClose', async () => mailer.close());
  registerCampaignRoutes(app, config);
  registerSendRoutes(app, { config, mailer, signer });
  registerOutboxRoutes(app, config);
  registerTrackingRoutes(app, { db, signer, config });
  registerEmailWebhook(app, { db, config });
  registerAnalyticsRoutes(app);
}
