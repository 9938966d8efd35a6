/**
 * Social publishing end to end over HTTP: accounts connected through a real local OAuth 2 authorization
 * server (oauth2-mock-server, which checks PKCE), posts published by the job through a local server
 * speaking X's and Facebook's APIs, the outbound webhook events, and the isolation of both.
 */
import type { OAuth2Server } from 'oauth2-mock-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../src/http/logging.js';
import { addMember, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';
import { FB_PAGE, IG_ACCOUNT, LINKEDIN_MEMBER, socialPlatforms, startAuthorizationServer, startPlatformStandIn, X_USER, type PlatformStandIn } from './social-support.js';
import { startReceiver, verify, waitFor, type Receiver } from './webhook-receiver.js';

let t: TestApp;
let oauth: OAuth2Server;
let api: PlatformStandIn;
let rx: Receiver;
let a: Actor;
let b: Actor;
let secretA: string;
/** Every token the authorization server issued, and every body our API answered with. */
const issued: string[] = [];
const answered: string[] = [];
/** What the authorization server's token endpoint answers next (an invalid_grant, say), once. */
let nextTokenAnswer: { statusCode: number; body: Record<string, unknown> } | null = null;
const refreshTokensPresented: string[] = [];

async function inject(opts: { method?: string; url: string; headers?: Record<string, string>; payload?: unknown }) {
  const res = await t.app.inject(opts as any);
  answered.push(`${JSON.stringify(res.headers)}\n${res.body}`);
  return res;
}

/** The whole connection as a browser does it: start, the platform's authorize step (its redirect not followed), our callback. */
async function connect(actor: Actor, platform: 'x' | 'facebook' | 'instagram' | 'linkedin') {
  const start = await inject({ method: 'POST', url: '/api/social/accounts', headers: actor.headers, payload: { platform } });
  expect(start.statusCode, start.body).toBe(201);
  const authorize = new URL(start.json().authorizeUrl);
  const redirect = await fetch(authorize, { redirect: 'manual' });
  expect(redirect.status).toBe(302);
  const back = new URL(redirect.headers.get('location')!);
  return { authorize, back, callback: await inject({ method: 'GET', url: `${back.pathname}${back.search}` }) };
}

const accounts = async (actor: Actor) => (await inject({ url: '/api/social/accounts', headers: actor.headers })).json().data as any[];
const post = async (actor: Actor, id: string) => (await inject({ url: `/api/social/posts/${id}`, headers: actor.headers })).json();
const eventsAt = (path: string, secret: string) => rx.at(path).map((r) => verify(secret, r) as { type: string; organizationId: string; data: any });

beforeAll(async () => {
  oauth = await startAuthorizationServer();
  oauth.service.on('beforeResponse', (response: { statusCode: number; body: any }, req: { body: Record<string, string> }) => {
    if (req.body.grant_type === 'refresh_token') refreshTokensPresented.push(req.body.refresh_token);
    if (nextTokenAnswer) {
      Object.assign(response, nextTokenAnswer);
      nextTokenAnswer = null;
      return;
    }
    issued.push(response.body.access_token, response.body.refresh_token);
  });
  api = await startPlatformStandIn();
  rx = await startReceiver();
  t = await createTestApp({
    config: {
      social: { platforms: socialPlatforms(oauth.issuer.url!, api.url), refreshAheadSeconds: 600, publishMaxAttempts: 4, retryBaseMs: 50 },
      jobs: { inProcess: true, pollMs: 25 },
      outboundWebhooks: { allowPrivateRanges: ['127.0.0.0/8'], secretOverlapHours: 24, retryBaseMs: 50, timeoutMs: 2000, disableAfterFailures: 100, disableAfterSeconds: 0 },
    },
  });
  a = await signUpWithOrg(t.app, 'social-a');
  b = await signUpWithOrg(t.app, 'social-b');
  const ep = await inject({ method: 'POST', url: '/api/webhook-endpoints', headers: a.headers, payload: { url: rx.url('/a'), eventTypes: ['social_post.published', 'social_post.failed'] } });
  secretA = ep.json().secret;
  await inject({ method: 'POST', url: '/api/webhook-endpoints', headers: b.headers, payload: { url: rx.url('/b'), eventTypes: ['*'] } });
});

afterAll(async () => {
  await t?.close();
  await oauth?.stop();
  await api?.close();
  await rx?.close();
});

describe('connecting accounts (OAuth 2 code flow with PKCE)', () => {
  it('X: the authorize URL carries an S256 challenge and a state; the callback saves @acme with its tokens sealed', async () => {
    const { authorize, back, callback } = await connect(a, 'x');
    expect(authorize.origin + authorize.pathname).toBe(`${oauth.issuer.url}/authorize`);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(authorize.searchParams.get('state')).toMatch(new RegExp(`^${a.organizationId}\\.`));
    expect(authorize.searchParams.get('scope')).toBe('tweet.read tweet.write users.read offline.access');
    expect(back.searchParams.get('code')).toBeTruthy();
    expect(callback.statusCode, callback.body).toBe(302);
    expect(callback.headers.location).toBe('http://localhost:3000/social/accounts?connected=1');
    const [acct] = await accounts(a);
    expect(acct).toMatchObject({ platform: 'x', handle: `@${X_USER.username}`, externalId: X_USER.id, status: 'connected', displayName: X_USER.name });
    expect(Date.parse(acct.tokenExpiresAt)).toBeGreaterThan(Date.now());
    // X was asked who the account is with the access token the authorization server issued.
    expect(issued).toContain(api.at('GET', '/2/users/me').at(-1)!.headers.authorization.replace('Bearer ', ''));
    // Stored sealed: no issued token appears in the row.
    const [row] = await t.db.owner.query<Record<string, string>>('select access_token_encrypted, refresh_token_encrypted from social_accounts where id = $1', [acct.id]);
    expect(row.access_token_encrypted).toMatch(/^v1\./);
    for (const token of issued) expect(JSON.stringify(row)).not.toContain(token);
    // The refresh job is queued ahead of the expiry.
    const [job] = await t.db.owner.query<{ run_at: Date }>("select run_at from jobs where queue = 'social-token-refresh' and payload->>'accountId' = $1 and state = 'queued'", [acct.id]);
    expect(job.run_at.getTime()).toBeLessThan(Date.parse(acct.tokenExpiresAt));
  });

  it('the state is single use, expires, and names the only organization it can attach an account to', async () => {
    // Replayed: refused, nothing added.
    const first = await connect(b, 'x');
    expect(first.callback.statusCode).toBe(302);
    const again = await inject({ method: 'GET', url: `${first.back.pathname}${first.back.search}` });
    expect(again.statusCode).toBe(400);
    expect(again.json().code).toBe('validation_failed');

    // B's state re-addressed to A's organization: no such state in A; A's accounts do not change.
    const before = (await accounts(a)).length;
    const start = await inject({ method: 'POST', url: '/api/social/accounts', headers: b.headers, payload: { platform: 'x' } });
    const redirect = await fetch(start.json().authorizeUrl, { redirect: 'manual' });
    const back = new URL(redirect.headers.get('location')!);
    const forged = back.searchParams.get('state')!.replace(b.organizationId, a.organizationId);
    back.searchParams.set('state', forged);
    const res = await inject({ method: 'GET', url: `${back.pathname}${back.search}` });
    expect(res.statusCode).toBe(400);
    expect((await accounts(a)).length).toBe(before);

    // Expired: refused even with the right code.
    const late = await inject({ method: 'POST', url: '/api/social/accounts', headers: b.headers, payload: { platform: 'facebook' } });
    const lateRedirect = await fetch(late.json().authorizeUrl, { redirect: 'manual' });
    await t.db.owner.query("update social_connections set expires_at = now() - interval '1 second' where organization_id = $1", [b.organizationId]);
    const lateBack = new URL(lateRedirect.headers.get('location')!);
    const expired = await inject({ method: 'GET', url: `${lateBack.pathname}${lateBack.search}` });
    expect(expired.statusCode).toBe(400);
    expect(expired.json().error).toMatch(/expired/);
    expect((await accounts(b)).map((x) => x.platform)).toEqual(['x']);
  });

  it("the callback's code and state are redacted in request logs", () => {
    const logged = redactUrl('/api/social/oauth/callback?state=org.s3cret&code=c0de', '/api/social/oauth/callback');
    expect(logged).not.toMatch(/s3cret|c0de/);
  });

  it('a denied authorization comes back to the dashboard with the reason', async () => {
    const start = await inject({ method: 'POST', url: '/api/social/accounts', headers: a.headers, payload: { platform: 'facebook' } });
    const state = new URL(start.json().authorizeUrl).searchParams.get('state')!;
    const res = await inject({ method: 'GET', url: `/api/social/oauth/callback?state=${encodeURIComponent(state)}&error=access_denied&error_description=User+denied` });
    expect(res.statusCode).toBe(302);
    expect(new URL(res.headers.location as string).searchParams.get('error')).toMatch(/User denied/);
  });

  it('an unconfigured platform is a 503, and connecting needs a signed-in admin', async () => {
    const bare = await createTestApp();
    try {
      const owner = await signUpWithOrg(bare.app, 'social-bare');
      const res = await bare.app.inject({ method: 'POST', url: '/api/social/accounts', headers: owner.headers, payload: { platform: 'instagram' } });
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toMatch(/SOCIAL_INSTAGRAM_CLIENT_ID/);
      expect((await bare.app.inject({ url: '/api/social/platforms', headers: owner.headers })).json().data.filter((p: any) => p.configured)).toEqual([]);
    } finally {
      await bare.close();
    }
    const platforms = (await inject({ url: '/api/social/platforms', headers: a.headers })).json().data;
    expect(platforms.filter((p: any) => p.configured).map((p: any) => p.platform)).toEqual(['x', 'facebook', 'instagram', 'linkedin']);
    // Members write posts but do not connect accounts.
    const member = await addMember(t.app, a, 'member');
    expect((await inject({ method: 'POST', url: '/api/social/accounts', headers: member.headers, payload: { platform: 'x' } })).statusCode).toBe(403);
  });

  it('refresh: a rotated refresh token replaces the old one; invalid_grant marks the account needs_reconnection', async () => {
    const [acct] = await accounts(a);
    const sealed = async () => (await t.db.owner.query<{ r: string }>('select refresh_token_encrypted as r from social_accounts where id = $1', [acct.id]))[0].r;
    const before = await sealed();
    const res = await inject({ method: 'POST', url: `/api/social/accounts/${acct.id}`, headers: a.headers });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().status).toBe('connected');
    const presented = refreshTokensPresented.at(-1)!;
    expect(issued).toContain(presented);
    expect(await sealed()).not.toBe(before);
    // The next refresh presents the rotated token, not the first one.
    nextTokenAnswer = { statusCode: 400, body: { error: 'invalid_grant', error_description: 'The refresh token was revoked' } };
    const refused = await inject({ method: 'POST', url: `/api/social/accounts/${acct.id}`, headers: a.headers });
    expect(refreshTokensPresented.at(-1)).not.toBe(presented);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatch(/invalid_grant.*needs reconnection/);
    const after = (await accounts(a)).find((x) => x.id === acct.id);
    expect(after).toMatchObject({ status: 'needs_reconnection' });
    expect(after.statusReason).toMatch(/invalid_grant/);
    // Connecting again restores it (same row).
    const again = await connect(a, 'x');
    expect(again.callback.statusCode).toBe(302);
    expect((await accounts(a)).find((x) => x.id === acct.id)).toMatchObject({ status: 'connected', statusReason: null });
  });

  it('Facebook: one account per Page with its Page token; refresh exchanges for a long-lived token (no refresh grant)', async () => {
    const { callback } = await connect(a, 'facebook');
    expect(callback.statusCode, callback.body).toBe(302);
    const fb = (await accounts(a)).find((x) => x.platform === 'facebook');
    expect(fb).toMatchObject({ handle: FB_PAGE.name, externalId: FB_PAGE.id, status: 'connected' });
    const exchange = api.requests.filter((r) => r.path === '/oauth/access_token');
    expect(exchange.at(-1)!.query.get('grant_type')).toBe('fb_exchange_token');
    expect(issued).toContain(exchange.at(-1)!.query.get('fb_exchange_token'));
    const grants = refreshTokensPresented.length;
    const res = await inject({ method: 'POST', url: `/api/social/accounts/${fb.id}`, headers: a.headers });
    expect(res.statusCode, res.body).toBe(200);
    expect(refreshTokensPresented.length).toBe(grants);
    expect(api.requests.filter((r) => r.path === '/oauth/access_token').length).toBe(exchange.length + 1);
    expect(api.at('GET', `/${FB_PAGE.id}`).length).toBe(1);
  });
});

describe('posts', () => {
  it("validates against the platform's limits: X counts 280 weighted characters (links 23, emoji 2)", async () => {
    const x = (await accounts(a)).find((p) => p.platform === 'x');
    const create = (body: Record<string, unknown>) => inject({ method: 'POST', url: '/api/social/posts', headers: a.headers, payload: { accountId: x.id, ...body } });
    const over = await create({ body: 'a'.repeat(281) });
    expect(over.statusCode).toBe(400);
    expect(over.json().details[0]).toMatchObject({ path: 'body', message: expect.stringMatching(/280 .*281/) });
    // 256 characters and a 60-character link: 256 + 1 + 23 = 280, accepted.
    const link = `https://example.com/${'p'.repeat(40)}`;
    const fits = await create({ body: 'a'.repeat(256), link });
    expect(fits.statusCode, fits.body).toBe(201);
    expect(fits.json().length).toEqual({ count: 280, limit: 280 });
    // 140 emoji weigh 280; one more is over.
    expect((await create({ body: '😀'.repeat(140) })).statusCode).toBe(201);
    expect((await create({ body: '😀'.repeat(141) })).statusCode).toBe(400);
    expect((await create({ body: 'hi', imageUrls: ['https://example.com/a.png'] })).json().details[0].path).toBe('imageUrls');
    expect((await create({ body: 'hi', status: 'scheduled' })).json().details[0].path).toBe('scheduledAt');
    // Another organization's account does not exist here.
    const bx = (await accounts(b))[0];
    const foreign = await inject({ method: 'POST', url: '/api/social/posts', headers: a.headers, payload: { accountId: bx.id, body: 'x' } });
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json().details[0].path).toBe('accountId');
  });

  it('X: a scheduled post is published at its time with the user token, after a 429 honouring x-rate-limit-reset', async () => {
    const x = (await accounts(a)).find((p) => p.platform === 'x');
    const reset = Math.ceil(Date.now() / 1000) + 1;
    api.script('POST /2/tweets', { status: 429, body: { title: 'Too Many Requests', status: 429 }, headers: { 'x-rate-limit-limit': '100', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(reset) } });
    const scheduledAt = new Date(Date.now() + 300).toISOString();
    const created = await inject({ method: 'POST', url: '/api/social/posts', headers: a.headers, payload: { accountId: x.id, body: 'Winter sale starts Monday', link: 'https://shop.example.com/sale', status: 'scheduled', scheduledAt } });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    const done = await waitFor(async () => ((await post(a, id)).status === 'published' ? post(a, id) : null), 15_000);
    const tweets = api.at('POST', '/2/tweets');
    const [limited, ok] = tweets.slice(-2);
    expect(JSON.parse(ok.body)).toEqual({ text: 'Winter sale starts Monday https://shop.example.com/sale' });
    expect(ok.headers['content-type']).toBe('application/json');
    expect(issued).toContain(ok.headers.authorization.replace('Bearer ', ''));
    // The retry waited for the reset the 429 named.
    expect(limited.at).toBeLessThan(reset * 1000);
    expect(ok.at).toBeGreaterThanOrEqual(reset * 1000);
    expect(done).toMatchObject({ status: 'published', attempts: 2, error: null, permalink: `https://x.com/${X_USER.username}/status/${done.platformPostId}` });
    expect(done.platformPostId).toMatch(/^\d+$/);
    const [event] = await waitFor(() => {
      const e = eventsAt('/a', secretA).filter((x) => x.type === 'social_post.published' && x.data.post.id === id);
      return e.length ? e : null;
    });
    expect(event).toMatchObject({ organizationId: a.organizationId, data: { post: { id, platform: 'x', status: 'published', platformPostId: done.platformPostId, attempts: 2 } } });
    // Published: no more edits or deletion.
    expect((await inject({ method: 'PATCH', url: `/api/social/posts/${id}`, headers: a.headers, payload: { body: 'changed' } })).statusCode).toBe(409);
    expect((await inject({ method: 'DELETE', url: `/api/social/posts/${id}`, headers: a.headers })).statusCode).toBe(409);
  });

  it('Facebook: POST /{page-id}/feed with the Page token; a permanent 4xx fails the post and emits social_post.failed', async () => {
    const fb = (await accounts(a)).find((p) => p.platform === 'facebook');
    const ok = await inject({ method: 'POST', url: '/api/social/posts', headers: a.headers, payload: { accountId: fb.id, body: 'Hello from the Page', link: 'https://example.com', status: 'scheduled', scheduledAt: new Date().toISOString() } });
    expect(ok.statusCode, ok.body).toBe(201);
    const published = await waitFor(async () => ((await post(a, ok.json().id)).status === 'published' ? post(a, ok.json().id) : null));
    const feed = api.at('POST', `/${FB_PAGE.id}/feed`).at(-1)!;
    const form = new URLSearchParams(feed.body);
    expect(form.get('message')).toBe('Hello from the Page');
    expect(form.get('link')).toBe('https://example.com');
    expect(api.pageTokens).toContain(form.get('access_token'));
    expect(published.platformPostId).toMatch(new RegExp(`^${FB_PAGE.id}_\\d+$`));
    expect(published.permalink).toBe(`https://www.facebook.com/${published.platformPostId}`);

    api.script(`POST /${FB_PAGE.id}/feed`, { status: 400, body: { error: { message: '(#100) Invalid parameter', type: 'OAuthException', code: 100, fbtrace_id: 'A1' } } });
    const bad = await inject({ method: 'POST', url: '/api/social/posts', headers: a.headers, payload: { accountId: fb.id, body: 'Refused', status: 'scheduled', scheduledAt: new Date().toISOString() } });
    const failed = await waitFor(async () => ((await post(a, bad.json().id)).status === 'failed' ? post(a, bad.json().id) : null));
    expect(failed).toMatchObject({ attempts: 1, error: '400: (#100) Invalid parameter' });
    const [event] = await waitFor(() => {
      const e = eventsAt('/a', secretA).filter((x) => x.type === 'social_post.failed' && x.data.post.id === bad.json().id);
      return e.length ? e : null;
    });
    expect(event.data).toMatchObject({ error: '400: (#100) Invalid parameter', post: { status: 'failed', platform: 'facebook' } });
    // A failed post can be edited (back to a draft) and deleted.
    const edited = await inject({ method: 'PATCH', url: `/api/social/posts/${bad.json().id}`, headers: a.headers, payload: { body: 'Fixed' } });
    expect(edited.json()).toMatchObject({ status: 'draft', body: 'Fixed', error: null });
    expect((await inject({ method: 'DELETE', url: `/api/social/posts/${bad.json().id}`, headers: a.headers })).statusCode).toBe(204);
  });

  it('5xx answers are retried until the attempts run out, then the post fails with the reason', async () => {
    const x = (await accounts(a)).find((p) => p.platform === 'x');
    for (let i = 0; i < 4; i++) api.script('POST /2/tweets', { status: 503, body: { title: 'Service Unavailable' } });
    const created = await inject({ method: 'POST', url: '/api/social/posts', headers: a.headers, payload: { accountId: x.id, body: 'Flaky', status: 'scheduled', scheduledAt: new Date().toISOString() } });
    const failed = await waitFor(async () => ((await post(a, created.json().id)).status === 'failed' ? post(a, created.json().id) : null), 15_000);
    expect(failed).toMatchObject({ attempts: 4, error: 'Gave up after 4 attempts: 503: Service Unavailable' });
  });

  it('LinkedIn: connected with OpenID Connect (its ID token checked), a post goes out through POST /rest/posts', async () => {
    const { callback } = await connect(a, 'linkedin');
    expect(callback.statusCode, callback.body).toBe(302);
    expect(callback.headers.location).toMatch(/connected=1$/);
    const li = (await accounts(a)).find((x) => x.platform === 'linkedin');
    expect(li).toMatchObject({ handle: LINKEDIN_MEMBER.name, externalId: LINKEDIN_MEMBER.sub, status: 'connected' });
    const created = await inject({ method: 'POST', url: '/api/social/posts', headers: a.headers, payload: { accountId: li.id, body: 'We are hiring', link: 'https://example.com/jobs', status: 'scheduled', scheduledAt: new Date().toISOString() } });
    expect(created.statusCode, created.body).toBe(201);
    const done = await waitFor(async () => ((await post(a, created.json().id)).status === 'published' ? post(a, created.json().id) : null));
    const sent = api.at('POST', '/rest/posts').at(-1)!;
    expect(sent.headers['linkedin-version']).toMatch(/^\d{6}$/);
    expect(sent.headers['x-restli-protocol-version']).toBe('2.0.0');
    expect(JSON.parse(sent.body)).toMatchObject({
      author: `urn:li:person:${LINKEDIN_MEMBER.sub}`,
      commentary: 'We are hiring',
      visibility: 'PUBLIC',
      lifecycleState: 'PUBLISHED',
      content: { article: { source: 'https://example.com/jobs' } },
    });
    expect(done.platformPostId).toMatch(/^urn:li:share:\d+$/);
    expect(done.permalink).toBe(`https://www.linkedin.com/feed/update/${done.platformPostId}/`);
  });

  it('Instagram: the business account behind the Page; an image post goes out as a media container, then media_publish', async () => {
    const { callback } = await connect(a, 'instagram');
    expect(callback.statusCode, callback.body).toBe(302);
    const ig = (await accounts(a)).find((x) => x.platform === 'instagram');
    expect(ig).toMatchObject({ handle: `@${IG_ACCOUNT.username}`, externalId: IG_ACCOUNT.id, status: 'connected' });
    const noImage = await inject({ method: 'POST', url: '/api/social/posts', headers: a.headers, payload: { accountId: ig.id, body: 'Caption only' } });
    expect(noImage.statusCode).toBe(400);
    expect(noImage.json().details[0]).toMatchObject({ path: 'imageUrls', message: 'Instagram posts need 1 image' });
    const tags = Array.from({ length: 31 }, (_, i) => `#tag${i}`).join(' ');
    expect((await inject({ method: 'POST', url: '/api/social/posts', headers: a.headers, payload: { accountId: ig.id, body: tags, imageUrls: ['https://cdn.example.com/a.jpg'] } })).json().details[0].message).toMatch(/30 hashtags; this post has 31/);
    const created = await inject({ method: 'POST', url: '/api/social/posts', headers: a.headers, payload: { accountId: ig.id, body: 'New arrivals #winter', imageUrls: ['https://cdn.example.com/winter.jpg'], status: 'scheduled', scheduledAt: new Date().toISOString() } });
    expect(created.statusCode, created.body).toBe(201);
    const done = await waitFor(async () => ((await post(a, created.json().id)).status === 'published' ? post(a, created.json().id) : null));
    const container = new URLSearchParams(api.at('POST', `/${IG_ACCOUNT.id}/media`).at(-1)!.body);
    expect(container.get('image_url')).toBe('https://cdn.example.com/winter.jpg');
    expect(container.get('caption')).toBe('New arrivals #winter');
    expect(api.pageTokens).toContain(container.get('access_token'));
    const publish = new URLSearchParams(api.at('POST', `/${IG_ACCOUNT.id}/media_publish`).at(-1)!.body);
    expect(publish.get('creation_id')).toMatch(/^container-\d+$/);
    expect(done.permalink).toMatch(/^https:\/\/www\.instagram\.com\/p\//);
  });

  it('the refresh job renews a token ahead of its expiry and queues the next refresh', async () => {
    const x = (await accounts(a)).find((p) => p.platform === 'x');
    const soon = new Date(Date.now() + 5_000).toISOString();
    await t.db.owner.query('update social_accounts set token_expires_at = $2 where id = $1', [x.id, soon]);
    await t.db.owner.query("update jobs set run_at = now() where queue = 'social-token-refresh' and state = 'queued' and payload->>'accountId' = $1", [x.id]);
    const presented = refreshTokensPresented.length;
    t.app.jobs?.poke();
    const after = await waitFor(async () => {
      const acct = (await accounts(a)).find((p) => p.id === x.id);
      return Date.parse(acct.tokenExpiresAt) > Date.now() + 600_000 ? acct : null;
    });
    expect(refreshTokensPresented.length).toBe(presented + 1);
    expect(after.status).toBe('connected');
    // The job itself comes back as the next refresh once its handler returns (just after the token is stored).
    const next = await waitFor(async () => {
      const [row] = await t.db.owner.query<{ run_at: Date }>("select run_at from jobs where queue = 'social-token-refresh' and state = 'queued' and payload->>'accountId' = $1", [x.id]);
      return row && row.run_at.getTime() > Date.now() + 60_000 ? row : null;
    });
    expect(next.run_at.getTime()).toBeGreaterThan(Date.now() + 60_000);
    expect(next.run_at.getTime()).toBeLessThan(Date.parse(after.tokenExpiresAt));
    const [audit] = await t.db.owner.query<{ actor_reason: string }>("select actor_reason from audit_log where action = 'social_account.token_refreshed' and resource_id = $1 order by created_at desc limit 1", [x.id]);
    expect(audit.actor_reason).toBe('social-token-refresh');
  });

  it('drafts move to scheduled and back; a draft has no publish job; B cannot see or change A\'s posts', async () => {
    const x = (await accounts(a)).find((p) => p.platform === 'x');
    const draft = (await inject({ method: 'POST', url: '/api/social/posts', headers: a.headers, payload: { accountId: x.id, body: 'Later' } })).json();
    const jobsOf = async () => (await t.db.owner.query<{ n: number }>("select count(*)::int as n from jobs where queue = 'social-publish' and state = 'queued' and payload->>'postId' = $1", [draft.id]))[0].n;
    expect(await jobsOf()).toBe(0);
    const when = new Date(Date.now() + 3600_000).toISOString();
    const scheduled = await inject({ method: 'PATCH', url: `/api/social/posts/${draft.id}`, headers: a.headers, payload: { status: 'scheduled', scheduledAt: when } });
    expect(scheduled.json()).toMatchObject({ status: 'scheduled', scheduledAt: when });
    expect(await jobsOf()).toBe(1);
    await inject({ method: 'PATCH', url: `/api/social/posts/${draft.id}`, headers: a.headers, payload: { status: 'draft' } });
    expect(await jobsOf()).toBe(0);
    // The calendar window finds it by its scheduled day.
    const month = await inject({ url: `/api/social/posts?from=${encodeURIComponent(new Date(Date.now() - 86400_000).toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 2 * 86400_000).toISOString())}&accountId=${x.id}`, headers: a.headers });
    expect(month.json().data.map((p: any) => p.id)).toContain(draft.id);
    for (const res of [
      await inject({ url: `/api/social/posts/${draft.id}`, headers: b.headers }),
      await inject({ method: 'PATCH', url: `/api/social/posts/${draft.id}`, headers: b.headers, payload: { body: 'hijack' } }),
      await inject({ method: 'DELETE', url: `/api/social/posts/${draft.id}`, headers: b.headers }),
      await inject({ method: 'DELETE', url: `/api/social/accounts/${x.id}`, headers: b.headers }),
      await inject({ method: 'POST', url: `/api/social/accounts/${x.id}`, headers: b.headers }),
    ]) expect(res.statusCode).toBe(404);
    expect((await inject({ url: '/api/social/posts', headers: b.headers })).json().data).toEqual([]);
    expect((await post(a, draft.id)).body).toBe('Later');
  });

  it('a 401 from the platform marks the account needs_reconnection and fails the post with the reason; the next post fails at once', async () => {
    const x = (await accounts(a)).find((p) => p.platform === 'x');
    api.script('POST /2/tweets', { status: 401, body: { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' } });
    const first = await inject({ method: 'POST', url: '/api/social/posts', headers: a.headers, payload: { accountId: x.id, body: 'Revoked meanwhile', status: 'scheduled', scheduledAt: new Date().toISOString() } });
    const failed = await waitFor(async () => ((await post(a, first.json().id)).status === 'failed' ? post(a, first.json().id) : null));
    expect(failed.error).toBe('401: Unauthorized');
    expect((await accounts(a)).find((p) => p.id === x.id)).toMatchObject({ status: 'needs_reconnection', statusReason: '401: Unauthorized' });
    const tweets = api.at('POST', '/2/tweets').length;
    const second = await inject({ method: 'POST', url: '/api/social/posts', headers: a.headers, payload: { accountId: x.id, body: 'After', status: 'scheduled', scheduledAt: new Date().toISOString() } });
    const refused = await waitFor(async () => ((await post(a, second.json().id)).status === 'failed' ? post(a, second.json().id) : null));
    expect(refused.error).toMatch(/^The x account needs reconnection: 401: Unauthorized/);
    expect(api.at('POST', '/2/tweets').length).toBe(tweets);
  });

  it("A's events never reach B's endpoint; no token ever appears in a response or the audit log", async () => {
    expect(rx.at('/b').map((r) => JSON.parse(r.body).type).filter((x: string) => x.startsWith('social_post'))).toEqual([]);
    const audit = await t.db.owner.query<{ changes: unknown }>("select changes from audit_log where resource_type = 'social_account' or resource_type = 'social_post'");
    expect(audit.length).toBeGreaterThan(5);
    const secrets = [...issued, ...api.pageTokens].filter(Boolean);
    expect(secrets.length).toBeGreaterThan(5);
    const auditText = JSON.stringify(audit);
    const leaks = secrets.filter((s) => auditText.includes(s) || answered.some((body) => body.includes(s)));
    expect(leaks).toEqual([]);
  });

  it('disconnecting deletes the account, its posts and its refresh job', async () => {
    const fb = (await accounts(a)).find((p) => p.platform === 'facebook');
    expect((await inject({ method: 'DELETE', url: `/api/social/accounts/${fb.id}`, headers: a.headers })).statusCode).toBe(204);
    expect((await accounts(a)).some((x) => x.id === fb.id)).toBe(false);
    expect((await inject({ url: `/api/social/posts?accountId=${fb.id}`, headers: a.headers })).json().data).toEqual([]);
    const [{ n }] = await t.db.owner.query<{ n: number }>("select count(*)::int as n from jobs where state = 'queued' and payload->>'accountId' = $1", [fb.id]);
    expect(n).toBe(0);
  });
});
