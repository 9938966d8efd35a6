import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { PHONE_KEY } from '../../lib/phone.js';
import { schema, type Tx } from '../../db/index.js';
import { arr, query, queryOne } from '../../db/sql.js';
import { toCustomerDto } from '../customers/service.js';
import { normalizeAddress, suppressionFlags } from '../suppressions/service.js';
import { emitEvents } from '../webhooks/emit.js';
import { roomForCustomer, type Plans } from '../billing/limits.js';

/** Shopify's marketing consent states (GraphQL enum; webhooks send them lowercase). */
export type MarketingState = 'SUBSCRIBED' | 'UNSUBSCRIBED' | 'NOT_SUBSCRIBED' | 'PENDING' | 'REDACTED' | 'INVALID';

/** A Shopify customer in the shape both the GraphQL sync and the REST-shaped webhooks are read into. */
export interface ShopifyCustomer {
  /** Numeric id as text (the tail of gid://shopify/Customer/123). */
  shopifyId: string;
  email: string | null;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  tags: string[];
  emailState: MarketingState | null;
  smsState: MarketingState | null;
}

/** `gid://shopify/Customer/123` or 123 → "123". */
export const numericId = (id: unknown): string | null => {
  if (typeof id === 'number' && Number.isInteger(id) && id > 0) return BigInt(id).toString();
  if (typeof id !== 'string' || !id) return null;
  const m = /(\d+)$/.exec(id);
  return m ? m[1] : null;
};

const state = (s: unknown): MarketingState | null => (typeof s === 'string' && s ? (s.toUpperCase() as MarketingState) : null);
const text = (s: unknown, max = 255): string | null => (typeof s === 'string' && s.trim() ? s.trim().slice(0, max) : null);

/** E.164 when the number is a valid one; otherwise null (a number we cannot text is not stored). */
export const e164 = (phone: unknown): string | null => {
  const raw = text(phone, 40);
  if (!raw) return null;
  const parsed = parsePhoneNumberFromString(raw);
  return parsed?.isValid() ? parsed.number : null;
};

const tagsOf = (t: unknown): string[] =>
  (Array.isArray(t) ? t : typeof t === 'string' ? t.split(',') : [])
    .map((x) => (typeof x === 'string' ? x.trim().slice(0, 64) : ''))
    .filter(Boolean)
    .slice(0, 100);

/** A customer node of the Admin GraphQL `customers` connection. */
export function fromGraphql(node: any): ShopifyCustomer | null {
  const shopifyId = numericId(node?.id);
  if (!shopifyId) return null;
  return {
    shopifyId,
    email: normalizeAddress('email', text(node.email ?? node.defaultEmailAddress?.emailAddress)),
    phone: e164(node.phone ?? node.defaultPhoneNumber?.phoneNumber),
    firstName: text(node.firstName),
    lastName: text(node.lastName),
    tags: tagsOf(node.tags),
    emailState: state(node.emailMarketingConsent?.marketingState),
    smsState: state(node.smsMarketingConsent?.marketingState),
  };
}

/** A customer as the customers/create and customers/update webhooks send it (REST shape). */
export function fromWebhook(body: any): ShopifyCustomer | null {
  const shopifyId = numericId(body?.admin_graphql_api_id ?? body?.id);
  if (!shopifyId) return null;
  return {
    shopifyId,
    email: normalizeAddress('email', text(body.email)),
    phone: e164(body.phone ?? body.sms_marketing_consent?.phone ?? body.default_address?.phone),
    firstName: text(body.first_name),
    lastName: text(body.last_name),
    tags: tagsOf(body.tags),
    emailState: state(body.email_marketing_consent?.state),
    smsState: state(body.sms_marketing_consent?.state),
  };
}

/**
 * The customer this Shopify customer is: by Shopify id, else by email, else (a customer with a phone
 * and no email yet) by phone. Three separate lookups, so each uses its index
 * (customers_shopify_id_key, customers_email_key, customers_phone_e164_idx) on large organizations.
 */
async function findExisting(tx: Tx, organizationId: string, c: ShopifyCustomer) {
  const bySid = await queryOne<{ id: string }>(tx, sql`select id from customers where organization_id = ${organizationId} and shopify_customer_id = ${c.shopifyId}`);
  if (bySid) return bySid;
  if (c.email) {
    const byEmail = await queryOne<{ id: string }>(tx, sql`select id from customers where organization_id = ${organizationId} and lower(email) = ${c.email}`);
    if (byEmail) return byEmail;
  }
  if (c.phone) {
    return queryOne<{ id: string }>(
      tx,
      sql`select id from customers where organization_id = ${organizationId} and phone is not null
        and ${PHONE_KEY} = ${c.phone}
        and shopify_customer_id is null and email is null limit 1`,
    );
  }
  return undefined;
}

/** SUBSCRIBED → opted in; UNSUBSCRIBED, NOT_SUBSCRIBED, PENDING (and the rest) → not; unknown → unchanged. */
const optIn = (s: MarketingState | null) => (s === null ? null : s === 'SUBSCRIBED');

/**
 * Creates or updates one customer of the organization from the store: matched by Shopify customer id,
 * then by email, then by phone number. Names, email and phone fill in from the store; tags are added
 * to the ones already there; opt-ins follow the store's consent, and an UNSUBSCRIBED consent puts the
 * address or number on the organization's suppression list (source 'shopify'). Null when the
 * customer has neither an email nor a phone number (nothing to reach them by); 'over_plan' when it would
 * be new and the organization's plan has no room for another customer (nothing written).
 */
export async function upsertShopifyCustomer(
  tx: Tx,
  organizationId: string,
  c: ShopifyCustomer,
  plans: Plans,
): Promise<{ id: string; created: boolean } | 'over_plan' | null> {
  const existing = await findExisting(tx, organizationId, c);
  const emailOptIn = optIn(c.emailState);
  const smsOptIn = optIn(c.smsState);
  let result: { id: string; created: boolean } | null;
  if (existing) {
    await query(
      tx,
      sql`update customers set
          shopify_customer_id = ${c.shopifyId},
          email = case when ${c.email}::text is null or exists (select 1 from customers o where o.organization_id = ${organizationId}
                    and lower(o.email) = ${c.email} and o.id <> ${existing.id}) then email else ${c.email} end,
          phone = coalesce(${c.phone}, phone),
          first_name = coalesce(${c.firstName}, first_name),
          last_name = coalesce(${c.lastName}, last_name),
          tags = array(select distinct t from unnest(tags || ${arr(c.tags)}::text[]) t order by t),
          email_opt_in = coalesce(${emailOptIn}::boolean, email_opt_in),
          sms_opt_in = coalesce(${smsOptIn}::boolean, sms_opt_in),
          updated_at = now()
        where organization_id = ${organizationId} and id = ${existing.id}`,
    );
    result = { id: existing.id, created: false };
  } else if (c.email || c.phone) {
    // A new customer past the plan's customer limit is left out (the store's data is not refused, just not copied).
    if (!(await roomForCustomer(tx, organizationId, plans))) return 'over_plan';
    const row = await queryOne<{ id: string }>(
      tx,
      sql`insert into customers (organization_id, shopify_customer_id, email, phone, first_name, last_name, tags, email_opt_in, sms_opt_in)
        values (${organizationId}, ${c.shopifyId}, ${c.email}, ${c.phone}, ${c.firstName}, ${c.lastName}, ${arr(c.tags)}::text[],
          ${emailOptIn ?? false}, ${smsOptIn ?? false})
        returning id`,
    );
    result = { id: row!.id, created: true };
  } else {
    return null;
  }
  const suppress: { channel: 'email' | 'sms'; address: string }[] = [];
  if (c.emailState === 'UNSUBSCRIBED' && c.email) suppress.push({ channel: 'email', address: c.email });
  if (c.smsState === 'UNSUBSCRIBED' && c.phone) suppress.push({ channel: 'sms', address: c.phone });
  if (suppress.length) {
    await query(
      tx,
      sql`insert into suppressions (organization_id, channel, address, reason, source)
        select ${organizationId}, x.channel, x.address, 'unsubscribed', 'shopify'
        from jsonb_to_recordset(${JSON.stringify(suppress)}::jsonb) as x(channel text, address text)
        on conflict do nothing`,
    );
  }
  return result;
}

/**
 * The outbound-webhook events of customers the store created or changed (customer.created /
 * customer.updated, docs/webhooks.md), in the caller's transaction: one read of the rows, one of their
 * suppression flags, and one batch per type.
 */
export async function emitCustomerEvents(tx: Tx, organizationId: string, created: string[], updated: string[]) {
  const ids = [...created, ...updated];
  if (!ids.length) return;
  const { customers } = schema;
  const rows = await tx.select().from(customers).where(and(eq(customers.organizationId, organizationId), inArray(customers.id, ids)));
  const flags = await suppressionFlags(tx, organizationId, rows);
  const byId = new Map(rows.map((r) => [r.id, toCustomerDto(r, flags(r))]));
  const of = (list: string[]) => list.map((id) => byId.get(id)).filter((c) => c !== undefined).map((customer) => ({ customer }));
  await emitEvents(tx, { organizationId }, 'customer.created', of(created));
  await emitEvents(tx, { organizationId }, 'customer.updated', of(updated));
}
