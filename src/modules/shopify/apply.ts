import { sql } from 'drizzle-orm';
import { PHONE_KEY } from '../../lib/phone.js';
import type { Tx } from '../../db/index.js';
import { arr, query, queryOne } from '../../db/sql.js';
import type { AuditContext } from '../../http/access.js';
import { recordAudit } from '../audit/service.js';
import type { Plans } from '../billing/limits.js';
import { normalizeAddress } from '../suppressions/service.js';
import { trackInternal } from '../analytics/track.js';
import { emitEvents } from '../webhooks/emit.js';
import { e164, emitCustomerEvents, fromWebhook, numericId, upsertShopifyCustomer } from './customers.js';
import { markUninstalled } from './store.js';

/** One verified Shopify webhook delivery, placed in its organization. */
export interface ShopifyEvent {
  topic: string;
  shop: string;
  webhookId: string | null;
  body: any;
}

export type Outcome = 'applied' | 'ignored';

/** Applies one delivery's topic inside the organization's tenant transaction, as the system actor. */
export async function applyShopifyEvent(tx: Tx, ctx: AuditContext, e: ShopifyEvent, plans: Plans): Promise<Outcome> {
  const org = ctx.organizationId;
  switch (e.topic) {
    case 'customers/create':
    case 'customers/update': {
      const c = fromWebhook(e.body);
      if (!c) return 'ignored';
      const r = await upsertShopifyCustomer(tx, org, c, plans);
      if (r === 'over_plan') {
        await recordAudit(tx, ctx, { action: 'customer.skipped', resourceType: 'customer', resourceId: null, changes: { source: 'shopify', topic: e.topic, shopifyCustomerId: c.shopifyId, reason: 'plan_limit' } });
        return 'ignored';
      }
      if (!r) return 'ignored';
      await recordAudit(tx, ctx, {
        action: r.created ? 'customer.created' : 'customer.updated',
        resourceType: 'customer',
        resourceId: r.id,
        changes: { source: 'shopify', topic: e.topic, shopifyCustomerId: c.shopifyId },
      });
      await emitCustomerEvents(tx, org, r.created ? [r.id] : [], r.created ? [] : [r.id]);
      return 'applied';
    }
    case 'orders/create':
      return recordOrder(tx, ctx, e.body);
    case 'app/uninstalled':
      return (await markUninstalled(tx, ctx, e.shop)) ? 'applied' : 'ignored';
    case 'customers/data_request':
      return exportCustomerData(tx, ctx, e);
    case 'customers/redact':
      return redactCustomer(tx, ctx, e);
    case 'shop/redact':
      return redactShop(tx, ctx, e.shop);
    default:
      return 'ignored';
  }
}

/** orders/create: the order once (by Shopify order id), linked to the customer by Shopify customer id or email. */
async function recordOrder(tx: Tx, ctx: AuditContext, o: any): Promise<Outcome> {
  const org = ctx.organizationId;
  // The gid first: JSON numbers past 2^53 (real order ids can be) lose digits when parsed.
  const orderId = numericId(o?.admin_graphql_api_id ?? o?.id);
  if (!orderId) return 'ignored';
  const shopifyCustomerId = numericId(o.customer?.admin_graphql_api_id ?? o.customer?.id);
  const email = normalizeAddress('email', o.customer?.email ?? o.email ?? o.contact_email);
  const customer = await queryOne<{ id: string }>(
    tx,
    sql`select id from customers where organization_id = ${org}
      and ((${shopifyCustomerId}::text is not null and shopify_customer_id = ${shopifyCustomerId}) or (${email}::text is not null and lower(email) = ${email}))
      order by (shopify_customer_id = ${shopifyCustomerId}) desc nulls last limit 1`,
  );
  const items = Array.isArray(o.line_items) ? o.line_items.reduce((n: number, li: any) => n + (Number.isInteger(li?.quantity) && li.quantity > 0 ? li.quantity : 0), 0) : 0;
  const total = Number.parseFloat(o.current_total_price ?? o.total_price ?? '0');
  const currency = typeof o.currency === 'string' && /^[A-Z]{3}$/.test(o.currency) ? o.currency : 'USD';
  const orderedAt = typeof o.created_at === 'string' && !Number.isNaN(Date.parse(o.created_at)) ? new Date(o.created_at).toISOString() : null;
  const number = o.name != null ? String(o.name).slice(0, 64) : o.order_number != null ? String(o.order_number) : null;
  const row = await queryOne<{ id: string }>(
    tx,
    sql`insert into orders (organization_id, shopify_order_id, customer_id, shopify_customer_id, number, total, currency, items_count, ordered_at)
      values (${org}, ${orderId}, ${customer?.id ?? null}, ${shopifyCustomerId}, ${number}, ${Number.isFinite(total) ? total : 0}, ${currency}, ${items}, ${orderedAt})
      on conflict (organization_id, shopify_order_id) do nothing returning id`,
  );
  if (!row) return 'ignored';
  await recordAudit(tx, ctx, {
    action: 'order.created',
    resourceType: 'order',
    resourceId: row.id,
    changes: { shopifyOrderId: orderId, number, total, currency, items, customerId: customer?.id ?? null },
  });
  await trackInternal(tx, org, customer?.id, 'Order Placed', { orderId: row.id, number, total, currency, items }, { key: row.id, at: orderedAt ? new Date(orderedAt) : null });
  return 'applied';
}

/** The customer rows a privacy request names: by Shopify customer id, email or phone. */
async function customersNamed(tx: Tx, org: string, body: any) {
  const shopifyId = numericId(body?.customer?.id);
  const email = normalizeAddress('email', body?.customer?.email);
  const phone = e164(body?.customer?.phone);
  if (!shopifyId && !email && !phone) return [];
  return query<{ id: string; email: string | null; phone: string | null }>(
    tx,
    sql`select id, email, phone from customers where organization_id = ${org} and (
        (${shopifyId}::text is not null and shopify_customer_id = ${shopifyId})
        or (${email}::text is not null and lower(email) = ${email})
        or (${phone}::text is not null and ${PHONE_KEY} = ${phone}))`,
  );
}

/** customers/data_request: everything this organization holds on the customer, stored for the shop owner to fetch. */
async function exportCustomerData(tx: Tx, ctx: AuditContext, e: ShopifyEvent): Promise<Outcome> {
  const org = ctx.organizationId;
  const found = await customersNamed(tx, org, e.body);
  const ids = found.map((c) => c.id);
  const customers = ids.length
    ? await query(tx, sql`select id, email, phone, first_name as "firstName", last_name as "lastName", email_opt_in as "emailOptIn", sms_opt_in as "smsOptIn",
        tags, attributes, shopify_customer_id as "shopifyCustomerId", created_at as "createdAt", updated_at as "updatedAt"
        from customers where organization_id = ${org} and id = any(${arr(ids)}::uuid[])`)
    : [];
  const orders = ids.length
    ? await query(tx, sql`select shopify_order_id as "shopifyOrderId", number, total::text as total, currency, items_count as "itemsCount", ordered_at as "orderedAt"
        from orders where organization_id = ${org} and customer_id = any(${arr(ids)}::uuid[])`)
    : [];
  const emailMessages = ids.length
    ? await query(tx, sql`select campaign_id as "campaignId", to_email as "to", status, created_at as "createdAt" from email_messages
        where organization_id = ${org} and customer_id = any(${arr(ids)}::uuid[])`)
    : [];
  const smsMessages = ids.length
    ? await query(tx, sql`select campaign_id as "campaignId", to_phone as "to", status, created_at as "createdAt" from sms_messages
        where organization_id = ${org} and customer_id = any(${arr(ids)}::uuid[])`)
    : [];
  const addresses = [...found.map((c) => normalizeAddress('email', c.email)), ...found.map((c) => normalizeAddress('sms', c.phone))].filter((a): a is string => !!a);
  const suppressions = addresses.length
    ? await query(tx, sql`select channel, address, reason, source, created_at as "createdAt" from suppressions where organization_id = ${org} and address = any(${arr(addresses)}::text[])`)
    : [];
  const exported = { shop: e.shop, request: e.body?.data_request ?? null, customers, orders, emailMessages, smsMessages, suppressions };
  const row = await queryOne<{ id: string }>(
    tx,
    sql`insert into shopify_data_requests (organization_id, shop, shopify_request_id, shopify_customer_id, email, export)
      values (${org}, ${e.shop}, ${e.body?.data_request?.id != null ? String(e.body.data_request.id) : null}, ${numericId(e.body?.customer?.id)},
        ${normalizeAddress('email', e.body?.customer?.email)}, ${JSON.stringify(exported)}::jsonb)
      returning id`,
  );
  await recordAudit(tx, ctx, {
    action: 'shopify.data_request_exported',
    resourceType: 'shopify_data_request',
    resourceId: row!.id,
    changes: { customers: customers.length, orders: orders.length },
  });
  return 'applied';
}

/**
 * customers/redact: the customer's data in this organization is erased — the customer row (their
 * orders go with the link; the orders themselves are deleted), and the personal fields of messages
 * sent to them. Suppression entries stay: they are what keeps an unsubscribed address unsent.
 */
async function redactCustomer(tx: Tx, ctx: AuditContext, e: ShopifyEvent): Promise<Outcome> {
  const org = ctx.organizationId;
  const found = await customersNamed(tx, org, e.body);
  const orderIds = (Array.isArray(e.body?.orders_to_redact) ? e.body.orders_to_redact : []).map(numericId).filter((x: string | null): x is string => !!x);
  const shopifyId = numericId(e.body?.customer?.id);
  const ids = found.map((c) => c.id);
  const emails = found.map((c) => c.email?.toLowerCase()).filter((x): x is string => !!x);
  const phones = found.map((c) => c.phone).filter((x): x is string => !!x);
  const orders = await query(
    tx,
    sql`delete from orders where organization_id = ${org} and (customer_id = any(${arr(ids)}::uuid[])
      or shopify_order_id = any(${arr(orderIds)}::text[]) or (${shopifyId}::text is not null and shopify_customer_id = ${shopifyId})) returning id`,
  );
  await query(tx, sql`update email_messages set to_email = 'redacted@redacted.invalid' where organization_id = ${org}
    and (customer_id = any(${arr(ids)}::uuid[]) or lower(to_email) = any(${arr(emails)}::text[]))`);
  await query(tx, sql`update sms_messages set to_phone = '+0' where organization_id = ${org}
    and (customer_id = any(${arr(ids)}::uuid[]) or to_phone = any(${arr(phones)}::text[]))`);
  await query(tx, sql`delete from shopify_data_requests where organization_id = ${org}
    and ((${shopifyId}::text is not null and shopify_customer_id = ${shopifyId}) or email = any(${arr(emails)}::text[]))`);
  await query(tx, sql`delete from customers where organization_id = ${org} and id = any(${arr(ids)}::uuid[])`);
  // Outbound webhook subscribers learn the customer is gone (id only: the address is what was erased).
  await emitEvents(tx, ctx, 'customer.deleted', ids.map((id) => ({ customer: { id, email: null } })));
  await recordAudit(tx, ctx, {
    action: 'shopify.customer_redacted',
    resourceType: 'customer',
    resourceId: ids[0] ?? null,
    changes: { customers: ids.length, orders: orders.length, shopifyCustomerId: shopifyId },
  });
  return 'applied';
}

/** shop/redact (48 hours after uninstall): the shop's orders, data-request exports and the shop's link are erased. */
async function redactShop(tx: Tx, ctx: AuditContext, shop: string): Promise<Outcome> {
  const org = ctx.organizationId;
  const orders = await query(tx, sql`delete from orders where organization_id = ${org} returning id`);
  await query(tx, sql`delete from shopify_data_requests where organization_id = ${org} and shop = ${shop}`);
  await query(tx, sql`update customers set shopify_customer_id = null where organization_id = ${org} and shopify_customer_id is not null`);
  const link = await query(tx, sql`delete from integrations where organization_id = ${org} and provider = 'shopify' and external_id = ${shop} returning id`);
  await recordAudit(tx, ctx, { action: 'shopify.shop_redacted', resourceType: 'integration', resourceId: null, changes: { shop, orders: orders.length, linkRemoved: link.length > 0 } });
  return 'applied';
}
