import { z } from 'zod';
import type { Config } from '../../config.js';
import { ErrorOut, IdParams, orgErrors, type App } from '../../http/types.js';
import { Audience } from '../../lib/campaigns.js';
import { requireAudienceSegment } from '../segments/index.js';
import { smsCampaignAnalytics } from './analytics.js';
import { countSmsAudience } from './audience.js';
import { listInboundSms } from './inbound-list.js';
import { bodyPreviewSource, campaignPreviewSource, previewSms } from './preview.js';
import type { RenderPool } from './render.js';
import {
  InboundListQuery,
  InboundPage,
  SmsCampaignAnalytics,
  SmsCampaignCreate,
  SmsCampaignListQuery,
  SmsCampaignOut,
  SmsCampaignPage,
  SmsCampaignPatch,
  SmsCampaignPreviewIn,
  SmsCampaignReplace,
  SmsPreviewIn,
  SmsPreviewOut,
  SmsSettingsOut,
  SmsSettingsPut,
} from './schemas.js';
import { createSmsCampaign, deleteSmsCampaign, getSmsCampaign, listSmsCampaigns, updateSmsCampaign } from './service.js';
import { cancelSmsCampaign, sendSmsCampaign } from './send-service.js';
import { getSmsSettings, putSmsSettings } from './settings.js';

const tags = ['sms'];

export function registerSmsRoutes(app: App, { pool, config }: { pool: RenderPool; config: Config }) {
  app.get('/api/sms/settings', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getSmsSettings', summary: 'The organization\'s SMS settings: HELP reply, quiet hours, default sender number', response: { 200: SmsSettingsOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getSmsSettings(tx, ctx)),
  });

  app.put('/api/sms/settings', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'putSmsSettings', summary: 'Replace the SMS settings (admin; omitted fields reset)', body: SmsSettingsPut, response: { 200: SmsSettingsOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => putSmsSettings(tx, ctx, req.body)),
  });

  app.post('/api/sms/preview', {
    config: { access: 'org' },
    schema: { tags, operationId: 'previewSmsBody', summary: 'Render an SMS body (Liquid) for a customer or a sample one, with segments and encoding', body: SmsPreviewIn, response: { 200: SmsPreviewOut, 422: ErrorOut, ...orgErrors } },
    handler: async (req) => previewSms(pool, await req.tenant((tx, ctx) => bodyPreviewSource(tx, ctx, req.body))),
  });

  app.post('/api/sms/campaigns/:id/preview', {
    config: { access: 'org' },
    schema: { tags, operationId: 'previewSmsCampaign', summary: "Render a campaign's body for a customer or a sample one, with segments and encoding", params: IdParams, body: SmsCampaignPreviewIn, response: { 200: SmsPreviewOut, 422: ErrorOut, ...orgErrors } },
    handler: async (req) => previewSms(pool, await req.tenant((tx, ctx) => campaignPreviewSource(tx, ctx, req.params.id, req.body))),
  });

  // The contract's path, and the same under /api/sms/campaigns.
  for (const [url, operationId] of [
    ['/api/sms-campaigns/:id/send', 'sendSmsCampaign'],
    ['/api/sms/campaigns/:id/send', 'sendSmsCampaignAlias'],
  ] as const) {
    app.post(url, {
      config: { access: 'org' },
      schema: {
        tags,
        operationId,
        summary: "Send an SMS campaign (202: a durable job texts the audience); 409 when not a draft or without an SMS-enabled number; 402 plan_limit when its audience exceeds the month's remaining SMS",
        params: IdParams,
        response: { 202: SmsCampaignOut, 402: ErrorOut, 409: ErrorOut, ...orgErrors },
      },
      handler: async (req, reply) => {
        const out = await req.tenant((tx, ctx) => sendSmsCampaign(tx, ctx, req.params.id, config.billing.plans));
        req.server.jobs?.poke();
        return reply.code(202).send(out);
      },
    });
  }

  app.post('/api/sms/campaigns/:id/cancel', {
    config: { access: 'org' },
    schema: { tags, operationId: 'cancelSmsCampaign', summary: 'Cancel a scheduled or sending SMS campaign: messages not yet handed to Twilio are not sent', params: IdParams, response: { 200: SmsCampaignOut, 409: ErrorOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => cancelSmsCampaign(tx, ctx, req.params.id)),
  });

  app.get('/api/sms/campaigns/:id/analytics', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getSmsCampaignAnalytics', summary: 'Delivery, opt-outs, segments, cost estimate and error codes of an SMS campaign', params: IdParams, response: { 200: SmsCampaignAnalytics, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => smsCampaignAnalytics(tx, ctx, config, req.params.id)),
  });

  app.get('/api/sms/inbound', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listInboundSms', summary: 'Messages customers sent to the organization\'s numbers (newest first; filter customerId)', querystring: InboundListQuery, response: { 200: InboundPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listInboundSms(tx, ctx, req.query)),
  });

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

  app.post('/api/sms/audience/count', {
    config: { access: 'org' },
    schema: {
      tags,
      operationId: 'countSmsAudience',
      summary: "How many messages a campaign with this audience would send now (opted in to SMS, a valid number not suppressed, one per number; any of the tags (all when none), members of the segment when given; 400 for a segment the organization does not have)",
      body: Audience.meta({ example: { tags: ['vip'] } }),
      response: { 200: z.object({ recipients: z.number().int() }), ...orgErrors },
    },
    handler: (req) =>
      req.tenant(async (tx, ctx) => {
        await requireAudienceSegment(tx, ctx.organizationId, req.body.segmentId);
        return { recipients: await countSmsAudience(tx, ctx.organizationId, req.body) };
      }),
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
