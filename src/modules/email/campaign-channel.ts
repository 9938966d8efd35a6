import { sql, type SQL } from 'drizzle-orm';
import type { CampaignChannel, CampaignRow, Claimed } from '../../channels/campaign-engine.js';
import type { Config } from '../../config.js';
import type { Database, Tx } from '../../db/index.js';
import { arr } from '../../db/sql.js';
import { audienceSegmentFilter } from '../segments/index.js';
import { senderIdentity, withIdentity, type SendingIdentity } from '../senders/identity.js';
import { campaignEvents } from '../webhooks/sources.js';
import { composeMessage, extractLinks, prepareCampaign, type CampaignContent, type PreparedCampaign } from './compose.js';
import { classifySendError, type Mailer, type OutgoingMail } from './mailer.js';
import { TemplateRenderError, TemplateTooExpensiveError, type RenderPool } from './render-pool.js';
import type { TokenSigner } from './tokens.js';

export const CAMPAIGN_QUEUE = 'email.campaign';
export const campaignJobKey = (campaignId: string) => `email-campaign:${campaignId}`;

export interface EmailChannelDeps {
  db: Database;
  config: Config;
  mailer: Mailer;
  signer: TokenSigner;
  pool: RenderPool;
}

/**
 * Who an email campaign goes to (customers `c`): opted-in, active, unsuppressed addresses of the
 * organization with any of the tags (every one when none), members of the segment when the audience names
 * one (`segment`: its compiled condition, see audienceSegmentFilter). The send and the audience count share it.
 */
export const emailAudience = (org: string, tags: string[], segment: SQL = sql`true`) => sql`c.organization_id = ${org}
  and c.email is not null and c.email_opt_in and c.unsubscribed_at is null and c.email_status = 'active'
  and not exists (select 1 from suppressions s
    where s.organization_id = c.organization_id and s.channel = 'email' and s.address = lower(c.email))
  and (cardinality(${arr(tags)}::text[]) = 0 or c.tags && ${arr(tags)}::text[])
  and ${segment}`;

/** What one run of an email campaign's send shares between its messages. */
interface Run {
  prepared: PreparedCampaign;
  /** The verified sender the messages go out as (DKIM key, envelope). */
  identity: SendingIdentity;
  /**
   * Set once a recipient's render went over its budget twice: the template would cost as much for
   * every other recipient, whose messages then fail without being rendered.
   */
  tooExpensive: string | null;
}

const contentOf = (c: CampaignRow): CampaignContent => ({
  id: c.id,
  name: c.name,
  subject: c.subject,
  preheader: c.preheader,
  fromName: c.from_name,
  fromEmail: c.from_email,
  replyTo: c.reply_to,
  html: c.html,
  text: c.text,
});

/**
 * Email on the campaign engine: the audience is the organization's opted-in, deliverable,
 * unsuppressed customers with the campaign's tags; a message is rendered in the template pool and
 * signed with the verified sender's DKIM key; the transport is SMTP (or the local outbox).
 */
export function emailCampaignChannel(deps: EmailChannelDeps): CampaignChannel<Run, OutgoingMail> {
  const { db, config } = deps;
  return {
    provider: 'mail server',
    tables: { campaigns: 'email_campaigns', messages: 'email_messages', address: 'to_email' },
    statusChanged: campaignEvents('email'),
    concurrency: config.email.concurrency,
    ratePerSecond: config.email.ratePerSecond,
    maxAttempts: config.email.maxAttempts,
    retryBaseMs: config.email.retryBaseMs,

    async audience(tx: Tx, org: string, c: CampaignRow) {
      const tags: string[] = c.audience?.tags ?? [];
      // The recipients are frozen here, once, when the send starts (beginSend): one message row per
      // member now; customers who join the segment or get the tag later are not added.
      const segment = await audienceSegmentFilter(tx, org, c.audience?.segmentId);
      await tx.execute(sql`
        insert into email_messages (organization_id, campaign_id, customer_id, to_email)
        select c.organization_id, ${c.id}, c.id, c.email from customers c
        where ${emailAudience(org, tags, segment)}
        order by c.id
        on conflict do nothing`);
      // The links the click tokens point at, fixed with the recipients.
      await tx.execute(sql`update email_campaigns set tracked_links = ${arr(extractLinks(c.html).links)}::text[]
        where organization_id = ${org} and id = ${c.id}`);
    },

    async prepare(org, c) {
      const content = contentOf(c);
      // Checked when the send was asked for; checked again here, since a sender can be removed meanwhile.
      const identity = await db.withTenant(org, (tx) => senderIdentity(tx, org, content.fromEmail, config));
      if (!identity) return { fail: 'The sender address is not verified' };
      return { run: { prepared: prepareCampaign(content), identity, tooExpensive: null } };
    },

    async compose(run, m: Claimed) {
      const failed = (error: string) => ({ outcome: { id: m.messageId, status: 'failed' as const, error: error.slice(0, 1000) } });
      const recipient = { messageId: m.messageId, organizationId: m.organizationId, toEmail: m.address, customer: { ...m.customer, email: m.customer.email ?? m.address } };
      try {
        // Over budget once may be a machine busy with something else (the budget is wall-clock time): once more.
        for (let attempt = 1; ; attempt++) {
          if (run.tooExpensive) return failed(run.tooExpensive);
          try {
            return { message: withIdentity(await composeMessage(deps.pool, run.prepared, recipient, deps.signer, config), run.identity) };
          } catch (err) {
            if (!(err instanceof TemplateTooExpensiveError) || attempt === 2) throw err;
          }
        }
      } catch (err) {
        // A template that cannot render for this recipient will not render on a retry either.
        if (err instanceof TemplateTooExpensiveError) return failed((run.tooExpensive ??= `Template too expensive: ${err.message}`));
        if (err instanceof TemplateRenderError) return failed(`Template error: ${err.message}`);
        // The renderer itself (shutting down): the message goes back to the queue untouched.
        return { outcome: { id: m.messageId, status: 'queued' as const } };
      }
    },

    async transport(_run, mail) {
      try {
        const res = await deps.mailer.send(mail);
        return { ok: true, providerMessageId: res.providerMessageId };
      } catch (err) {
        const { permanent, reply } = classifySendError(err);
        return { ok: false, error: reply, permanent };
      }
    },

    async recorded(tx, org, rows) {
      // A refused or deferred hand-over is on the message's timeline, as the server said it.
      const errors = rows.filter((r) => r.error !== null);
      if (!errors.length) return;
      await tx.execute(sql`
        insert into email_events (organization_id, message_id, type, payload)
        select ${org}, v.id, case when v.status = 'failed' then 'failed' else 'deferred' end, jsonb_build_object('error', v.error, 'source', 'smtp')
        from unnest(${arr(errors.map((r) => r.id))}::uuid[], ${arr(errors.map((r) => r.status))}::text[], ${arr(errors.map((r) => r.error))}::text[]) as v(id, status, error)`);
    },
  };
}
