import type { FastifyBaseLogger } from 'fastify';
import { AccountMailer } from '../auth/mail.js';
import type { Module } from '../module.js';
import { deliveryHandler } from './delivery.js';
import { WEBHOOK_DELIVERY_QUEUE } from './emit.js';
import { registerWebhookEndpointRoutes } from './routes.js';
import { WebhookSender } from './sender.js';
import { AddressPolicy } from './ssrf.js';

/** Outbound webhooks: endpoints and their delivery log (routes), signed deliveries with retries (jobs). Events come from emitEvent (emit.ts). */
export const webhooksModule: Module = {
  name: 'webhooks',
  routes(app, { config }) {
    registerWebhookEndpointRoutes(app, {
      policy: new AddressPolicy(config.outboundWebhooks.allowPrivateRanges),
      encryptionKey: config.secrets.encryptionKey,
      secretOverlapHours: config.outboundWebhooks.secretOverlapHours,
    });
  },
  jobs({ db, config }) {
    const sender = new WebhookSender(new AddressPolicy(config.outboundWebhooks.allowPrivateRanges), config.outboundWebhooks.timeoutMs);
    // The worker has no request logger; the mailer only logs a notice it could not send.
    const log = { error: (o: unknown, m?: string) => console.error(m, o) } as unknown as FastifyBaseLogger;
    const mailer = new AccountMailer(config, log);
    return {
      handlers: { [WEBHOOK_DELIVERY_QUEUE]: deliveryHandler({ db, config, sender, notify: (mail) => mailer.send(mail) }) },
      close: () => {
        sender.close();
        mailer.close();
      },
    };
  },
};
