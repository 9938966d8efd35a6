import { z } from 'zod';
import { IdParams, orgErrors, type App, type ModuleDeps } from '../../http/types.js';
import { pageOf, pageQuery } from '../../lib/pagination.js';
import { GrantableRoleEnum } from '../auth/schemas.js';
import { announceRevokedKeys } from '../auth/key-revocation.js';
import { createApiKey, listApiKeys, revokeApiKey } from './service.js';

const ApiKeyOut = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  role: GrantableRoleEnum,
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  /** Who made it: a current member (a former member's keys were revoked when they left), else null. */
  createdBy: z.object({ userId: z.uuid(), name: z.string(), email: z.string() }).nullable(),
});

export function registerApiKeyRoutes(app: App, { db, bus }: ModuleDeps) {
  app.get('/api/api-keys', {
    config: { access: 'org', role: 'admin' },
    schema: { tags: ['api-keys'], operationId: 'listApiKeys', summary: 'API keys of the organization (prefix only), with who created each and when it was last used', querystring: z.strictObject(pageQuery), response: { 200: pageOf(ApiKeyOut), ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listApiKeys(tx, ctx, req.query)),
  });

  app.post('/api/api-keys', {
    // A key cannot mint keys: only a signed-in person can, so every key has a person behind it.
    config: { access: 'org', role: 'admin', sessionOnly: true },
    schema: {
      tags: ['api-keys'],
      operationId: 'createApiKey', summary: 'Create an API key; the secret is in this response only',
      body: z
        .strictObject({ name: z.string().trim().min(1).max(100), role: GrantableRoleEnum.default('member') })
        .meta({ example: { name: 'CRM sync', role: 'member' } }),
      response: { 201: ApiKeyOut.extend({ key: z.string() }), ...orgErrors },
    },
    handler: async (req, reply) => reply.code(201).send(await req.tenant((tx, ctx) => createApiKey(tx, ctx, req.body))),
  });

  app.delete('/api/api-keys/:id', {
    config: { access: 'org', role: 'admin' },
    schema: { tags: ['api-keys'], operationId: 'revokeApiKey', summary: 'Revoke an API key', params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => revokeApiKey(tx, ctx, req.params.id));
      // After the commit, on every process (the bus): a request racing the revocation cannot re-cache the key.
      await announceRevokedKeys({ bus, db, log: req.log }, req.principal!.organizationId!, [req.params.id]);
      return reply.code(204).send(null);
    },
  });
}
