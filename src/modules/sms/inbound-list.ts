import { eq } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { keysetPage } from '../../lib/pagination.js';
import type { InboundListQuery } from './schemas.js';

const { smsInboundMessages: t } = schema;

export async function listInboundSms(tx: Tx, ctx: TenantContext, q: InboundListQuery) {
  const { rows, nextCursor } = await keysetPage(tx, t, q, [eq(t.organizationId, ctx.organizationId), q.customerId ? eq(t.customerId, q.customerId) : undefined]);
  return {
    data: rows.map((r) => ({
      id: r.id,
      customerId: r.customerId,
      from: r.fromNumber,
      to: r.toNumber,
      body: r.body,
      keyword: r.keyword,
      numMedia: r.numMedia,
      messageSid: r.providerMessageId,
      createdAt: r.createdAt.toISOString(),
    })),
    nextCursor,
  };
}
