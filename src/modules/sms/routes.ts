import { z } from 'zod';
import { ErrorOut, IdParams, orgErrors, type App } from '../../http/types.js';
import { SmsCampaignCreate, SmsCampaignListQuery, SmsCampaignOut, SmsCampaignPage, SmsCampaignPatch, SmsCampaignReplace } from './schemas.js';
import { createSmsCampaign, deleteSmsCampaign, getSmsCampaign, listSmsCampaigns, updateSmsCampaign } from './service.js';

const tags = ['sms'];

export function registerSmsRoutes(app: App) {
  app.get('/api/sms/campaigns', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listSmsCampaigns', summary: 'List SMS campaigns (filter status; cursor pagination)', querystring: SmsCampaignListQuery, response: { 200: SmsCampaignPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listSmsCampaigns(tx, ctx, req.query)),
  });

  app.post('/api/sms/campaigns', {
    config: { access: 'org' },
    schema: { tags, operationId: 'createSmsCampaign', summary: 'Create an SMS campaign (sending is a separate step)', body: SmsCampaignCreate, response: { 201: SmsCampaignOut, ...orgErrors } },
    handler: async (req, reply) => reply.code(201).send(await req.tenant((tx, ctx) => createSmsCampaign(tx, ctx, req.body))),
  });

  app.get('/api/sms/campaigns/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getSmsCampaign', summary: 'Get an SMS campaign with its delivery stats', params: IdParams, response: { 200: SmsCampaignOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getSmsCampaign(tx, ctx, req.params.id)),
  });

  app.put('/api/sms/campaigns/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'replaceSmsCampaign', summary: 'Replace an SMS campaign (omitted fields reset); 409 once sending or sent', params: IdParams, body: SmsCampaignReplace, response: { 200: SmsCampaignOut, 409: ErrorOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => updateSmsCampaign(tx, ctx, req.params.id, req.body, 'replace')),
  });

  app.patch('/api/sms/campaigns/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'updateSmsCampaign', summary: 'Update some fields of an SMS campaign; 409 once sending or sent', params: IdParams, body: SmsCampaignPatch, response: { 200: SmsCampaignOut, 409: ErrorOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => updateSmsCampaign(tx, ctx, req.params.id, req.body, 'patch')),
  });

  app.delete('/api/sms/campaigns/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'deleteSmsCampaign', summary: 'Delete an SMS campaign and its messages; 409 once sending or sent', params: IdParams, response: { 204: z.null(), 409: ErrorOut, ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => deleteSmsCampaign(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });
}
