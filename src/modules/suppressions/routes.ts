import { z } from 'zod';
import { ErrorOut, IdParams, orgErrors, type App } from '../../http/types.js';
import { SuppressionCreate, SuppressionListQuery, SuppressionOut, SuppressionPage } from './schemas.js';
import { addSuppression, listSuppressions, removeSuppression } from './service.js';

const tags = ['suppressions'];

export function registerSuppressionRoutes(app: App) {
  app.get('/api/suppressions', {
    config: { access: 'org' },
    schema: {
      tags,
      summary: 'List suppressed addresses (filter channel, address; cursor pagination)',
      operationId: 'listSuppressions',
      querystring: SuppressionListQuery,
      response: { 200: SuppressionPage, ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => listSuppressions(tx, ctx, req.query)),
  });

  // Any member may stop mail to an address; letting it be mailed again takes an admin.
  app.post('/api/suppressions', {
    config: { access: 'org' },
    schema: {
      tags,
      summary: 'Suppress an address by hand (409 when it already is)',
      operationId: 'createSuppression',
      body: SuppressionCreate,
      response: { 201: SuppressionOut, 409: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => reply.code(201).send(await req.tenant((tx, ctx) => addSuppression(tx, ctx, req.body))),
  });

  app.delete('/api/suppressions/:id', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      summary: 'Remove a suppression so the address can be messaged again (audited)',
      operationId: 'deleteSuppression',
      params: IdParams,
      response: { 204: z.null(), ...orgErrors },
    },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => removeSuppression(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });
}
