import { z } from 'zod';
import { perOrganization } from '../../http/throttle.js';
import { EmailAddress } from '../../lib/schemas.js';
import { ErrorOut, IdParams, orgErrors, type App } from '../../http/types.js';
import { CampaignOut } from './campaign-schemas.js';
import { auditTestSend, cancelCampaign, composeTestEmail, loadTestEmail, sendCampaign, sendComposedTest, type TestSendDeps } from './send-service.js';

const tags = ['email'];
export const TestSendBody = z
  .strictObject({ to: EmailAddress })
  .meta({ example: { to: 'me@acme.example' } });

export function registerSendRoutes(app: App, deps: TestSendDeps) {
  // Counts the previews that would go out: a foreign id (404) or a refused sender or recipient (400) costs nothing.
  const throttleTestSends = perOrganization(app, {
    name: 'test-send',
    max: deps.config.email.testSendsPerHour,
    windowMs: 3600_000,
    message: 'Too many test sends for this organization; try again later',
  });

  app.post('/api/email-campaigns/:id/send', {
    config: { access: 'org' },
    schema: {
      tags,
      operationId: 'sendEmailCampaign', summary: "Send a draft campaign to this organization's opted-in customers matching its audience (202; scheduled when scheduledAt is in the future; 409 if already sent; 402 plan_limit when its audience exceeds the month's remaining emails)",
      params: IdParams,
      response: { 202: CampaignOut, 402: ErrorOut, 409: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      const out = await req.tenant((tx, ctx) => sendCampaign(tx, ctx, req.params.id, deps.config));
      req.server.jobs?.poke();
      return reply.code(202).send(out);
    },
  });

  app.post('/api/email-campaigns/:id/cancel', {
    config: { access: 'org' },
    schema: { tags, operationId: 'cancelEmailCampaign', summary: 'Cancel a scheduled or sending campaign (409 otherwise)', params: IdParams, response: { 200: CampaignOut, 409: ErrorOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => cancelCampaign(tx, ctx, req.params.id)),
  });

  app.post('/api/email/campaigns/:id/test', {
    config: { access: 'org' },
    schema: {
      tags,
      operationId: 'sendEmailCampaignTest', summary: "Send one preview of the campaign to a verified member's address (from a verified sender; not to suppressed addresses; rate-limited per organization; 422 when its template is over the render budget)",
      params: IdParams,
      body: TestSendBody,
      response: { 202: z.object({ accepted: z.boolean(), to: z.string(), response: z.string() }), 402: ErrorOut, 422: ErrorOut, 429: ErrorOut, 503: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      const { id } = req.params;
      const { to } = req.body;
      // Checked (sender, recipient) in one transaction, rendered outside any, then audited and
      // throttled in one: a 429 rolls the audit entry back with it, and a refusal costs no quota.
      const input = await req.tenant((tx, ctx) => loadTestEmail(tx, ctx, id, to, deps.config));
      const mail = await composeTestEmail(input, deps);
      await req.tenant(async (tx, ctx) => {
        await auditTestSend(tx, ctx, id, to, deps.config.billing.plans);
        await throttleTestSends(req, reply);
      });
      return reply.code(202).send(await sendComposedTest(mail, deps));
    },
  });
}
