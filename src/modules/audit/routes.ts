import { z } from 'zod';
import { pageOf, pageQuery } from '../../lib/pagination.js';
import { orgErrors, type App } from '../../http/types.js';
import { listAudit } from './service.js';

const AuditOut = z.object({
  id: z.uuid(),
  actorType: z.enum(['user', 'api_key', 'system']),
  actorId: z.uuid().nullable(),
  actorReason: z.string().nullable().describe('Why the platform acted, for system entries (e.g. a provider webhook)'),
  action: z.string(),
  resourceType: z.string(),
  resourceId: z.uuid().nullable(),
  changes: z.record(z.string(), z.unknown()).nullable(),
  requestId: z.string().nullable(),
  createdAt: z.string(),
});

export function registerAuditRoutes(app: App) {
  app.get('/api/audit-log', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags: ['audit'],
      operationId: 'listAuditLog', summary: 'Who did what to which resource, newest first',
      querystring: z.strictObject({ ...pageQuery, resourceType: z.string().max(64).optional(), resourceId: z.uuid().optional() }),
      response: { 200: pageOf(AuditOut), ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => listAudit(tx, ctx, req.query)),
  });
}
