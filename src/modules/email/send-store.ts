import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import { extractLinks, type CampaignContent, type Recipient } from './compose.js';

// The SQL of a campaign send. Every statement names organization_id and runs in withTenant.
// Message rows drive the send: queued → sending (claimed) → sent | queued again (retry) | failed.

/** A JS array as ONE parameter (drizzle's sql`` would otherwise expand it into a list). */
export const arr = (v: unknown[]) => sql.param(v);
export const rowsOf = <T>(r: unknown) => (r as { rows: T[] }).rows;

export type BeginResult =
  | { kind: 'done'; reason: string }
  | { kind: 'later'; at: Date }
  | { kind: 'send'; content: CampaignContent; links: string[] };

/**
 * Starts or resumes a campaign's send: a due scheduled campaign becomes `sending`; the first
 * run resolves the recipients (once: the campaign records when); a resumed run hands back to
 * the queue the rows a stopped or crashed sender had claimed without recording an outcome.
 */
export async function beginSend(tx: Tx, org: string, campaignId: string): Promise<BeginResult> {
  const [c] = rowsOf<any>(
    await tx.execute(sql`select *, scheduled_at > now() as in_future from email_campaigns
      where organization_id = ${org} and id = ${campaignId} for update`),
  );
  if (!c) return { kind: 'done', reason: 'campaign deleted' };
  if (c.status === 'scheduled') {
    if (c.in_future) return { kind: 'later', at: new Date(c.scheduled_at) };
    await tx.execute(sql`update email_campaigns set status = 'sending', started_at = now(), updated_at = now()
      where organization_id = ${org} and id = ${campaignId}`);
  } else if (c.status !== 'sending') {
    return { kind: 'done', reason: `campaign is ${c.status}` };
  }
  const content: CampaignContent = {
    id: c.id,
    name: c.name,
    subject: c.subject,
    preheader: c.preheader,
    fromName: c.from_name,
    fromEmail: c.from_email,
    replyTo: c.reply_to,
    html: c.html,
    text: c.text,
  };
  const { links } = extractLinks(c.html);
  if (!c.recipients_resolved_at) {
    const tags: string[] = c.audience?.tags ?? [];
    await tx.execute(sql`
      insert into email_messages (organization_id, campaign_id, customer_id, to_email)
      select c.organization_id, ${campaignId}, c.id, c.email from customers c
      where c.organization_id = ${org}
        and c.email is not null and c.email_opt_in and c.unsubscribed_at is null and c.email_status = 'active'
        and not exists (select 1 from suppressions s
          where s.organization_id = c.organization_id and s.channel = 'email' and s.address = lower(c.email))
        and (cardinality(${arr(tags)}::text[]) = 0 or c.tags && ${arr(tags)}::text[])
      order by c.id
      on conflict do nothing`);
    await tx.execute(sql`update email_campaigns set recipients_resolved_at = now(), tracked_links = ${arr(links)}::text[], updated_at = now()
      where organization_id = ${org} and id = ${campaignId}`);
  } else {
    await tx.execute(sql`update email_messages set status = 'queued', claimed_at = null, attempts = greatest(attempts - 1, 0), updated_at = now()
      where organization_id = ${org} and campaign_id = ${campaignId} and status = 'sending'`);
  }
  return { kind: 'send', content, links };
}

export interface Claimed extends Recipient {
  attempts: number;
}

/**
 * Claims up to `limit` due queued messages in id order (null when the campaign is no longer
 * sending, e.g. cancelled). `after` continues from the last claimed id, so the index scan does
 * not wade through the entries of rows already sent.
 */
export async function claimMessages(tx: Tx, org: string, campaignId: string, limit: number, after: string | null = null): Promise<Claimed[] | null> {
  const [c] = rowsOf<{ status: string }>(await tx.execute(sql`select status from email_campaigns where organization_id = ${org} and id = ${campaignId}`));
  if (c?.status !== 'sending') return null;
  const rows = rowsOf<any>(
    await tx.execute(sql`
      with claimed as (
        update email_messages m set status = 'sending', claimed_at = now(), attempts = m.attempts + 1, updated_at = now()
        from (
          select organization_id, id from email_messages
          where organization_id = ${org} and campaign_id = ${campaignId} and status = 'queued'
            and (next_attempt_at is null or next_attempt_at <= now())
            ${after ? sql`and id > ${after}::uuid` : sql``}
          order by id limit ${limit}
          for update skip locked
        ) q
        where m.organization_id = q.organization_id and m.id = q.id
        returning m.id, m.customer_id, m.to_email, m.attempts
      )
      select claimed.*, c.email, c.first_name, c.last_name, c.phone, c.tags, c.attributes
      from claimed left join customers c on c.organization_id = ${org} and c.id = claimed.customer_id`),
  );
  return rows.map((r) => ({
    messageId: r.id,
    organizationId: org,
    toEmail: r.to_email,
    attempts: r.attempts,
    customer: { email: r.email ?? r.to_email, firstName: r.first_name, lastName: r.last_name, phone: r.phone, tags: r.tags ?? [], attributes: r.attributes ?? {} },
  }));
}

export interface Outcome {
  id: string;
  status: 'sent' | 'queued' | 'failed' | 'cancelled';
  providerMessageId?: string | null;
  error?: string | null;
  nextAttemptAt?: Date | null;
}

/** Records a batch of outcomes in one statement. Provider events may already have moved a row on: status only moves forward. */
export async function recordOutcomes(tx: Tx, org: string, outcomes: Outcome[]) {
  if (!outcomes.length) return;
  const ids = outcomes.map((o) => o.id);
  await tx.execute(sql`
    update email_messages m set
      status = case when m.status = 'sending' then v.status else m.status end,
      sent_at = coalesce(m.sent_at, case when v.status = 'sent' then now() end),
      failed_at = case when v.status = 'failed' then now() else m.failed_at end,
      provider_message_id = coalesce(v.pid, m.provider_message_id),
      error = v.error,
      next_attempt_at = v.next,
      claimed_at = null,
      updated_at = now()
    from unnest(${arr(ids)}::uuid[], ${arr(outcomes.map((o) => o.status))}::text[], ${arr(outcomes.map((o) => o.providerMessageId ?? null))}::text[],
                ${arr(outcomes.map((o) => o.error ?? null))}::text[], ${arr(outcomes.map((o) => o.nextAttemptAt?.toISOString() ?? null))}::timestamptz[])
      as v(id, status, pid, error, next)
    where m.organization_id = ${org} and m.id = v.id`);
  const failures = outcomes.filter((o) => o.error);
  if (failures.length) {
    await tx.execute(sql`
      insert into email_events (organization_id, message_id, type, payload)
      select ${org}, v.id, case when v.status = 'failed' then 'failed' else 'deferred' end, jsonb_build_object('error', v.error, 'source', 'smtp')
      from unnest(${arr(failures.map((o) => o.id))}::uuid[], ${arr(failures.map((o) => o.status))}::text[], ${arr(failures.map((o) => o.error!))}::text[]) as v(id, status, error)`);
  }
}

/** The campaign cannot be sent (its sender is no longer verified): failed, queued messages cancelled. */
export async function failSend(tx: Tx, org: string, campaignId: string, error: string) {
  await tx.execute(sql`update email_messages set status = 'cancelled', updated_at = now()
    where organization_id = ${org} and campaign_id = ${campaignId} and status in ('queued', 'sending')`);
  await tx.execute(sql`update email_campaigns set status = 'failed', failed_at = now(), error = ${error}, updated_at = now()
    where organization_id = ${org} and id = ${campaignId} and status = 'sending'`);
}

/** What is left once nothing is claimable: the next retry time, if any message still waits for one. */
export async function remaining(tx: Tx, org: string, campaignId: string) {
  const [r] = rowsOf<{ queued: number; next: string | null }>(
    await tx.execute(sql`select count(*)::int as queued, min(next_attempt_at) as next from email_messages
      where organization_id = ${org} and campaign_id = ${campaignId} and status in ('queued', 'sending')`),
  );
  return { queued: Number(r.queued), next: r.next ? new Date(r.next) : null };
}

/** sending → sent, or failed when there were recipients and not one message was accepted. */
export async function finishSend(tx: Tx, org: string, campaignId: string) {
  await tx.execute(sql`
    update email_campaigns c set
      status = case when s.total > 0 and s.accepted = 0 then 'failed' else 'sent' end,
      sent_at = case when s.total > 0 and s.accepted = 0 then null else now() end,
      failed_at = case when s.total > 0 and s.accepted = 0 then now() end,
      error = case when s.total > 0 and s.accepted = 0 then 'No message was accepted by the mail server' end,
      updated_at = now()
    from (select count(*) as total, count(sent_at) as accepted from email_messages
          where organization_id = ${org} and campaign_id = ${campaignId}) s
    where c.organization_id = ${org} and c.id = ${campaignId} and c.status = 'sending'`);
}
