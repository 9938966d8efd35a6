import { orgErrors, type App } from '../../http/types.js';
import { DashboardStats } from './schemas.js';
import { getDashboardStats } from './service.js';

export function registerDashboardRoutes(app: App) {
  app.get('/api/dashboard/stats', {
    config: { access: 'org' },
    schema: { tags: ['dashboard'], operationId: 'getDashboardStats', summary: "Counts for the caller's organization only: customers, campaigns, messages and calls by status", response: { 200: DashboardStats, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getDashboardStats(tx, ctx)),
  });
}
