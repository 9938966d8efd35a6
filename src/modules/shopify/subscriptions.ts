import type { Config } from '../../config.js';
import { AppError } from '../../http/errors.js';
import { adminGraphql, ShopifyApiError } from './client.js';
import type { ShopAccess } from './store.js';

/**
 * The topics registered on the store. The mandatory privacy topics (customers/data_request,
 * customers/redact, shop/redact) cannot be subscribed through the Admin API: Shopify sends them to the
 * compliance URL of the app's configuration, which is the same /api/webhooks/shopify.
 */
export const TOPICS = ['CUSTOMERS_CREATE', 'CUSTOMERS_UPDATE', 'ORDERS_CREATE', 'APP_UNINSTALLED'] as const;

const LIST = `query Subscriptions { webhookSubscriptions(first: 100) { nodes { id topic endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } } } }`;
const CREATE = `mutation Subscribe($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } }
    userErrors { field message }
  }
}`;

export const callbackUrl = (config: Pick<Config, 'publicUrl'>) => `${config.publicUrl}/api/webhooks/shopify`;

interface Node {
  id: string;
  topic: string;
  endpoint?: { callbackUrl?: string } | null;
}
const toDto = (n: Node) => ({ id: n.id, topic: n.topic, callbackUrl: n.endpoint?.callbackUrl ?? null });

async function call<T>(config: Config, access: ShopAccess, q: string, variables?: Record<string, unknown>) {
  try {
    const res = await adminGraphql<T>(config, access.shop, access.accessToken, q, variables);
    if (res.throttled) throw new AppError('rate_limited', 'Shopify is throttling this store; try again in a few seconds');
    if (!res.data) throw new AppError('unavailable', `Shopify refused the request: ${res.errors.map((e) => e.message).join('; ') || 'no data'}`);
    return res.data;
  } catch (err) {
    if (err instanceof ShopifyApiError) throw new AppError('unavailable', `Shopify could not be asked (${err.status || 'unreachable'}); check the connection`);
    throw err;
  }
}

export async function listSubscriptions(config: Config, access: ShopAccess) {
  const data = await call<{ webhookSubscriptions: { nodes: Node[] } }>(config, access, LIST);
  return { shop: access.shop, callbackUrl: callbackUrl(config), data: data.webhookSubscriptions.nodes.map(toDto) };
}

/** Subscribes every topic not yet pointing at our webhook URL; returns the store's subscriptions afterwards and what was created. */
export async function registerSubscriptions(config: Config, access: ShopAccess) {
  const url = callbackUrl(config);
  const before = await listSubscriptions(config, access);
  const have = new Set(before.data.filter((s) => s.callbackUrl === url).map((s) => s.topic));
  const created: string[] = [];
  const errors: string[] = [];
  for (const topic of TOPICS) {
    if (have.has(topic)) continue;
    const data = await call<{ webhookSubscriptionCreate: { webhookSubscription: Node | null; userErrors: { message: string }[] } }>(config, access, CREATE, {
      topic,
      sub: { callbackUrl: url, format: 'JSON' },
    });
    const r = data.webhookSubscriptionCreate;
    if (r.webhookSubscription) created.push(topic);
    else errors.push(`${topic}: ${r.userErrors.map((e) => e.message).join('; ')}`);
  }
  if (errors.length && !created.length) throw new AppError('validation_failed', `Shopify refused the subscriptions: ${errors.join(' | ')}`);
  const after = await listSubscriptions(config, access);
  return { ...after, created, errors };
}
