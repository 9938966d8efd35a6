/**
 * A local HTTP server speaking the Shopify Admin API shapes Switchboard uses, for SHOPIFY_ADMIN_BASE_URL:
 * the Admin GraphQL endpoint (`{ shop { name } }`, `customers(first:, after:)` with cursor pagination and
 * the `extensions.cost` throttle bucket, a THROTTLED answer, `webhookSubscriptions` and
 * `webhookSubscriptionCreate`) and the OAuth code exchange (/admin/oauth/access_token). Several shops
 * share the one base URL; each request's shop is the one its access token belongs to. Also: webhook
 * deliveries signed exactly as Shopify signs them (base64 HMAC-SHA256 of the raw body, app secret).
 * No vitest import here (benches may use it).
 */
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '../src/http/types.js';

export type State = 'SUBSCRIBED' | 'UNSUBSCRIBED' | 'NOT_SUBSCRIBED' | 'PENDING';

export interface FakeCustomer {
  id: string;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  phone: string | null;
  tags: string[];
  emailMarketingConsent: { marketingState: State } | null;
  smsMarketingConsent: { marketingState: State } | null;
}

export interface FakeShop {
  name: string;
  token: string;
  customers: FakeCustomer[];
  subscriptions: { id: string; topic: string; endpoint: { __typename: 'WebhookHttpEndpoint'; callbackUrl: string } }[];
}

export interface FakeShopifyRequest {
  path: string;
  shop: string | null;
  /** The GraphQL operation's variables (customers: first/after). */
  variables: Record<string, unknown>;
  kind: 'shop' | 'customers' | 'subscriptions' | 'subscribe' | 'token' | 'other';
  status: number;
  throttled: boolean;
}

export interface FakeShopify {
  url: string;
  shops: Map<string, FakeShop>;
  requests: FakeShopifyRequest[];
  /** Answers the next n customers queries with THROTTLED (after the first `after` answered ones). */
  throttleCustomers(n: number): void;
  /** Holds every customers query after `pages` pages were answered, until release(). */
  pauseAfter(pages: number): void;
  release(): void;
  /** OAuth: a code Shopify would hand back for this shop; exchanging it returns the shop's token. */
  issueCode(shop: string): string;
  /** The bucket every shop shares here: maximum, available now, points restored per second. */
  bucket: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
  close(): Promise<void>;
}

export function makeCustomers(n: number, opts: { from?: number; domain?: string; state?: (i: number) => [State, State] } = {}): FakeCustomer[] {
  const from = opts.from ?? 1;
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const [email, sms] = opts.state?.(i) ?? ['SUBSCRIBED', 'NOT_SUBSCRIBED'];
    return {
      id: `gid://shopify/Customer/${7000000 + i}`,
      firstName: `First${i}`,
      lastName: `Last${i}`,
      email: `customer${i}@${opts.domain ?? 'shop.example'}`,
      phone: `+1415${String(5000000 + i).padStart(7, '0')}`,
      tags: i % 2 ? ['odd', 'shopify'] : ['shopify'],
      emailMarketingConsent: { marketingState: email },
      smsMarketingConsent: { marketingState: sms },
    };
  });
}

const cursorOf = (i: number) => Buffer.from(JSON.stringify({ last: i })).toString('base64');
const indexOf = (cursor: unknown) => (typeof cursor === 'string' ? (JSON.parse(Buffer.from(cursor, 'base64').toString()).last as number) : 0);

export async function startFakeShopify(opts: { shops?: Record<string, Partial<FakeShop> & { token: string }>; clientId?: string; clientSecret?: string } = {}): Promise<FakeShopify> {
  const shops = new Map<string, FakeShop>();
  for (const [domain, s] of Object.entries(opts.shops ?? {})) shops.set(domain, { name: s.name ?? domain, token: s.token, customers: s.customers ?? [], subscriptions: s.subscriptions ?? [] });
  const requests: FakeShopifyRequest[] = [];
  const codes = new Map<string, string>();
  const bucket = { maximumAvailable: 2000, currentlyAvailable: 2000, restoreRate: 100_000 };
  let lastRestore = performance.now();
  let throttles = 0;
  let pauseAfterPages = Infinity;
  let pagesAnswered = 0;
  let releasePause: (() => void) | null = null;
  let paused: Promise<void> | null = null;

  const shopByToken = (token: string | undefined) => [...shops.entries()].find(([, s]) => s.token === token)?.[0] ?? null;
  const restore = () => {
    const now = performance.now();
    bucket.currentlyAvailable = Math.min(bucket.maximumAvailable, bucket.currentlyAvailable + ((now - lastRestore) / 1000) * bucket.restoreRate);
    lastRestore = now;
  };
  const costOf = (requested: number, actual: number | null) => ({
    requestedQueryCost: requested,
    actualQueryCost: actual,
    throttleStatus: { maximumAvailable: bucket.maximumAvailable, currentlyAvailable: Math.floor(bucket.currentlyAvailable), restoreRate: bucket.restoreRate },
  });

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown, rec: Omit<FakeShopifyRequest, 'path' | 'status'>) => {
      requests.push({ path, status, ...rec });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'POST' && path === '/admin/oauth/access_token') {
      const body = JSON.parse(raw || '{}');
      const shop = codes.get(body.code);
      const ok = shop && body.client_id === (opts.clientId ?? body.client_id) && body.client_secret === (opts.clientSecret ?? body.client_secret);
      if (!ok) return send(400, { error: 'invalid_request', error_description: 'The authorization code was not found or was already used' }, { shop: null, variables: {}, kind: 'token', throttled: false });
      codes.delete(body.code);
      return send(200, { access_token: shops.get(shop!)!.token, scope: 'read_customers,read_orders' }, { shop: shop!, variables: {}, kind: 'token', throttled: false });
    }
    const m = /^\/admin\/api\/(\d{4}-\d{2})\/graphql\.json$/.exec(path);
    if (req.method !== 'POST' || !m) return send(404, { errors: 'Not Found' }, { shop: null, variables: {}, kind: 'other', throttled: false });
    const domain = shopByToken(req.headers['x-shopify-access-token'] as string | undefined);
    if (!domain) return send(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' }, { shop: null, variables: {}, kind: 'other', throttled: false });
    const shop = shops.get(domain)!;
    const { query, variables = {} } = JSON.parse(raw) as { query: string; variables?: Record<string, any> };
    restore();
    if (/customers\s*\(/.test(query)) {
      const first = Math.min(Number(variables.first ?? 50), 250);
      const requested = first * 2 + 2;
      if (throttles > 0 || bucket.currentlyAvailable < requested) {
        if (throttles > 0) throttles--;
        return send(200, { errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }], extensions: { cost: costOf(requested, null) } }, {
          shop: domain,
          variables,
          kind: 'customers',
          throttled: true,
        });
      }
      if (pagesAnswered >= pauseAfterPages && paused) await paused;
      if (res.destroyed || !res.socket || res.socket.destroyed) return;
      const start = indexOf(variables.after);
      const nodes = shop.customers.slice(start, start + first);
      const end = start + nodes.length;
      const actual = nodes.length * 2 + 2;
      bucket.currentlyAvailable -= actual;
      pagesAnswered++;
      return send(
        200,
        {
          data: { customers: { pageInfo: { hasNextPage: end < shop.customers.length, endCursor: nodes.length ? cursorOf(end) : (variables.after ?? null) }, nodes } },
          extensions: { cost: costOf(requested, actual) },
        },
        { shop: domain, variables, kind: 'customers', throttled: false },
      );
    }
    if (/webhookSubscriptionCreate/.test(query)) {
      const sub = { id: `gid://shopify/WebhookSubscription/${randomUUID()}`, topic: String(variables.topic), endpoint: { __typename: 'WebhookHttpEndpoint' as const, callbackUrl: String(variables.sub?.callbackUrl) } };
      if (!/^https:\/\//.test(sub.endpoint.callbackUrl)) {
        return send(200, { data: { webhookSubscriptionCreate: { webhookSubscription: null, userErrors: [{ field: ['webhookSubscription', 'callbackUrl'], message: 'Address protocol http:// is not supported' }] } }, extensions: { cost: costOf(10, 10) } }, {
          shop: domain, variables, kind: 'subscribe', throttled: false,
        });
      }
      shop.subscriptions.push(sub);
      return send(200, { data: { webhookSubscriptionCreate: { webhookSubscription: sub, userErrors: [] } }, extensions: { cost: costOf(10, 10) } }, { shop: domain, variables, kind: 'subscribe', throttled: false });
    }
    if (/webhookSubscriptions\s*\(/.test(query)) {
      return send(200, { data: { webhookSubscriptions: { nodes: shop.subscriptions } }, extensions: { cost: costOf(12, 3) } }, { shop: domain, variables, kind: 'subscriptions', throttled: false });
    }
    if (/shop\s*\{\s*name/.test(query)) {
      return send(200, { data: { shop: { name: shop.name } }, extensions: { cost: costOf(1, 1) } }, { shop: domain, variables, kind: 'shop', throttled: false });
    }
    return send(200, { errors: [{ message: 'Unsupported query in the fake' }] }, { shop: domain, variables, kind: 'other', throttled: false });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    shops,
    requests,
    bucket,
    throttleCustomers(n) {
      throttles = n;
    },
    pauseAfter(pages) {
      pauseAfterPages = pages;
      paused = new Promise((r) => (releasePause = r));
    },
    release() {
      pauseAfterPages = Infinity;
      releasePause?.();
      paused = null;
    },
    issueCode(shop) {
      const code = randomUUID().replace(/-/g, '');
      codes.set(code, shop);
      return code;
    },
    close: () =>
      new Promise<void>((r) => {
        releasePause?.();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** X-Shopify-Hmac-Sha256 as Shopify computes it: base64 HMAC-SHA256 of the raw body with the app's secret. */
export const shopifySignature = (secret: string, raw: string) => createHmac('sha256', secret).update(raw, 'utf8').digest('base64');

/** Posts a webhook delivery signed with the app secret (or with `signature` instead, to forge one). */
export function postShopifyWebhook(
  app: App,
  secret: string,
  d: { topic: string; shop: string; body: unknown; webhookId?: string; signature?: string },
) {
  const raw = JSON.stringify(d.body);
  return app.inject({
    method: 'POST',
    url: '/api/webhooks/shopify',
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': d.topic,
      'x-shopify-shop-domain': d.shop,
      'x-shopify-hmac-sha256': d.signature ?? shopifySignature(secret, raw),
      'x-shopify-webhook-id': d.webhookId ?? randomUUID(),
      'x-shopify-api-version': '2025-07',
      'x-shopify-triggered-at': new Date().toISOString(),
    },
    payload: raw,
  });
}

/** The query string Shopify redirects to the callback with: sorted parameters, hex HMAC-SHA256 with the app secret. */
export function signedCallbackQuery(secret: string, params: Record<string, string>): string {
  const message = new URLSearchParams(Object.keys(params).sort().map((k) => [k, params[k]])).toString();
  const hmac = createHmac('sha256', secret).update(message).digest('hex');
  return new URLSearchParams({ ...params, hmac }).toString();
}
