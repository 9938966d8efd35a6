import { z } from 'zod';
import { ErrorOut, IdParams, orgErrors, type App } from '../../http/types.js';
import { CampaignOut } from './campaign-schemas.js';
import { auditTestSend, cancelCampaign, composeTestEmail, loadTestEmail, sendCampaign, sendComposedTest, type TestSendDeps } from './send-service.js';

const tags = ['email'];
export const TestSendBody = z
  .strictObject({ to: z.email().max(254) })
  .meta({ example: { to: 'me@acme.example' } });

export function registerSendRoutes(app: App, deps: TestSendDeps) {
  app.post('/api/email-campaigns/:id/send', {
    config: { access: 'org' },
    schema: {
      tags,
      summary: "Send a draft campaign to this organization's opted-in customers matching its audience (202; scheduled when scheduledAt is in the future; 409 if already sent)",
      params: IdParams,
      response: { 202: CampaignOut, 409: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      const out = await req.tenant((tx, ctx) => sendCampaign(tx, ctx, req.params.id));
      req.server.jobs?.poke();
      return reply.code(202).send(out);
    },
  });

  app.post('/api/email-campaigns/:id/cancel', {
    config: { access: 'org' },
    schema: { tags, summary: 'Cancel a scheduled or sending campaign (409 otherwise)', params: IdParams, response: { 200: CampaignOut, 409: ErrorOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => cancelCampaign(tx, ctx, req.params.id)),
  });

  app.post('/api/email/campaigns/:id/test', {
    config: { access: 'org' },
    schema: {
      tags,
      summary: 'Send one preview of the campaign to one address (422 when its template is over the render budget)',
      params: IdParams,
      body: TestSendBody,
      response: { 202: z.object({ accepted: z.boolean(), to: z.string(), response: z.string() }), 422: ErrorOut, 503: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      const { id } = req.params;
      const { to } = req.body;
      const input = await req.tenant((tx, ctx) => loadTestEmail(tx, ctx, id, to));
      const mail = await composeTestEmail(input, deps);
      await req.tenant((tx, ctx) => auditTestSend(tx, ctx, id, to));
      return reply.code(202).send(await sendComposedTest(mail, deps));
    },
  });
}
