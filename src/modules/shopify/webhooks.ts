import { sql } from 'drizzle-orm';
import { registerProviderWebhook } from '../../channels/webhook.js';
import type { Config } from '../../config.js';
import type { Database } from '../../db/index.js';
import { query } from '../../db/sql.js';
import { AppError } from '../../http/errors.js';
import type { App } from '../../http/types.js';
import { applyShopifyEvent, type Outcome, type ShopifyEvent } from './apply.js';
import { verifyWebhookHmac } from './client.js';

// Shopify webhooks on the provider-webhook pipeline (src/channels/webhook.ts). Shopify signs every
// delivery with the app's secret (one platform key): the HMAC is checked on the raw bytes first, then
// the organization is found by the shop domain through the one reviewed system lookup.

/** Shopify's payloads are a few KB; large orders stay well under this. */
const BODY_LIMIT = 1024 * 1024;
const badSignature = () => new AppError('unauthorized', 'Invalid Shopify webhook signature');
const header = (h: Record<string, unknown>, name: string) => (typeof h[name] === 'string' ? (h[name] as string) : '');

export function registerShopifyWebhooks(app: App, { db, config }: { db: Database; config: Config }) {
  registerProviderWebhook<ShopifyEvent, Outcome[]>(app, { db, config }, {
    path: '/api/webhooks/shopify',
    provider: 'shopify',
    operationId: 'shopifyWebhook',
    summary: 'Shopify webhook (X-Shopify-Hmac-Sha256 over the raw body with the app secret; deduplicated on X-Shopify-Webhook-Id)',
    description:
      'Topics: customers/create, customers/update, orders/create, app/uninstalled and the privacy topics customers/data_request, customers/redact, shop/redact. ' +
      'The organization is the one the shop (X-Shopify-Shop-Domain) is connected to; a shop connected nowhere is acknowledged and ignored.',
    tags: ['webhooks'],
    contentTypes: ['application/json'],
    bodyLimit: BODY_LIMIT,
    lookup: (fn) => db.withSystem('resolve-shopify-webhook', fn),
    unavailable: () => (config.shopify.apiSecret ? null : 'Shopify is not configured on this server (SHOPIFY_API_SECRET)'),
    checkHeaders(headers) {
      if (!header(headers, 'x-shopify-hmac-sha256') || !header(headers, 'x-shopify-topic') || !header(headers, 'x-shopify-shop-domain')) throw badSignature();
    },
    async receive(delivery, lookup) {
      if (!verifyWebhookHmac(config.shopify.apiSecret!, delivery.raw, header(delivery.headers, 'x-shopify-hmac-sha256'))) throw badSignature();
      let body: unknown;
      try {
        body = JSON.parse(delivery.raw.toString('utf8'));
      } catch {
        throw new AppError('bad_request', 'The webhook body is not JSON');
      }
      const shop = header(delivery.headers, 'x-shopify-shop-domain').toLowerCase();
      const rows = await lookup((tx) =>
        query<{ organization_id: string }>(tx, sql`select organization_id from integrations where provider = 'shopify' and external_id = ${shop}`),
      );
      if (!rows.length) return { placed: [], unknown: 1 };
      const webhookId = header(delivery.headers, 'x-shopify-webhook-id') || header(delivery.headers, 'x-shopify-event-id') || null;
      return {
        placed: [{ organizationId: rows[0].organization_id, eventId: webhookId, event: { topic: header(delivery.headers, 'x-shopify-topic'), shop, webhookId, body } }],
        unknown: 0,
      };
    },
    async apply(tx, ctx, events) {
      const out: Outcome[] = [];
      for (const e of events) out.push(await applyShopifyEvent(tx, ctx, e, config.billing.plans));
      return out;
    },
  });
}
