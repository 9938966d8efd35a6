// The channel pages of the dashboard in a real browser against the real server: phone numbers, the
// Twilio account (connected against the local Twilio stand-in), agents, placing a call in development
// mode and following it in the call log, IVR flows drawn as a graph with the API's validation shown by
// node, SMS campaign results, inbound SMS, SMS settings, the SMS/voice outbox and the organization page.
// Organization B pasting A's URLs sees "not found". axe checks every page on the way.
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, hasChromium, newUser, screenshot, screenshotsOnFailure, signUp, startE2E, type E2E } from './e2e-support.js';
import { newTwilioAccount, signedTwilioRequest, startFakeTwilio, type FakeTwilio } from './twilio-support.js';

let e: E2E;
let fake: FakeTwilio;
let a: Awaited<ReturnType<typeof newUser>>;
let b: Awaited<ReturnType<typeof newUser>>;
const account = newTwilioAccount();
const stamp = Date.now().toString(36);
const NUMBER = '+14155550100';
const AGENT_PHONE = '+14155550142';
const CUSTOMER_PHONE = '+14155550123';
const shared: { callUrl?: string; flowUrl?: string; smsResultsUrl?: string } = {};

beforeAll(async () => {
  if (!hasChromium && !process.env.CI) return;
  fake = await startFakeTwilio({ accounts: { [account.accountSid]: { authToken: account.authToken, friendlyName: 'Acme Twilio' } } });
  fake.addNumber(account.accountSid, NUMBER, 'Main line');
  e = await startE2E({ twilio: { apiBaseUrl: fake.url } });
  a = await newUser(e);
  b = await newUser(e);
});
afterEach((ctx) => screenshotsOnFailure(ctx, 'channels', { a, b }));
afterAll(async () => {
  await e?.close();
  await fake?.close();
});


/** A JSON request from the page itself (its session cookie, its origin): what the dashboard would send. */
async function apiCall(page: Page, method: string, url: string, body?: unknown) {
  return page.evaluate(
    async ([m, u, b]) => {
      const res = await fetch(u as string, { method: m as string, headers: b ? { 'content-type': 'application/json' } : {}, body: b ? JSON.stringify(b) : undefined });
      return { status: res.status, json: res.status === 204 ? null : await res.json() };
    },
    [method, url, body] as const,
  );
}

const kpi = (page: Page, label: string, value: string) =>
  page.locator('.kpi').filter({ has: page.locator('.kpi-label', { hasText: new RegExp(`^${label}$`) }) }).locator('.kpi-value', { hasText: new RegExp(`^${value}$`) });

describe.skipIf(!hasChromium && !process.env.CI)('dashboard channels end to end (Chromium)', () => {
  it('two organizations sign up; the sidebar groups the channel pages', async () => {
    await signUp(a.page, { name: 'Ada', email: `ada-ch-${stamp}@example.test`, org: 'Acme Phones' });
    await signUp(b.page, { name: 'Bob', email: `bob-ch-${stamp}@example.test`, org: 'Beta Calls' });
    const nav = a.page.getByRole('navigation', { name: 'Main' });
    for (const name of ['SMS', 'Calls', 'IVR flows', 'Phone numbers', 'Twilio', 'SMS settings', 'Organization']) {
      await nav.getByRole('link', { name, exact: true }).waitFor();
    }
  });

  it('Twilio page without an account says messages go to the outbox; phone numbers: E.164 errors in words, add, edit', async () => {
    const { page } = a;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Twilio', exact: true }).click();
    await page.getByText('No Twilio account is connected').waitFor();
    await expectAccessible(page, 'twilio (not connected)');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Phone numbers' }).click();
    await page.getByRole('heading', { name: 'Phone numbers', level: 1 }).waitFor();
    await page.getByText('No phone numbers yet').waitFor();
    await expectAccessible(page, 'phone numbers (empty)');
    await page.getByLabel('Number', { exact: true }).fill('12345');
    await page.getByRole('button', { name: 'Add number' }).click();
    // The API's validation, in words, tied to the field.
    await page.getByRole('alert').filter({ hasText: 'Validation failed' }).waitFor();
    expect(await page.getByLabel('Number', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Number', { exact: true }).fill(NUMBER);
    await page.getByLabel('Name (optional)').fill('Main line');
    await page.getByRole('button', { name: 'Add number' }).click();
    await page.getByRole('cell', { name: `${NUMBER} Main line` }).waitFor();
    await page.getByRole('button', { name: `Edit ${NUMBER}` }).click();
    const dialog = page.getByRole('dialog', { name: `Edit ${NUMBER}` });
    await dialog.getByLabel('Name').fill('Front desk');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: /Front desk/ }).waitFor();
    // The dialog closes once the save's refetches are in; until then the page behind it is inert.
    await dialog.waitFor({ state: 'hidden' });
    // Removing asks first.
    await page.getByLabel('Number', { exact: true }).fill('+14155550199');
    await page.getByRole('button', { name: 'Add number' }).click();
    await page.getByRole('button', { name: 'Remove +14155550199' }).click();
    await page.getByRole('dialog', { name: 'Remove +14155550199?' }).getByRole('button', { name: 'Remove number' }).click();
    await page.getByRole('button', { name: 'Remove +14155550199' }).waitFor({ state: 'detached' });
    expect(await page.getByRole('row').count()).toBe(2);
    await expectAccessible(page, 'phone numbers');
    await screenshot(page, 'channels-phone-numbers');
  });

  it('agents: saves my phone, listed with my name', async () => {
    const { page } = a;
    await page.goto('/calls/agents');
    await page.getByText('No agent phones yet').waitFor();
    await page.getByLabel('Phone number').fill('555');
    await page.getByRole('button', { name: 'Save phone' }).click();
    await page.getByRole('alert').filter({ hasText: 'Validation failed' }).waitFor();
    await page.getByLabel('Phone number').fill(AGENT_PHONE);
    await page.getByRole('button', { name: 'Save phone' }).click();
    await page.getByRole('cell', { name: AGENT_PHONE }).waitFor();
    await page.getByRole('cell', { name: 'Ada (you)' }).waitFor();
    await expectAccessible(page, 'agents');
    await screenshot(page, 'channels-agents');
  });

  it('places a call from the dashboard in development mode, sees it in the call log and the SMS & calls outbox, saves notes', async () => {
    const { page } = a;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Calls', exact: true }).click();
    await page.getByText('No calls yet').waitFor();
    await expectAccessible(page, 'calls (empty)');
    await page.getByRole('button', { name: 'Place a call' }).click();
    await page.getByLabel("Customer's number").fill(CUSTOMER_PHONE);
    expect(await page.getByLabel('Your phone').inputValue()).toBe(AGENT_PHONE);
    await page.getByRole('button', { name: 'Call', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: `Call to ${CUSTOMER_PHONE}` }).waitFor();
    shared.callUrl = new URL(page.url()).pathname;
    await page.getByText('Created').first().waitFor();
    await page.getByLabel('Disposition').fill('callback');
    await page.getByRole('textbox', { name: 'Notes' }).fill('Wants a callback on Monday about the order.');
    await page.getByRole('button', { name: 'Save notes' }).click();
    await page.getByText(/^Saved /).waitFor();
    await expectAccessible(page, 'call detail');
    await screenshot(page, 'channels-call-detail');

    await page.getByRole('link', { name: '← Calls' }).click();
    // The log refreshes on arrival: the saved disposition shows in the call's row.
    const row = page.getByRole('row').filter({ hasText: `To ${CUSTOMER_PHONE}` }).filter({ hasText: 'callback' });
    await row.waitFor();
    // Filters live in the URL: none of today's calls is inbound.
    await page.getByLabel('Direction').selectOption('inbound');
    await page.getByText('No calls match these filters').waitFor();
    expect(page.url()).toContain('direction=inbound');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await row.waitFor();
    await expectAccessible(page, 'calls');
    await screenshot(page, 'channels-calls');

    // Without Twilio, the agent's leg is recorded in the outbox with the TwiML that bridges the customer.
    await page.goto('/outbox/twilio');
    await page.getByRole('button', { name: new RegExp(`Call to \\${AGENT_PHONE}`) }).click();
    await page.getByText(`<Dial callerId="${NUMBER}">${CUSTOMER_PHONE}</Dial>`, { exact: false }).waitFor();
    await expectAccessible(page, 'twilio outbox');
  });

  it('creates an IVR flow, sees its graph, gets the API validation by node, saves a second version and binds a number to it', async () => {
    const { page } = a;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'IVR flows' }).click();
    await page.getByText('No IVR flows yet').waitFor();
    await expectAccessible(page, 'ivr flows (empty)');
    await page.getByRole('link', { name: 'New flow' }).first().click();
    await page.getByLabel('Name', { exact: true }).fill('Support line');
    await page.locator('.react-flow__node').nth(3).waitFor();
    await page.getByRole('button', { name: 'Create flow' }).click();
    await page.getByRole('heading', { level: 1, name: 'Support line' }).waitFor();
    shared.flowUrl = new URL(page.url()).pathname;
    expect(shared.flowUrl).toMatch(/^\/ivr\/[0-9a-f-]{36}$/);
    expect(await page.locator('.react-flow__node').count()).toBe(4);
    // welcome → main, main → message (key 1 and no input on one line), message → bye; key 9 replays the menu.
    expect(await page.locator('.react-flow__edge').count()).toBe(3);
    await page.locator('.flow-node', { hasText: '9 → main' }).waitFor();

    // A forward node without a number: the API refuses, and the problem is shown at that node.
    await page.getByLabel('Node id').fill('sales');
    await page.getByLabel('Kind', { exact: true }).selectOption('dial');
    await page.getByRole('button', { name: 'Add node' }).click();
    await page.locator('#node-sales').waitFor();
    await page.locator('#node-sales').getByLabel('Number', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Save as new version' }).click();
    await page.getByRole('alert').getByRole('button', { name: 'Node “sales”' }).first().waitFor();
    await page.locator('#node-sales.has-error').waitFor();
    await page.locator('.flow-node.has-error', { hasText: 'sales' }).waitFor();
    await screenshot(page, 'channels-ivr-error');

    await page.locator('#node-sales').getByLabel('Number', { exact: true }).fill(CUSTOMER_PHONE);
    await page.locator('#node-main').getByRole('button', { name: 'Add key 2' }).click();
    await page.locator('#node-main').getByLabel('Key 2 goes to').selectOption('sales');
    await page.getByRole('button', { name: 'Save as new version' }).click();
    await page.getByText('Saved as version 2.').waitFor();
    expect(await page.locator('.react-flow__node').count()).toBe(5);
    await page.getByRole('cell', { name: /Version 2\s*current/ }).waitFor();
    await page.getByRole('button', { name: 'Open in editor: version 1' }).waitFor();
    // From the keyboard: a node of the graph, Enter, and its form has the focus.
    await page.locator('.react-flow__node[data-id="bye"]').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.closest('section')?.id === 'node-bye');
    await expectAccessible(page, 'ivr editor');
    await screenshot(page, 'channels-ivr-editor');

    await page.goto('/numbers');
    await page.getByRole('button', { name: `Edit ${NUMBER}` }).click();
    const dialog = page.getByRole('dialog', { name: `Edit ${NUMBER}` });
    await dialog.getByLabel('IVR flow answering calls').selectOption({ label: 'Support line' });
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('link', { name: 'Support line' }).waitFor();
    // A flow that answers a number cannot be deleted: the API says why, in the dialog.
    await page.getByRole('link', { name: 'Support line' }).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete Support line?' });
    await confirm.getByRole('button', { name: 'Delete flow' }).click();
    await confirm.getByRole('alert').filter({ hasText: 'The flow answers phone numbers' }).waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await page.goto('/ivr');
    await page.getByRole('row').filter({ hasText: 'Support line' }).filter({ hasText: NUMBER }).waitFor();
    await expectAccessible(page, 'ivr flows');
    await screenshot(page, 'channels-ivr-flows');
  });

  it('sends an SMS campaign and its results page shows the counts, segments and cost', async () => {
    const { page } = a;
    for (const [i, phone] of ['+14155557001', '+14155557002'].entries()) {
      const r = await apiCall(page, 'POST', '/api/customers', { phone, firstName: `Sam${i}`, smsOptIn: true, tags: ['vip'] });
      expect(r.status).toBe(201);
    }
    const created = await apiCall(page, 'POST', '/api/sms/campaigns', { name: 'Weekend sale', body: 'Weekend sale: 20% off. Reply STOP to opt out.', audience: { tags: ['vip'] } });
    expect(created.status).toBe(201);
    await page.goto(`/sms/${created.json.id}`);
    await page.getByRole('button', { name: 'Send now' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Send now' }).click();
    await page.waitForURL(/\/sms\/[0-9a-f-]+\/results$/);
    shared.smsResultsUrl = new URL(page.url()).pathname;
    await kpi(page, 'Recipients', '2').waitFor();
    await kpi(page, 'Sent', '2').waitFor({ timeout: 20_000 });
    await kpi(page, 'Segments', '2').waitFor();
    await page.getByText('No message has failed.').waitFor();
    await expectAccessible(page, 'sms results');
    await screenshot(page, 'channels-sms-results');

    await page.goto('/sms');
    await page.getByRole('link', { name: 'Weekend sale' }).click();
    await page.waitForURL(/\/results$/);
    await page.goto('/outbox/twilio');
    await page.getByRole('button', { name: /SMS to \+14155557001/ }).waitFor();
    await screenshot(page, 'channels-twilio-outbox');
  });

  it('connects Twilio against the stand-in; an inbound SMS shows in the inbound list; SMS settings save', async () => {
    const { page } = a;
    await page.goto('/settings/twilio');
    await page.getByLabel('Account SID').fill(account.accountSid);
    await page.getByLabel('Auth token').fill('too-short');
    await page.getByRole('button', { name: 'Connect' }).click();
    // The browser's own check stops a token that cannot be one; a wrong token is refused by Twilio, in words.
    await page.getByLabel('Auth token').fill('0'.repeat(32));
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/Twilio/i);
    await page.getByLabel('Auth token').fill(account.authToken);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('heading', { name: 'Connected account' }).waitFor();
    await page.getByText('Acme Twilio').first().waitFor();
    await expectAccessible(page, 'twilio (connected)');
    await screenshot(page, 'channels-twilio');

    await page.goto('/sms/inbound');
    await page.getByText('No inbound messages yet').waitFor();
    const sid = `SM${'a'.repeat(32)}`;
    const res = await signedTwilioRequest(e.t, account.authToken, '/api/webhooks/sms/inbound', {
      AccountSid: account.accountSid, MessageSid: sid, SmsMessageSid: sid, From: '+14155557001', To: NUMBER, Body: 'Is the store open on Sunday?', NumMedia: '0', ApiVersion: '2010-04-01',
    });
    expect(res.statusCode).toBe(200);
    await page.getByRole('cell', { name: 'Is the store open on Sunday?' }).waitFor({ timeout: 15_000 });
    await page.getByRole('link', { name: '+14155557001' }).waitFor(); // linked to the customer
    await expectAccessible(page, 'sms inbound');
    await screenshot(page, 'channels-sms-inbound');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'SMS settings' }).click();
    await page.getByLabel('Reply to HELP').fill('Acme: reply STOP to opt out. Help: help@acme.test');
    await page.getByLabel(/Quiet hours/).check();
    await page.getByLabel('Timezone').selectOption('America/New_York');
    await page.getByLabel('Send campaigns from').selectOption(NUMBER);
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Saved.').waitFor();
    await page.reload();
    expect(await page.getByLabel('From', { exact: true }).inputValue()).toBe('21:00');
    expect(await page.getByLabel('Timezone').inputValue()).toBe('America/New_York');
    await expectAccessible(page, 'sms settings');
    await screenshot(page, 'channels-sms-settings');

    await page.goto('/settings/twilio');
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Disconnect' }).click();
    await page.getByText('No Twilio account is connected').waitFor();
  });

  it('development account mail: the banner points to it, it shows only my mail, and its link confirms my address', async () => {
    const { page } = a;
    await page.goto('/');
    await page.getByRole('link', { name: 'account mail outbox' }).click();
    await page.getByRole('button', { name: /Confirm your email address/ }).waitFor();
    // Only A's own mail: B's verification mail is not here.
    expect(await page.getByRole('list', { name: 'Account mail' }).getByRole('listitem').count()).toBe(1);
    await page.getByRole('link', { name: 'Confirm the address' }).waitFor();
    await expectAccessible(page, 'account mail');
    await screenshot(page, 'channels-account-mail');
    await page.getByRole('link', { name: 'Confirm the address' }).click();
    await page.getByText('Your address is confirmed.').waitFor();
    await page.goto('/');
    await page.getByRole('heading', { level: 1, name: 'Acme Phones' }).waitFor();
    expect(await page.getByText('Confirm your address').count()).toBe(0);
  });

  it("organization B pasting A's call, flow and SMS results URLs sees \"not found\" and none of A's data", async () => {
    const { page } = b;
    for (const url of [shared.callUrl!, shared.flowUrl!, shared.smsResultsUrl!]) {
      await page.goto(url);
      await page.getByText('Not found', { exact: true }).waitFor();
      expect(await page.locator('main').textContent()).not.toMatch(/Support line|Weekend sale|callback|\+14155550123/);
    }
    await screenshot(page, 'channels-not-found');
    await page.goto('/calls');
    await page.getByText('No calls yet').waitFor();
    await page.goto('/numbers');
    await page.getByText('No phone numbers yet').waitFor();
    await page.goto('/outbox/twilio');
    await page.getByText('No SMS or calls yet').waitFor();
  });

  it('the organization page shows the organization; its last owner trying to leave is told why not, in words', async () => {
    const { page } = b;
    await page.goto('/settings/organization');
    await page.getByRole('heading', { name: 'Beta Calls', level: 2 }).waitFor();
    await expectAccessible(page, 'organization');
    await screenshot(page, 'channels-organization');
    await page.getByRole('button', { name: 'Leave Beta Calls' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Leave organization' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'The last owner cannot leave' }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('heading', { name: 'Beta Calls', level: 2 }).waitFor();
    expect(b.problems).toEqual([]);
    expect(a.problems).toEqual([]);
  });
});
