import type { App, ModuleDeps } from '../http/types.js';
import { registerApiKeyRoutes } from './api-keys/routes.js';
import { registerAuditRoutes } from './audit/routes.js';
import { registerAuthRoutes } from './auth/routes.js';
import { registerCustomerRoutes } from './customers/routes.js';
import { callsModule } from './calls/index.js';
import { registerDashboardRoutes } from './dashboard/routes.js';
import { registerEmailModule } from './email/index.js';
import { ivrModule } from './ivr/index.js';
import { registerOrganizationRoutes } from './organizations/routes.js';
import { registerSenderRoutes } from './senders/routes.js';
import { registerSmsRoutes } from './sms/routes.js';
import { registerSuppressionRoutes } from './suppressions/routes.js';

/** Each module registers its own routes from the few dependencies it needs. */
export function registerModules(app: App, deps: ModuleDeps) {
  registerAuthRoutes(app, deps);
  registerOrganizationRoutes(app, deps);
  registerApiKeyRoutes(app, deps);
  registerAuditRoutes(app);
  registerCustomerRoutes(app, deps);
  registerEmailModule(app, deps);
  registerSenderRoutes(app, deps);
  registerSuppressionRoutes(app);
  registerSmsRoutes(app);
  registerDashboardRoutes(app);
  ivrModule.routes!(app, deps);
  callsModule.routes!(app, deps);
}
