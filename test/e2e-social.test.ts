// Social publishing and outbound webhooks in a real browser against the real server: A connects an X
// account through a real local OAuth 2 server (PKCE), sees it need reconnection and reconnects it,
// composes and schedules a post and finds it on the calendar, adds a webhook endpoint (secret shown
// once) and reads a delivery to a local receiver in its log, replays it; B pastes A's URLs and sees
// "not found". axe checks every page.
import type { OAuth2Server } from 'oauth2-mock-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, hasChromium, newUser, screenshot, screenshotsOnFailure, signUp, startE2E, type E2E } from './e2e-support.js';
import { socialPlatforms, startAuthorizationServer, startPlatformStandIn, X_USER, type PlatformStandIn } from './social-support.js';
import { startReceiver, verify, waitFor, type Receiver } from './webhook-receiver.js';

let e: E2E;
let oauth: OAuth2Server;
let platform: PlatformStandIn;
let rx: Receiver;
let a: Awaited<ReturnType<typeof newUser>>;
let b: Awaited<ReturnType<typeof newUser>>;
let refuseNextGrant = false;
const stamp = Date.now().toString(36);
const shared: { postUrl?: string; endpointUrl?: string; secret?: string } = {};

beforeAll(async () => {
  if (!hasChromium && !process.env.CI) return;
  oauth = await startAuthorizationServer();
  oauth.service.on('beforeResponse', (response: { statusCode: number; body: unknown }) => {
    if (!refuseNextGrant) return;
    refuseNextGrant = false;
    response.statusCode = 400;
    response.body = { error: 'invalid_grant', error_description: 'Token revoked by the user' };
  });
  platform = await startPlatformStandIn();
  rx = await startReceiver();
  e = await startE2E((baseUrl) => ({
    publicUrl: baseUrl,
    social: { platforms: socialPlatforms(oauth.issuer.url!, platform.url), refreshAheadSeconds: 600, publishMaxAttempts: 3, retryBaseMs: 100 },
    outboundWebhooks: { allowPrivateRanges: ['127.0.0.0/8'], secretOverlapHours: 24, retryBaseMs: 100, timeoutMs: 2000, disableAfterFailures: 100, disableAfterSeconds: 0 },
  }));
  a = await newUser(e);
  b = await newUser(e);
  await a.context.grantPermissions(['clipboard-read', 'clipboard-write']);
  // Beside other test files on two cores, a sign-up (argon2) or the OAuth round trip can take a while.
  for (const u of [a, b]) u.context.setDefaultTimeout(20_000);
});
afterEach((ctx) => screenshotsOnFailure(ctx, 'social', { a, b }));
afterAll(async () => {
  await e?.close();
  await oauth?.stop();
  await platform?.close();
  await rx?.close();
});


describe.skipIf(!hasChromium && !process.env.CI)('social and webhooks in the dashboard (Chromium)', () => {
  it('connects an X account through the OAuth server (PKCE) from the Connect button', async () => {
    const { page } = a;
    await signUp(page, { name: 'Sofia', email: `sofia-${stamp}@example.test`, org: 'Social A' });
    await page.getByRole('link', { name: 'Social accounts' }).click();
    await page.getByRole('heading', { level: 1, name: 'Social accounts' }).waitFor();
    await page.getByText('No social accounts yet').waitFor();
    await expectAccessible(page, 'social accounts (empty)');
    // The button opens the platform's authorize page, which sends the browser back through our callback.
    await page.getByRole('button', { name: 'Connect X' }).click();
    await page.getByText('The account is connected.').waitFor();
    expect(new URL(page.url()).pathname).toBe('/social/accounts');
    const row = page.getByRole('row', { name: new RegExp(`@${X_USER.username}`) });
    await row.getByText('connected', { exact: true }).waitFor();
    await expectAccessible(page, 'social accounts');
    await screenshot(page, 'social-accounts');
  });

  it('a revoked grant shows "needs reconnection" with a Reconnect action that works', async () => {
    const { page } = a;
    refuseNextGrant = true;
    await page.getByRole('button', { name: `Refresh the token of @${X_USER.username}` }).click();
    await page.getByText(/Refresh failed: .*invalid_grant.*needs reconnection/).waitFor();
    await page.getByText('needs reconnection', { exact: true }).waitFor();
    await expectAccessible(page, 'social accounts (needs reconnection)');
    await screenshot(page, 'social-accounts-needs-reconnection');
    await page.getByRole('button', { name: `Reconnect @${X_USER.username}` }).click();
    await page.getByText('The account is connected.').waitFor();
    await page.getByRole('button', { name: `Refresh the token of @${X_USER.username}` }).waitFor();
    expect(await page.getByText('needs reconnection', { exact: true }).count()).toBe(0);
  });

  it('composes a post with the live X counter, schedules it and finds it on the calendar and in the list', async () => {
    const { page } = a;
    await page.getByRole('link', { name: 'Social posts' }).click();
    await page.getByRole('heading', { level: 1, name: 'Social posts' }).waitFor();
    await expectAccessible(page, 'social posts (empty)');
    await page.getByRole('link', { name: 'New post' }).click();
    await page.getByRole('heading', { level: 1, name: 'New post' }).waitFor();
    const text = page.getByLabel('Text');
    await text.fill('😀'.repeat(141));
    await page.getByText('282 / 280 characters as X counts them (links 23, emoji 2) — 2 too many').waitFor();
    expect(await page.getByRole('button', { name: 'Schedule' }).isDisabled()).toBe(true);
    await text.fill('Launch day: the winter collection is live');
    await page.getByLabel('Link').fill('https://shop.example.com/winter/collection/2026');
    // 41 characters, a space and a link counted as 23.
    await page.getByText('65 / 280 characters').waitFor();
    const when = new Date(Date.now() + 2 * 86400_000);
    when.setHours(10, 30, 0, 0);
    const local = new Date(when.getTime() - when.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await page.getByLabel('Publish at').fill(local);
    await expectAccessible(page, 'post composer');
    await screenshot(page, 'social-composer');
    await page.getByRole('button', { name: 'Schedule' }).click();
    const calendar = page.getByRole('table', { name: /scheduled and published posts/ });
    await calendar.waitFor();
    const cell = calendar.getByRole('cell', { name: new RegExp(`${when.toLocaleDateString('en-US', { weekday: 'long' })}, ${when.toLocaleDateString('en-US', { month: 'long' })} ${when.getDate()}: 1 post`) });
    const link = cell.getByRole('link', { name: /@acme: Launch day/ });
    await link.waitFor();
    await page.getByRole('table').nth(1).getByRole('link', { name: /Launch day/ }).waitFor();
    await expectAccessible(page, 'social posts calendar');
    await screenshot(page, 'social-calendar');
    await link.click();
    await page.waitForURL(/\/social\/posts\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { level: 1, name: 'Post', exact: true }).waitFor();
    shared.postUrl = new URL(page.url()).pathname;
    await expect(page.getByLabel('Text').inputValue()).resolves.toBe('Launch day: the winter collection is live');
    await expectAccessible(page, 'post page');
    // Edited while not published: back to a draft with new text.
    await page.getByLabel('Text').fill('Launch day: the winter collection is live, 20% off');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.getByRole('table').nth(1).getByRole('link', { name: /20% off/ }).waitFor();
    await page.getByRole('table').nth(1).getByText('draft', { exact: true }).waitFor();
  });

  it('adds a webhook endpoint: the secret is shown once with a copy button; a delivery appears in its log and can be replayed', async () => {
    const { page } = a;
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    await expectAccessible(page, 'webhooks (empty)');
    await page.getByLabel('Endpoint URL').fill(rx.url('/social-e2e'));
    await page.getByLabel('Description').fill('CRM sync');
    await page.getByRole('checkbox', { name: 'Every event' }).uncheck();
    await page.getByRole('checkbox', { name: 'customer.created' }).check();
    await page.getByRole('checkbox', { name: 'social_post.published' }).check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secretBox = page.getByRole('textbox', { name: 'Signing secret' });
    await secretBox.waitFor();
    const secret = await secretBox.inputValue();
    expect(secret).toMatch(/^whsec_/);
    shared.secret = secret;
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await expectAccessible(page, 'webhooks (secret shown)');
    await screenshot(page, 'webhooks-secret-once');
    // Shown once: after a reload it is gone, and never in any answer.
    await page.reload();
    await page.getByRole('link', { name: rx.url('/social-e2e') }).waitFor();
    await page.getByRole('table').getByText('social_post.published').waitFor();
    expect(await page.getByRole('textbox', { name: 'Signing secret' }).count()).toBe(0);

    // An event: a customer created through the API (same session).
    const res = await page.request.post('/api/customers', { data: { email: `webhook-${stamp}@example.test` }, headers: { origin: e.baseUrl } });
    expect(res.status()).toBe(201);
    const first = await waitFor(() => rx.at('/social-e2e')[0]);
    expect(verify(secret, first)).toMatchObject({ type: 'customer.created' });

    await page.getByRole('link', { name: rx.url('/social-e2e') }).click();
    await page.waitForURL(/\/settings\/webhooks\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { level: 1, name: 'Webhook endpoint' }).waitFor();
    shared.endpointUrl = new URL(page.url()).pathname;
    const log = page.getByRole('table');
    await log.getByText('customer.created').waitFor();
    await log.getByText('200', { exact: true }).waitFor();
    await log.getByText(/\d+ ms/).first().waitFor();
    await expectAccessible(page, 'webhook endpoint');
    await screenshot(page, 'webhook-endpoint-log');
    await page.getByRole('button', { name: /Replay delivery of customer.created/ }).first().click();
    await page.getByText('Delivery sent again.').waitFor();
    const replayed = await waitFor(() => rx.at('/social-e2e')[1]);
    expect(replayed.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(verify(secret, replayed)).toMatchObject({ type: 'customer.created' });
    // Disable and enable again.
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByText('disabled', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.getByText('enabled', { exact: true }).waitFor();
    // Rotation shows the new secret once.
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = await page.getByRole('textbox', { name: 'Signing secret' }).inputValue();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
  });

  it("another organization pasting A's post and endpoint URLs sees “not found”", async () => {
    const { page } = b;
    await signUp(page, { name: 'Bruno', email: `bruno-${stamp}@example.test`, org: 'Social B' });
    for (const url of [shared.postUrl!, shared.endpointUrl!]) {
      await page.goto(url);
      await page.getByText('Not found', { exact: true }).waitFor();
      await expectAccessible(page, `B on ${url}`);
    }
    await screenshot(page, 'social-not-found-for-b');
    // B's own lists hold nothing of A's.
    await page.goto('/social/posts');
    await page.getByText('Nothing scheduled this month').waitFor();
    for (const url of ['/api/social/posts', '/api/social/accounts', '/api/webhook-endpoints']) {
      const res = await page.request.get(url);
      expect(res.status()).toBe(200);
      expect((await res.json()).data).toEqual([]);
    }
  });

  it('A deletes the post after a confirmation; it is then gone for A too', async () => {
    const { page } = a;
    await page.goto(shared.postUrl!);
    await page.getByRole('heading', { level: 1, name: 'Post', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete this post?' }).getByRole('button', { name: 'Delete post' }).click();
    await page.waitForURL(/\/social\/posts$/);
    await page.goto(shared.postUrl!);
    await page.getByText('Not found', { exact: true }).waitFor();
    expect(a.problems).toEqual([]);
    expect(b.problems).toEqual([]);
  });
});
