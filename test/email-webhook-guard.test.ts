/**
 * The SendGrid Event Webhook before authentication: headers are checked before the body is read,
 * the body is bounded by SendGrid's batch size, the signature is verified with node:crypto (and
 * agrees with SendGrid's own SDK), and an address that keeps failing is refused with 429.
 */
import { EventWebhook } from '@sendgrid/eventwebhook';
import http from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, testConfig, type TestApp } from './helpers.js';
import { signedHeaders, webhookKeys } from './email-support.js';

const keys = webhookKeys();
const MAX_FAILURES = 5;
let t: TestApp;

beforeAll(async () => {
  const base = testConfig();
  t = await createTestApp({
    config: { email: { ...base.email, sendgridWebhookPublicKey: keys.publicKey }, webhooks: { maxFailures: MAX_FAILURES, failureWindowSeconds: 60 } },
  });
});
afterAll(() => t?.close());

let nextAddress = 1;
/** Each test posts from its own client address, so failure budgets do not mix. */
const address = () => `198.51.100.${nextAddress++}`;
const post = (remoteAddress: string, headers: Record<string, string>, payload: string | Readable) =>
  t.app.inject({ method: 'POST', url: '/api/webhooks/email', remoteAddress, headers, payload });

/** A lazily generated body that records how much of it the server pulled. */
function lazyBody(totalBytes: number) {
  const chunk = Buffer.alloc(64 * 1024, ' ');
  const seen = { pulled: 0 };
  const stream = new Readable({
    read() {
      if (seen.pulled >= totalBytes) return this.push(null);
      seen.pulled += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, seen };
}

const events = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ event: 'delivered', sg_event_id: `guard-${i}-${Math.random()}`, sb_message_id: '00000000-0000-4000-8000-000000000000', timestamp: Math.floor(Date.now() / 1000) })));

describe('email webhook before authentication', () => {
  it("verifies with node:crypto exactly what SendGrid's own SDK verifies", async () => {
    const sdk = new EventWebhook();
    const sdkKey = sdk.convertPublicKeyToECDSA(keys.publicKey);
    const from = address();
    const body = events(3);
    const headers = signedHeaders(keys.privateKey, body);
    const sig = headers['x-twilio-email-event-webhook-signature'];
    const ts = headers['x-twilio-email-event-webhook-timestamp'];

    expect(sdk.verifySignature(sdkKey, body, sig, ts)).toBe(true);
    const ok = await post(from, headers, body);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ received: 3, applied: 0, duplicates: 0, unknown: 3 });

    const altered = body.replace('delivered', 'bounce');
    expect(sdk.verifySignature(sdkKey, altered, sig, ts)).toBe(false);
    expect((await post(from, headers, altered)).statusCode).toBe(401);

    const otherKey = webhookKeys();
    const forged = signedHeaders(otherKey.privateKey, body);
    expect(sdk.verifySignature(sdkKey, body, forged['x-twilio-email-event-webhook-signature'], ts)).toBe(false);
    expect((await post(from, forged, body)).statusCode).toBe(401);
  });

  it('answers missing, malformed or stale signature headers with 401 without reading the body', async () => {
    const fresh = signedHeaders(keys.privateKey, '[]');
    const cases: [string, Record<string, string>][] = [
      ['no headers', { 'content-type': 'application/json' }],
      ['no timestamp', { 'content-type': 'application/json', 'x-twilio-email-event-webhook-signature': fresh['x-twilio-email-event-webhook-signature'] }],
      ['malformed signature', { ...fresh, 'x-twilio-email-event-webhook-signature': 'not base64!' }],
      ['huge signature', { ...fresh, 'x-twilio-email-event-webhook-signature': 'A'.repeat(10_000) }],
      ['malformed timestamp', { ...fresh, 'x-twilio-email-event-webhook-timestamp': 'yesterday' }],
      ['stale timestamp', signedHeaders(keys.privateKey, '[]', Math.floor(Date.now() / 1000) - 3600)],
    ];
    for (const [name, headers] of cases) {
      const body = lazyBody(64 * 1024 * 1024);
      const res = await post(address(), headers, body.stream);
      expect(res.statusCode, name).toBe(401);
      expect(res.json().code, name).toBe('unauthorized');
      expect(body.seen.pulled, name).toBeLessThanOrEqual(128 * 1024);
    }
  });

  it("answers a body over SendGrid's batch size with 413 before verifying it", async () => {
    // Fresh, well-formed headers: only the size is wrong. Declared length: refused before reading.
    const headers = { ...signedHeaders(keys.privateKey, 'whatever'), 'content-length': String(64 * 1024 * 1024) };
    const declared = lazyBody(64 * 1024 * 1024);
    const res = await post(address(), headers, declared.stream);
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('payload_too_large');
    expect(declared.seen.pulled).toBeLessThanOrEqual(128 * 1024);
    // Chunked, no declared length, over a real socket: refused at the limit and the connection closed,
    // long before the client could send its 64 MiB.
    const base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { 'content-length': _, ...chunkedHeaders } = headers;
    const chunked = lazyBody(64 * 1024 * 1024);
    const res2 = await new Promise<{ status: number; body: string; pulledAtAnswer: number }>((resolve, reject) => {
      const req = http.request(`${base}/api/webhooks/email`, { method: 'POST', headers: chunkedHeaders }, (r) => {
        const pulledAtAnswer = chunked.seen.pulled;
        let text = '';
        r.on('data', (c) => (text += c));
        r.on('end', () => resolve({ status: r.statusCode!, body: text, pulledAtAnswer }));
      });
      req.on('error', reject);
      chunked.stream.pipe(req);
    });
    chunked.stream.destroy();
    expect(res2.status, res2.body).toBe(413);
    expect(res2.pulledAtAnswer).toBeLessThan(16 * 1024 * 1024);
    // SendGrid posts at most about 768 KB per batch.
    expect(t.config.email.sendgridWebhookBodyLimitBytes).toBe(1024 * 1024);
  });

  it('refuses an address that keeps failing with 429 and Retry-After, before any work; others and valid batches go through', async () => {
    const attacker = address();
    const body = events(1);
    const forged = signedHeaders(webhookKeys().privateKey, body);
    for (let i = 0; i < MAX_FAILURES; i++) expect((await post(attacker, forged, body)).statusCode).toBe(401);
    const refused = await post(attacker, forged, body);
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'rate_limited' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Refused before the body is read.
    const big = lazyBody(64 * 1024 * 1024);
    expect((await post(attacker, forged, big.stream)).statusCode).toBe(429);
    expect(big.seen.pulled).toBeLessThanOrEqual(128 * 1024);

    // Another address is unaffected, and successes cost nothing: many valid batches in a row.
    const provider = address();
    for (let i = 0; i < MAX_FAILURES * 2; i++) {
      const valid = events(2);
      const res = await post(provider, signedHeaders(keys.privateKey, valid), valid);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ received: 2 });
    }
  });
});
