import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import type { Config } from '../../config.js';
import type { Database, Tx } from '../../db/index.js';
import { query, queryOne } from '../../db/sql.js';
import { systemContext } from '../../http/access.js';
import type { JobHandler } from '../../jobs/queue.js';
import { openSecret } from '../../lib/secret-box.js';
import { recordAudit } from '../audit/service.js';
import type { AccountMail } from '../auth/mail.js';
import type { AttemptResult, WebhookSender } from './sender.js';
import { secretContext } from './service.js';

/** Retry delays as multiples of WEBHOOK_RETRY_BASE_MS: 5 s, 30 s, 2 m, 10 m, 30 m, 1 h, 3 h, 6 h, 12 h at the default 5 s (≈ 22 h in all). */
export const RETRY_STEPS = [1, 6, 24, 120, 360, 720, 2160, 4320, 8640];
/** A Retry-After longer than this is not honoured beyond it. */
const MAX_RETRY_AFTER_MS = 24 * 3600_000;

interface Loaded {
  delivery_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  payload: unknown;
  status: string;
  attempts: number;
  url: string;
  enabled: boolean;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_valid: boolean;
}

export interface DeliveryDeps {
  db: Database;
  config: Config;
  sender: WebhookSender;
  /** Sends the notice of a disabled endpoint to one admin (the account mailer). */
  notify(mail: AccountMail): Promise<void>;
}

/** The `webhook-signature` header: one `v1,` entry per live secret, space-separated (Standard Webhooks). */
export function signatureHeader(secrets: string[], eventId: string, at: Date, body: string) {
  return secrets.map((s) => new Webhook(s).sign(eventId, at, body)).join(' ');
}

/** When the next attempt is due after a failed one, or null when the retries have run out. */
export function nextAttemptDelay(attempt: number, baseMs: number, retryAfterSeconds: number | null): number | null {
  if (attempt > RETRY_STEPS.length) return null;
  const backoff = RETRY_STEPS[attempt - 1] * baseMs;
  const asked = retryAfterSeconds === null ? 0 : Math.min(retryAfterSeconds * 1000, MAX_RETRY_AFTER_MS);
  return Math.max(backoff, asked);
}

/**
 * One attempt of one delivery, as a durable job. The HTTP request runs outside any transaction; the
 * attempt, the delivery's state and the endpoint's failure streak are then written together. A failed
 * attempt asks the worker to run the job again at the next step of the schedule (JobResult retryAt).
 */
export function deliveryHandler(deps: DeliveryDeps): JobHandler {
  const { db, config, sender } = deps;
  const settings = config.outboundWebhooks;
  return async (job) => {
    const org = job.organizationId;
    const deliveryId = String(job.payload.deliveryId);
    const d = await db.withTenant(org, (tx) =>
      queryOne<Loaded>(
        tx,
        sql`select d.id as delivery_id, d.endpoint_id, d.event_id, d.event_type, d.payload, d.status, d.attempts,
              e.url, e.enabled, e.secret_sealed, e.previous_secret_sealed,
              coalesce(e.previous_secret_expires_at > now(), false) as previous_valid
            from webhook_deliveries d
            join webhook_endpoints e on e.organization_id = d.organization_id and e.id = d.endpoint_id
            where d.organization_id = ${org} and d.id = ${deliveryId}`,
      ),
    );
    if (!d || d.status !== 'pending') return;
    if (!d.enabled) {
      // Disabled meanwhile: the delivery stops here; a replay after re-enabling sends it.
      await db.withTenant(org, (tx) =>
        tx.execute(sql`update webhook_deliveries set status = 'failed', next_attempt_at = null, updated_at = now()
          where organization_id = ${org} and id = ${deliveryId} and status = 'pending'`),
      );
      return;
    }
    const ctx = secretContext(org, d.endpoint_id);
    const secrets = [openSecret(d.secret_sealed, config.secrets.encryptionKey, ctx)];
    if (d.previous_secret_sealed && d.previous_valid) secrets.push(openSecret(d.previous_secret_sealed, config.secrets.encryptionKey, ctx));
    const body = JSON.stringify(d.payload);
    const at = new Date();
    const result = await sender.post(
      d.url,
      { 'webhook-id': d.event_id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signatureHeader(secrets, d.event_id, at, body) },
      body,
    );
    const attempt = d.attempts + 1;
    const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    const delay = ok ? null : nextAttemptDelay(attempt, settings.retryBaseMs, result.retryAfterSeconds);
    const retryAt = delay === null ? null : new Date(Date.now() + delay);
    const disabled = await db.withTenant(org, (tx) => record(tx, org, d, attempt, result, ok, retryAt, settings));
    if (disabled) {
      for (const to of disabled.admins) {
        await deps.notify({
          to,
          subject: 'A webhook endpoint was disabled',
          lines: [
            `Switchboard disabled the webhook endpoint ${d.url} of your organization: ${disabled.reason}.`,
            'Deliveries to it have stopped. Once the receiver works again, turn the endpoint back on (PATCH /api/webhook-endpoints/:id with {"enabled": true}) and replay what it missed from its delivery log.',
            `Endpoint id: ${d.endpoint_id}`,
          ],
        });
      }
    }
    return retryAt && !disabled ? { retryAt } : undefined;
  };
}

/** Writes the attempt and its consequences; returns the admins to notify when this attempt disabled the endpoint. */
async function record(tx: Tx, org: string, d: Loaded, attempt: number, r: AttemptResult, ok: boolean, retryAt: Date | null, s: Config['outboundWebhooks']) {
  await tx.execute(sql`insert into webhook_delivery_attempts
      (organization_id, endpoint_id, delivery_id, event_id, event_type, attempt, status_code, latency_ms, response_excerpt, error)
    values (${org}, ${d.endpoint_id}, ${d.delivery_id}, ${d.event_id}, ${d.event_type}, ${attempt}, ${r.statusCode}, ${r.latencyMs},
      ${r.excerpt}, ${r.error ?? (ok ? null : `HTTP ${r.statusCode}`)})`);
  const status = ok ? 'delivered' : retryAt ? 'pending' : 'failed';
  await tx.execute(sql`update webhook_deliveries set status = ${status}, attempts = ${attempt},
      next_attempt_at = ${retryAt?.toISOString() ?? null}::timestamptz, delivered_at = case when ${ok} then now() end, updated_at = now()
    where organization_id = ${org} and id = ${d.delivery_id}`);
  if (ok) {
    await tx.execute(sql`update webhook_endpoints set consecutive_failures = 0, failing_since = null
      where organization_id = ${org} and id = ${d.endpoint_id} and consecutive_failures > 0`);
    return null;
  }
  const [e] = await query<{ failures: number; disable: boolean }>(
    tx,
    sql`update webhook_endpoints set consecutive_failures = consecutive_failures + 1, failing_since = coalesce(failing_since, now())
      where organization_id = ${org} and id = ${d.endpoint_id}
      returning consecutive_failures as failures,
        enabled and consecutive_failures >= ${s.disableAfterFailures}
          and failing_since <= now() - make_interval(secs => ${s.disableAfterSeconds}::double precision) as disable`,
  );
  if (!e?.disable) return null;
  const reason = `${e.failures} failed attempts in a row`;
  await tx.execute(sql`update webhook_endpoints set enabled = false, disabled_at = now(), disabled_reason = ${reason}, updated_at = now()
    where organization_id = ${org} and id = ${d.endpoint_id}`);
  // Its other pending deliveries stop too; each is still listed and can be replayed once it is back on.
  await tx.execute(sql`update webhook_deliveries set status = 'failed', next_attempt_at = null, updated_at = now()
    where organization_id = ${org} and endpoint_id = ${d.endpoint_id} and status = 'pending'`);
  await recordAudit(tx, systemContext(org, 'webhook-delivery'), {
    action: 'webhook_endpoint.disabled',
    resourceType: 'webhook_endpoint',
    resourceId: d.endpoint_id,
    changes: { reason },
  });
  const admins = await query<{ email: string }>(
    tx,
    sql`select u.email from memberships m join users u on u.id = m.user_id
      where m.organization_id = ${org} and m.role in ('admin', 'owner') order by u.email`,
  );
  return { reason, admins: admins.map((a) => a.email) };
}
