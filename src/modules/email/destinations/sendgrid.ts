import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Received, SystemLookup, WebhookDelivery } from '../../../channels/webhook.js';
import { arr, query } from '../../../db/sql.js';
import { AppError } from '../../../http/errors.js';
import { isUuid } from '../../../lib/uuid.js';
import type { EmailEvent } from '../events.js';

/**
 * SendGrid, everything specific to it: the Event Webhook's signature (ECDSA P-256 over the
 * timestamp header and the raw body), its event JSON, and how its events name our messages
 * (our `sb_message_id` custom argument, or SendGrid's own message id). What an event does to a
 * message and a customer is provider-neutral (../events.ts).
 */
const TOLERANCE_SECONDS = 5 * 60;
const SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
const TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';
/** Base64 of a DER ECDSA P-256 signature (at most 72 bytes), with room to spare. */
const SIGNATURE = /^[A-Za-z0-9+/]{16,128}={0,2}$/;

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
export function checkSendgridHeaders(headers: IncomingHttpHeaders) {
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

/** SendGrid's event id; an event without one is identified by the hash of its JSON (computed only then). */
const eventIdOf = (e: SgEvent, raw: unknown) => e.sg_event_id ?? `sha256:${createHash('sha256').update(JSON.stringify(raw)).digest('hex')}`;

/** Our event for SendGrid's: a blocked bounce is its own type; the time is SendGrid's, else now. */
const toEmailEvent = (e: SgEvent, messageId: string, providerEventId: string): EmailEvent => ({
  messageId,
  providerEventId,
  type: e.event === 'bounce' && e.type === 'blocked' ? 'blocked' : e.event,
  url: typeof e.url === 'string' ? e.url : null,
  reason: e.reason ?? null,
  at: new Date((typeof e.timestamp === 'number' ? e.timestamp : Date.now() / 1000) * 1000).toISOString(),
  payload: e,
});

/** Verifies a delivery with the platform's key, then finds each event's organization by our message id. */
export async function receiveSendgridEvents(key: KeyObject, delivery: WebhookDelivery, lookup: SystemLookup): Promise<Received<EmailEvent>> {
  const { signature, timestamp } = checkSendgridHeaders(delivery.headers);
  if (!verifySendgridSignature(key, timestamp, delivery.raw, signature)) throw new AppError('unauthorized');
  let parsed: unknown;
  try {
    parsed = JSON.parse(delivery.raw.toString('utf8'));
  } catch {
    throw new AppError('bad_request', 'Body is not JSON');
  }
  const events = Events.safeParse(parsed);
  if (!events.success) throw new AppError('validation_failed', 'Expected a JSON array of SendGrid events');

  const ids = [...new Set(events.data.map((e) => e.sb_message_id).filter((x): x is string => !!x && isUuid(x)))];
  const providerIds = [...new Set(events.data.filter((e) => !e.sb_message_id && e.sg_message_id).map((e) => e.sg_message_id!.split('.')[0]))];
  // The one cross-organization read: which organization owns each message id.
  const { byId, byProvider } = await lookup(async (tx) => {
    const byId = new Map<string, { org: string; id: string }>();
    const byProvider = new Map<string, { org: string; id: string }>();
    if (ids.length) {
      for (const r of await query<{ organization_id: string; id: string }>(tx, sql`select organization_id, id from email_messages where id = any(${arr(ids)}::uuid[])`)) {
        byId.set(r.id, { org: r.organization_id, id: r.id });
      }
    }
    if (providerIds.length) {
      for (const r of await query<{ organization_id: string; id: string; provider_message_id: string }>(
        tx,
        sql`select organization_id, id, provider_message_id from email_messages where provider_message_id = any(${arr(providerIds)}::text[])`,
      )) {
        byProvider.set(r.provider_message_id, { org: r.organization_id, id: r.id });
      }
    }
    return { byId, byProvider };
  });

  const placed: Received<EmailEvent>['placed'] = [];
  let unknown = 0;
  events.data.forEach((e, i) => {
    const hit = (e.sb_message_id && byId.get(e.sb_message_id.toLowerCase())) || (e.sg_message_id && byProvider.get(e.sg_message_id.split('.')[0]));
    if (!hit) unknown++;
    else {
      const eventId = eventIdOf(e, (parsed as unknown[])[i]);
      placed.push({ organizationId: hit.org, eventId, event: toEmailEvent(e, hit.id, eventId) });
    }
  });
  return { placed, unknown };
}
