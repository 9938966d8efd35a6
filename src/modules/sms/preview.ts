import { and, eq } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { notFound } from '../../http/errors.js';
import { renderForPreview, SAMPLE_CUSTOMER, type RenderPool, type SmsCustomer } from './render.js';
import { segmentInfo } from './segments.js';

const { customers, smsCampaigns } = schema;

/** What a preview renders: read in the tenant transaction; the render runs after it (previewSms). */
export interface PreviewSource {
  organizationId: string;
  name: string;
  body: string;
  customerId: string | null;
  customer: SmsCustomer;
}

async function customerFor(tx: Tx, ctx: TenantContext, customerId: string | undefined): Promise<SmsCustomer> {
  if (!customerId) return SAMPLE_CUSTOMER;
  const [c] = await tx.select().from(customers).where(and(eq(customers.organizationId, ctx.organizationId), eq(customers.id, customerId)));
  if (!c) throw notFound();
  return c;
}

export async function bodyPreviewSource(tx: Tx, ctx: TenantContext, input: { body: string; customerId?: string }): Promise<PreviewSource> {
  const customer = await customerFor(tx, ctx, input.customerId);
  return { organizationId: ctx.organizationId, name: '', body: input.body, customerId: input.customerId ?? null, customer };
}

export async function campaignPreviewSource(tx: Tx, ctx: TenantContext, id: string, input: { customerId?: string }): Promise<PreviewSource> {
  const [c] = await tx.select().from(smsCampaigns).where(and(eq(smsCampaigns.organizationId, ctx.organizationId), eq(smsCampaigns.id, id)));
  if (!c) throw notFound();
  return { ...(await bodyPreviewSource(tx, ctx, { body: c.body, customerId: input.customerId })), name: c.name };
}

/** The body rendered for the customer (or a sample one), with what it costs: segments and encoding. */
export async function previewSms(pool: RenderPool, src: PreviewSource) {
  const body = await renderForPreview(pool, src.organizationId, src, src.customer);
  return { body, customerId: src.customerId, ...segmentInfo(body) };
}
