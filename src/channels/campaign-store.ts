import { sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../db/index.js';
import { arr, query } from '../db/sql.js';

// The SQL of a campaign send, for every channel: the channel names its tables (CampaignTables).
// Every statement names organization_id and runs in withTenant. Message rows drive the send:
// queued → sending (claimed) → sent | queued again (retry) | failed | cancelled. Claims and outcomes
// are fenced by the job run's lease (Fence): a claimed row carries the lease id of the run that
// claimed it and is written only by that run, or taken over by another run once its lease_until
// has passed.
//
// A channel's tables provide — campaigns: organization_id, id, status, scheduled_at, started_at,
// sent_at, failed_at, error, recipients_resolved_at, updated_at; messages: organization_id, id,
// campaign_id, customer_id, <address column>, status, attempts, next_attempt_at, claimed_at,
// lease_id, lease_until, sent_at, failed_at, provider_message_id, error, updated_at.

export interface CampaignTables {
  campaigns: string;
  messages: string;
  /** The message column with the recipient's address (to_email, to_phone). */
  address: string;
}

/** The job run a claim or outcome write is made for (src/jobs/queue.ts Lease). */
export interface Fence {
  jobId: string;
  leaseId: string;
  leaseMs: number;
}
const leaseInterval = (f: Fence) => sql`${`${f.leaseMs} milliseconds`}::interval`;
const ident = (name: string) => sql.identifier(name);

/**
 * Whether this run still holds its job; the row lock (FOR SHARE) keeps the job from being claimed
 * by another run until the caller's transaction ends.
 */
async function holdsJob(tx: Tx, org: string, f: Fence) {
  const rows = await query(tx, sql`select 1 from jobs where organization_id = ${org} and id = ${f.jobId} and lease_id = ${f.leaseId} and state = 'active' for share`);
  return rows.length > 0;
}

/** A campaign row as stored (snake_case columns); the channel reads its content from it. */
export type CampaignRow = Record<string, any> & { id: string; status: string };

/** Told when a campaign's status moves here (a due scheduled campaign starts, a send finishes), in the same transaction. */
export type CampaignStatusHook = (tx: Tx, org: string, campaign: { id: string; name: string; status: 'sending' | 'sent' | 'failed' }) => Promise<void>;

export type BeginResult = { kind: 'done'; reason: string } | { kind: 'later'; at: Date } | { kind: 'send'; campaign: CampaignRow };

/**
 * Starts or resumes a campaign's send: a due scheduled campaign becomes `sending`; the first run
 * resolves the recipients through the channel's audience statement (once: the campaign records
 * when). Rows a stopped or crashed run had claimed without recording an outcome are taken over by
 * claimMessages once their lease ends.
 */
export async function beginSend(
  tx: Tx,
  t: CampaignTables,
  org: string,
  campaignId: string,
  audience: (tx: Tx, org: string, campaign: CampaignRow) => Promise<void>,
  statusChanged?: CampaignStatusHook,
): Promise<BeginResult> {
  const [c] = await query<CampaignRow & { in_future: boolean }>(
    tx,
    sql`select *, scheduled_at > now() as in_future from ${ident(t.campaigns)} where organization_id = ${org} and id = ${campaignId} for update`,
  );
  if (!c) return { kind: 'done', reason: 'campaign deleted' };
  if (c.status === 'scheduled') {
    if (c.in_future) return { kind: 'later', at: new Date(c.scheduled_at) };
    await tx.execute(sql`update ${ident(t.campaigns)} set status = 'sending', started_at = now(), updated_at = now()
      where organization_id = ${org} and id = ${campaignId}`);
    await statusChanged?.(tx, org, { id: c.id, name: c.name, status: 'sending' });
  } else if (c.status !== 'sending') {
    return { kind: 'done', reason: `campaign is ${c.status}` };
  }
  if (!c.recipients_resolved_at) {
    await audience(tx, org, c);
    await tx.execute(sql`update ${ident(t.campaigns)} set recipients_resolved_at = now(), updated_at = now()
      where organization_id = ${org} and id = ${campaignId}`);
  }
  return { kind: 'send', campaign: c };
}

/** The customer fields a message is personalised with. */
export interface RecipientCustomer {
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  phone?: string | null;
  tags?: string[];
  attributes?: Record<string, unknown>;
}

/** A claimed message: its row, its address and its customer as they are now. */
export interface Claimed {
  messageId: string;
  organizationId: string;
  address: string;
  attempts: number;
  customerId: string | null;
  customer: RecipientCustomer;
}

export type ClaimResult = { kind: 'claimed'; messages: Claimed[] } | { kind: 'cancelled' } | { kind: 'lost' };

/**
 * Claims up to `limit` messages for this run, leased until now + the lease: first rows whose
 * previous run's lease ran out (a crashed or stalled run; never this run's own), then due queued
 * messages in id order. `after` continues from the last claimed id, so the index scan does not
 * wade through the entries of rows already sent. `cancelled` when the campaign is no longer
 * sending, `lost` when another run holds the job.
 */
export async function claimMessages(tx: Tx, t: CampaignTables, org: string, campaignId: string, limit: number, after: string | null, fence: Fence): Promise<ClaimResult> {
  if (!(await holdsJob(tx, org, fence))) return { kind: 'lost' };
  const [c] = await query<{ status: string }>(tx, sql`select status from ${ident(t.campaigns)} where organization_id = ${org} and id = ${campaignId}`);
  if (c?.status !== 'sending') return { kind: 'cancelled' };
  const expired = await claimWhere(tx, t, org, campaignId, limit, fence, sql`status = 'sending' and lease_until < now() and lease_id is distinct from ${fence.leaseId}`);
  const due =
    expired.length >= limit
      ? []
      : await claimWhere(tx, t, org, campaignId, limit - expired.length, fence, sql`status = 'queued'
    and (next_attempt_at is null or next_attempt_at <= now())
    ${after ? sql`and id > ${after}::uuid` : sql``}`);
  return { kind: 'claimed', messages: [...expired, ...due] };
}

async function claimWhere(tx: Tx, t: CampaignTables, org: string, campaignId: string, limit: number, fence: Fence, where: SQL): Promise<Claimed[]> {
  const rows = await query<any>(
    tx,
    sql`
      with claimed as (
        update ${ident(t.messages)} m set status = 'sending', claimed_at = now(), lease_id = ${fence.leaseId}, lease_until = now() + ${leaseInterval(fence)},
          -- A row taken over from a run that never recorded it: that attempt does not count.
          attempts = case when m.status = 'sending' then m.attempts else m.attempts + 1 end, updated_at = now()
        from (
          select organization_id, id from ${ident(t.messages)}
          where organization_id = ${org} and campaign_id = ${campaignId} and ${where}
          order by id limit ${limit}
          for update skip locked
        ) q
        where m.organization_id = q.organization_id and m.id = q.id
        returning m.id, m.customer_id, m.${ident(t.address)} as address, m.attempts
      )
      select claimed.*, c.email, c.first_name, c.last_name, c.phone, c.tags, c.attributes
      from claimed left join customers c on c.organization_id = ${org} and c.id = claimed.customer_id
      order by claimed.id`,
  );
  return rows.map((r) => ({
    messageId: r.id,
    organizationId: org,
    address: r.address,
    attempts: r.attempts,
    customerId: r.customer_id,
    customer: { email: r.email, firstName: r.first_name, lastName: r.last_name, phone: r.phone, tags: r.tags ?? [], attributes: r.attributes ?? {} },
  }));
}

/**
 * The ids of the organization's message rows that match, locked in id order: every statement that
 * writes several leased rows takes their locks in the same order, so two of them (a run's outcome
 * write and its renewal, a takeover's) wait for each other instead of deadlocking.
 */
const lockedInIdOrder = (t: CampaignTables, org: string, where: SQL) =>
  sql`select id from ${ident(t.messages)} where organization_id = ${org} and ${where} order by id for update`;

/** Extends the lease of the rows this run holds (with the job's renewal), while it holds the job. */
export async function renewMessageLeases(tx: Tx, t: CampaignTables, org: string, campaignId: string, fence: Fence) {
  if (!(await holdsJob(tx, org, fence))) return false;
  await tx.execute(sql`update ${ident(t.messages)} m set lease_until = now() + ${leaseInterval(fence)}
    from (${lockedInIdOrder(t, org, sql`campaign_id = ${campaignId} and status = 'sending' and lease_id = ${fence.leaseId}`)}) l
    where m.organization_id = ${org} and m.id = l.id`);
  return true;
}

export interface Outcome {
  id: string;
  status: 'sent' | 'queued' | 'failed' | 'cancelled';
  providerMessageId?: string | null;
  error?: string | null;
  nextAttemptAt?: Date | null;
  /** Channel-specific facts about the attempt (an SMS's segments, a provider error code), for the channel's own columns. */
  extra?: Record<string, unknown>;
}

/** An outcome that was recorded (the run still held the row). */
export interface Recorded {
  id: string;
  status: Outcome['status'];
  error: string | null;
  extra: Record<string, unknown> | null;
}

/**
 * Records a batch of outcomes in one statement, for the rows this run holds: a row another run
 * has taken over is that run's to record (those are left out of the result). Provider events may
 * already have moved a row on: status only moves forward.
 */
export async function recordOutcomes(tx: Tx, t: CampaignTables, org: string, outcomes: Outcome[], fence: Fence): Promise<Recorded[]> {
  if (!outcomes.length) return [];
  const rows = await query<{ id: string; status: Outcome['status']; error: string | null }>(
    tx,
    sql`
      update ${ident(t.messages)} m set
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
      from unnest(${arr(outcomes.map((o) => o.id))}::uuid[], ${arr(outcomes.map((o) => o.status))}::text[], ${arr(outcomes.map((o) => o.providerMessageId ?? null))}::text[],
                  ${arr(outcomes.map((o) => o.error ?? null))}::text[], ${arr(outcomes.map((o) => o.nextAttemptAt?.toISOString() ?? null))}::timestamptz[])
        as v(id, status, pid, error, next),
        (${lockedInIdOrder(t, org, sql`id = any(${arr(outcomes.map((o) => o.id))}::uuid[]) and lease_id = ${fence.leaseId}`)}) l
      where m.organization_id = ${org} and m.id = v.id and m.id = l.id
      returning m.id, v.status, v.error`,
  );
  const extra = new Map(outcomes.map((o) => [o.id, o.extra ?? null]));
  return rows.map((r) => ({ ...r, extra: extra.get(r.id) ?? null }));
}

/** The campaign cannot be sent (e.g. its sender is no longer verified): failed, queued messages cancelled. */
export async function failSend(tx: Tx, t: CampaignTables, org: string, campaignId: string, error: string) {
  await tx.execute(sql`update ${ident(t.messages)} set status = 'cancelled', updated_at = now()
    where organization_id = ${org} and campaign_id = ${campaignId} and status in ('queued', 'sending')`);
  await tx.execute(sql`update ${ident(t.campaigns)} set status = 'failed', failed_at = now(), error = ${error}, updated_at = now()
    where organization_id = ${org} and id = ${campaignId} and status = 'sending'`);
}

/**
 * What is left once nothing is claimable: when the next row may be, a retry coming due or a row
 * another (stalled) run still holds reaching the end of its lease.
 */
export async function remaining(tx: Tx, t: CampaignTables, org: string, campaignId: string) {
  const [r] = await query<{ queued: number; next: string | null }>(
    tx,
    sql`select count(*)::int as queued,
        min(case when status = 'queued' then coalesce(next_attempt_at, now()) else lease_until end) as next
      from ${ident(t.messages)}
      where organization_id = ${org} and campaign_id = ${campaignId} and status in ('queued', 'sending')`,
  );
  return { queued: Number(r.queued), next: r.next ? new Date(r.next) : null };
}

/** sending → sent, or failed when there were recipients and not one message was accepted; false when another run holds the job. */
export async function finishSend(tx: Tx, t: CampaignTables, org: string, campaignId: string, fence: Fence, noneAccepted: string, statusChanged?: CampaignStatusHook) {
  if (!(await holdsJob(tx, org, fence))) return false;
  const [done] = await query<{ id: string; name: string; status: 'sent' | 'failed' }>(
    tx,
    sql`
    update ${ident(t.campaigns)} c set
      status = case when s.total > 0 and s.accepted = 0 then 'failed' else 'sent' end,
      sent_at = case when s.total > 0 and s.accepted = 0 then null else now() end,
      failed_at = case when s.total > 0 and s.accepted = 0 then now() end,
      error = case when s.total > 0 and s.accepted = 0 then ${noneAccepted} end,
      updated_at = now()
    from (select count(*) as total, count(sent_at) as accepted from ${ident(t.messages)}
          where organization_id = ${org} and campaign_id = ${campaignId}) s
    where c.organization_id = ${org} and c.id = ${campaignId} and c.status = 'sending'
    returning c.id, c.name, c.status`,
  );
  if (done) await statusChanged?.(tx, org, done);
  return true;
}
