// The inbox end to end in real Chromium against the real server: organization A sets up an inbox,
// canned responses and a team in the dashboard; a visitor on the widget demo page (another browser
// profile) opens a conversation, which A's agent sees arrive live, answers with a canned response and
// a private note, and resolves; the visitor sees the answer live (never the note) and rates the
// conversation. Inbound SMS signed with the Twilio SDK threads per customer and shows up live; the
// agent's reply goes out through Twilio. Organization B's agent, watching its own inbox and its own
// live stream the whole time, receives nothing, and A's conversation URL shows "Not found" to B.
// axe on every page (the widget's shadow root included), no CSP violation, screenshots of each page.
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, hasChromium, newUser, screenshot, screenshotsOnFailure, signUp, startE2E, type E2E } from './e2e-support.js';
import { newTwilioAccount, signedTwilioRequest, startFakeTwilio, type FakeTwilio } from './twilio-support.js';

let e: E2E;
let fake: FakeTwilio;
let a: Awaited<ReturnType<typeof newUser>>;
let b: Awaited<ReturnType<typeof newUser>>;
let v: Awaited<ReturnType<typeof newUser>>;
const account = newTwilioAccount();
const stamp = Date.now().toString(36);
const NUMBER = '+14155550100';
const ADA_PHONE = '+14155550177';
const shared: { siteToken?: string; conversationUrl?: string; smsConversationUrl?: string } = {};

beforeAll(async () => {
  if (!hasChromium && !process.env.CI) return;
  fake = await startFakeTwilio({ accounts: { [account.accountSid]: { authToken: account.authToken, friendlyName: 'Acme Twilio' } } });
  fake.addNumber(account.accountSid, NUMBER, 'Support line');
  // Twilio signs the public URL: here, the address the test server listens on.
  e = await startE2E((baseUrl) => ({ publicUrl: baseUrl, twilio: { apiBaseUrl: fake.url } }));
  a = await newUser(e);
  b = await newUser(e);
  v = await newUser(e);
});
afterEach((ctx) => screenshotsOnFailure(ctx, 'inbox', { a, b, v }));
afterAll(async () => {
  await e?.close();
  await fake?.close();
});

/** A JSON request from the page itself (its session cookie, its origin): what the dashboard would send. */
async function apiCall(page: Page, method: string, url: string, body?: unknown) {
  return page.evaluate(
    async ([m, u, bd]) => {
      const res = await fetch(u as string, { method: m as string, headers: bd ? { 'content-type': 'application/json' } : {}, body: bd ? JSON.stringify(bd) : undefined });
      return { status: res.status, json: res.status === 204 ? null : await res.json().catch(() => null) };
    },
    [method, url, body] as const,
  );
}

/** Opens this page's own connection to the agent live stream and records every event it receives. */
async function recordLive(page: Page) {
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const w = window as unknown as { liveEvents: { type: string; data: string }[] };
        w.liveEvents = [];
        const es = new EventSource('/api/chat/live');
        for (const type of ['conversation.created', 'conversation.updated', 'message.created', 'message']) {
          es.addEventListener(type, (ev) => w.liveEvents.push({ type, data: (ev as MessageEvent).data }));
        }
        es.addEventListener('open', () => resolve());
        es.addEventListener('error', () => reject(new Error('live stream refused')));
      }),
  );
}
const liveEvents = (page: Page) => page.evaluate(() => (window as unknown as { liveEvents: { type: string; data: string }[] }).liveEvents);

const widget = (page: Page) => page.locator('[data-switchboard-widget]');

describe.skipIf(!hasChromium && !process.env.CI)('inbox and chat widget end to end (Chromium)', () => {
  it('A sets up an inbox (embed snippet, demo link, identity secret), canned responses and a team; B watches its own empty inbox', async () => {
    await signUp(a.page, { name: 'Ada Agent', email: `ada-inbox-${stamp}@example.test`, org: 'Acme Support' });
    await signUp(b.page, { name: 'Bob Agent', email: `bob-inbox-${stamp}@example.test`, org: 'Beta Support' });
    const { page } = a;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Inboxes' }).click();
    await page.getByRole('heading', { level: 1, name: 'Inboxes' }).waitFor();
    await page.getByText('No inboxes yet').waitFor();
    await expectAccessible(page, 'inboxes (empty)');
    await page.getByLabel('Inbox name').fill('Website');
    await page.getByLabel('Greeting').fill('Hi! Ask us anything about your order.');
    await page.getByRole('button', { name: 'Create inbox' }).click();
    await page.waitForURL(/\/settings\/inboxes\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { level: 1, name: 'Website' }).waitFor();
    const snippet = await page.getByLabel('Embed snippet').inputValue();
    expect(snippet).toMatch(new RegExp(`^<script src="${e.baseUrl}/widget\\.js" data-site-token="[^"]+" async></script>$`));
    shared.siteToken = /data-site-token="([^"]+)"/.exec(snippet)![1];
    expect(await page.getByRole('link', { name: /demo page/ }).getAttribute('href')).toBe(`/widget/demo?token=${encodeURIComponent(shared.siteToken)}`);
    expect(await page.getByLabel('Identity secret').inputValue()).not.toBe('');
    expect(await page.getByLabel('Node.js example').inputValue()).toContain("createHmac('sha256'");
    expect(await page.getByLabel('Inbound Parse URL').inputValue()).toContain('/api/chat/inbound/email/');
    // Business hours: Saved, and the page shows them again after a reload.
    await page.getByLabel('Online only within business hours').check();
    await page.getByLabel('Time zone').fill('UTC');
    for (const day of ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']) {
      await page.getByLabel(`Open on ${day}`).check();
      await page.getByLabel(`${day} opens at`).fill('00:00');
      await page.getByLabel(`${day} closes at`).fill('23:59');
    }
    await page.getByLabel('Out-of-hours reply').fill('We are away and will reply in the morning.');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Saved.').waitFor();
    await page.reload();
    expect(await page.getByLabel('Time zone').inputValue()).toBe('UTC');
    expect(await page.getByLabel('Out-of-hours reply').inputValue()).toBe('We are away and will reply in the morning.');
    await expectAccessible(page, 'inbox settings');
    await screenshot(page, 'inbox-settings');

    await page.getByRole('link', { name: '← Inboxes' }).click();
    await page.getByRole('navigation', { name: 'Inbox settings' }).getByRole('link', { name: 'Canned responses' }).click();
    await page.getByText('No canned responses yet').waitFor();
    for (const [shortcut, text] of [['thanks', 'Thanks for writing in!'], ['bye', 'Goodbye!']]) {
      await page.getByLabel('Shortcut').fill(shortcut);
      await page.getByLabel('Text').fill(text);
      await page.getByRole('button', { name: 'Add canned response' }).click();
      await page.getByRole('cell', { name: `/${shortcut}`, exact: true }).waitFor();
    }
    // Edited in place (the reply box below inserts the new text), and one deleted.
    await page.getByRole('button', { name: 'Edit /thanks' }).click();
    const editCanned = page.getByRole('form', { name: 'Edit /thanks' });
    await editCanned.getByLabel('Text').fill('Thanks for writing in! Your order ships tomorrow.');
    await editCanned.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'Thanks for writing in! Your order ships tomorrow.', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Delete /bye' }).click();
    await page.getByRole('cell', { name: '/bye', exact: true }).waitFor({ state: 'detached' });
    await expectAccessible(page, 'canned responses');
    await screenshot(page, 'inbox-canned-responses');

    await page.getByRole('link', { name: 'Teams' }).click();
    await page.getByText('No teams yet').waitFor();
    await page.getByLabel('Team name').fill('Tier one');
    await page.getByRole('group', { name: 'Members of the new team' }).getByLabel('Ada Agent').check();
    await page.getByRole('button', { name: 'Add team' }).click();
    await page.getByRole('cell', { name: 'Tier one', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Edit Tier one' }).click();
    const editTeam = page.getByRole('form', { name: 'Edit Tier one' });
    await editTeam.getByLabel('Team name').fill('Tier 1');
    await editTeam.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'Tier 1', exact: true }).waitFor();
    await page.getByRole('cell', { name: 'Ada Agent', exact: true }).waitFor();
    await expectAccessible(page, 'teams');
    await screenshot(page, 'inbox-teams');

    // B watches its own inbox, in the dashboard and over its own live connection, for the rest of the file.
    await b.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Inbox', exact: true }).click();
    await b.page.getByText('No open conversations').waitFor();
    await recordLive(b.page);
  });

  it('a visitor on the demo page opens a conversation; A sees it arrive live and answers; the visitor sees the answer live', async () => {
    const { page } = a;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Inbox', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor();
    await page.getByText('Live: new conversations').waitFor();
    await page.getByText('No open conversations').waitFor();
    await page.getByLabel(/Available for new conversations|Away/).waitFor();
    await expectAccessible(page, 'inbox (empty)');

    await v.page.goto(`/widget/demo?token=${encodeURIComponent(shared.siteToken!)}`);
    const launcher = widget(v.page).getByRole('button', { name: 'Chat with us' });
    await launcher.click();
    const dialog = widget(v.page).getByRole('dialog', { name: 'Website' });
    await dialog.waitFor();
    await dialog.getByText('Hi! Ask us anything about your order.').waitFor();
    await dialog.getByText(/^Online/).waitFor();
    // Focus moves into the dialog; Escape closes it and gives focus back to the launcher.
    expect(await v.page.evaluate(() => document.querySelector('[data-switchboard-widget]')?.shadowRoot?.activeElement?.tagName)).toBe('TEXTAREA');
    await v.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await v.page.evaluate(() => document.querySelector('[data-switchboard-widget]')?.shadowRoot?.activeElement?.getAttribute('aria-label'))).toBe('Chat with us');
    await launcher.click();
    await expectAccessible(v.page, 'widget (open)');
    await screenshot(v.page, 'inbox-widget-open');

    await dialog.getByLabel('Your message').fill('Where is my order #1001?');
    await dialog.getByRole('button', { name: 'Send' }).click();
    await dialog.getByRole('log').getByText('Where is my order #1001?').waitFor();

    // A's inbox shows it without a reload.
    const row = page.getByRole('row').filter({ hasText: 'Where is my order #1001?' });
    await row.waitFor({ timeout: 15_000 });
    await expectAccessible(page, 'inbox (one conversation)');
    await screenshot(page, 'inbox-list');
    await row.getByRole('link').click();
    await page.waitForURL(/\/inbox\/[0-9a-f-]{36}/);
    shared.conversationUrl = new URL(page.url()).pathname;
    await page.getByRole('log').getByText('Where is my order #1001?').waitFor();

    // A canned response by its shortcut, then a private note.
    const reply = page.getByLabel('Reply', { exact: true });
    await reply.fill('/than');
    await page.getByRole('listbox', { name: 'Canned responses' }).getByRole('option', { name: /\/thanks/ }).waitFor();
    await reply.press('Enter');
    expect(await reply.inputValue()).toBe('Thanks for writing in! Your order ships tomorrow.');
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.getByRole('log').getByText('Thanks for writing in! Your order ships tomorrow.').waitFor();
    await page.getByRole('button', { name: 'Private note' }).click();
    await page.getByLabel('Note', { exact: true }).fill('Customer sounds worried; check the warehouse.');
    await page.getByRole('button', { name: 'Add note' }).click();
    const note = page.getByRole('listitem').filter({ hasText: 'Customer sounds worried' });
    await note.getByText('Private note: not sent to the customer').waitFor();

    // The visitor sees the answer live, never the note.
    await dialog.getByRole('log').getByText('Thanks for writing in! Your order ships tomorrow.').waitFor({ timeout: 15_000 });
    await dialog.getByLabel('Your message').fill('Great, thank you!');
    await dialog.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('log').getByText('Great, thank you!').waitFor({ timeout: 15_000 });
    expect(await widget(v.page).innerText()).not.toContain('worried');

    // Labels and assignment.
    await page.getByLabel('New label').fill('shipping');
    await page.getByRole('button', { name: 'Add label' }).click();
    await page.getByRole('list', { name: 'Labels' }).getByText('shipping').waitFor();
    await page.getByLabel('Agent', { exact: true }).selectOption({ label: 'Ada Agent' });
    await expect.poll(() => page.getByLabel('Agent', { exact: true }).locator('option:checked').textContent()).toBe('Ada Agent');
    await expectAccessible(page, 'conversation');
    await screenshot(page, 'inbox-conversation');
    await screenshot(v.page, 'inbox-widget-reply');

    // A browser that drops our cookie (third-party cookies blocked): the next page load still resumes the
    // visitor and their conversation, by the signed token the widget kept in the page's storage.
    await v.context.clearCookies();
    await v.page.reload();
    await widget(v.page).getByRole('button', { name: 'Chat with us' }).click();
    await widget(v.page).getByRole('dialog').getByRole('log').getByText('Thanks for writing in! Your order ships tomorrow.').waitFor();
  });

  it('A resolves; the visitor is asked to rate the conversation and answers; A sees the score', async () => {
    const { page } = a;
    await page.getByRole('button', { name: 'Resolve' }).click();
    await page.getByRole('button', { name: 'Reopen' }).waitFor();
    const dialog = widget(v.page).getByRole('dialog');
    const rating = dialog.getByRole('group', { name: 'How would you rate this conversation?' });
    await rating.waitFor({ timeout: 15_000 });
    await expectAccessible(v.page, 'widget (CSAT)');
    await screenshot(v.page, 'inbox-widget-csat');
    await rating.getByRole('button', { name: '5: Excellent' }).click();
    await dialog.getByText('Thank you for your feedback.').waitFor();
    await expect.poll(async () => {
      const r = await apiCall(page, 'GET', `/api/chat${shared.conversationUrl!.replace('/inbox', '/conversations')}`);
      return r.json?.csatScore;
    }).toBe(5);
    await page.reload();
    await page.getByText('Customer rating:').waitFor();
    // The conversation left the open tab and is under Resolved.
    await page.goto('/inbox');
    await page.getByText('No open conversations').waitFor();
    await page.getByRole('button', { name: 'resolved' }).click();
    await page.waitForURL(/status=resolved/);
    await page.locator('tbody tr').first().waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);
    // Filters live in the URL and survive a reload.
    await page.getByLabel('Channel', { exact: true }).selectOption('sms');
    await page.waitForURL(/channel=sms/);
    await page.getByText('No resolved conversations').waitFor();
    await page.getByLabel('Channel', { exact: true }).selectOption('web');
    await page.getByLabel('Label', { exact: true }).fill('shipping');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/label=shipping/);
    await page.reload();
    expect(new URL(page.url()).searchParams.get('status')).toBe('resolved');
    expect(new URL(page.url()).searchParams.get('channel')).toBe('web');
    expect(await page.getByLabel('Label', { exact: true }).inputValue()).toBe('shipping');
    await page.locator('tbody tr').first().waitFor();
    expect(v.problems).toEqual([]);
  });

  it('inbound SMS signed with the Twilio SDK threads per customer and shows up live; the reply goes out through Twilio', async () => {
    const { page } = a;
    expect((await apiCall(page, 'PUT', '/api/integrations/twilio', { accountSid: account.accountSid, authToken: account.authToken })).status).toBe(200);
    expect((await apiCall(page, 'POST', '/api/phone-numbers', { number: NUMBER })).status).toBe(201);
    const ada = await apiCall(page, 'POST', '/api/customers', { email: `ada-customer-${stamp}@example.test`, phone: ADA_PHONE, firstName: 'Ada', lastName: 'Lovelace', smsOptIn: true, tags: ['vip'] });
    expect(ada.status).toBe(201);
    await page.goto('/inbox');
    await page.getByText('No open conversations').waitFor();
    const sms = (body: string) => {
      const sid = `SM${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}`;
      return signedTwilioRequest(e.baseUrl, account.authToken, '/api/webhooks/sms/inbound', {
        AccountSid: account.accountSid, MessageSid: sid, SmsMessageSid: sid, From: ADA_PHONE, To: NUMBER, Body: body, NumMedia: '0', ApiVersion: '2010-04-01',
      });
    };
    expect((await sms('Hi, can I change my delivery address?')).statusCode).toBe(200);
    const row = page.getByRole('row').filter({ hasText: 'Hi, can I change my delivery address?' });
    await row.waitFor({ timeout: 15_000 });
    await row.getByText('SMS', { exact: true }).waitFor();
    await row.getByRole('link', { name: 'Ada Lovelace' }).click();
    await page.getByRole('heading', { level: 1, name: 'Ada Lovelace' }).waitFor();
    shared.smsConversationUrl = new URL(page.url()).pathname;
    // The customer beside the thread: consent, tags.
    const side = page.getByRole('region', { name: 'Customer' });
    await side.getByText('vip').waitFor();
    await side.getByText('Subscribed', { exact: true }).first().waitFor();

    // A second text from the same customer threads into the open conversation, live.
    expect((await sms('It is 12 Main St now.')).statusCode).toBe(200);
    await page.getByRole('log').getByText('It is 12 Main St now.').waitFor({ timeout: 15_000 });
    expect(new URL(page.url()).pathname).toBe(shared.smsConversationUrl);

    await page.getByLabel('Reply', { exact: true }).fill('Done: we updated the address.');
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.getByRole('log').getByText('Done: we updated the address.').waitFor();
    await expect.poll(() => fake.requestsTo('/Messages.json', 'POST').map((r) => [r.form.To, r.form.Body]), { timeout: 15_000 }).toContainEqual([ADA_PHONE, 'Done: we updated the address.']);
    await expectAccessible(page, 'sms conversation');
    await screenshot(page, 'inbox-sms-conversation');
    expect(a.problems).toEqual([]);
  });

  it("B's agent received nothing of A's conversations, and A's conversation URL shows Not found to B", async () => {
    expect(await liveEvents(b.page)).toEqual([]);
    await b.page.getByText('No open conversations').waitFor();
    expect(await b.page.getByRole('row').count()).toBe(0);
    await b.page.goto(shared.conversationUrl!);
    await b.page.getByText('Not found').first().waitFor();
    expect(await b.page.locator('main').innerText()).not.toContain('Where is my order');
    await expectAccessible(b.page, 'conversation of another organization');
    await b.page.goto(shared.smsConversationUrl!);
    await b.page.getByText('Not found').first().waitFor();
    expect(await b.page.locator('main').innerText()).not.toContain('Lovelace');
    expect(b.problems).toEqual([]);
  });
});
