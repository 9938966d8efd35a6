import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import type { Config } from '../../config.js';
import type { Database, Tx } from '../../db/index.js';
import { arr, query } from '../../db/sql.js';
import { systemContext } from '../../http/access.js';
import type { BatchJobHandler } from '../../jobs/queue.js';
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

/** Deliveries one worker run takes together (of one organization): their load, attempts and bookkeeping are one transaction each. */
export const DELIVERY_BATCH = 50;
/** How long a run waits for its slowest receivers before it records the attempts that have finished (at most half the timeout). */
const FIRST_WAVE_MS = 1000;

interface Attempted {
  d: Loaded;
  attempt: number;
  result: AttemptResult;
  ok: boolean;
  retryAt: Date | null;
}

/**
 * Deliveries as durable jobs, a batch of due ones of one organization per run (BatchJobHandler): one
 * read of the deliveries and their endpoints, every POST at once (outside any transaction), then one
 * transaction that writes every attempt, the deliveries' states and the endpoints' failure streaks
 * (two when some receivers are still answering after the first wave).
 * Each delivery keeps its own job: a failed attempt asks the worker to run that job again at the next
 * step of the schedule (JobResult retryAt).
 */
export function deliveryHandler(deps: DeliveryDeps): BatchJobHandler {
  const { db, config, sender } = deps;
  const settings = config.outboundWebhooks;
  const firstWaveMs = Math.min(FIRST_WAVE_MS, settings.timeoutMs / 2);
  return {
    batchSize: DELIVERY_BATCH,
    async run(jobs) {
      const org = jobs[0].organizationId;
      const ids = jobs.map((j) => String(j.payload.deliveryId));
      const loaded = await db.withTenant(org, (tx) =>
        query<Loaded>(
          tx,
          sql`select d.id as delivery_id, d.endpoint_id, d.event_id, d.event_type, d.payload, d.status, d.attempts,
                e.url, e.enabled, e.secret_sealed, e.previous_secret_sealed,
                coalesce(e.previous_secret_expires_at > now(), false) as previous_valid
              from webhook_deliveries d
              join webhook_endpoints e on e.organization_id = d.organization_id and e.id = d.endpoint_id
              where d.organization_id = ${org} and d.id = any(${arr(ids)}::uuid[]) and d.status = 'pending'`,
        ),
      );
      // Disabled meanwhile: those deliveries stop here; a replay after re-enabling sends them.
      const stopped = loaded.filter((d) => !d.enabled).map((d) => d.delivery_id);
      const secrets = new Map<string, string[]>();
      const secretsOf = (d: Loaded) => {
        let list = secrets.get(d.endpoint_id);
        if (!list) {
          const ctx = secretContext(org, d.endpoint_id);
          list = [openSecret(d.secret_sealed, config.secrets.encryptionKey, ctx)];
          if (d.previous_secret_sealed && d.previous_valid) list.push(openSecret(d.previous_secret_sealed, config.secrets.encryptionKey, ctx));
          secrets.set(d.endpoint_id, list);
        }
        return list;
      };
      const finished: Attempted[] = [];
      const posts = Promise.all(
        loaded
          .filter((d) => d.enabled)
          .map(async (d) => {
            const body = JSON.stringify(d.payload);
            const at = new Date();
            const result = await sender.post(
              d.url,
              { 'webhook-id': d.event_id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signatureHeader(secretsOf(d), d.event_id, at, body) },
              body,
            );
            const attempt = d.attempts + 1;
            const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
            const delay = ok ? null : nextAttemptDelay(attempt, settings.retryBaseMs, result.retryAfterSeconds);
            finished.push({ d, attempt, result, ok, retryAt: delay === null ? null : new Date(Date.now() + delay) });
          }),
      );
      // A slow receiver does not hold back the log of the others: what has finished within the first
      // wave is recorded then, the rest when it finishes.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([posts, new Promise((r) => (timer = setTimeout(r, firstWaveMs)))]);
      clearTimeout(timer);
      const attempted: Attempted[] = [];
      const disabled: Awaited<ReturnType<typeof record>> = [];
      const recordWave = async (first: boolean) => {
        const wave = finished.splice(0);
        if (!wave.length && !(first && stopped.length)) return;
        attempted.push(...wave);
        disabled.push(...(await db.withTenant(org, (tx) => record(tx, org, wave, first ? stopped : [], settings))));
      };
      await recordWave(true);
      await posts;
      await recordWave(false);
      for (const notice of disabled) {
        for (const to of notice.admins) {
          await deps.notify({
            to,
            subject: 'A webhook endpoint was disabled',
            lines: [
              `Switchboard disabled the webhook endpoint ${notice.url} of your organization: ${notice.reason}.`,
              'Deliveries to it have stopped. Once the receiver works again, turn the endpoint back on (PATCH /api/webhook-endpoints/:id with {"enabled": true}) and replay what it missed from its delivery log.',
              `Endpoint id: ${notice.endpointId}`,
            ],
          });
        }
      }
      const off = new Set(disabled.map((n) => n.endpointId));
      const retries = new Map(attempted.filter((a) => a.retryAt && !off.has(a.d.endpoint_id)).map((a) => [a.d.delivery_id, a.retryAt!]));
      return ids.map((id) => (retries.has(id) ? { retryAt: retries.get(id)! } : undefined));
    },
  };
}

/**
 * Writes a batch's attempts and their consequences: each attempt logged, each delivery's state, each
 * endpoint's failure streak (a success in the batch ends it). Returns the endpoints this batch disabled,
 * with the admins to notify.
 */
async function record(tx: Tx, org: string, attempted: Attempted[], stopped: string[], s: Config['outboundWebhooks']) {
  if (stopped.length) {
    await tx.execute(sql`update webhook_deliveries set status = 'failed', next_attempt_at = null, updated_at = now()
      where organization_id = ${org} and id = any(${arr(stopped)}::uuid[]) and status = 'pending'`);
  }
  if (!attempted.length) return [];
  const rows = attempted.map(({ d, attempt, result: r, ok, retryAt }) => ({
    delivery_id: d.delivery_id,
    endpoint_id: d.endpoint_id,
    event_id: d.event_id,
    event_type: d.event_type,
    attempt,
    status_code: r.statusCode,
    latency_ms: r.latencyMs,
    response_excerpt: r.excerpt,
    error: r.error ?? (ok ? null : `HTTP ${r.statusCode}`),
    status: ok ? 'delivered' : retryAt ? 'pending' : 'failed',
    next_attempt_at: retryAt?.toISOString() ?? null,
  }));
  const batch = sql`jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(delivery_id uuid, endpoint_id uuid, event_id uuid, event_type text,
    attempt int, status_code int, latency_ms int, response_excerpt text, error text, status text, next_attempt_at timestamptz)`;
  await tx.execute(sql`insert into webhook_delivery_attempts
      (organization_id, endpoint_id, delivery_id, event_id, event_type, attempt, status_code, latency_ms, response_excerpt, error)
    select ${org}, x.endpoint_id, x.delivery_id, x.event_id, x.event_type, x.attempt, x.status_code, x.latency_ms, x.response_excerpt, x.error
    from ${batch}`);
  // A retry for an endpoint disabled meanwhile (by an earlier wave, or by hand) is not scheduled: the delivery has failed.
  await tx.execute(sql`update webhook_deliveries d set status = y.status, attempts = y.attempt, next_attempt_at = y.next_attempt_at,
      delivered_at = case when y.status = 'delivered' then now() end, updated_at = now()
    from (
      select x.delivery_id, x.attempt,
        case when x.status = 'pending' and not e.enabled then 'failed' else x.status end as status,
        case when x.status = 'pending' and not e.enabled then null else x.next_attempt_at end as next_attempt_at
      from ${batch}
      join webhook_endpoints e on e.organization_id = ${org} and e.id = x.endpoint_id
    ) y
    where d.organization_id = ${org} and d.id = y.delivery_id`);

  const succeeded = [...new Set(attempted.filter((a) => a.ok).map((a) => a.d.endpoint_id))];
  if (succeeded.length) {
    await tx.execute(sql`update webhook_endpoints set consecutive_failures = 0, failing_since = null
      where organization_id = ${org} and id = any(${arr(succeeded)}::uuid[]) and consecutive_failures > 0`);
  }
  const failures = new Map<string, { n: number; url: string }>();
  for (const a of attempted) {
    if (a.ok || succeeded.includes(a.d.endpoint_id)) continue;
    const f = failures.get(a.d.endpoint_id) ?? { n: 0, url: a.d.url };
    f.n++;
    failures.set(a.d.endpoint_id, f);
  }
  const disabled: { endpointId: string; url: string; reason: string; admins: string[] }[] = [];
  for (const [endpointId, { n, url }] of failures) {
    const notice = await addFailures(tx, org, endpointId, n, s);
    if (notice) disabled.push({ endpointId, url, ...notice });
  }
  return disabled;
}

/** Adds failed attempts to an endpoint's streak, and disables it when the streak is long and old enough. */
async function addFailures(tx: Tx, org: string, endpointId: string, n: number, s: Config['outboundWebhooks']) {
  const [e] = await query<{ failures: number; disable: boolean }>(
    tx,
    sql`update webhook_endpoints set consecutive_failures = consecutive_failures + ${n}, failing_since = coalesce(failing_since, now())
      where organization_id = ${org} and id = ${endpointId}
      returning consecutive_failures as failures,
        enabled and consecutive_failures >= ${s.disableAfterFailures}
          and failing_since <= now() - make_interval(secs => ${s.disableAfterSeconds}::double precision) as disable`,
  );
  if (!e?.disable) return null;
  const reason = `${e.failures} failed attempts in a row`;
  await tx.execute(sql`update webhook_endpoints set enabled = false, disabled_at = now(), disabled_reason = ${reason}, updated_at = now()
    where organization_id = ${org} and id = ${endpointId}`);
  // Its other pending deliveries stop too; each is still listed and can be replayed once it is back on.
  await tx.execute(sql`update webhook_deliveries set status = 'failed', next_attempt_at = null, updated_at = now()
    where organization_id = ${org} and endpoint_id = ${endpointId} and status = 'pending'`);
  await recordAudit(tx, systemContext(org, 'webhook-delivery'), {
    action: 'webhook_endpoint.disabled',
    resourceType: 'webhook_endpoint',
    resourceId: endpointId,
    changes: { reason },
  });
  const admins = await query<{ email: string }>(
    tx,
    sql`select u.email from memberships m join users u on u.id = m.user_id
      where m.organization_id = ${org} and m.role in ('admin', 'owner') order by u.email`,
  );
  return { reason, admins: admins.map((a) => a.email) };
}
