import type { App, ModuleDeps } from '../http/types.js';
import { analyticsModule } from './analytics/index.js';
import { apiKeysModule } from './api-keys/index.js';
import { auditModule } from './audit/index.js';
import { authModule } from './auth/index.js';
import { billingModule } from './billing/index.js';
import { callsModule } from './calls/index.js';
import { customersModule } from './customers/index.js';
import { dashboardModule } from './dashboard/index.js';
import { emailModule } from './email/index.js';
import { inboxModule } from './inbox/index.js';
import { ivrModule } from './ivr/index.js';
import type { Module } from './module.js';
import { organizationsModule } from './organizations/index.js';
import { reportsModule } from './reports/index.js';
import { segmentsModule } from './segments/index.js';
import { sendersModule } from './senders/index.js';
import { shopifyModule } from './shopify/index.js';
import { smsModule } from './sms/index.js';
import { socialModule } from './social/index.js';
import { suppressionsModule } from './suppressions/index.js';
import { twilioModule } from './twilio/index.js';
import { webhooksModule } from './webhooks/index.js';

/**
 * Every feature module, in registration order. Adding a channel is its folder plus one line here:
 * its index.ts contributes routes (server) and job handlers (worker).
 */
export const modules: readonly Module[] = [
  authModule,
  organizationsModule,
  apiKeysModule,
  auditModule,
  customersModule,
  emailModule,
  sendersModule,
  suppressionsModule,
  smsModule,
  dashboardModule,
  twilioModule,
  ivrModule,
  callsModule,
  shopifyModule,
  webhooksModule,
  billingModule,
  socialModule,
  analyticsModule,
  segmentsModule,
  reportsModule,
  inboxModule,
];

/** Each module registers its own routes from the few dependencies it needs. */
export function registerModules(app: App, deps: ModuleDeps) {
  for (const m of modules) m.routes?.(app, deps);
}
