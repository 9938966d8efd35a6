import { z } from 'zod';
import { Audience } from '../../lib/campaigns.js';
import type { Config } from '../../config.js';
import { requireOrg } from '../../http/access.js';
import { ErrorOut, IdParams, orgErrors, type App } from '../../http/types.js';
import { CampaignCreate, CampaignListQuery, CampaignOut, CampaignPage, CampaignPatch, CampaignReplace, type CampaignInput } from './campaign-schemas.js';
import { countEmailAudience, createCampaign, deleteCampaign, getCampaign, listCampaigns, updateCampaign } from './campaign-service.js';
import type { RenderPool } from './render-pool.js';
import { checkCampaignTemplates } from './template-check.js';

const tags = ['email'];
/** 400: invalid Liquid (or any other invalid field); 422: a template over its render budget. */
const templateErrors = { ...orgErrors, 422: ErrorOut } as const;

export function registerCampaignRoutes(app: App, deps: { pool: RenderPool; config: Config }) {
  // Before the transaction: a render may take its whole budget, and holds no connection meanwhile.
  const check = (req: Parameters<typeof requireOrg>[0], body: CampaignInput) => checkCampaignTemplates(deps.pool, deps.config, requireOrg(req).organizationId, body);

  app.get('/api/email/campaigns', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listEmailCampaigns', summary: 'List email campaigns (filter status; cursor pagination)', querystring: CampaignListQuery, response: { 200: CampaignPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listCampaigns(tx, ctx, req.query)),
  });

  app.post('/api/email/campaigns', {
    config: { access: 'org' },
    schema: { tags, operationId: 'createEmailCampaign', summary: 'Create an email campaign (Liquid subject and bodies, checked on save; fromEmail must be a verified sender)', body: CampaignCreate, response: { 201: CampaignOut, ...templateErrors } },
    handler: async (req, reply) => {
      await check(req, req.body);
      return reply.code(201).send(await req.tenant((tx, ctx) => createCampaign(tx, ctx, req.body, deps.config)));
    },
  });

  app.post('/api/email/audience/count', {
    config: { access: 'org' },
    schema: {
      tags,
      operationId: 'countEmailAudience',
      summary: "How many customers a campaign with this audience would be sent to now (opted in, active, not suppressed, any of the tags (all when none), members of the segment when given; 400 for a segment the organization does not have)",
      body: Audience.meta({ example: { tags: ['newsletter'] } }),
      response: { 200: z.object({ recipients: z.number().int() }), ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => countEmailAudience(tx, ctx, req.body)),
  });

  app.get('/api/email/campaigns/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getEmailCampaign', summary: 'Get an email campaign with its stats', params: IdParams, response: { 200: CampaignOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getCampaign(tx, ctx, req.params.id)),
  });

  app.put('/api/email/campaigns/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'replaceEmailCampaign', summary: 'Replace an email campaign (409 once sending or sent)', params: IdParams, body: CampaignReplace, response: { 200: CampaignOut, 409: ErrorOut, ...templateErrors } },
    handler: async (req) => {
      await check(req, req.body);
      return req.tenant((tx, ctx) => updateCampaign(tx, ctx, req.params.id, req.body, 'replace', deps.config));
    },
  });

  app.patch('/api/email/campaigns/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'updateEmailCampaign', summary: 'Update some fields of an email campaign (409 once sending or sent)', params: IdParams, body: CampaignPatch, response: { 200: CampaignOut, 409: ErrorOut, ...templateErrors } },
    handler: async (req) => {
      await check(req, req.body);
      return req.tenant((tx, ctx) => updateCampaign(tx, ctx, req.params.id, req.body, 'patch', deps.config));
    },
  });

  app.delete('/api/email/campaigns/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'deleteEmailCampaign', summary: 'Delete an email campaign (409 once sending or sent)', params: IdParams, response: { 204: z.null(), 409: ErrorOut, ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => deleteCampaign(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });
}
