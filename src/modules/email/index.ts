import type { App, ModuleDeps } from '../../http/types.js';
import { registerCampaignRoutes } from './campaign-routes.js';

/** The email channel: campaign records, sending, tracking, provider webhooks and analytics. */
export function registerEmailModule(app: App, _deps: ModuleDeps) {
  registerCampaignRoutes(app);
}
