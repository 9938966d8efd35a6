// A segment as a campaign audience in a real browser: the email and SMS campaign editors offer the
// organization's saved segments beside the tags, and the live recipient count follows the choice.
// axe on both editors.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, expectAccessible, goto, hasChromium, newUser, screenshot, screenshotsOnFailure, startE2E } from './e2e-support.js';
import { createApiKey, createCustomer, signUpWithOrg, type Actor } from './helpers.js';

let e: E2E;
let a: Awaited<ReturnType<typeof newUser>>;
let owner: Actor;
let other: Actor;

beforeAll(async () => {
  if (!hasChromium && !process.env.CI) return;
  e = await startE2E();
  a = await newUser(e);
  owner = await signUpWithOrg(e.t.app, 'segaud-e2e-a', 'Audience A');
  other = await signUpWithOrg(e.t.app, 'segaud-e2e-b', 'Audience B');
  const [name, value] = owner.cookie.split(';')[0].split('=');
  await a.context.addCookies([{ name, value, url: e.baseUrl }]);
  for (const [i, who] of ['ann', 'bea', 'cy'].entries()) {
    await createCustomer(e.t.app, owner.headers, { email: `${who}@a.test`, phone: `+1415555700${i}`, firstName: who, emailOptIn: true, smsOptIn: true });
  }
  const key = await createApiKey(e.t.app, owner);
  await e.t.app.inject({ method: 'POST', url: '/api/analytics/events', headers: key.headers, payload: { batch: [{ type: 'track', email: 'ann@a.test', event: 'Order Completed' }] } });
  const condition = { type: 'event', event: 'Order Completed', op: 'atLeast', count: 1, withinDays: 30 };
  for (const actor of [owner, other]) {
    const res = await e.t.app.inject({ method: 'POST', url: '/api/segments', headers: actor.headers, payload: { name: actor === owner ? 'Recent buyers' : 'B only segment', condition } });
    expect(res.statusCode).toBe(201);
  }
});
afterEach((ctx) => screenshotsOnFailure(ctx, 'segment-audience', { a }));
afterAll(async () => {
  await e?.close();
});

describe.skipIf(!hasChromium && !process.env.CI)('segment audience in the campaign editors (Chromium)', () => {
  it('email: choosing a segment narrows the live count; only this organization’s segments are offered', async () => {
    await goto(a.page, '/campaigns/new');
    await a.page.getByText(/^3 recipients now\.$/).waitFor();
    const select = a.page.getByLabel('Audience segment');
    expect(await select.locator('option').allTextContents()).toEqual(['No segment (everyone with the tags)', 'Recent buyers']);
    await select.selectOption({ label: 'Recent buyers' });
    await a.page.getByText(/^1 recipient now\.$/).waitFor();
    await expectAccessible(a.page, 'email editor with segment');
    await screenshot(a.page, 'segment-audience-email-editor');
    await a.page.getByLabel('Campaign name').fill('Buyers mail');
    await a.page.getByRole('button', { name: 'Create draft' }).click();
    await a.page.waitForURL(/\/campaigns\/[0-9a-f-]{36}$/);
    await expect.poll(() => a.page.getByLabel('Audience segment').inputValue()).not.toBe('');
    expect(a.problems).toEqual([]);
  });

  it('SMS: the editor shows the live count for the tags and the chosen segment', async () => {
    await goto(a.page, '/sms/new');
    await a.page.getByText(/^3 recipients now\.$/).waitFor();
    await a.page.getByLabel('Audience segment').selectOption({ label: 'Recent buyers' });
    await a.page.getByText(/^1 recipient now\.$/).waitFor();
    await expectAccessible(a.page, 'sms editor with segment');
    await screenshot(a.page, 'segment-audience-sms-editor');
    expect(a.problems).toEqual([]);
  });
});
