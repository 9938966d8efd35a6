import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { schema, type Tx } from '../../db/index.js';
import { queryOne } from '../../db/sql.js';
import type { TenantContext } from '../../http/access.js';
import { notFound } from '../../http/errors.js';
import { IdParams, orgErrors, type App } from '../../http/types.js';
import { keysetPage, pageOf, pageQuery } from '../../lib/pagination.js';

export const SMS_MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'cancelled'] as const;

export const SmsMessagesQuery = z.strictObject({ ...pageQuery, status: z.enum(SMS_MESSAGE_STATUSES).optional().meta({ description: 'Only messages in this status' }) });

const At = z.string().nullable();
export const SmsMessageOut = z.object({
  id: z.uuid(),
  customerId: z.string().nullable(),
  toPhone: z.string(),
  status: z.enum(SMS_MESSAGE_STATUSES),
  segments: z.number().nullable(),
  attempts: z.number(),
  errorCode: z.number().nullable().meta({ description: "Twilio's error code of a failed or undelivered message" }),
  error: z.string().nullable(),
  sentAt: At,
  deliveredAt: At,
  failedAt: At,
  createdAt: z.string(),
});

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * A campaign's messages oldest first (the order they were queued), optionally of one status: keyset pages
 * on (created_at, id) read through sms_messages_campaign_list_idx / sms_messages_campaign_status_idx.
 */
export async function listSmsCampaignMessages(tx: Tx, ctx: TenantContext, id: string, q: z.infer<typeof SmsMessagesQuery>) {
  const org = ctx.organizationId;
  if (!(await queryOne(tx, sql`select 1 from sms_campaigns where organization_id = ${org} and id = ${id}`))) throw notFound();
  const m = schema.smsMessages;
  const { rows, nextCursor } = await keysetPage(tx, m, q, [eq(m.organizationId, org), eq(m.campaignId, id), q.status ? eq(m.status, q.status) : undefined], 'oldest');
  return {
    data: rows.map((r) => ({
      id: r.id,
      customerId: r.customerId,
      toPhone: r.toPhone,
      status: r.status as (typeof SMS_MESSAGE_STATUSES)[number],
      segments: r.segments,
      attempts: r.attempts,
      errorCode: r.errorCode,
      error: r.error,
      sentAt: iso(r.sentAt),
      deliveredAt: iso(r.deliveredAt),
      failedAt: iso(r.failedAt),
      createdAt: r.createdAt.toISOString(),
    })),
    nextCursor,
  };
}

export function registerSmsMessageRoutes(app: App) {
  app.get('/api/sms/campaigns/:id/messages', {
    config: { access: 'org' },
    schema: {
      tags: ['sms'],
      operationId: 'listSmsCampaignMessages',
      summary: "An SMS campaign's messages, oldest first, with status, segments and error code (filter status; cursor pagination)",
      params: IdParams,
      querystring: SmsMessagesQuery,
      response: { 200: pageOf(SmsMessageOut), ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => listSmsCampaignMessages(tx, ctx, req.params.id, req.query)),
  });
}
