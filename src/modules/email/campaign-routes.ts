import { z } from 'zod';
import type { Config } from '../../config.js';
import { ErrorOut, IdParams, orgErrors, type App } from '../../http/types.js';
import { CampaignCreate, CampaignListQuery, CampaignOut, CampaignPage, CampaignPatch, CampaignReplace } from './campaign-schemas.js';
import { createCampaign, deleteCampaign, getCampaign, listCampaigns, updateCampaign } from './campaign-service.js';

const tags = ['email'];

export function registerCampaignRoutes(app: App, config: Config) {
  app.get('/api/email/campaigns', {
    config: { access: 'org' },
    schema: { tags, summary: 'List email campaigns (filter status; cursor pagination)', querystring: CampaignListQuery, response: { 200: CampaignPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listCampaigns(tx, ctx, req.query)),
  });

  app.post('/api/email/campaigns', {
    config: { access: 'org' },
    schema: { tags, summary: 'Create an email campaign (Liquid subject and bodies, checked on save; fromEmail must be a verified sender)', body: CampaignCreate, response: { 201: CampaignOut, ...orgErrors } },
    handler: async (req, reply) => reply.code(201).send(await req.tenant((tx, ctx) => createCampaign(tx, ctx, req.body, config))),
  });

  app.get('/api/email/campaigns/:id', {
    config: { access: 'org' },
    schema: { tags, summary: 'Get an email campaign with its stats', params: IdParams, response: { 200: CampaignOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getCampaign(tx, ctx, req.params.id)),
  });

  app.put('/api/email/campaigns/:id', {
    config: { access: 'org' },
    schema: { tags, summary: 'Replace an email campaign (409 once sending or sent)', params: IdParams, body: CampaignReplace, response: { 200: CampaignOut, 409: ErrorOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => updateCampaign(tx, ctx, req.params.id, req.body, 'replace', config)),
  });

  app.patch('/api/email/campaigns/:id', {
    config: { access: 'org' },
    schema: { tags, summary: 'Update some fields of an email campaign (409 once sending or sent)', params: IdParams, body: CampaignPatch, response: { 200: CampaignOut, 409: ErrorOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => updateCampaign(tx, ctx, req.params.id, req.body, 'patch', config)),
  });

  app.delete('/api/email/campaigns/:id', {
    config: { access: 'org' },
    schema: { tags, summary: 'Delete an email campaign (409 once sending or sent)', params: IdParams, response: { 204: z.null(), 409: ErrorOut, ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => deleteCampaign(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });
}
