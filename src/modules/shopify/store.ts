import { sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Tx } from '../../db/index.js';
import { queryOne } from '../../db/sql.js';
import type { AuditContext, TenantContext } from '../../http/access.js';
import { AppError, notFound, sqlStateOf } from '../../http/errors.js';
import { openSecret, sealSecret } from '../../lib/secret-box.js';
import { recordAudit } from '../audit/service.js';

/** The token is sealed to its row: organization and shop (a ciphertext copied elsewhere does not open). */
const tokenContext = (organizationId: string, shop: string) => `shopify-access-token:${organizationId}:${shop}`;

interface Row {
  id: string;
  shop: string;
  shop_name: string | null;
  status: string;
  method: string | null;
  scopes: string | null;
  connected_at: string;
}

const ISO = sql`'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const COLUMNS = sql`id, external_id as shop, config->>'shopName' as shop_name, status, config->>'method' as method, config->>'scopes' as scopes,
  to_char(updated_at at time zone 'UTC', ${ISO}) as connected_at`;

const toStatus = (row: Row | undefined) =>
  row && row.status === 'connected'
    ? { connected: true, shop: row.shop, shopName: row.shop_name, method: row.method as 'token' | 'oauth' | null, scopes: row.scopes, connectedAt: row.connected_at }
    : { connected: false, shop: row?.shop ?? null, shopName: row?.shop_name ?? null, method: null, scopes: null, connectedAt: null };

export async function getShopifyStatus(tx: Tx, ctx: { organizationId: string }) {
  const row = await queryOne<Row>(tx, sql`select ${COLUMNS} from integrations where organization_id = ${ctx.organizationId} and provider = 'shopify'`);
  return toStatus(row);
}

/**
 * Stores a checked shop and its access token, sealed (one shop per organization; connecting again
 * replaces it). A shop another organization holds is a 409 that does not say which: its webhooks
 * name only the shop, which must lead to one organization.
 */
export async function saveShop(
  tx: Tx,
  ctx: TenantContext,
  config: Pick<Config, 'secrets'>,
  shop: { shop: string; shopName: string; accessToken: string; method: 'token' | 'oauth'; scopes?: string },
) {
  const before = await getShopifyStatus(tx, ctx);
  const sealed = sealSecret(shop.accessToken, config.secrets.encryptionKey, tokenContext(ctx.organizationId, shop.shop));
  const meta = JSON.stringify({ shopName: shop.shopName, method: shop.method, scopes: shop.scopes ?? null });
  let row: Row | undefined;
  try {
    row = await queryOne<Row>(
      tx,
      sql`insert into integrations (organization_id, provider, external_id, config, credentials_encrypted, status)
        values (${ctx.organizationId}, 'shopify', ${shop.shop}, ${meta}::jsonb, ${sealed}, 'connected')
        on conflict (organization_id, provider) do update set external_id = excluded.external_id, config = excluded.config,
          credentials_encrypted = excluded.credentials_encrypted, status = 'connected', updated_at = now()
        returning ${COLUMNS}`,
    );
  } catch (err) {
    if (sqlStateOf(err) === '23505') throw new AppError('conflict', 'This shop is connected to another organization');
    throw err;
  }
  await recordAudit(tx, ctx, {
    action: before.connected ? 'shopify.reconnected' : 'shopify.connected',
    resourceType: 'integration',
    resourceId: row!.id,
    changes: { shop: shop.shop, method: shop.method, ...(before.shop && before.shop !== shop.shop && { previousShop: before.shop }) },
  });
  return toStatus(row);
}

/** Forgets the shop and its token (the organization's customers and orders stay). */
export async function disconnectShop(tx: Tx, ctx: TenantContext) {
  const row = await queryOne<{ id: string; shop: string }>(
    tx,
    sql`delete from integrations where organization_id = ${ctx.organizationId} and provider = 'shopify' returning id, external_id as shop`,
  );
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'shopify.disconnected', resourceType: 'integration', resourceId: row.id, changes: { shop: row.shop } });
}

/**
 * app/uninstalled: the token is wiped at once and the link marked uninstalled; the shop domain stays
 * so that the privacy webhooks Shopify sends afterwards (shop/redact, 48 hours later) still find the
 * organization. shop/redact then removes the link.
 */
export async function markUninstalled(tx: Tx, ctx: AuditContext, shop: string) {
  const row = await queryOne<{ id: string }>(
    tx,
    sql`update integrations set credentials_encrypted = null, status = 'uninstalled', updated_at = now()
      where organization_id = ${ctx.organizationId} and provider = 'shopify' and external_id = ${shop} returning id`,
  );
  if (row) await recordAudit(tx, ctx, { action: 'shopify.uninstalled', resourceType: 'integration', resourceId: row.id, changes: { shop, tokenWiped: true } });
  return Boolean(row);
}

export interface ShopAccess {
  shop: string;
  accessToken: string;
}

/** The organization's connected shop with its token opened; 409 when none is connected. */
export async function shopAccessOf(tx: Tx, organizationId: string, config: Pick<Config, 'secrets'>): Promise<ShopAccess | null> {
  const row = await queryOne<{ shop: string; sealed: string }>(
    tx,
    sql`select external_id as shop, credentials_encrypted as sealed from integrations
      where organization_id = ${organizationId} and provider = 'shopify' and status = 'connected' and credentials_encrypted is not null`,
  );
  if (!row) return null;
  return { shop: row.shop, accessToken: openSecret(row.sealed, config.secrets.encryptionKey, tokenContext(organizationId, row.shop)) };
}

export async function requireShopAccess(tx: Tx, organizationId: string, config: Pick<Config, 'secrets'>) {
  const access = await shopAccessOf(tx, organizationId, config);
  if (!access) throw new AppError('conflict', 'No Shopify store is connected to this organization');
  return access;
}
