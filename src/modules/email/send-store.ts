import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import { arr, rowsOf } from '../../db/sql.js';
import { extractLinks, type CampaignContent, type Recipient } from './compose.js';

// The SQL of a campaign send. Every statement names organization_id and runs in withTenant.
// Message rows drive the send: queued → sending (claimed) → sent | queued again (retry) | failed.
// Claims and outcomes are fenced by the job run's lease (Fence): a claimed row carries the lease
// id of the run that claimed it and is written only by that run, or taken over by another run once
// its lease_until has passed.

/** The job run a claim or outcome write is made for (src/jobs/queue.ts Lease). */
export interface Fence {
  jobId: string;
  leaseId: string;
  leaseMs: number;
}
const leaseInterval = (f: Fence) => sql`${`${f.leaseMs} milliseconds`}::interval`;

/**
 * Whether this run still holds its job; the row lock (FOR SHARE) keeps the job from being claimed
 * by another run until the caller's transaction ends.
 */
async function holdsJob(tx: Tx, org: string, f: Fence) {
  const rows = rowsOf(
    await tx.execute(sql`select 1 from jobs where organization_id = ${org} and id = ${f.jobId} and lease_id = ${f.leaseId} and state = 'active' for share`),
  );
  return rows.length > 0;
}


export type BeginResult =
  | { kind: 'done'; reason: string }
  | { kind: 'later'; at: Date }
  | { kind: 'send'; content: CampaignContent; links: string[] };

/**
 * Starts or resumes a campaign's send: a due scheduled campaign becomes `sending`; the first
 * run resolves the recipients (once: the campaign records when). Rows a stopped or crashed run
 * had claimed without recording an outcome are taken over by claimMessages once their lease ends.
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
  }
  return { kind: 'send', content, links };
}

export interface Claimed extends Recipient {
  attempts: number;
}

export type ClaimResult = { kind: 'claimed'; messages: Claimed[] } | { kind: 'cancelled' } | { kind: 'lost' };

/**
 * Claims up to `limit` messages for this run, leased until now + the lease: first rows whose
 * previous run's lease ran out (a crashed or stalled run; never this run's own), then due queued
 * messages in id order. `after` continues from the last claimed id, so the index scan does not
 * wade through the entries of rows already sent. `cancelled` when the campaign is no longer
 * sending, `lost` when another run holds the job.
 */
export async function claimMessages(tx: Tx, org: string, campaignId: string, limit: number, after: string | null, fence: Fence): Promise<ClaimResult> {
  if (!(await holdsJob(tx, org, fence))) return { kind: 'lost' };
  const [c] = rowsOf<{ status: string }>(await tx.execute(sql`select status from email_campaigns where organization_id = ${org} and id = ${campaignId}`));
  if (c?.status !== 'sending') return { kind: 'cancelled' };
  const expired = await claimWhere(tx, org, campaignId, limit, fence, sql`status = 'sending' and lease_until < now() and lease_id is distinct from ${fence.leaseId}`);
  const due = expired.length >= limit ? [] : await claimWhere(tx, org, campaignId, limit - expired.length, fence, sql`status = 'queued'
    and (next_attempt_at is null or next_attempt_at <= now())
    ${after ? sql`and id > ${after}::uuid` : sql``}`);
  return { kind: 'claimed', messages: [...expired, ...due] };
}

async function claimWhere(tx: Tx, org: string, campaignId: string, limit: number, fence: Fence, where: ReturnType<typeof sql>): Promise<Claimed[]> {
  const rows = rowsOf<any>(
    await tx.execute(sql`
      with claimed as (
        update email_messages m set status = 'sending', claimed_at = now(), lease_id = ${fence.leaseId}, lease_until = now() + ${leaseInterval(fence)},
          -- A row taken over from a run that never recorded it: that attempt does not count.
          attempts = case when m.status = 'sending' then m.attempts else m.attempts + 1 end, updated_at = now()
        from (
          select organization_id, id from email_messages
          where organization_id = ${org} and campaign_id = ${campaignId} and ${where}
          order by id limit ${limit}
          for update skip locked
        ) q
        where m.organization_id = q.organization_id and m.id = q.id
        returning m.id, m.customer_id, m.to_email, m.attempts
      )
      select claimed.*, c.email, c.first_name, c.last_name, c.phone, c.tags, c.attributes
      from claimed left join customers c on c.organization_id = ${org} and c.id = claimed.customer_id
      order by claimed.id`),
  );
  return rows.map((r) => ({
    messageId: r.id,
    organizationId: org,
    toEmail: r.to_email,
    attempts: r.attempts,
    customer: { email: r.email ?? r.to_email, firstName: r.first_name, lastName: r.last_name, phone: r.phone, tags: r.tags ?? [], attributes: r.attributes ?? {} },
  }));
}

/** Extends the lease of the rows this run holds (with the job's renewal), while it holds the job. */
export async function renewMessageLeases(tx: Tx, org: string, campaignId: string, fence: Fence) {
  if (!(await holdsJob(tx, org, fence))) return false;
  await tx.execute(sql`update email_messages set lease_until = now() + ${leaseInterval(fence)}
    where organization_id = ${org} and campaign_id = ${campaignId} and status = 'sending' and lease_id = ${fence.leaseId}`);
  return true;
}

export interface Outcome {
  id: string;
  status: 'sent' | 'queued' | 'failed' | 'cancelled';
  providerMessageId?: string | null;
  error?: string | null;
  nextAttemptAt?: Date | null;
}

/**
 * Records a batch of outcomes in one statement, for the rows this run holds: a row another run
 * has taken over is that run's to record (the count of refused rows is returned). Provider
 * events may already have moved a row on: status only moves forward.
 */
export async function recordOutcomes(tx: Tx, org: string, outcomes: Outcome[], fence: Fence): Promise<{ refused: number }> {
  if (!outcomes.length) return { refused: 0 };
  const ids = outcomes.map((o) => o.id);
  const [r] = rowsOf<{ n: number }>(
    await tx.execute(sql`
      with recorded as (
        update email_messages m set
          status = case when m.status = 'sending' then v.status else m.status end,
          sent_at = coalesce(m.sent_at, case when v.status = 'sent' then now() end),
          failed_at = case when v.status = 'failed' then now() else m.failed_at end,
          provider_message_id = coalesce(v.pid, m.provider_message_id),
          error = v.error,
          next_attempt_at = v.next,
          claimed_at = null,
          lease_id = null,
          lease_until = null,
          updated_at = now()
        from unnest(${arr(ids)}::uuid[], ${arr(outcomes.map((o) => o.status))}::text[], ${arr(outcomes.map((o) => o.providerMessageId ?? null))}::text[],
                    ${arr(outcomes.map((o) => o.error ?? null))}::text[], ${arr(outcomes.map((o) => o.nextAttemptAt?.toISOString() ?? null))}::timestamptz[])
          as v(id, status, pid, error, next)
        where m.organization_id = ${org} and m.id = v.id and m.lease_id = ${fence.leaseId}
        returning m.id, v.status, v.error
      ),
      events as (
        insert into email_events (organization_id, message_id, type, payload)
        select ${org}, id, case when status = 'failed' then 'failed' else 'deferred' end, jsonb_build_object('error', error, 'source', 'smtp')
        from recorded where error is not null
      )
      select count(*)::int as n from recorded`),
  );
  return { refused: outcomes.length - Number(r.n) };
}

/** The campaign cannot be sent (its sender is no longer verified): failed, queued messages cancelled. */
export async function failSend(tx: Tx, org: string, campaignId: string, error: string) {
  await tx.execute(sql`update email_messages set status = 'cancelled', updated_at = now()
    where organization_id = ${org} and campaign_id = ${campaignId} and status in ('queued', 'sending')`);
  await tx.execute(sql`update email_campaigns set status = 'failed', failed_at = now(), error = ${error}, updated_at = now()
    where organization_id = ${org} and id = ${campaignId} and status = 'sending'`);
}

/**
 * What is left once nothing is claimable: when the next row may be, a retry coming due or a row
 * another (stalled) run still holds reaching the end of its lease.
 */
export async function remaining(tx: Tx, org: string, campaignId: string) {
  const [r] = rowsOf<{ queued: number; next: string | null }>(
    await tx.execute(sql`select count(*)::int as queued,
        min(case when status = 'queued' then coalesce(next_attempt_at, now()) else lease_until end) as next
      from email_messages
      where organization_id = ${org} and campaign_id = ${campaignId} and status in ('queued', 'sending')`),
  );
  return { queued: Number(r.queued), next: r.next ? new Date(r.next) : null };
}

/** sending → sent, or failed when there were recipients and not one message was accepted; false when another run holds the job. */
export async function finishSend(tx: Tx, org: string, campaignId: string, fence: Fence) {
  if (!(await holdsJob(tx, org, fence))) return false;
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
  return true;
}
