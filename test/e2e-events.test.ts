// The events dashboard in a real browser: events sent through the API (an API key) show on the Events
// page, with the counts chart, and on the customer's timeline; organization B pasting A's customer URL
// (timeline included) sees "not found" and B's events page shows none of A's events. axe on each page.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, expectAccessible, goto, hasChromium, newUser, screenshot, screenshotsOnFailure, startE2E } from './e2e-support.js';
import { createApiKey, signUpWithOrg, type Actor } from './helpers.js';

let e: E2E;
let a: Awaited<ReturnType<typeof newUser>>;
let b: Awaited<ReturnType<typeof newUser>>;
let ownerA: Actor;
let ownerB: Actor;
let customerUrl = '';

/** Signs the browser profile in with the actor's session cookie. */
async function signIn(user: Awaited<ReturnType<typeof newUser>>, actor: Actor) {
  const [name, value] = actor.cookie.split(';')[0].split('=');
  await user.context.addCookies([{ name, value, url: e.baseUrl }]);
}

beforeAll(async () => {
  if (!hasChromium && !process.env.CI) return;
  e = await startE2E();
  a = await newUser(e);
  b = await newUser(e);
  ownerA = await signUpWithOrg(e.t.app, 'events-e2e-a', 'Events A');
  ownerB = await signUpWithOrg(e.t.app, 'events-e2e-b', 'Events B');
  await signIn(a, ownerA);
  await signIn(b, ownerB);
});
afterEach((ctx) => screenshotsOnFailure(ctx, 'events', { a, b }));
afterAll(async () => {
  await e?.close();
});

const noProblems = (p: { problems: string[] }) => expect(p.problems).toEqual([]);
describe.skipIf(!hasChromium && !process.env.CI)('events dashboard end to end (Chromium)', () => {
  it('shows events sent through the API on the Events page, with their counts', async () => {
    const key = await createApiKey(e.t.app, ownerA);
    const hour = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
    const res = await e.t.app.inject({
      method: 'POST',
      url: '/api/analytics/events',
      headers: key.headers,
      payload: {
        batch: [
          { type: 'identify', userId: 'ada-1', traits: { email: 'ada@example.test', firstName: 'Ada', lastName: 'Lovelace' } },
          { type: 'track', userId: 'ada-1', event: 'Product Viewed', properties: { sku: 'A-1' }, timestamp: hour(30) },
          { type: 'track', userId: 'ada-1', event: 'Order Completed', properties: { total: 42 }, timestamp: hour(26) },
          { type: 'track', userId: 'bob-2', event: 'Order Completed', properties: { total: 7 }, timestamp: hour(2) },
        ],
      },
    });
    expect(res.json()).toMatchObject({ accepted: 4, rejected: [] });
    await goto(a.page, '/events');
    const rows = a.page.getByRole('region', { name: 'Recent events' }).getByRole('row');
    await rows.filter({ hasText: 'Product Viewed' }).first().waitFor();
    expect(await rows.filter({ hasText: 'Order Completed' }).count()).toBe(2);
    await expectAccessible(a.page, 'events');
    // Filter by name: the chart and the total appear.
    await a.page.getByLabel('Event name').fill('Order Completed');
    await a.page.getByLabel('Event name').press('Enter');
    await a.page.getByRole('heading', { name: /Order Completed: 2 since/ }).waitFor();
    expect(await rows.filter({ hasText: 'Product Viewed' }).count()).toBe(0);
    await expectAccessible(a.page, 'events filtered');
    await screenshot(a.page, 'events-page');
    noProblems(a);
  });

  it("shows the customer's timeline on their page", async () => {
    await goto(a.page, '/events?event=Product%20Viewed');
    await a.page.getByRole('region', { name: 'Recent events' }).getByRole('link').first().click();
    await a.page.getByRole('heading', { level: 1, name: 'Ada Lovelace' }).waitFor();
    customerUrl = new URL(a.page.url()).pathname;
    const timeline = a.page.getByRole('list', { name: 'Latest events' });
    await timeline.getByText('Order Completed').waitFor();
    expect(await timeline.getByRole('listitem').allInnerTexts()).toEqual([expect.stringMatching(/^identify/), expect.stringMatching(/^Order Completed/), expect.stringMatching(/^Product Viewed/)]);
    await expectAccessible(a.page, 'customer timeline');
    await screenshot(a.page, 'events-customer-timeline');
    noProblems(a);
  });

  it("B pasting A's customer URL sees not found, and B's events page shows none of A's events", async () => {
    await b.page.goto(customerUrl);
    await b.page.getByText(/not found/i).first().waitFor();
    await expect(b.page.getByText('Order Completed').count()).resolves.toBe(0);
    await goto(b.page, '/events');
    await b.page.getByText('No events yet').waitFor();
    await expectAccessible(b.page, 'events empty');
    await screenshot(b.page, 'events-other-organization');
    noProblems(b);
  });
});

describe.skipIf(!hasChromium && !process.env.CI)('segments dashboard end to end (Chromium)', () => {
  let segmentUrl = '';
  it('builds a segment on events with a live count, saves it, and B pasting its URL sees not found', async () => {
    await goto(a.page, '/segments');
    await a.page.getByText('No segments yet').waitFor();
    await expectAccessible(a.page, 'segments empty');
    await a.page.getByRole('link', { name: 'New segment' }).click();
    await a.page.getByRole('heading', { level: 1, name: 'New segment' }).waitFor();
    await a.page.getByLabel('Name', { exact: true }).fill('Buyers');
    await a.page.getByLabel('Condition 1: event name').fill('Order Completed');
    // ada and bob each completed an order (first test): 2, then "at least 1 time" with ada's Product Viewed as well: 1.
    const results = a.page.getByRole('region', { name: 'Matching customers' });
    await results.getByText(/^2 customers$/).waitFor();
    await a.page.getByRole('button', { name: 'Add condition' }).click();
    await a.page.getByLabel('Condition 2: event name').fill('Product Viewed');
    await results.getByText(/^1 customer$/).waitFor();
    await results.getByRole('link', { name: 'Ada Lovelace' }).waitFor();
    await expectAccessible(a.page, 'segment builder');
    await a.page.getByRole('button', { name: 'Save segment' }).click();
    await a.page.waitForURL(/\/segments\/[0-9a-f-]{36}$/);
    await a.page.getByRole('heading', { level: 1, name: 'Buyers' }).waitFor();
    segmentUrl = new URL(a.page.url()).pathname;
    await results.getByText(/^1 customer$/).waitFor();
    await screenshot(a.page, 'segments-builder');
    await goto(a.page, '/segments');
    await a.page.getByRole('link', { name: 'Buyers' }).waitFor();
    noProblems(a);

    await b.page.goto(segmentUrl);
    await b.page.getByText('Not found').waitFor();
    expect(await b.page.getByText('Buyers').count()).toBe(0);
    await expectAccessible(b.page, 'segment of another organization');
    await screenshot(b.page, 'segments-other-organization');
    noProblems(b);
  });
});
