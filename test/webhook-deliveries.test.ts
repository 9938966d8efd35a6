import { lookup as dnsLookup } from 'node:dns';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETRY_STEPS } from '../src/modules/webhooks/delivery.js';
import { WebhookSender } from '../src/modules/webhooks/sender.js';
import { AddressPolicy } from '../src/modules/webhooks/ssrf.js';
import { createCustomer, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';
import { startReceiver, verify, waitFor, type Receiver } from './webhook-receiver.js';

let t: TestApp;
let a: Actor;
let rx: Receiver;
const BASE_MS = 50;

const register = async (actor: Actor, pathName: string, eventTypes = ['customer.created']) => {
  const res = await t.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: actor.headers, payload: { url: rx.url(pathName), eventTypes } });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; secret: string };
};
const log = async (actor: Actor, id: string) => (await t.app.inject({ url: `/api/webhook-endpoints/${id}/deliveries`, headers: actor.headers })).json().data as any[];
let n = 0;
const customerEvent = (actor: Actor) => createCustomer(t.app, actor.headers, { email: `c${++n}@deliveries.example` });

beforeAll(async () => {
  rx = await startReceiver();
  t = await createTestApp({
    config: {
      jobs: { inProcess: true, pollMs: 20 },
      outboundWebhooks: { allowPrivateRanges: ['127.0.0.0/8'], secretOverlapHours: 24, retryBaseMs: BASE_MS, timeoutMs: 1000, disableAfterFailures: 4, disableAfterSeconds: 0 },
    },
  });
  a = await signUpWithOrg(t.app, 'dla');
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

describe('signed deliveries', () => {
  it('carries Standard Webhooks headers that a standardwebhooks receiver accepts; a tampered body fails', async () => {
    const ep = await register(a, '/verify');
    const c = await customerEvent(a);
    const r = await waitFor(() => rx.at('/verify')[0]);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    const event = verify(ep.secret, r) as any;
    expect(event).toMatchObject({ type: 'customer.created', version: 1, organizationId: a.organizationId, data: { customer: { id: c.id } } });
    expect(new Date(event.occurredAt).toString()).not.toBe('Invalid Date');
    // The attempt is logged once the receiver has answered.
    const l = await waitFor(async () => {
      const x = await log(a, ep.id);
      return x.length > 0 && x;
    });
    expect(r.headers['webhook-id']).toBe(l[0].eventId);
    expect(l[0]).toMatchObject({ attempt: 1, statusCode: 200, eventType: 'customer.created', error: null, responseExcerpt: 'ok' });
    expect(() => verify(ep.secret, { ...r, body: r.body.replace(c.id, c.id.replace(/^./, (x: string) => (x === 'a' ? 'b' : 'a'))) })).toThrow();
    expect(() => verify(ep.secret, { ...r, headers: { ...r.headers, 'webhook-id': 'other' } })).toThrow();
  });

  it('signs with both secrets during a rotation overlap, each verifying on its own; only the new one after it', async () => {
    const ep = await register(a, '/rotate');
    const rot = await t.app.inject({ method: 'POST', url: `/api/webhook-endpoints/${ep.id}/rotate-secret`, headers: a.headers });
    expect(rot.statusCode).toBe(200);
    const { secret: fresh, previousSecretExpiresAt } = rot.json();
    expect(fresh).not.toBe(ep.secret);
    expect(new Date(previousSecretExpiresAt).getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    expect((await t.app.inject({ url: `/api/webhook-endpoints/${ep.id}`, headers: a.headers })).json()).not.toHaveProperty('secret');
    await customerEvent(a);
    const r = await waitFor(() => rx.at('/rotate')[0]);
    const sigs = r.headers['webhook-signature'].split(' ');
    expect(sigs).toHaveLength(2);
    expect(sigs.every((s) => s.startsWith('v1,'))).toBe(true);
    expect(verify(fresh, r)).toBeTruthy();
    expect(verify(ep.secret, r)).toBeTruthy();
    // Each entry is one secret's: the receiver that only knows one secret accepts exactly one entry.
    expect(() => verify(fresh, { ...r, headers: { ...r.headers, 'webhook-signature': sigs[1] } })).toThrow();
    expect(() => verify(ep.secret, { ...r, headers: { ...r.headers, 'webhook-signature': sigs[0] } })).toThrow();

    // The overlap ends: the old secret no longer signs.
    await t.db.owner.query(`update webhook_endpoints set previous_secret_expires_at = now() - interval '1 second' where id = $1`, [ep.id]);
    await customerEvent(a);
    const r2 = await waitFor(() => rx.at('/rotate')[1]);
    expect(r2.headers['webhook-signature'].split(' ')).toHaveLength(1);
    expect(verify(fresh, r2)).toBeTruthy();
    expect(() => verify(ep.secret, r2)).toThrow();
  });
});

describe('retries', () => {
  it('retries a 500 with backoff, with the same webhook-id, and logs every attempt', async () => {
    const ep = await register(a, '/flaky');
    rx.script('/flaky', { status: 500, body: 'boom' }, { status: 502, body: 'x'.repeat(5000) });
    await customerEvent(a);
    const got = await waitFor(() => rx.at('/flaky').length >= 3 && rx.at('/flaky'));
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    got.forEach((r) => verify(ep.secret, r));
    // 1 × base, then 6 × base.
    expect(got[1].at - got[0].at).toBeGreaterThanOrEqual(RETRY_STEPS[0] * BASE_MS - 5);
    expect(got[2].at - got[1].at).toBeGreaterThanOrEqual(RETRY_STEPS[1] * BASE_MS - 5);
    const l = await waitFor(async () => {
      const x = await log(a, ep.id);
      return x.length === 3 && x;
    });
    expect(l.map((x) => [x.attempt, x.statusCode])).toEqual([
      [3, 200],
      [2, 502],
      [1, 500],
    ]);
    expect(l[2]).toMatchObject({ responseExcerpt: 'boom', error: 'HTTP 500' });
    expect(l[1].responseExcerpt).toHaveLength(1024);
    expect(l.every((x) => x.latencyMs >= 0)).toBe(true);
    const [d] = await t.db.owner.query<{ status: string; attempts: number }>('select status, attempts from webhook_deliveries where id = $1', [l[0].deliveryId]);
    expect(d).toEqual({ status: 'delivered', attempts: 3 });
  });

  it('waits as long as Retry-After asks', async () => {
    await register(a, '/later');
    rx.script('/later', { status: 503, headers: { 'retry-after': '1' } });
    await customerEvent(a);
    const got = await waitFor(() => rx.at('/later').length >= 2 && rx.at('/later'));
    expect(got[1].at - got[0].at).toBeGreaterThanOrEqual(950);
  });

  it('does not follow redirects: a 3xx is a failed attempt, logged as such', async () => {
    const ep = await register(a, '/moved');
    rx.script('/moved', { status: 302, headers: { location: rx.url('/elsewhere') } });
    await customerEvent(a);
    const l = await waitFor(async () => {
      const x = await log(a, ep.id);
      return x.length >= 2 && x;
    });
    expect(l[l.length - 1]).toMatchObject({ statusCode: 302 });
    expect(l[l.length - 1].error).toMatch(/redirect to .*\/elsewhere not followed/);
    expect(rx.at('/elsewhere')).toHaveLength(0);
  });
});

describe('an endpoint that keeps failing', () => {
  it('is disabled after the failure limit, audited as the system, its admins notified; replay works once it is back on', async () => {
    const org = await signUpWithOrg(t.app, 'dldisable');
    const ep = await register(org, '/down');
    rx.script('/down', ...Array.from({ length: 20 }, () => ({ status: 500, body: 'down' })));
    await customerEvent(org);
    const e = await waitFor(async () => {
      const x = (await t.app.inject({ url: `/api/webhook-endpoints/${ep.id}`, headers: org.headers })).json();
      return !x.enabled && x;
    });
    expect(e.disabledReason).toBe('4 failed attempts in a row');
    expect(e.disabledAt).not.toBeNull();
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.at('/down')).toHaveLength(4);
    const audit = (await t.app.inject({ url: `/api/audit-log?resourceType=webhook_endpoint&resourceId=${ep.id}`, headers: org.headers })).json().data;
    expect(audit.find((x: any) => x.action === 'webhook_endpoint.disabled')).toMatchObject({ actorType: 'system', actorReason: 'webhook-delivery', actorId: null });
    const dir = path.join(t.config.dataDir, 'outbox', '_account');
    const notice = await waitFor(() => existsSync(dir) && readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'utf8')).find((m) => m.includes(`To: ${org.email}`) && m.includes('webhook endpoint was disabled')));
    expect(notice.replace(/=\r?\n/g, '')).toContain(ep.id);

    // New events are not recorded for a disabled endpoint, and replay waits until it is back on.
    const [last] = await log(org, ep.id);
    const replay = () => t.app.inject({ method: 'POST', url: `/api/webhook-endpoints/${ep.id}/deliveries/${last.deliveryId}/replay`, headers: org.headers });
    expect((await replay()).statusCode).toBe(409);
    rx.clear('/down');
    const back = await t.app.inject({ method: 'PATCH', url: `/api/webhook-endpoints/${ep.id}`, headers: org.headers, payload: { enabled: true } });
    expect(back.json()).toMatchObject({ enabled: true, disabledAt: null, disabledReason: null });
    const drained = rx.at('/down').length;
    const res = await replay();
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ deliveryId: last.deliveryId, eventId: last.eventId, status: 'pending' });
    const replayed = await waitFor(() => rx.at('/down').length > drained && rx.at('/down')[drained]);
    expect(replayed.headers['webhook-id']).toBe(last.eventId);
    verify(ep.secret, replayed);
    const after = await waitFor(async () => {
      const x = await log(org, ep.id);
      return x[0].statusCode === 200 && x;
    });
    expect(after[0]).toMatchObject({ deliveryId: last.deliveryId, attempt: 5 });
  });

  it('keeps an endpoint whose failures a success interrupts', async () => {
    const ep = await register(a, '/wobbly');
    rx.script('/wobbly', { status: 500 }, { status: 500 }, { status: 500 }, { status: 200 }, { status: 500 }, { status: 500 }, { status: 500 });
    await customerEvent(a);
    await waitFor(() => rx.at('/wobbly').length >= 4);
    await customerEvent(a);
    await waitFor(() => rx.at('/wobbly').length >= 8, 15_000);
    expect((await t.app.inject({ url: `/api/webhook-endpoints/${ep.id}`, headers: a.headers })).json().enabled).toBe(true);
  });
});

describe('timeouts', () => {
  it("logs a quick receiver's attempt without waiting for a stalled one delivered in the same run", async () => {
    const org = await signUpWithOrg(t.app, 'dlwaves');
    const quick = await register(org, '/quick');
    const stalled = await register(org, '/stalled');
    rx.script('/stalled', { status: 200, hang: true });
    await customerEvent(org);
    await waitFor(async () => (await log(org, quick.id)).length > 0);
    // The stalled receiver is still being waited for (1 s timeout here) while the quick one's attempt is already in the log.
    expect(await log(org, stalled.id)).toHaveLength(0);
    const [timedOut] = await waitFor(async () => {
      const x = await log(org, stalled.id);
      return x.length > 0 && x;
    });
    expect(timedOut).toMatchObject({ statusCode: null, error: 'timed out after 1000 ms' });
  });

  it('gives up on a receiver that does not answer within the timeout, and logs it', async () => {
    const sender = new WebhookSender(new AddressPolicy(['127.0.0.0/8']), 300);
    rx.script('/stall', { status: 200, hang: true });
    try {
      const r = await sender.post(rx.url('/stall'), {}, '{}');
      expect(r.statusCode).toBeNull();
      expect(r.error).toBe('timed out after 300 ms');
      expect(r.latencyMs).toBeGreaterThanOrEqual(290);
      expect(r.latencyMs).toBeLessThan(2000);
    } finally {
      sender.close();
    }
  });
});

describe('SSRF', () => {
  const strict = new AddressPolicy([]);

  it('refuses private, loopback, link-local, CGNAT, multicast, unspecified and metadata addresses, IPv4 and IPv6', () => {
    for (const ip of [
      '127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '100.100.100.200', '0.0.0.0', '224.0.0.1', '255.255.255.255',
      '::1', '::', 'fe80::1', 'fd00:ec2::254', 'fc00::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', '::127.0.0.1',
    ]) {
      expect(strict.refusal(ip), ip).not.toBeNull();
    }
    for (const ip of ['93.184.215.14', '1.1.1.1', '2606:4700:4700::1111', '::ffff:1.1.1.1']) expect(strict.refusal(ip), ip).toBeNull();
    const open = new AddressPolicy(['127.0.0.0/8']);
    expect(open.refusal('127.0.0.1')).toBeNull();
    expect(open.refusal('::ffff:127.0.0.1')).toBeNull();
    expect(open.refusal('10.0.0.1')).not.toBeNull();
    expect(() => new AddressPolicy(['not-a-range'])).toThrow(/CIDR/);
  });

  it('refuses at delivery time after DNS resolution, and connects to the address it checked', async () => {
    const before = rx.received.length;
    const port = new URL(rx.url()).port;
    // A name that resolves to loopback (as a rebinding attacker's would), through an injected resolver.
    const resolver = ((host: string, _o: unknown, cb: (e: Error | null, a: { address: string; family: number }[]) => void) =>
      cb(null, host === 'rebind.example' ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '93.184.215.14', family: 4 }])) as unknown as typeof dnsLookup;
    const sender = new WebhookSender(strict, 1000, resolver);
    const strictReal = new WebhookSender(new AddressPolicy(['10.255.255.0/24']), 1000);
    try {
      for (const url of [`http://rebind.example:${port}/hook`, `https://rebind.example:${port}/hook`]) {
        const r = await sender.post(url, {}, '{}');
        expect(r.statusCode, url).toBeNull();
        expect(r.error, url).toMatch(/refused/);
      }
      // Literal addresses never reach DNS: checked before connecting.
      for (const url of ['https://127.0.0.1/', 'https://10.0.0.8/', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/', 'https://[::ffff:127.0.0.1]/']) {
        const r = await sender.post(url, {}, '{}');
        expect(r.error, url).toMatch(/^refused/);
      }
      // localhost through the system resolver, with http allowed (a range is configured) but not loopback.
      const local = await strictReal.post(`http://localhost:${port}/hook`, {}, '{}');
      expect(local.error).toMatch(/refused: localhost resolves to/);
      expect(rx.received.length).toBe(before);

      // Allowed range: the pinned address is the one checked, whatever the name.
      const allowed = new WebhookSender(new AddressPolicy(['127.0.0.0/8']), 1000, resolver);
      const ok = await allowed.post(`http://rebind.example:${port}/pinned`, { 'webhook-id': 'x' }, '{"a":1}');
      allowed.close();
      expect(ok.statusCode).toBe(200);
      expect(rx.at('/pinned')).toHaveLength(1);
      expect(rx.at('/pinned')[0].headers.host).toBe(`rebind.example:${port}`);
    } finally {
      sender.close();
      strictReal.close();
    }
  });
});
