import type { Module } from '../module.js';
import { registerShopifyRoutes } from './routes.js';
import { customerSyncHandler, SHOPIFY_SYNC_QUEUE } from './sync.js';
import { registerShopifyWebhooks } from './webhooks.js';

/**
 * Shopify stores: connecting one (custom-app token or the OAuth install), syncing its customers as a
 * durable job, its webhook subscriptions, and the webhooks themselves (customers, orders, uninstall
 * and the privacy topics).
 */
export const shopifyModule: Module = {
  name: 'shopify',
  routes(app, { config, db }) {
    registerShopifyRoutes(app, config);
    registerShopifyWebhooks(app, { db, config });
  },
  jobs({ db, config }) {
    return { handlers: { [SHOPIFY_SYNC_QUEUE]: customerSyncHandler(db, config) } };
  },
};
