import { randomUUID } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, conflictOr404, notFound } from '../../http/errors.js';
import { campaignRefusal } from '../../lib/campaigns.js';
import { cancelQueuedJob, enqueueJob } from '../../jobs/queue.js';
import { recordAudit } from '../audit/service.js';
import { meterMessages, type Plans } from '../billing/limits.js';
import { requireSender, withIdentity } from '../senders/identity.js';
import { isSuppressed } from '../suppressions/service.js';
import { campaignEvents } from '../webhooks/sources.js';
import { campaignStats, countEmailAudience, findCampaign, toCampaignDto } from './campaign-service.js';
import { composeMessage, prepareCampaign, type Recipient } from './compose.js';
import { classifySendError, type Mailer, type OutgoingMail } from './mailer.js';
import type { RenderPool } from './render-pool.js';
import { CAMPAIGN_QUEUE, campaignJobKey } from './campaign-channel.js';
import { renderFailure } from './template-check.js';
import type { TokenSigner } from './tokens.js';

const { emailCampaigns: campaigns, emailMessages: messages } = schema;

const refused = (tx: Tx, ctx: TenantContext, id: string, verb: string) =>
  conflictOr404(findCampaign(tx, ctx.organizationId, id), (c) => campaignRefusal(c.status, verb));

/**
 * draft → sending (or scheduled when scheduledAt is in the future) and a send job, in one
 * transaction. Only a draft can be sent, so a second send is a 409. Its audience, counted now, is
 * accepted against this month's email allowance as a whole: over it, a 402 and nothing changes.
 */
export async function sendCampaign(tx: Tx, ctx: TenantContext, id: string, config: Config) {
  const current = await findCampaign(tx, ctx.organizationId, id);
  if (!current) throw notFound();
  if (current.status === 'draft') {
    await requireSender(tx, ctx.organizationId, current.fromEmail, config);
    const missing = [!current.subject.trim() && 'subject', !current.html.trim() && 'html'].filter(Boolean) as string[];
    if (missing.length) {
      throw new AppError('validation_failed', 'The campaign is not ready to send', missing.map((path) => ({ in: 'body', path, message: 'Required before sending' })));
    }
  }
  const [row] = await tx
    .update(campaigns)
    .set({
      status: sql`case when ${campaigns.scheduledAt} > now() then 'scheduled' else 'sending' end`,
      startedAt: sql`case when ${campaigns.scheduledAt} > now() then null else now() end`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(campaigns.organizationId, ctx.organizationId), eq(campaigns.id, id), eq(campaigns.status, 'draft')))
    .returning();
  if (!row) return refused(tx, ctx, id, 'sent again');
  // Also refuses (400, rolled back) an audience whose segment has been deleted since it was saved.
  const { recipients } = await countEmailAudience(tx, ctx, row.audience ?? {});
  await meterMessages(tx, ctx.organizationId, 'email', recipients, config.billing.plans);
  await enqueueJob(tx, ctx.organizationId, CAMPAIGN_QUEUE, { campaignId: id }, { singletonKey: campaignJobKey(id), runAt: row.status === 'scheduled' ? row.scheduledAt : null });
  if (row.status === 'sending') await campaignEvents('email')(tx, ctx.organizationId, { id, name: row.name, status: 'sending' });
  await recordAudit(tx, ctx, { action: row.status === 'scheduled' ? 'email_campaign.scheduled' : 'email_campaign.sent', resourceType: 'email_campaign', resourceId: id, changes: { scheduledAt: row.scheduledAt?.toISOString() ?? null } });
  return toCampaignDto(row);
}

/** scheduled or sending → cancelled: messages not yet handed to the server are not sent. */
export async function cancelCampaign(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx
    .update(campaigns)
    .set({ status: 'cancelled', cancelledAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(campaigns.organizationId, ctx.organizationId), eq(campaigns.id, id), inArray(campaigns.status, ['scheduled', 'sending'])))
    .returning();
  if (!row) return refused(tx, ctx, id, 'cancelled');
  await tx
    .update(messages)
    .set({ status: 'cancelled', updatedAt: sql`now()` })
    .where(and(eq(messages.organizationId, ctx.organizationId), eq(messages.campaignId, id), eq(messages.status, 'queued')));
  await cancelQueuedJob(tx, ctx.organizationId, campaignJobKey(id));
  await recordAudit(tx, ctx, { action: 'email_campaign.cancelled', resourceType: 'email_campaign', resourceId: id });
  return toCampaignDto(row, (await campaignStats(tx, ctx.organizationId, [id])).get(id));
}

export interface TestSendDeps {
  config: Config;
  mailer: Mailer;
  signer: TokenSigner;
  pool: RenderPool;
}

/**
 * A test send may only reach a member of this organization whose address is verified (so it
 * cannot mail strangers), never a suppressed address. `memberships join users` for this
 * organization, email columns only: it keeps working when users are behind RLS.
 */
async function assertTestRecipient(tx: Tx, ctx: TenantContext, to: string) {
  const member = await tx.execute(sql`select 1 from memberships m join users u on u.id = m.user_id
    where m.organization_id = ${ctx.organizationId} and lower(u.email) = lower(${to}) and u.email_verified_at is not null limit 1`);
  if (!(member as unknown as { rows: unknown[] }).rows.length) {
    throw new AppError('recipient_not_allowed', "Test sends go only to a verified email address of one of this organization's members", [
      { in: 'body', path: 'to', message: 'Not a verified member address' },
    ]);
  }
  if (await isSuppressed(tx, ctx.organizationId, 'email', to)) {
    throw new AppError('recipient_not_allowed', 'This address is on the suppression list', [{ in: 'body', path: 'to', message: 'Suppressed' }]);
  }
}

/**
 * A test send is one preview to one member's address, rendered for the organization's customer with
 * that address when there is one (else with empty fields), from a verified sender. Not recorded as a
 * campaign message; its links are the original ones and its unsubscribe link is inert. Three steps,
 * so that no transaction waits on the render pool or the mail server: this one checks sender and
 * recipient and reads what to render (in the transaction); composeTestEmail renders it;
 * auditTestSend records it; sendComposedTest sends it.
 */
export async function loadTestEmail(tx: Tx, ctx: TenantContext, id: string, to: string, config: Config) {
  const campaign = await findCampaign(tx, ctx.organizationId, id);
  if (!campaign) throw notFound();
  const identity = await requireSender(tx, ctx.organizationId, campaign.fromEmail, config);
  await assertTestRecipient(tx, ctx, to);
  const [customer] = await tx
    .select()
    .from(schema.customers)
    .where(and(eq(schema.customers.organizationId, ctx.organizationId), sql`lower(${schema.customers.email}) = lower(${to})`));
  const recipient: Recipient = { messageId: randomUUID(), organizationId: ctx.organizationId, toEmail: to, customer: customer ?? { email: to, firstName: null, lastName: null } };
  return { campaign, recipient, identity };
}

/** Renders the preview in the render pool: a template over its budget is a 422, one that does not render a 400. */
export async function composeTestEmail(input: Awaited<ReturnType<typeof loadTestEmail>>, deps: TestSendDeps): Promise<OutgoingMail> {
  let mail;
  try {
    mail = await composeMessage(deps.pool, prepareCampaign(input.campaign), input.recipient, deps.signer, deps.config, { preview: true });
  } catch (err) {
    throw renderFailure(err);
  }
  return withIdentity({ ...mail, subject: `[Test] ${mail.subject}` }, input.identity);
}

/** Records a test send; it counts as one email of the month's allowance (402 when none is left). */
export async function auditTestSend(tx: Tx, ctx: TenantContext, id: string, to: string, plans: Plans) {
  await meterMessages(tx, ctx.organizationId, 'email', 1, plans);
  await recordAudit(tx, ctx, { action: 'email_campaign.test_sent', resourceType: 'email_campaign', resourceId: id, changes: { to } });
}

export async function sendComposedTest(mail: OutgoingMail, deps: TestSendDeps) {
  let res;
  try {
    res = await deps.mailer.send(mail);
  } catch (err) {
    throw new AppError('unavailable', `The mail server did not accept the message: ${classifySendError(err).reply}`);
  }
  return { accepted: true, to: mail.to, response: res.response };
}
