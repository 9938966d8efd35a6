import type { Module } from '../module.js';
import { registerBillingRoutes } from './routes.js';
import { registerStripeWebhooks } from './webhooks.js';

export { setPlan } from './account.js';

/**
 * Plans and their limits (enforced through limits.ts by the modules that add what a plan limits),
 * usage, Stripe Checkout and the customer portal, and Stripe's webhooks.
 */
export const billingModule: Module = {
  name: 'billing',
  routes(app, { config, db }) {
    registerBillingRoutes(app, config);
    registerStripeWebhooks(app, { db, config });
  },
};
