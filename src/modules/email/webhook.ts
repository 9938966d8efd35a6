import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Config } from '../../config.js';
import type { Database, Tx } from '../../db/index.js';
import { AppError } from '../../http/errors.js';
import { failureLimit } from '../../http/failure-limit.js';
import { ErrorOut, type App } from '../../http/types.js';
import { suppressMessageRecipients } from '../suppressions/service.js';
import { arr, rowsOf } from '../../db/sql.js';

/**
 * SendGrid Event Webhook. Order: the client's failure budget and the signature headers (before the
 * body is read) → the body, up to SendGrid's batch size → signature on the raw bytes (node:crypto) →
 * parse → resolve each event's organization by our message id (system lookup, the one
 * cross-tenant read) → per organization, inside withTenant: dedupe on sg_event_id, store the
 * events, move message state forward, apply consent effects to that organization's customer.
 */
const TOLERANCE_SECONDS = 5 * 60;
const SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
const TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';
/** Base64 of a DER ECDSA P-256 signature (at most 72 bytes), with room to spare. */
const SIGNATURE = /^[A-Za-z0-9+/]{16,128}={0,2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const Event = z.looseObject({
  event: z.string().max(64),
  sg_event_id: z.string().max(200).optional(),
  sg_message_id: z.string().max(300).optional(),
  sb_message_id: z.string().max(100).optional(),
  timestamp: z.number().optional(),
  type: z.string().max(64).optional(),
  url: z.string().max(4000).optional(),
  reason: z.string().max(2000).optional(),
});
const Events = z.array(Event).max(50_000);
type SgEvent = z.infer<typeof Event>;

interface Resolved {
  org: string;
  messageId: string;
  eventId: string;
  e: SgEvent;
}

/** Looks up, across organizations, which one owns each message id; nothing else is read this way. */
async function resolveOrganizations(db: Database, events: SgEvent[]) {
  const ids = [...new Set(events.map((e) => e.sb_message_id).filter((x): x is string => !!x && UUID.test(x)))];
  const providerIds = [...new Set(events.filter((e) => !e.sb_message_id && e.sg_message_id).map((e) => e.sg_message_id!.split('.')[0]))];
  return db.withSystem('resolve-email-webhook', async (tx) => {
    const byId = new Map<string, { org: string; id: string }>();
    const byProvider = new Map<string, { org: string; id: string }>();
    if (ids.length) {
      for (const r of rowsOf<any>(await tx.execute(sql`select organization_id, id from email_messages where id = any(${arr(ids)}::uuid[])`))) byId.set(r.id, { org: r.organization_id, id: r.id });
    }
    if (providerIds.length) {
      for (const r of rowsOf<any>(await tx.execute(sql`select organization_id, id, provider_message_id from email_messages where provider_message_id = any(${arr(providerIds)}::text[])`))) {
        byProvider.set(r.provider_message_id, { org: r.organization_id, id: r.id });
      }
    }
    return { byId, byProvider };
  });
}

/** SendGrid's event id; an event without one is identified by the hash of its JSON (computed only then). */
const eventIdOf = (e: SgEvent, raw: unknown) => e.sg_event_id ?? `sha256:${createHash('sha256').update(JSON.stringify(raw)).digest('hex')}`;

/** Applies one organization's events in one transaction; returns how many were new. */
async function applyEvents(tx: Tx, org: string, items: Resolved[]) {
  const fresh = new Set(
    rowsOf<{ event_id: string }>(
      await tx.execute(sql`insert into processed_webhook_events (provider, event_id, organization_id)
        select 'sendgrid', unnest(${arr(items.map((i) => i.eventId))}::text[]), ${org}
        on conflict do nothing returning event_id`),
    ).map((r) => r.event_id),
  );
  const todo = items.filter((i) => fresh.delete(i.eventId));
  if (!todo.length) return 0;
  const rows = todo.map((i) => ({
    m: i.messageId,
    t: i.e.event === 'bounce' && i.e.type === 'blocked' ? 'blocked' : i.e.event,
    u: typeof i.e.url === 'string' ? i.e.url : null,
    id: i.eventId,
    at: new Date((typeof i.e.timestamp === 'number' ? i.e.timestamp : Date.now() / 1000) * 1000).toISOString(),
    p: i.e,
  }));
  await tx.execute(sql`
    insert into email_events (organization_id, message_id, type, url, provider_event_id, payload, occurred_at)
    select ${org}, x.m, x.t, x.u, x.id, x.p, x.at from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      as x(m uuid, t text, u text, id text, p jsonb, at timestamptz)`);
  // Message state: timestamps keep the earliest occurrence; status only moves forward.
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
      from jsonb_to_recordset(${JSON.stringify(rows.map((r) => ({ m: r.m, t: r.t, at: r.at, r: r.p.reason ?? null })))}::jsonb) as x(m uuid, t text, at timestamptz, r text)
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
    from c where cu.organization_id = ${org} and cu.id = c.customer_id`);
  // The same effects on the suppression list, which outlives the customer row (deleted, renamed, re-imported).
  const REASON = { bounce: 'bounced', spamreport: 'complained', unsubscribe: 'unsubscribed', group_unsubscribe: 'unsubscribed' } as const;
  const consent = rows.filter((r) => Object.hasOwn(REASON, r.t)).map((r) => ({ messageId: r.m, reason: REASON[r.t as keyof typeof REASON] }));
  await suppressMessageRecipients(tx, org, consent, 'sendgrid');
  return todo.length;
}

/** The verification key as SendGrid's settings page shows it (base64 DER, SPKI), or PEM; imported once. */
export function importVerificationKey(key: string): KeyObject {
  let imported: KeyObject;
  try {
    imported = key.includes('-----BEGIN') ? createPublicKey(key) : createPublicKey({ key: Buffer.from(key, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new Error('SENDGRID_WEBHOOK_PUBLIC_KEY is not a public key (expected base64 DER or PEM)');
  }
  if (imported.asymmetricKeyType !== 'ec') throw new Error('SENDGRID_WEBHOOK_PUBLIC_KEY is not an ECDSA key');
  return imported;
}

/** Headers only, before the body is read: present, well-formed and fresh, or 401. */
function checkHeaders(headers: Record<string, unknown>) {
  const signature = headers[SIGNATURE_HEADER];
  const timestamp = headers[TIMESTAMP_HEADER];
  if (typeof signature !== 'string' || !SIGNATURE.test(signature) || typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp)) throw new AppError('unauthorized');
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) throw new AppError('unauthorized', 'Unauthorized - stale timestamp');
  return { signature, timestamp };
}

/** ECDSA P-256 / SHA-256 over the timestamp header followed by the raw body, as SendGrid signs it. */
export function verifySendgridSignature(key: KeyObject, timestamp: string, body: Buffer, signature: string): boolean {
  try {
    return verifySignature('sha256', Buffer.concat([Buffer.from(timestamp), body]), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export function registerEmailWebhook(app: App, { db, config }: { db: Database; config: Config }) {
  const key = config.email.sendgridWebhookPublicKey ? importVerificationKey(config.email.sendgridWebhookPublicKey) : null;
  const bodyLimit = config.email.sendgridWebhookBodyLimitBytes;
  const failures = failureLimit(app, {
    name: 'email-webhook',
    max: config.webhooks.maxFailures,
    windowSeconds: config.webhooks.failureWindowSeconds,
    failures: (status) => status === 401 || status === 413,
  });
  app.register(async (scope) => {
    // The signature covers the exact bytes: keep the body as the raw buffer for this route.
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
    scope.post('/api/webhooks/email', {
      config: { access: 'provider' },
      bodyLimit,
      onRequest: [
        failures.refuse,
        async (req, reply) => {
          if (!key) throw new AppError('unavailable', 'Email event webhook is not configured (SENDGRID_WEBHOOK_PUBLIC_KEY)');
          try {
            checkHeaders(req.headers);
          } catch (err) {
            reply.header('connection', 'close'); // do not drain a body we will not read
            throw err;
          }
        },
      ],
      onResponse: failures.count,
      schema: {
        tags: ['webhooks'],
        operationId: 'receiveSendgridEvents', summary: 'SendGrid Event Webhook (ECDSA-signed JSON array of events)',
        response: {
          200: z.object({ received: z.number(), applied: z.number(), duplicates: z.number(), unknown: z.number() }),
          400: ErrorOut, 401: ErrorOut, 413: ErrorOut, 429: ErrorOut, 503: ErrorOut,
        },
      },
      handler: async (req) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const { signature, timestamp } = checkHeaders(req.headers);
        if (!verifySendgridSignature(key!, timestamp, raw, signature)) throw new AppError('unauthorized');
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new AppError('bad_request', 'Body is not JSON');
        }
        const events = Events.safeParse(parsed);
        if (!events.success) throw new AppError('validation_failed', 'Expected a JSON array of SendGrid events');
        const { byId, byProvider } = await resolveOrganizations(db, events.data);
        const perOrg = new Map<string, Resolved[]>();
        let unknown = 0;
        events.data.forEach((e, i) => {
          const hit = (e.sb_message_id && byId.get(e.sb_message_id.toLowerCase())) || (e.sg_message_id && byProvider.get(e.sg_message_id.split('.')[0]));
          if (!hit) {
            unknown++;
            return;
          }
          const list = perOrg.get(hit.org) ?? [];
          list.push({ org: hit.org, messageId: hit.id, eventId: eventIdOf(e, (parsed as unknown[])[i]), e });
          perOrg.set(hit.org, list);
        });
        if (unknown) req.log.warn({ unknown }, 'email webhook: events for unknown messages acknowledged and ignored');
        let applied = 0;
        for (const [org, items] of perOrg) applied += await db.withTenant(org, (tx) => applyEvents(tx, org, items));
        return { received: events.data.length, applied, duplicates: events.data.length - unknown - applied, unknown };
      },
    });
  });
}
