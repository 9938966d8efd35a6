import type { Config } from '../../config.js';
import type { Database } from '../../db/index.js';
import { registerProviderWebhook } from '../../channels/webhook.js';
import type { App } from '../../http/types.js';
import { checkSendgridHeaders, importVerificationKey, receiveSendgridEvents } from './destinations/sendgrid.js';
import { applyEmailEvents, type EmailEvent } from './events.js';

/**
 * The email provider's event webhook on the shared provider-webhook pipeline (src/channels/webhook.ts):
 * SendGrid's signature and event format in destinations/sendgrid.ts, what the events do in events.ts.
 */
export function registerEmailWebhook(app: App, { db, config }: { db: Database; config: Config }) {
  const key = config.email.sendgridWebhookPublicKey ? importVerificationKey(config.email.sendgridWebhookPublicKey) : null;
  registerProviderWebhook<EmailEvent, number>(app, { db, config }, {
    path: '/api/webhooks/email',
    provider: 'sendgrid',
    operationId: 'receiveSendgridEvents',
    summary: 'SendGrid Event Webhook (ECDSA-signed JSON array of events)',
    contentTypes: ['application/json'],
    bodyLimit: config.email.sendgridWebhookBodyLimitBytes,
    // Which organization owns the messages a batch names; the changes then run in withTenant.
    lookup: (fn) => db.withSystem('resolve-email-webhook', fn),
    unavailable: () => (key ? null : 'Email event webhook is not configured (SENDGRID_WEBHOOK_PUBLIC_KEY)'),
    checkHeaders: checkSendgridHeaders,
    receive: (delivery, lookup) => receiveSendgridEvents(key!, delivery, lookup),
    apply: (tx, ctx, events) => applyEmailEvents(tx, ctx, events, 'sendgrid'),
  });
}
