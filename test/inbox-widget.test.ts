// The widget's public API and the live streams, over a listening server: identity verification (a valid
// HMAC is the customer, a forged one an anonymous visitor), CORS for the widget routes only, rate and size
// limits, isolation between two organizations (site tokens, visitor cookies, live streams — also after
// the agent switches organization), and how many live connections one process holds.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, createApiKey, createCustomer, createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { createInbox, identityHash, openSse, visitorCookie, widgetVisitor, type SseClient } from './inbox-support.js';

let t: TestApp;
let base: string;
let a: Actor;
let b: Actor;
let inboxA: Awaited<ReturnType<typeof createInbox>>;
let inboxB: Awaited<ReturnType<typeof createInbox>>;
const streams: SseClient[] = [];

beforeAll(async () => {
  const base0 = testConfig();
  // A site token's own limit lowered so the test reaches it within its minute.
  t = await createTestApp({ config: { jobs: { inProcess: false, pollMs: 1000 }, inbox: { ...base0.inbox, widget: { ...base0.inbox.widget, requestsPerToken: 300 } } } });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as any).port}`;
  a = await signUpWithOrg(t.app, 'widget-a');
  b = await signUpWithOrg(t.app, 'widget-b');
  inboxA = await createInbox(t.app, a.headers, { name: 'A site' });
  inboxB = await createInbox(t.app, b.headers, { name: 'B site' });
});
afterAll(async () => {
  for (const s of streams) s.close();
  await t?.close();
});

const api = async (method: string, url: string, headers: Record<string, string>, payload?: unknown, extra: Record<string, unknown> = {}) => {
  const res = await t.app.inject({ method: method as any, url, headers, ...(payload !== undefined && { payload: payload as any }), ...extra });
  let body: any = null;
  try {
    body = res.json();
  } catch {
    body = res.body;
  }
  return { status: res.statusCode, body, headers: res.headers };
};
const sse = async (path: string, headers: Record<string, string>) => {
  const s = await openSse(`${base}${path}`, headers);
  streams.push(s);
  return s;
};
const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('widget identity', () => {
  it('a valid identity hash makes the visitor that customer; a forged one an anonymous visitor, never the claimed customer', async () => {
    const customer = await createCustomer(t.app, a.headers, { email: 'vip@example.com', firstName: 'Vera' });
    const valid = await widgetVisitor(t.app, inboxA.siteToken, { email: 'vip@example.com', userHash: identityHash(inboxA.identitySecret, 'vip@example.com') });
    expect(valid.session.identified).toBe(true);
    // Plain HTTP development: Lax; HttpOnly, signed.
    expect(String(valid.setCookie)).toMatch(/HttpOnly/i);
    expect(String(valid.setCookie)).toMatch(/SameSite=Lax/i);
    const c = await api('POST', '/api/widget/conversations', valid.headers, { body: 'I am Vera' });
    expect((await api('GET', `/api/chat/conversations/${c.body.conversation.id}`, a.headers)).body.customer).toMatchObject({ id: customer.id, email: 'vip@example.com' });

    for (const forged of [
      { email: 'vip@example.com', userHash: identityHash('not-the-secret', 'vip@example.com') },
      { email: 'vip@example.com', userHash: identityHash(inboxB.identitySecret, 'vip@example.com') },
      { email: 'vip@example.com', userHash: identityHash(inboxA.identitySecret, 'VIP@example.com') },
      { email: 'vip@example.com' },
    ]) {
      const v = await widgetVisitor(t.app, inboxA.siteToken, forged as Record<string, string>);
      expect(v.session.identified).toBe(false);
      const f = await api('POST', '/api/widget/conversations', v.headers, { body: 'I am Vera too' });
      expect((await api('GET', `/api/chat/conversations/${f.body.conversation.id}`, a.headers)).body.customer).toBeNull();
      // Nothing of Vera's shows.
      const mine = await api('GET', '/api/widget/conversations', v.headers);
      expect(mine.body.data.map((x: any) => x.id)).toEqual([f.body.conversation.id]);
    }

    // Vera's own browser, then a forged claim on it: a fresh anonymous visitor, not Vera.
    const again = await api('POST', '/api/widget/session', { ...valid.headers }, { siteToken: inboxA.siteToken, email: 'vip@example.com', userHash: 'ab'.repeat(32) });
    expect(again.body.identified).toBe(false);
    expect(again.body.visitorId).not.toBe(valid.session.visitorId);
    const after = await api('GET', '/api/widget/conversations', { 'x-site-token': inboxA.siteToken, cookie: visitorCookie(again) });
    expect(after.body.data).toEqual([]);
    // A user id signed with the secret names the customer with that external id, created when new.
    const byId = await widgetVisitor(t.app, inboxA.siteToken, { userId: 'user-77', email: 'u77@example.com', userHash: identityHash(inboxA.identitySecret, 'user-77') });
    expect(byId.session.identified).toBe(true);
  });

  it('calls without a visitor, with a tampered cookie or with an unknown token are refused', async () => {
    expect((await api('GET', '/api/widget/conversations', { 'x-site-token': inboxA.siteToken })).status).toBe(401);
    const v = await widgetVisitor(t.app, inboxA.siteToken);
    const [name, value] = v.cookie.split('=');
    const tampered = `${name}=${decodeURIComponent(value).replace(/^[0-9a-f]/, (c) => (c === 'a' ? 'b' : 'a'))}`;
    expect((await api('GET', '/api/widget/conversations', { 'x-site-token': inboxA.siteToken, cookie: tampered })).status).toBe(401);
    expect((await api('GET', '/api/widget/conversations', { 'x-site-token': `${a.organizationId}.AAAAAAAAAAAAAAAAAAAAAAAA`, cookie: v.cookie })).status).toBe(401);
    expect((await api('GET', '/api/widget/conversations', { 'x-site-token': 'garbage', cookie: v.cookie })).status).toBe(401);
    // Another visitor's conversation is not found.
    const other = await widgetVisitor(t.app, inboxA.siteToken);
    const c = await api('POST', '/api/widget/conversations', other.headers, { body: 'mine' });
    expect((await api('GET', `/api/widget/conversations/${c.body.conversation.id}/messages`, v.headers)).status).toBe(404);
    expect((await api('POST', `/api/widget/conversations/${c.body.conversation.id}/messages`, v.headers, { body: 'intrude' })).status).toBe(404);
  });
  it('without third-party cookies the signed visitor token works as the cookie does; a tampered or foreign one does not', async () => {
    const v = await widgetVisitor(t.app, inboxA.siteToken);
    const token = v.session.visitorToken as string;
    // The token is the cookie's signed value: no cookie at all, and the visitor still reads and writes its own conversation.
    expect(decodeURIComponent(v.cookie.slice(v.cookie.indexOf('=') + 1))).toBe(token);
    const headers = { 'x-site-token': inboxA.siteToken, 'x-visitor-token': token };
    const c = await api('POST', '/api/widget/conversations', headers, { body: 'Cookies are blocked here' });
    expect(c.status).toBe(201);
    expect((await api('GET', `/api/widget/conversations/${c.body.conversation.id}/messages`, headers)).body.data.map((m: any) => m.body)).toEqual(['Cookies are blocked here']);
    // A new page load resumes the same visitor with the token alone.
    const again = await api('POST', '/api/widget/session', headers, { siteToken: inboxA.siteToken });
    expect(again.body.visitorId).toBe(v.session.visitorId);
    const tampered = token.replace(/^[0-9a-f]/, (ch) => (ch === 'a' ? 'b' : 'a'));
    expect((await api('GET', '/api/widget/conversations', { ...headers, 'x-visitor-token': tampered })).status).toBe(401);
    // A's visitor token under B's site token is nobody in B.
    expect((await api('GET', '/api/widget/conversations', { 'x-site-token': inboxB.siteToken, 'x-visitor-token': token })).status).toBe(401);
    // The preflight lets a page send the header.
    const pre = await t.app.inject({ method: 'OPTIONS', url: '/api/widget/conversations', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-visitor-token' } });
    expect(String(pre.headers['access-control-allow-headers'])).toContain('x-visitor-token');
  });
});

describe('widget isolation between organizations', () => {
  it("B's site token cannot read or write A's conversations, even with A's visitor cookie", async () => {
    const va = await widgetVisitor(t.app, inboxA.siteToken);
    const c = await api('POST', '/api/widget/conversations', va.headers, { body: 'A secret' });
    const id = c.body.conversation.id;
    const vb = await widgetVisitor(t.app, inboxB.siteToken);
    for (const headers of [vb.headers, { 'x-site-token': inboxB.siteToken, cookie: `${va.cookie}; ${vb.cookie}` }]) {
      expect((await api('GET', `/api/widget/conversations/${id}/messages`, headers)).status).toBe(404);
      expect((await api('POST', `/api/widget/conversations/${id}/messages`, headers, { body: 'x' })).status).toBe(404);
      expect((await api('POST', `/api/widget/conversations/${id}/csat`, headers, { score: 1 })).status).toBe(404);
      expect(JSON.stringify((await api('GET', '/api/widget/conversations', headers)).body)).not.toContain(id);
    }
    // A's cookie under B's token is not a visitor of B.
    expect((await api('GET', '/api/widget/conversations', { 'x-site-token': inboxB.siteToken, cookie: va.cookie })).status).toBe(401);
    // A token claiming A's organization with B's secret part names no inbox.
    const spliced = `${a.organizationId}.${inboxB.siteToken.split('.')[1]}`;
    expect((await api('GET', '/api/widget/conversations', { 'x-site-token': spliced, cookie: va.cookie })).status).toBe(401);
    // B's agents do not see it.
    expect((await api('GET', `/api/chat/conversations/${id}`, b.headers)).status).toBe(404);
    expect((await api('GET', '/api/chat/conversations', b.headers)).body.data.map((x: any) => x.id)).not.toContain(id);
    // A's messages stay A's.
    expect((await api('GET', `/api/widget/conversations/${id}/messages`, va.headers)).body.data.map((m: any) => m.body)).toEqual(['A secret']);
  });
});

describe('CORS, limits', () => {
  it('widget routes answer cross-origin calls with credentials; agent routes do not; allowed origins restrict an inbox', async () => {
    const pre = await api('OPTIONS', '/api/widget/conversations', { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-site-token' });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://shop.example');
    expect(pre.headers['access-control-allow-credentials']).toBe('true');
    expect(String(pre.headers['access-control-allow-headers'])).toContain('x-site-token');
    const v = await widgetVisitor(t.app, inboxA.siteToken);
    const post = await api('POST', '/api/widget/conversations', { ...v.headers, origin: 'https://shop.example', 'sec-fetch-site': 'cross-site' }, { body: 'from the shop' });
    expect(post.status).toBe(201);
    expect(post.headers['access-control-allow-origin']).toBe('https://shop.example');
    const agent = await api('GET', '/api/chat/conversations', { ...a.headers, origin: 'https://shop.example' });
    expect(agent.headers['access-control-allow-origin']).toBeUndefined();

    const limited = await createInbox(t.app, a.headers, { name: 'Shop only', allowedOrigins: ['https://shop.example'] });
    const lv = await widgetVisitor(t.app, limited.siteToken);
    expect((await api('POST', '/api/widget/conversations', { ...lv.headers, origin: 'https://shop.example' }, { body: 'ok' })).status).toBe(201);
    expect((await api('POST', '/api/widget/conversations', { ...lv.headers, origin: 'https://evil.example' }, { body: 'no' })).status).toBe(403);
  });

  it('message size limits, JSON only (attachments refused)', async () => {
    const v = await widgetVisitor(t.app, inboxA.siteToken);
    expect((await api('POST', '/api/widget/conversations', v.headers, { body: 'x'.repeat(5001) })).status).toBe(400);
    expect((await api('POST', '/api/widget/conversations', v.headers, { body: 'x'.repeat(5000) })).status).toBe(201);
    const huge = await api('POST', '/api/widget/conversations', { ...v.headers, 'content-type': 'application/json' }, JSON.stringify({ body: 'x'.repeat(40_000) }));
    expect(huge.status).toBe(413);
    const fd = new FormData();
    fd.set('body', 'see attached');
    fd.set('file', new Blob(['%PDF-1.4'], { type: 'application/pdf' }), 'invoice.pdf');
    const r = new Request('http://x/', { method: 'POST', body: fd });
    const mp = await api('POST', '/api/widget/conversations', { ...v.headers, 'content-type': r.headers.get('content-type')! }, Buffer.from(await r.arrayBuffer()));
    expect(mp.status).toBe(415);
    expect((await api('POST', '/api/widget/conversations', v.headers, { body: 'hi', attachments: ['x'] })).status).toBe(400);
  });

  it('per-visitor message limit, per-visitor and per-site-token request limits (429 with Retry-After)', async () => {
    const v = await widgetVisitor(t.app, inboxB.siteToken);
    const c = await api('POST', '/api/widget/conversations', v.headers, { body: 'first' });
    let status = 0;
    let n = 1;
    for (; n < 30 && status !== 429; n++) status = (await api('POST', `/api/widget/conversations/${c.body.conversation.id}/messages`, v.headers, { body: `m${n}` })).status;
    expect(status).toBe(429);
    expect(n - 1).toBe(20); // the 21st message of the minute
    // Reading is still allowed up to the per-visitor request limit.
    let last;
    let reads = 0;
    do {
      last = await api('GET', '/api/widget/conversations', v.headers);
      reads++;
    } while (last.status === 200 && reads < 200);
    expect(last.status).toBe(429);
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
    // Another visitor of the same site is not affected.
    const w = await widgetVisitor(t.app, inboxB.siteToken);
    expect((await api('GET', '/api/widget/conversations', w.headers)).status).toBe(200);
    // Many visitors (addresses) of one site token: the token's own limit (300 a minute in this test).
    const busy = await createInbox(t.app, b.headers, { name: 'Busy site' });
    const statuses: number[] = [];
    for (let i = 0; i < 320; i += 40) {
      const batch = await Promise.all(
        Array.from({ length: 40 }, (_, k) => api('GET', '/api/widget/articles?q=x', { 'x-site-token': busy.siteToken }, undefined, { remoteAddress: `10.1.${(i + k) >> 8}.${(i + k) & 255}` })),
      );
      statuses.push(...batch.map((r) => r.status));
    }
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(300);
    expect(statuses).toContain(429);
    // Other sites are not affected.
    expect((await api('GET', '/api/widget/articles?q=x', { 'x-site-token': inboxA.siteToken })).status).toBe(200);
  }, 120_000);
});

describe('live', () => {
  it('agent and visitor streams: messages and replies arrive live; notes never reach the visitor; B hears nothing of A', async () => {
    const agentA = await sse('/api/chat/live', a.headers);
    const agentB = await sse('/api/chat/live', b.headers);
    expect(agentA.status).toBe(200);
    expect(agentA.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(agentA.headers['cache-control']).toBe('no-store');
    const keyB = await createApiKey(t.app, b, 'member');
    const agentBKey = await sse('/api/chat/live', keyB.headers);

    const v = await widgetVisitor(t.app, inboxA.siteToken);
    const visitor = await sse('/api/widget/live', { ...v.headers, origin: 'https://shop.example' });
    expect(visitor.status).toBe(200);
    expect(visitor.headers['access-control-allow-origin']).toBe('https://shop.example');

    const c = await api('POST', '/api/widget/conversations', v.headers, { body: 'Live hello' });
    const id = c.body.conversation.id;
    await agentA.next((e) => e.event === 'conversation.created' && e.data.conversationId === id);
    const m = await agentA.next((e) => e.event === 'message.created' && e.data.message.body === 'Live hello');
    expect(m.data.conversationId).toBe(id);

    await api('POST', `/api/chat/conversations/${id}/messages`, a.headers, { body: 'Internal note', private: true });
    await api('POST', `/api/chat/conversations/${id}/messages`, a.headers, { body: 'Agent reply' });
    const got = await visitor.next((e) => e.event === 'message.created' && e.data.message.body === 'Agent reply');
    expect(got.data.message).toMatchObject({ authorType: 'agent', direction: 'outbound' });
    await agentA.next((e) => e.event === 'message.created' && e.data.message.body === 'Internal note');
    await api('PATCH', `/api/chat/conversations/${id}`, a.headers, { status: 'resolved' });
    await visitor.next((e) => e.event === 'conversation.updated' && e.data.conversation.status === 'resolved');
    await quiet(200);
    expect(visitor.raw()).not.toContain('Internal note');
    expect(agentB.events).toEqual([]);
    expect(agentBKey.events).toEqual([]);
    expect(agentB.raw()).not.toContain(id);

    // B's own events reach B.
    const vb = await widgetVisitor(t.app, inboxB.siteToken);
    await api('POST', '/api/widget/conversations', vb.headers, { body: 'B here' });
    await agentB.next((e) => e.event === 'message.created' && e.data.message.body === 'B here');
    expect(agentA.raw()).not.toContain('B here');
    expect(visitor.raw()).not.toContain('B here');
  });

  it('an agent who switches organization stops receiving the old one at once; the new stream has only the new organization', async () => {
    // Someone in both: a member of A, owner of their own organization C.
    const both = await addMember(t.app, a, 'member', 'switcher');
    const created = await api('POST', '/api/organizations', both.headers, { name: 'Switcher Org' });
    expect(created.status).toBe(201);
    const orgC = created.body.id;
    const inboxC = await createInbox(t.app, both.headers, { name: 'C site' });
    // Back to A, watching A's inbox.
    expect((await api('POST', '/api/organizations/current/switch', both.headers, { organizationId: a.organizationId })).status).toBe(200);
    const old = await sse('/api/chat/live', both.headers);
    const va = await widgetVisitor(t.app, inboxA.siteToken);
    await api('POST', '/api/widget/conversations', va.headers, { body: 'Before the switch' });
    await old.next((e) => e.event === 'message.created' && e.data.message.body === 'Before the switch');

    // Switch to C: the A stream carries nothing more of A's.
    expect((await api('POST', '/api/organizations/current/switch', both.headers, { organizationId: orgC })).status).toBe(200);
    await api('POST', '/api/widget/conversations', va.headers, { body: 'After the switch' });
    await old.ended;
    expect(old.raw()).not.toContain('After the switch');
    expect(old.raw()).toContain('event: reset');

    const fresh = await sse('/api/chat/live', both.headers);
    await api('POST', '/api/widget/conversations', va.headers, { body: 'A again' });
    const vc = await widgetVisitor(t.app, inboxC.siteToken);
    await api('POST', '/api/widget/conversations', vc.headers, { body: 'C here' });
    await fresh.next((e) => e.event === 'message.created' && e.data.message.body === 'C here');
    await quiet(200);
    expect(fresh.raw()).not.toContain('A again');
    expect(fresh.events.every((e) => !JSON.stringify(e.data).includes(a.organizationId))).toBe(true);
  });

  it('holds 600 live connections in one process, each receiving the event', async () => {
    const N = 600;
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const before = t.app.inboxLive!.size;
    const key = await createApiKey(t.app, b, 'member');
    const opened: SseClient[] = [];
    for (let i = 0; i < N; i += 50) {
      opened.push(...(await Promise.all(Array.from({ length: Math.min(50, N - i) }, () => openSse(`${base}/api/chat/live`, key.headers, { agent })))));
    }
    streams.push(...opened);
    expect(opened.every((s) => s.status === 200)).toBe(true);
    expect(t.app.inboxLive!.size - before).toBeGreaterThanOrEqual(N);
    const vb = await widgetVisitor(t.app, inboxB.siteToken);
    await api('POST', '/api/widget/conversations', vb.headers, { body: 'to all six hundred' });
    await Promise.all(opened.map((s) => s.next((e) => e.event === 'message.created' && e.data.message.body === 'to all six hundred', 30_000)));
    console.log(`live connections held by one process: ${t.app.inboxLive!.size}`);
    for (const s of opened) s.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(t.app.inboxLive!.size).toBeLessThanOrEqual(before);
  }, 120_000);
});
