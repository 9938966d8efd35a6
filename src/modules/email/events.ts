import { trackEmailEvents } from '../analytics/track.js';
import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import type { AuditContext } from '../../http/access.js';
import { recordAudit } from '../audit/service.js';
import { suppressMessageRecipients } from '../suppressions/service.js';
import { emitEmailMessageEvents } from '../webhooks/sources.js';

/**
 * A delivery event about one of our email messages, whichever provider reported it
 * (destinations/ turn a provider's events into these). Types follow SendGrid's names, which the
 * other providers' map onto: processed, deferred, delivered, open, click, bounce, blocked,
 * dropped, spamreport, unsubscribe, group_unsubscribe.
 */
export interface EmailEvent {
  messageId: string;
  type: string;
  url: string | null;
  reason: string | null;
  /** ISO time the provider says it happened. */
  at: string;
  /** The provider's event as received, kept on the event row. */
  payload: unknown;
  /** The provider's id of the event (kept on the row). */
  providerEventId?: string | null;
}

const REASON = { bounce: 'bounced', spamreport: 'complained', unsubscribe: 'unsubscribed', group_unsubscribe: 'unsubscribed' } as const;

/**
 * Applies one organization's new events in its transaction: stores them, moves each message's
 * state forward (timestamps keep the earliest occurrence; status never moves back), and applies
 * the consent effects to that organization's customers and suppression list.
 */
export async function applyEmailEvents(tx: Tx, ctx: AuditContext, events: EmailEvent[], provider: string) {
  if (!events.length) return 0;
  const org = ctx.organizationId;
  const rows = events.map((e) => ({ m: e.messageId, t: e.type, u: e.url, id: e.providerEventId ?? null, at: e.at, p: e.payload, r: e.reason }));
  await tx.execute(sql`
    insert into email_events (organization_id, message_id, type, url, provider_event_id, payload, occurred_at)
    select ${org}, x.m, x.t, x.u, x.id, x.p, x.at from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      as x(m uuid, t text, u text, id text, p jsonb, at timestamptz)`);
  await emitEmailMessageEvents(tx, ctx, events, provider);
  await trackEmailEvents(tx, org, events);
  await tx.execute(sql`
    with e as (
      select x.m,
        min(x.at) filter (where x.t = 'delivered') as delivered,
        min(x.at) filter (where x.t = 'open') as opened,
        min(x.at) filter (where x.t = 'click') as clicked,
        min(x.at) filter (where x.t = 'bounce') as bounced,
        min(x.at) filter (where x.t = 'spamreport') as complained,
        min(x.at) filter (where x.t in ('unsubscribe', 'group_unsubscribe')) as unsubscribed,
        max(case x.t when 'bounce' then 5 when 'dropped' then 5 when 'blocked' then 5 when 'delivered' then 4 when 'deferred' then 2 when 'processed' then 1 else 0 end) as rank,
        (array_agg(x.t order by case x.t when 'bounce' then 3 when 'dropped' then 2 when 'blocked' then 1 else 0 end desc))[1] as final,
        (array_agg(x.r) filter (where x.t in ('bounce', 'dropped', 'blocked', 'deferred')))[1] as reason
      from jsonb_to_recordset(${JSON.stringify(rows.map((r) => ({ m: r.m, t: r.t, at: r.at, r: r.r })))}::jsonb) as x(m uuid, t text, at timestamptz, r text)
      group by x.m)
    update email_messages m set
      delivered_at = least(m.delivered_at, e.delivered), opened_at = least(m.opened_at, e.opened, e.clicked), clicked_at = least(m.clicked_at, e.clicked),
      bounced_at = least(m.bounced_at, e.bounced), complained_at = least(m.complained_at, e.complained), unsubscribed_at = least(m.unsubscribed_at, e.unsubscribed),
      status = case
        when m.status in ('bounced', 'dropped') then m.status
        when e.rank = 5 then case e.final when 'dropped' then 'dropped' else 'bounced' end
        when e.rank = 4 then 'delivered'
        when e.rank = 2 and m.status in ('queued', 'sending', 'sent') then 'deferred'
        else m.status end,
      error = coalesce(e.reason, m.error),
      updated_at = now()
    from e where m.organization_id = ${org} and m.id = e.m`);
  // Consent effects, inside this organization only: a hard bounce makes the address
  // undeliverable; a spam report or an unsubscribe clears the opt-in.
  const changed = (
    await tx.execute(sql`
    with e as (select x.m, x.t from jsonb_to_recordset(${JSON.stringify(rows.map((r) => ({ m: r.m, t: r.t })))}::jsonb) as x(m uuid, t text)
               where x.t in ('bounce', 'spamreport', 'unsubscribe', 'group_unsubscribe')),
    c as (select m.customer_id, bool_or(e.t = 'bounce') as bounced, bool_or(e.t = 'spamreport') as complained,
                 bool_or(e.t in ('spamreport', 'unsubscribe', 'group_unsubscribe')) as unsubscribed
          from e join email_messages m on m.organization_id = ${org} and m.id = e.m
          where m.customer_id is not null group by m.customer_id)
    update customers cu set
      email_status = case when cu.email_status <> 'active' then cu.email_status when c.complained then 'complained' when c.bounced then 'bounced' else cu.email_status end,
      email_opt_in = case when c.unsubscribed then false else cu.email_opt_in end,
      unsubscribed_at = case when c.unsubscribed then coalesce(cu.unsubscribed_at, now()) else cu.unsubscribed_at end,
      updated_at = now()
    from c where cu.organization_id = ${org} and cu.id = c.customer_id
      and (cu.email_status = 'active' and (c.bounced or c.complained) or (c.unsubscribed and (cu.email_opt_in or cu.unsubscribed_at is null)))
    returning cu.id, cu.email_status, cu.email_opt_in`)
  ) as unknown as { rows: { id: string; email_status: string; email_opt_in: boolean }[] };
  // Consent changed by the platform on a provider's word: on the record like a person's change.
  for (const c of changed.rows) {
    await recordAudit(tx, ctx, {
      action: 'customer.email_consent_changed',
      resourceType: 'customer',
      resourceId: c.id,
      changes: { emailStatus: c.email_status, emailOptIn: c.email_opt_in, source: provider },
    });
  }
  // The same effects on the suppression list, which outlives the customer row (deleted, renamed, re-imported).
  const consent = rows.filter((r) => Object.hasOwn(REASON, r.t)).map((r) => ({ messageId: r.m, reason: REASON[r.t as keyof typeof REASON] }));
  await suppressMessageRecipients(tx, org, consent, provider);
  return events.length;
}
