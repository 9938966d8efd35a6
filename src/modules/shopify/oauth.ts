import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../../config.js';
import { AppError } from '../../http/errors.js';
import { requireShopify, sanitizeShopDomain, shopifyLib } from './client.js';

/** How long an install may take between the redirect to Shopify and the callback. */
const STATE_TTL_MS = 10 * 60 * 1000;

/** Who started an install: the signed-in session and the organization it acted for. */
export interface InstallOwner {
  organizationId: string;
  sessionId: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64url');
const mac = (config: Pick<Config, 'secrets'>, payload: string) => createHmac('sha256', config.secrets.session).update(`shopify-oauth-state:${payload}`).digest('base64url');

/**
 * The OAuth `state`: a random nonce with the organization, the session, the shop and an expiry,
 * signed with the session secret. The callback accepts it only from the same session acting for the
 * same organization and shop, before it expires, so a callback cannot be replayed into another
 * organization or forced on someone else's session.
 */
export function newState(config: Pick<Config, 'secrets'>, owner: InstallOwner, shop: string, now = Date.now()): string {
  const payload = b64(JSON.stringify({ o: owner.organizationId, s: owner.sessionId, h: shop, e: now + STATE_TTL_MS, n: randomBytes(16).toString('base64url') }));
  return `${payload}.${mac(config, payload)}`;
}

export function checkState(config: Pick<Config, 'secrets'>, state: string, owner: InstallOwner, shop: string, now = Date.now()) {
  const refused = () => new AppError('validation_failed', 'The install link is invalid or has expired: start the Shopify install again');
  const [payload, sig] = state.split('.');
  if (!payload || !sig) throw refused();
  const expected = Buffer.from(mac(config, payload));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw refused();
  let body: { o?: string; s?: string; h?: string; e?: number };
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw refused();
  }
  if (body.o !== owner.organizationId || body.s !== owner.sessionId || body.h !== shop || typeof body.e !== 'number' || body.e < now) throw refused();
}

/** The shop domain from a query parameter, or 400. */
export function shopParam(config: Pick<Config, 'shopify' | 'publicUrl'>, shop: string): string {
  const domain = sanitizeShopDomain(config, shop);
  if (!domain) {
    throw new AppError('validation_failed', 'Not a Shopify store domain', [{ in: 'querystring', path: 'shop', message: 'Expected your-store.myshopify.com' }]);
  }
  return domain;
}

/** Shopify's authorize URL for this shop, scopes, our callback and the state. */
export function authorizeUrl(config: Pick<Config, 'shopify' | 'publicUrl'>, shop: string, state: string): string {
  const s = requireShopify(config);
  if (!s.apiKey) throw new AppError('unavailable', 'Shopify OAuth is not configured on this server (SHOPIFY_API_KEY)');
  const url = new URL(`https://${shop}/admin/oauth/authorize`);
  url.searchParams.set('client_id', s.apiKey);
  url.searchParams.set('scope', s.scopes);
  url.searchParams.set('redirect_uri', `${config.publicUrl}/api/integrations/shopify/callback`);
  url.searchParams.set('state', state);
  return url.toString();
}

/**
 * The callback's query, checked by `@shopify/shopify-api`: its HMAC (hex HMAC-SHA256 of the sorted
 * query with the app secret) and its timestamp (within 90 seconds). 400 when either fails.
 */
export async function checkCallbackQuery(config: Pick<Config, 'shopify' | 'publicUrl'>, q: Record<string, string>) {
  let ok = false;
  try {
    ok = await shopifyLib(config).utils.validateHmac(q as any);
  } catch {
    ok = false;
  }
  if (!ok) throw new AppError('validation_failed', 'The callback is not signed by Shopify (HMAC or timestamp refused)');
}
