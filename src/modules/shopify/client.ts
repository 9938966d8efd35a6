import '@shopify/shopify-api/adapters/node';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApiVersion, LogSeverity, shopifyApi, type Shopify } from '@shopify/shopify-api';
import type { Config } from '../../config.js';
import { AppError } from '../../http/errors.js';

type ShopifyConfig = Config['shopify'];

/** Shopify's configuration, or 503 while the app secret (which signs webhooks and OAuth queries) is not set. */
export function requireShopify(config: Pick<Config, 'shopify'>): ShopifyConfig & { apiSecret: string } {
  if (!config.shopify.apiSecret) throw new AppError('unavailable', 'Shopify is not configured on this server (SHOPIFY_API_SECRET)');
  return config.shopify as ShopifyConfig & { apiSecret: string };
}

const apis = new Map<string, Shopify>();

/**
 * The `@shopify/shopify-api` instance for this configuration (query HMAC and shop-domain checks of the
 * OAuth flow). One per key/secret/version, built on first use.
 */
export function shopifyLib(config: Pick<Config, 'shopify' | 'publicUrl'>): Shopify {
  const s = requireShopify(config);
  const key = `${s.apiKey}\0${s.apiSecret}\0${s.apiVersion}\0${config.publicUrl}`;
  let api = apis.get(key);
  if (!api) {
    api = shopifyApi({
      apiKey: s.apiKey ?? 'switchboard',
      apiSecretKey: s.apiSecret,
      scopes: s.scopes.split(',').map((x) => x.trim()).filter(Boolean),
      hostName: new URL(config.publicUrl).host,
      hostScheme: new URL(config.publicUrl).protocol === 'http:' ? 'http' : 'https',
      apiVersion: s.apiVersion as ApiVersion,
      isEmbeddedApp: false,
      logger: { level: LogSeverity.Error, log: async () => {} },
    });
    apis.set(key, api);
  }
  return api;
}

/**
 * A store's domain as `name.myshopify.com`, through the library's sanitizeShop (which also accepts
 * admin URLs and other Shopify domains) narrowed to myshopify.com; null when it is not one.
 */
export function sanitizeShopDomain(config: Pick<Config, 'shopify' | 'publicUrl'>, input: string): string | null {
  const shop = shopifyLib(config).utils.sanitizeShop(input.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, ''));
  return shop && /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/.test(shop) ? shop : null;
}

/** Where the Admin API of a shop lives: https://{shop}, or SHOPIFY_ADMIN_BASE_URL (tests, benches). */
export const adminBase = (config: Pick<Config, 'shopify'>, shop: string) => config.shopify.adminBaseUrl ?? `https://${shop}`;

/** Base64 HMAC-SHA256 of the raw body with the app secret, as Shopify signs webhooks. */
export const webhookHmac = (secret: string, raw: Buffer | string) => createHmac('sha256', secret).update(raw).digest('base64');

/** Timing-safe comparison of X-Shopify-Hmac-Sha256 with the body's HMAC. */
export function verifyWebhookHmac(secret: string, raw: Buffer, header: string): boolean {
  const expected = Buffer.from(webhookHmac(secret, raw), 'utf8');
  const given = Buffer.from(header, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}
export interface QueryCost {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: ThrottleStatus;
}

export interface GraphqlResult<T> {
  data: T | null;
  errors: { message: string; extensions?: { code?: string } }[];
  cost: QueryCost | null;
  throttled: boolean;
}

export class ShopifyApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** One Admin GraphQL request with the shop's access token (never logged, never returned). */
export async function adminGraphql<T>(
  config: Pick<Config, 'shopify'>,
  shop: string,
  accessToken: string,
  query: string,
  variables: Record<string, unknown> = {},
  signal?: AbortSignal,
): Promise<GraphqlResult<T>> {
  let res: Response;
  try {
    res = await fetch(`${adminBase(config, shop)}/admin/api/${config.shopify.apiVersion}/graphql.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-shopify-access-token': accessToken },
      body: JSON.stringify({ query, variables }),
      signal: signal ?? AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new ShopifyApiError(`Shopify could not be reached: ${(err as Error).message}`, 0);
  }
  if (res.status === 401 || res.status === 403 || res.status === 404) throw new ShopifyApiError(`Shopify answered ${res.status}`, res.status);
  if (res.status === 429) return { data: null, errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }], cost: null, throttled: true };
  if (!res.ok) throw new ShopifyApiError(`Shopify answered ${res.status}`, res.status);
  const body = (await res.json()) as { data?: T; errors?: GraphqlResult<T>['errors']; extensions?: { cost?: QueryCost } };
  const errors = Array.isArray(body.errors) ? body.errors : [];
  return {
    data: body.data ?? null,
    errors,
    cost: body.extensions?.cost ?? null,
    throttled: errors.some((e) => e.extensions?.code === 'THROTTLED'),
  };
}

/** The shop's name, asking with the token (the cheapest query there is): checks a token before it is stored. */
export async function checkAccessToken(config: Pick<Config, 'shopify'>, shop: string, accessToken: string): Promise<{ name: string }> {
  let result: GraphqlResult<{ shop: { name: string } }>;
  try {
    result = await adminGraphql<{ shop: { name: string } }>(config, shop, accessToken, '{ shop { name } }');
  } catch (err) {
    if (err instanceof ShopifyApiError && err.status >= 400 && err.status < 500) {
      throw new AppError('validation_failed', 'Shopify refused this access token', [
        { in: 'body', path: 'accessToken', message: `Shopify answered ${err.status} for this shop and token` },
      ]);
    }
    throw new AppError('unavailable', 'Shopify could not be reached to check the token; try again later');
  }
  if (!result.data?.shop) {
    throw new AppError('validation_failed', 'Shopify refused this access token', [
      { in: 'body', path: 'accessToken', message: result.errors[0]?.message ?? 'no shop in the answer' },
    ]);
  }
  return { name: result.data.shop.name };
}

/** OAuth: the install's authorization code exchanged for an offline access token at https://{shop}/admin/oauth/access_token. */
export async function exchangeCode(config: Pick<Config, 'shopify'>, shop: string, code: string): Promise<{ accessToken: string; scope: string }> {
  const s = requireShopify(config);
  let res: Response;
  try {
    res = await fetch(`${adminBase(config, shop)}/admin/oauth/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ client_id: s.apiKey, client_secret: s.apiSecret, code }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch {
    throw new AppError('unavailable', 'Shopify could not be reached to finish the install; try again');
  }
  if (!res.ok) throw new AppError('validation_failed', `Shopify refused the authorization code (${res.status}); start the install again`);
  const body = (await res.json()) as { access_token?: string; scope?: string };
  if (!body.access_token) throw new AppError('validation_failed', 'Shopify returned no access token; start the install again');
  return { accessToken: body.access_token, scope: body.scope ?? '' };
}
