import { randomBytes, randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, conflictOr404, notFound } from '../../http/errors.js';
import { keysetPage } from '../../lib/pagination.js';
import { sealSecret } from '../../lib/secret-box.js';
import { recordAudit } from '../audit/service.js';
import { enqueueDelivery } from './emit.js';
import type { EndpointCreate, EndpointPatch } from './schemas.js';
import { urlProblem, type AddressPolicy } from './ssrf.js';

const { webhookEndpoints: endpoints, webhookDeliveries: deliveries, webhookDeliveryAttempts: attempts } = schema;
type EndpointRow = typeof endpoints.$inferSelect;

/** What the service needs besides the transaction: the address policy, the sealing key, the rotation overlap. */
export interface WebhookSettings {
  policy: AddressPolicy;
  encryptionKey: string;
  secretOverlapHours: number;
}

/** A Standard Webhooks secret: `whsec_` and 24 random bytes in base64. */
export const newSigningSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

/** The sealed secret is bound to its endpoint: a ciphertext copied onto another row does not open. */
export const secretContext = (organizationId: string, endpointId: string) => `webhook-endpoint:${organizationId}:${endpointId}`;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const toEndpointDto = (r: EndpointRow) => ({
  id: r.id,
  url: r.url,
  eventTypes: r.eventTypes,
  description: r.description,
  enabled: r.enabled,
  disabledAt: iso(r.disabledAt),
  disabledReason: r.disabledReason,
  previousSecretExpiresAt: r.previousSecretExpiresAt && r.previousSecretExpiresAt > new Date() ? r.previousSecretExpiresAt.toISOString() : null,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

function checkUrl(url: string, settings: WebhookSettings) {
  const problem = urlProblem(url, settings.policy);
  if (problem) throw new AppError('validation_failed', problem, [{ in: 'body', path: 'url', message: problem }]);
}

const byId = (ctx: TenantContext, id: string) => and(eq(endpoints.organizationId, ctx.organizationId), eq(endpoints.id, id));

export async function listEndpoints(tx: Tx, ctx: TenantContext, q: { limit: number; cursor?: string }) {
  const { rows, nextCursor } = await keysetPage(tx, endpoints, q, [eq(endpoints.organizationId, ctx.organizationId)]);
  return { data: rows.map(toEndpointDto), nextCursor };
}

export async function getEndpoint(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.select().from(endpoints).where(byId(ctx, id));
  if (!row) throw notFound();
  return toEndpointDto(row);
}

export async function createEndpoint(tx: Tx, ctx: TenantContext, input: EndpointCreate, settings: WebhookSettings) {
  checkUrl(input.url, settings);
  const id = randomUUID();
  const secret = newSigningSecret();
  const [row] = await tx
    .insert(endpoints)
    .values({
      organizationId: ctx.organizationId,
      id,
      url: input.url,
      eventTypes: input.eventTypes,
      description: input.description ?? null,
      secretSealed: sealSecret(secret, settings.encryptionKey, secretContext(ctx.organizationId, id)),
    })
    .returning();
  await recordAudit(tx, ctx, { action: 'webhook_endpoint.created', resourceType: 'webhook_endpoint', resourceId: id, changes: { url: input.url, eventTypes: input.eventTypes } });
  return { ...toEndpointDto(row), secret };
}

export async function updateEndpoint(tx: Tx, ctx: TenantContext, id: string, input: EndpointPatch, settings: WebhookSettings) {
  if (input.url !== undefined) checkUrl(input.url, settings);
  const set: Partial<typeof endpoints.$inferInsert> & Record<string, unknown> = { updatedAt: sql`now()` as any };
  if (input.url !== undefined) set.url = input.url;
  if (input.eventTypes !== undefined) set.eventTypes = input.eventTypes;
  if (input.description !== undefined) set.description = input.description;
  if (input.enabled !== undefined) {
    set.enabled = input.enabled;
    // Turning an endpoint (back) on starts its failure count afresh.
    if (input.enabled) Object.assign(set, { consecutiveFailures: 0, failingSince: null, disabledAt: null, disabledReason: null });
  }
  const [row] = await tx.update(endpoints).set(set).where(byId(ctx, id)).returning();
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'webhook_endpoint.updated', resourceType: 'webhook_endpoint', resourceId: id, changes: { ...input } });
  return toEndpointDto(row);
}

export async function deleteEndpoint(tx: Tx, ctx: TenantContext, id: string) {
  const rows = await tx.delete(endpoints).where(byId(ctx, id)).returning({ id: endpoints.id, url: endpoints.url });
  if (!rows.length) throw notFound();
  await recordAudit(tx, ctx, { action: 'webhook_endpoint.deleted', resourceType: 'webhook_endpoint', resourceId: id, changes: { url: rows[0].url } });
}

/**
 * A new secret, returned once. The one it replaces keeps signing (a second `v1,` entry) until the
 * overlap ends, so receivers can switch without missing a delivery. Rotating again within the
 * overlap drops the oldest secret.
 */
export async function rotateSecret(tx: Tx, ctx: TenantContext, id: string, settings: WebhookSettings) {
  const secret = newSigningSecret();
  const until = new Date(Date.now() + settings.secretOverlapHours * 3600_000);
  const [row] = await tx
    .update(endpoints)
    .set({
      previousSecretSealed: sql`${endpoints.secretSealed}`,
      previousSecretExpiresAt: until,
      secretSealed: sealSecret(secret, settings.encryptionKey, secretContext(ctx.organizationId, id)),
      updatedAt: sql`now()`,
    })
    .where(byId(ctx, id))
    .returning();
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'webhook_endpoint.secret_rotated', resourceType: 'webhook_endpoint', resourceId: id, changes: { previousSecretExpiresAt: until.toISOString() } });
  return { ...toEndpointDto(row), secret };
}

/** The endpoint's delivery log, one entry per attempt, newest first. */
export async function listAttempts(tx: Tx, ctx: TenantContext, id: string, q: { limit: number; cursor?: string }) {
  await getEndpoint(tx, ctx, id);
  const { rows, nextCursor } = await keysetPage(tx, attempts, q, [eq(attempts.organizationId, ctx.organizationId), eq(attempts.endpointId, id)]);
  return {
    data: rows.map((r) => ({
      id: r.id,
      deliveryId: r.deliveryId,
      eventId: r.eventId,
      eventType: r.eventType,
      attempt: r.attempt,
      statusCode: r.statusCode,
      latencyMs: r.latencyMs,
      responseExcerpt: r.responseExcerpt,
      error: r.error,
      createdAt: r.createdAt.toISOString(),
    })),
    nextCursor,
  };
}

/** Sends a delivery again now, with the same webhook-id (receivers deduplicate on it). Refused while the endpoint is disabled. */
export async function replayDelivery(tx: Tx, ctx: TenantContext, endpointId: string, deliveryId: string) {
  const [row] = await tx
    .update(deliveries)
    .set({ status: 'pending', nextAttemptAt: sql`now()`, updatedAt: sql`now()` })
    .where(
      and(
        eq(deliveries.organizationId, ctx.organizationId),
        eq(deliveries.id, deliveryId),
        eq(deliveries.endpointId, endpointId),
        sql`exists (select 1 from webhook_endpoints e where e.organization_id = ${ctx.organizationId} and e.id = ${endpointId} and e.enabled)`,
      ),
    )
    .returning({ id: deliveries.id, eventId: deliveries.eventId });
  if (!row) {
    return conflictOr404(
      tx
        .select({ enabled: endpoints.enabled })
        .from(deliveries)
        .innerJoin(endpoints, and(eq(endpoints.organizationId, deliveries.organizationId), eq(endpoints.id, deliveries.endpointId)))
        .where(and(eq(deliveries.organizationId, ctx.organizationId), eq(deliveries.id, deliveryId), eq(deliveries.endpointId, endpointId)))
        .then((r) => r[0]),
      () => 'The endpoint is disabled: enable it (PATCH enabled: true) before replaying',
    );
  }
  await enqueueDelivery(tx, ctx.organizationId, row.id);
  await recordAudit(tx, ctx, { action: 'webhook_delivery.replayed', resourceType: 'webhook_endpoint', resourceId: endpointId, changes: { deliveryId } });
  return { deliveryId: row.id, eventId: row.eventId, status: 'pending' as const };
}
