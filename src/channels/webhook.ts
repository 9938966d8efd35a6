import type { IncomingHttpHeaders } from 'node:http';
import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Database, Tx } from '../db/index.js';
import { arr, query } from '../db/sql.js';
import { systemContext, type AuditContext } from '../http/access.js';
import { AppError } from '../http/errors.js';
import { failureLimit } from '../http/failure-limit.js';
import { ErrorOut, type App } from '../http/types.js';

/**
 * The provider-webhook pipeline every inbound provider route shares (SendGrid events, Twilio
 * status callbacks and calls, later Shopify and Stripe). In order:
 *
 *   1. the client's failure budget (401/413 answers count against its address) and cheap header
 *      checks, before the body is read;
 *   2. the raw body, as bytes, up to the provider's limit (the signature covers the exact bytes);
 *   3. `receive`: signature verification before any other work, then placing each event in its
 *      organization through the route's one allow-listed system lookup (SYSTEM_REASONS). A
 *      provider with one platform key verifies and then looks up; one whose key belongs to an
 *      organization (Twilio's auth token) looks up only the account by its id, then verifies with
 *      that key before reading anything else. Nothing is written before the signature holds;
 *   4. per organization, one tenant transaction: deduplication on the provider's event id
 *      (processed_webhook_events; rolled back with the events if applying fails, so a retry
 *      applies them) and `apply`, which writes audit entries as the system actor;
 *   5. events it cannot place (unknown message, deleted organization) are acknowledged — a 2xx,
 *      so the provider stops retrying — counted and logged.
 */

/** One delivery as the provider sent it. */
export interface WebhookDelivery {
  raw: Buffer;
  headers: IncomingHttpHeaders;
  /** The URL the provider called, as it saw it: PUBLIC_URL + path + query string (behind a proxy too). */
  url: string;
  requestId: string;
  log: FastifyBaseLogger;
}

/** An event placed in the organization it belongs to; `eventId` null means "not deduplicated". */
export interface Placed<E> {
  organizationId: string;
  eventId: string | null;
  event: E;
}

export interface Received<E> {
  placed: Placed<E>[];
  /** Events the lookup could not place (acknowledged, not applied). */
  unknown: number;
  /** Events in the delivery (default: placed + unknown). */
  received?: number;
}

/** The allow-listed owner-access read a route places its events with. */
export type SystemLookup = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

export interface WebhookSummary<R> {
  received: number;
  applied: number;
  duplicates: number;
  unknown: number;
  /** What `apply` returned, per organization, in delivery order. */
  results: R[];
}

/** What the route answers: JSON by default, or a body of its own type (TwiML). */
export type WebhookResponse = { json: unknown } | { status?: number; contentType: string; body: string };

export interface ProviderWebhookSpec<E, R> {
  path: string;
  /** Deduplication namespace (processed_webhook_events.provider) and the audit reason's prefix. */
  provider: string;
  operationId: string;
  summary: string;
  description?: string;
  tags?: string[];
  /** The content types whose raw bytes this route takes (each gets a buffer parser in the route's scope). */
  contentTypes: string[];
  bodyLimit: number;
  /**
   * The one owner-access read this route may make: `(fn) => db.withSystem('<reason>', fn)`, written
   * at the registration with a string-literal reason from SYSTEM_REASONS so that the reviewed call
   * sites (test/with-system.test.ts) stay visible. `receive` gets it; nothing else does.
   */
  lookup: SystemLookup;
  /** Present, well-formed, fresh signature headers, before the body is read; throws AppError('unauthorized'). */
  checkHeaders?(headers: IncomingHttpHeaders): void;
  /** Refuses with 503 when the provider is not configured (e.g. no verification key). */
  unavailable?(): string | null;
  /** Verifies the signature, then places the events. Throws AppError('unauthorized') on a bad signature. */
  receive(delivery: WebhookDelivery, lookup: SystemLookup): Promise<Received<E>>;
  /** Applies one organization's new events inside its tenant transaction. */
  apply(tx: Tx, ctx: AuditContext, events: E[], delivery: WebhookDelivery): Promise<R>;
  /** The answer; default `{ received, applied, duplicates, unknown }`. */
  respond?(summary: WebhookSummary<R>, delivery: WebhookDelivery): WebhookResponse | Promise<WebhookResponse>;
  /** OpenAPI responses for 200 (default: the JSON summary). */
  okResponse?: unknown;
}

export const WebhookSummaryOut = z.object({ received: z.number(), applied: z.number(), duplicates: z.number(), unknown: z.number() });

/** The form fields of an `application/x-www-form-urlencoded` body (Twilio), last value of a repeated key wins. */
export function formFields(raw: Buffer): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
}

/** Inserts the event ids not seen before and returns them (inside the organization's transaction). */
async function freshEventIds(tx: Tx, provider: string, organizationId: string, ids: string[]) {
  if (!ids.length) return new Set<string>();
  const rows = await query<{ event_id: string }>(
    tx,
    // The global key (provider, event_id) refuses a duplicate from anywhere; RETURNING shows only this insert.
    sql`insert into processed_webhook_events (provider, event_id, organization_id)
        select ${provider}, unnest(${arr(ids)}::text[]), ${organizationId}
        on conflict do nothing returning event_id`,
  );
  return new Set(rows.map((r) => r.event_id));
}

export function registerProviderWebhook<E, R>(app: App, { db, config }: { db: Database; config: Config }, spec: ProviderWebhookSpec<E, R>) {
  const failures = failureLimit(app, {
    name: `webhook:${spec.provider}:${spec.path}`,
    max: config.webhooks.maxFailures,
    windowSeconds: config.webhooks.failureWindowSeconds,
    failures: (status) => status === 401 || status === 413,
  });
  const reason = `${spec.provider}-webhook`;

  app.register(async (scope) => {
    for (const type of spec.contentTypes) {
      scope.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: spec.bodyLimit }, (_req, body, done) => done(null, body));
    }
    scope.post(spec.path, {
      config: { access: 'provider' },
      bodyLimit: spec.bodyLimit,
      onRequest: [
        failures.refuse,
        async (req, reply) => {
          const why = spec.unavailable?.();
          if (why) throw new AppError('unavailable', why);
          try {
            spec.checkHeaders?.(req.headers);
          } catch (err) {
            reply.header('connection', 'close'); // do not drain a body we will not read
            throw err;
          }
        },
      ],
      onResponse: failures.count,
      schema: {
        tags: spec.tags ?? ['webhooks'],
        operationId: spec.operationId,
        summary: spec.summary,
        ...(spec.description && { description: spec.description }),
        response: {
          200: (spec.okResponse as z.ZodType) ?? WebhookSummaryOut,
          400: ErrorOut, 401: ErrorOut, 413: ErrorOut, 415: ErrorOut, 429: ErrorOut, 503: ErrorOut,
        },
      },
      handler: async (req, reply: FastifyReply) => {
        const delivery: WebhookDelivery = {
          raw: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
          headers: req.headers,
          url: `${config.publicUrl}${req.url}`,
          requestId: req.id,
          log: req.log,
        };
        const got = await spec.receive(delivery, spec.lookup);
        // Per organization, in the order the delivery named them.
        const perOrg = new Map<string, Placed<E>[]>();
        for (const p of got.placed) {
          const list = perOrg.get(p.organizationId) ?? [];
          list.push(p);
          perOrg.set(p.organizationId, list);
        }
        if (got.unknown) req.log.warn({ provider: spec.provider, unknown: got.unknown }, 'webhook: events that belong to no organization acknowledged and ignored');
        let applied = 0;
        const results: R[] = [];
        for (const [org, items] of perOrg) {
          const result = await db.withTenant(org, async (tx) => {
            const ids = items.filter((i) => i.eventId !== null).map((i) => i.eventId!);
            const fresh = await freshEventIds(tx, spec.provider, org, [...new Set(ids)]);
            const todo = items.filter((i) => i.eventId === null || fresh.delete(i.eventId));
            applied += todo.length;
            return spec.apply(tx, systemContext(org, reason, req.id), todo.map((i) => i.event), delivery);
          });
          results.push(result);
        }
        const received = got.received ?? got.placed.length + got.unknown;
        const summary: WebhookSummary<R> = { received, applied, duplicates: got.placed.length - applied, unknown: got.unknown, results };
        const out = spec.respond ? await spec.respond(summary, delivery) : { json: { received, applied, duplicates: summary.duplicates, unknown: summary.unknown } };
        if ('json' in out) return out.json;
        return reply.code(out.status ?? 200).type(out.contentType).send(out.body);
      },
    });
  });
}
