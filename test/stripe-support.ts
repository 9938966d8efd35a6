/**
 * A local HTTP server speaking the slice of Stripe's API Switchboard uses, for STRIPE_API_BASE_URL:
 * form-encoded requests (as the SDK sends them, `metadata[plan]=…`, `line_items[0][price]=…`) and JSON
 * answers shaped like Stripe's (`{ id: 'cs_test_…', object: 'checkout.session', url }`), errors in
 * Stripe's `{ error: { type, message } }` shape. Events are signed with the SDK's own
 * generateTestHeaderString. No vitest import here.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

export interface StripeRequest {
  method: string;
  path: string;
  form: Record<string, string>;
  idempotencyKey: string | null;
  authorization: string | null;
}

export interface FakeStripe {
  url: string;
  requests: StripeRequest[];
  close(): Promise<void>;
}

const rid = (prefix: string) => `${prefix}_test_${randomBytes(8).toString('hex')}`;

export async function startFakeStripe(): Promise<FakeStripe> {
  const requests: StripeRequest[] = [];
  /** Stripe answers a repeated idempotency key with the first answer. */
  const idempotent = new Map<string, unknown>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0];
      const form = Object.fromEntries(new URLSearchParams(body));
      const key = (req.headers['idempotency-key'] as string) ?? null;
      requests.push({ method: req.method ?? '', path, form, idempotencyKey: key, authorization: (req.headers.authorization as string) ?? null });
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': rid('req') });
        res.end(JSON.stringify(json));
      };
      if (key && idempotent.has(key)) return send(200, idempotent.get(key));
      let out: unknown;
      if (req.method === 'POST' && path === '/v1/customers') {
        out = { id: rid('cus'), object: 'customer', name: form.name ?? null, metadata: { organization_id: form['metadata[organization_id]'] } };
      } else if (req.method === 'POST' && path === '/v1/checkout/sessions') {
        if (!form['line_items[0][price]']?.startsWith('price_')) {
          return send(400, { error: { type: 'invalid_request_error', message: `No such price: '${form['line_items[0][price]']}'`, param: 'line_items[0][price]' } });
        }
        const id = rid('cs');
        out = { id, object: 'checkout.session', mode: form.mode, customer: form.customer, client_reference_id: form.client_reference_id ?? null, url: `https://checkout.stripe.test/c/pay/${id}` };
      } else if (req.method === 'POST' && path === '/v1/billing_portal/sessions') {
        const id = rid('bps');
        out = { id, object: 'billing_portal.session', customer: form.customer, return_url: form.return_url, url: `https://billing.stripe.test/p/session/${id}` };
      } else {
        return send(404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${path})` } });
      }
      if (key) idempotent.set(key, out);
      send(200, out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export interface StripeEventInput {
  type: string;
  object: Record<string, unknown>;
  /** Event time, seconds since the epoch (Stripe's `created`). */
  created?: number;
  id?: string;
}

/** A Stripe event body and its Stripe-Signature header, signed by the SDK (timestamp: now unless given). */
export function signedStripeEvent(secret: string, e: StripeEventInput, opts: { timestamp?: number } = {}) {
  const id = e.id ?? rid('evt');
  const payload = JSON.stringify({
    id,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: e.created ?? Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    type: e.type,
    data: { object: e.object },
  });
  const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret, ...(opts.timestamp && { timestamp: opts.timestamp }) });
  return { id, payload, headers: { 'content-type': 'application/json', 'stripe-signature': signature } };
}
