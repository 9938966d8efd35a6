import { sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Tx } from '../../db/index.js';
import { queryOne } from '../../db/sql.js';
import type { AuditContext, TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { recordAudit } from '../audit/service.js';
import { connectedSecret, deleteIntegration, readIntegration, saveIntegration, type IntegrationKind, type IntegrationRow } from '../integrations/store.js';

/** The organization's Shopify connection: the shop domain as external id, the access token as its sealed secret. */
const SHOPIFY: IntegrationKind = { provider: 'shopify', secretLabel: 'shopify-access-token' };

const toStatus = (row: IntegrationRow | undefined) => {
  const c = (row?.config ?? {}) as { shopName?: string | null; method?: 'token' | 'oauth' | null; scopes?: string | null };
  return row && row.status === 'connected'
    ? { connected: true, shop: row.externalId, shopName: c.shopName ?? null, method: c.method ?? null, scopes: c.scopes ?? null, connectedAt: row.connectedAt }
    : { connected: false, shop: row?.externalId ?? null, shopName: c.shopName ?? null, method: null, scopes: null, connectedAt: null };
};

export async function getShopifyStatus(tx: Tx, ctx: { organizationId: string }) {
  return toStatus(await readIntegration(tx, ctx.organizationId, SHOPIFY));
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
  const row = await saveIntegration(tx, ctx.organizationId, SHOPIFY, {
    externalId: shop.shop,
    config: { shopName: shop.shopName, method: shop.method, scopes: shop.scopes ?? null },
    secret: shop.accessToken,
    encryptionKey: config.secrets.encryptionKey,
    conflictMessage: 'This shop is connected to another organization',
  });
  await recordAudit(tx, ctx, {
    action: before.connected ? 'shopify.reconnected' : 'shopify.connected',
    resourceType: 'integration',
    resourceId: row.id,
    changes: { shop: shop.shop, method: shop.method, ...(before.shop && before.shop !== shop.shop && { previousShop: before.shop }) },
  });
  return toStatus(row);
}

/** Forgets the shop and its token (the organization's customers and orders stay). */
export async function disconnectShop(tx: Tx, ctx: TenantContext) {
  const row = await deleteIntegration(tx, ctx.organizationId, SHOPIFY);
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'shopify.disconnected', resourceType: 'integration', resourceId: row.id, changes: { shop: row.externalId } });
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

/** The organization's connected shop with its token opened; null when none is connected (or the token was wiped). */
export async function shopAccessOf(tx: Tx, organizationId: string, config: Pick<Config, 'secrets'>): Promise<ShopAccess | null> {
  const c = await connectedSecret(tx, organizationId, SHOPIFY, config.secrets.encryptionKey);
  return c && { shop: c.externalId, accessToken: c.secret };
}

export async function requireShopAccess(tx: Tx, organizationId: string, config: Pick<Config, 'secrets'>) {
  const access = await shopAccessOf(tx, organizationId, config);
  if (!access) throw new AppError('conflict', 'No Shopify store is connected to this organization');
  return access;
}
