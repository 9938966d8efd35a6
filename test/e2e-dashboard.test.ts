// The dashboard in a real browser against the real server: two organizations sign up in two browser
// profiles; A imports customers from a CSV file, builds, test-sends and sends a campaign and watches
// its results; B pastes A's URLs and sees "not found". axe checks every page on the way.
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, hasChromium, newUser, screenshot, screenshotsOnFailure, signUp, startE2E, type E2E } from './e2e-support.js';
import { TEST_PASSWORD, tokenFromMail } from './helpers.js';

/** The dashboard links in account mail (the mail also carries the API's own links). */
const DASHBOARD_VERIFY = /localhost:\d+\/verify-email\?token=(\S+)/;
const DASHBOARD_INVITE = /localhost:\d+\/invitations\/accept\?token=(\S+)/;

let e: E2E;
let a: Awaited<ReturnType<typeof newUser>>;
let b: Awaited<ReturnType<typeof newUser>>;
const stamp = Date.now().toString(36);
const emailA = `ada-${stamp}@example.test`;
const emailB = `bob-${stamp}@example.test`;
const shared: { customerUrl?: string; campaignUrl?: string; resultsUrl?: string } = {};

beforeAll(async () => {
  if (!hasChromium && !process.env.CI) return;
  e = await startE2E();
  a = await newUser(e);
  b = await newUser(e);
});
afterEach((ctx) => screenshotsOnFailure(ctx, 'dashboard', { a, b }));
afterAll(async () => {
  await e?.close();
});


// Skipped only outside CI on a machine without Chromium; CI installs it (.ci/run) and fails without it.
describe.skipIf(!hasChromium && !process.env.CI)('dashboard end to end (Chromium)', () => {
  it('serves the app at / with its CSP, client routes fall back to index.html, /api stays JSON', async () => {
    const page = await fetch(`${e.baseUrl}/customers?q=x`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(await page.text()).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/);
    const api = await fetch(`${e.baseUrl}/api/no-such-thing`);
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({ error: 'Not found', code: 'not_found' });
    expect((await fetch(`${e.baseUrl}/assets/missing.js`)).status).toBe(404);
  });

  it('the sign-in page loads small (JS + CSS gzipped) and is accessible', async () => {
    const sizes: number[] = [];
    const files: string[] = [];
    const pending: Promise<void>[] = [];
    a.page.on('response', (r) => {
      const file = new URL(r.url()).pathname;
      if (/\.(js|css)$/.test(file)) pending.push(r.body().then((body) => void (sizes.push(gzipSync(body).length), files.push(`${file} ${gzipSync(body).length}`))));
    });
    await a.page.goto('/sign-in');
    await a.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await Promise.all(pending);
    a.page.removeAllListeners('response');
    const total = sizes.reduce((x, y) => x + y, 0);
    console.log(`sign-in first load: ${(total / 1024).toFixed(1)} kB gzipped JS+CSS in ${sizes.length} files: ${files.join(', ')}`);
    expect(total).toBeLessThan(250 * 1024);
    expect(files.join(' ')).not.toMatch(/jsx-dev-runtime/); // React's production build
    await expectAccessible(a.page, 'sign-in');
    await screenshot(a.page, 'sign-in');
  });

  it('two organizations sign up in two browser profiles', async () => {
    await a.page.goto('/sign-up');
    await expectAccessible(a.page, 'sign-up');
    await screenshot(a.page, 'sign-up');
    await signUp(a.page, { name: 'Ada', email: emailA, org: 'Acme Analytics' });
    await signUp(b.page, { name: 'Bob', email: emailB, org: 'Beta Bakery' });
    await expect(a.page.getByRole('combobox', { name: 'Organization' })).toBeTruthy();
    expect(await a.page.getByLabel('Organization').inputValue()).not.toBe('');
    expect(await a.page.locator('#org-switcher option:checked').textContent()).toBe('Acme Analytics');
    expect(await b.page.locator('#org-switcher option:checked').textContent()).toBe('Beta Bakery');
    await a.page.getByText('No customers yet').waitFor();
    await expectAccessible(a.page, 'home (empty)');
  });

  it('A confirms the address from the mailed link', async () => {
    const token = await tokenFromMail(e.t.app, emailA, DASHBOARD_VERIFY);
    await a.page.goto(`/verify-email?token=${encodeURIComponent(token)}`);
    await a.page.getByText('Your address is confirmed').waitFor();
    await expectAccessible(a.page, 'verify-email');
  });

  it('A imports customers from a CSV file through the file picker, with a progress bar and the rejected rows by line', async () => {
    const rows = ['email,first_name,last_name,email_opt_in,tags,city'];
    rows.push('grace@example.com,Grace,Hopper,yes,newsletter,Arlington');
    rows.push('not-an-email,Bad,Row,yes,,Nowhere'); // line 3
    rows.push('lin@example.com,Lin,Chen,yes,newsletter;vip,Oslo');
    rows.push(',,,,,'); // line 5: nothing to identify a customer
    for (let i = 0; i < 1500; i++) rows.push(`bulk${i}@example.com,Bulk${i},Customer,${i % 2 ? 'yes' : 'no'},bulk,City ${i}`);
    await a.page.goto('/customers/import');
    await expectAccessible(a.page, 'import');
    await a.page.locator('#csv-file').setInputFiles({ name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(rows.join('\n')) });
    await a.page.getByRole('button', { name: 'Import customers.csv' }).click();
    const progress = a.page.locator('progress#upload-progress');
    await progress.waitFor();
    await a.page.getByRole('heading', { name: 'Import finished' }).waitFor({ timeout: 30_000 });
    expect(await progress.getAttribute('value')).toBe('100');
    const result = await a.page.getByRole('status').filter({ hasText: 'created' }).textContent();
    expect(result).toContain('1502 created');
    expect(result).toContain('2 rejected');
    const report = a.page.getByRole('table', { name: 'Rejected rows by line' });
    expect(await report.getByRole('row').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^Line 3/), expect.stringMatching(/^Line 5/)]));
    await expectAccessible(a.page, 'import result');
    await screenshot(a.page, 'import');

    // Drag and drop: the same import, from a file dropped on the page.
    await a.page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['email,first_name,email_opt_in\ngrace@example.com,Grace,yes\nnew@example.com,Nia,yes\n'], 'dropped.csv', { type: 'text/csv' }));
      const zone = document.querySelector('.dropzone')!;
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await a.page.getByRole('button', { name: 'Import dropped.csv' }).click();
    await a.page.getByRole('status').filter({ hasText: '1 created' }).filter({ hasText: '1 updated' }).waitFor();
  });

  it('A searches and filters customers by URL, and opens a customer', async () => {
    await a.page.goto('/customers?tag=newsletter');
    await a.page.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    expect(await a.page.locator('tbody tr').count()).toBe(2);
    await expectAccessible(a.page, 'customers');
    await a.page.goto('/customers');
    await a.page.getByLabel('Search').fill('Lin');
    await a.page.waitForURL(/q=Lin/);
    await a.page.getByRole('link', { name: 'Lin Chen' }).click();
    await a.page.getByRole('heading', { level: 1, name: 'Lin Chen' }).waitFor();
    expect(await a.page.getByText('Oslo').count()).toBe(1);
    shared.customerUrl = new URL(a.page.url()).pathname;
    await expectAccessible(a.page, 'customer');
    await screenshot(a.page, 'customer');
    await a.page.goto('/customers');
    await a.page.getByRole('link', { name: /^Bulk\d+ Customer$/ }).first().waitFor();
    await a.page.getByRole('button', { name: 'Next page →' }).click();
    await a.page.waitForURL(/cursor=/);
    await a.page.locator('tbody tr').first().waitFor();
    await screenshot(a.page, 'customers');
  });

  it('A creates, edits and deletes a customer (with confirmation), and sees the API refuse bad input in words', async () => {
    await a.page.goto('/customers/new');
    await a.page.getByLabel('First name').fill('Temp');
    await a.page.locator('form.form-grid').evaluate((f: HTMLFormElement) => void (f.noValidate = true)); // past the browser's own check, to the API's
    await a.page.getByLabel('Email', { exact: true }).fill('not an email');
    await a.page.getByRole('button', { name: 'Create customer' }).click();
    await a.page.getByRole('alert').filter({ hasText: 'Validation failed' }).filter({ hasText: 'email' }).waitFor();
    await a.page.getByLabel('Email', { exact: true }).fill('temp@example.com');
    await a.page.getByLabel('Phone').fill('+47 912 34 567');
    await a.page.getByLabel('Agreed to receive SMS').check();
    await a.page.getByLabel('Tags').fill('sms, trial');
    await a.page.getByLabel('Attributes (JSON)').fill('{"plan": "trial"}');
    await a.page.getByRole('button', { name: 'Create customer' }).click();
    await a.page.getByRole('heading', { level: 1, name: 'Temp' }).waitFor();
    await a.page.getByRole('button', { name: 'Edit' }).click();
    await a.page.getByLabel('Last name').fill('Tester');
    await a.page.getByRole('button', { name: 'Save changes' }).click();
    await a.page.getByRole('heading', { level: 1, name: 'Temp Tester' }).waitFor();
    await a.page.getByRole('button', { name: 'Edit' }).waitFor(); // back to the customer's page
    await a.page.locator('.tag', { hasText: 'trial' }).waitFor();
    const url = a.page.url();
    await a.page.getByRole('button', { name: 'Delete' }).click();
    const dialog = a.page.getByRole('dialog', { name: 'Delete this customer?' });
    await expectAccessible(a.page, 'delete dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await dialog.isVisible()).toBe(false);
    await a.page.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete customer' }).click();
    await a.page.waitForURL(/\/customers$/);
    await a.page.goto(url);
    await a.page.getByText('Not found', { exact: true }).waitFor();
  });

  it('A builds a campaign with a live preview, test-sends it, sends it and watches the results', async () => {
    await a.page.goto('/campaigns/new');
    await a.page.getByLabel('Campaign name').fill('Spring newsletter');
    await a.page.getByLabel('Subject').fill('Hello {{ customer.firstName | default: "there" }}');
    await a.page.getByLabel('From name').fill('Acme');
    await a.page.getByLabel('Audience tags').fill('newsletter');
    await a.page.getByText('2 recipients now.').waitFor();
    await a.page.getByLabel('Audience tags').fill('newsletter, bulk');
    await a.page.getByText('752 recipients now.').waitFor(); // the opted-in half of the bulk rows, and the two
    await a.page.getByLabel('Audience tags').fill('newsletter');
    await a.page.getByLabel('HTML body').fill('<h1 style="color:#4f46e5">Hi {{ customer.firstName }}</h1><p>Our spring picks are in.</p><p><a href="https://acme.example/spring">See them</a></p>');
    await a.page.getByRole('button', { name: 'Create draft' }).click();
    await a.page.waitForURL(/\/campaigns\/[0-9a-f-]{36}$/);
    shared.campaignUrl = new URL(a.page.url()).pathname;
    const frame = a.page.frameLocator('iframe[title="Email preview"]');
    await frame.getByRole('heading', { name: /^Hi (Nia|Grace|Lin|Bulk)/ }).waitFor();
    await expectAccessible(a.page, 'campaign editor');
    await screenshot(a.page, 'campaign-editor');

    await a.page.getByRole('button', { name: 'Send test' }).click();
    await a.page.getByText(`Test sent to ${emailA}`).waitFor();

    await a.page.getByRole('button', { name: 'Send now' }).click();
    await a.page.getByRole('dialog', { name: 'Send this campaign now?' }).getByRole('button', { name: 'Send now' }).click();
    await a.page.waitForURL(/\/results$/);
    shared.resultsUrl = new URL(a.page.url()).pathname;
    // Polls while sending: the page reaches "sent" with both newsletter recipients without a reload.
    await a.page.locator('.page-header .badge', { hasText: /^sent$/ }).waitFor({ timeout: 30_000 });
    await a.page.getByRole('cell', { name: 'lin@example.com' }).waitFor({ timeout: 10_000 });
    const kpi = async (label: string) => a.page.locator('.kpi', { hasText: label }).locator('.kpi-value').textContent();
    await expect.poll(() => kpi('Sent'), { timeout: 10_000 }).toBe('2');
    expect(await kpi('Recipients')).toBe('2');
    expect(await a.page.getByRole('cell', { name: 'https://acme.example/spring' }).count()).toBe(1);

    // Lin opens the mail and clicks its link (the tracked link from the outbox): the results show it.
    const outbox = await (await a.context.request.get('/api/email/outbox')).json();
    const linMail = outbox.data.find((m: { to: string }) => m.to === 'lin@example.com');
    const raw = (await (await a.context.request.get(`/api/email/outbox/${linMail.id}`)).text()).replace(/=\r?\n/g, '');
    const click = /https?:\/\/[^"\s]+(\/api\/t\/click\/[A-Za-z0-9_-]+)/.exec(raw)![1];
    const res = await fetch(`${e.baseUrl}${click}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://acme.example/spring');
    await a.page.reload();
    await expect.poll(() => kpi('Clicked'), { timeout: 10_000 }).toBe('1');
    expect(await a.page.getByRole('row', { name: /^https:\/\/acme\.example\/spring/ }).innerText()).toMatch(/1\s+1$/);
    expect(await a.page.getByRole('row', { name: /^lin@example\.com/ }).innerText()).toMatch(/click/i); // her timeline
    await expectAccessible(a.page, 'campaign results');
    await screenshot(a.page, 'campaign-results');

    // The customer page shows what was sent to them.
    await a.page.goto(shared.customerUrl!);
    await a.page.getByRole('link', { name: 'Spring newsletter' }).waitFor();
    await expectAccessible(a.page, 'customer with history');
    await screenshot(a.page, 'customer');

    await a.page.goto('/campaigns');
    await a.page.getByRole('link', { name: 'Spring newsletter' }).waitFor();
    await expectAccessible(a.page, 'campaigns');
    await screenshot(a.page, 'campaigns');
  });

  it('the outbox shows what was sent, in a sandboxed frame', async () => {
    await a.page.goto('/outbox');
    await a.page.getByRole('button', { name: /Hello Lin/ }).click();
    const iframe = a.page.locator('iframe[title^="Message:"]');
    expect(await iframe.getAttribute('sandbox')).toBe('');
    await a.page.frameLocator('iframe[title^="Message:"]').getByRole('heading', { name: 'Hi Lin' }).waitFor();
    expect(await a.page.getByRole('button', { name: /Hello/ }).count()).toBe(3); // the test send and two recipients
    await expectAccessible(a.page, 'outbox');
    await screenshot(a.page, 'outbox');
  });

  it('home shows the organization stats with charts', async () => {
    await a.page.goto('/');
    await a.page.getByText('Email messages by status').waitFor();
    expect(await a.page.locator('.kpi', { hasText: 'Customers' }).locator('.kpi-value').textContent()).toBe('1,503');
    await expectAccessible(a.page, 'home');
    await screenshot(a.page, 'home');
  });

  it('A manages members, API keys (secret shown once), senders, suppressions and reads the audit log', async () => {
    await a.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: e.baseUrl });
    await a.page.goto('/settings/api-keys');
    await a.page.getByText('No API keys yet').waitFor();
    await a.page.getByLabel('Key name').fill('Shop integration');
    await a.page.getByRole('button', { name: 'Create key' }).click();
    const secret = await a.page.getByLabel('New API key').inputValue();
    expect(secret).toMatch(/^sb_/);
    await a.page.getByRole('button', { name: 'Copy' }).click();
    await a.page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await a.page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const res = await fetch(`${e.baseUrl}/api/customers?limit=1`, { headers: { authorization: `Bearer ${secret}` } });
    expect(res.status).toBe(200);
    await expectAccessible(a.page, 'api keys');
    await screenshot(a.page, 'api-keys');
    await a.page.reload();
    await a.page.getByRole('cell', { name: 'Shop integration' }).waitFor();
    expect(await a.page.locator('body').innerText()).not.toContain(secret); // shown once

    await a.page.goto('/settings/members');
    await a.page.getByRole('cell', { name: emailA }).waitFor();
    await a.page.getByLabel('Invite by email').fill(`carol-${stamp}@example.test`);
    await a.page.getByRole('button', { name: 'Send invitation' }).click();
    await a.page.getByRole('cell', { name: `carol-${stamp}@example.test` }).waitFor();
    await expectAccessible(a.page, 'members');
    await screenshot(a.page, 'members');

    await a.page.goto('/settings/suppressions');
    await a.page.getByLabel('Address to suppress').fill('Grace@Example.com');
    await a.page.getByRole('button', { name: 'Suppress' }).click();
    await a.page.getByRole('cell', { name: 'grace@example.com' }).waitFor();
    await expectAccessible(a.page, 'suppressions');

    await a.page.goto('/settings/senders');
    await a.page.getByLabel('Add a domain').fill('acme.example');
    await a.page.getByRole('button', { name: 'Add domain' }).click();
    await a.page.getByRole('cell', { name: '_switchboard.acme.example' }).waitFor();
    await expectAccessible(a.page, 'senders');
    await screenshot(a.page, 'senders');

    await a.page.goto('/settings/audit-log?resourceType=suppression');
    await a.page.getByRole('cell', { name: /suppression\./ }).first().waitFor();
    await a.page.getByLabel('Resource').selectOption('');
    await a.page.getByRole('cell', { name: 'api_key.created' }).waitFor();
    await a.page.getByRole('cell', { name: 'Ada', exact: true }).first().waitFor(); // who, by name
    await expectAccessible(a.page, 'audit log');
    await screenshot(a.page, 'audit-log');

    await a.page.getByRole('link', { name: 'Ada' }).click();
    await a.page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
    await a.page.getByText('this one').waitFor();
    await expectAccessible(a.page, 'account');
  });

  it('an invitee follows the mailed link, signs up, confirms the address and joins A', async () => {
    const carol = `carol-${stamp}@example.test`;
    const c = await newUser(e);
    const invite = await tokenFromMail(e.t.app, carol, DASHBOARD_INVITE);
    await c.page.goto(`/invitations/accept?token=${encodeURIComponent(invite)}`);
    await c.page.waitForURL(/\/sign-in\?next=/);
    await c.page.getByRole('link', { name: 'Create an account' }).click();
    await c.page.getByLabel('Your name').fill('Carol');
    await c.page.getByLabel('Work email').fill(carol);
    await c.page.getByLabel('Password').fill(TEST_PASSWORD);
    expect(await c.page.getByLabel('Organization name').count()).toBe(0); // invited: joins, creates nothing
    await c.page.getByRole('button', { name: 'Create account' }).click();
    await c.page.getByRole('heading', { name: 'Join the organization' }).waitFor();
    await c.page.getByRole('button', { name: 'Accept the invitation' }).click();
    await c.page.getByRole('alert').filter({ hasText: /confirm/i }).waitFor(); // the server's words: confirm the address first
    await expectAccessible(c.page, 'accept invitation');
    const verify = await tokenFromMail(e.t.app, carol, DASHBOARD_VERIFY);
    await c.page.goto(`/verify-email?token=${encodeURIComponent(verify)}`);
    await c.page.getByText('Your address is confirmed').waitFor();
    await c.page.goto(`/invitations/accept?token=${encodeURIComponent(invite)}`);
    await c.page.getByRole('button', { name: 'Accept the invitation' }).click();
    await c.page.getByRole('heading', { level: 1, name: 'Acme Analytics' }).waitFor();
    expect(await c.page.locator('.account').innerText()).toContain('member');
    expect(c.problems).toEqual([]);
    await c.context.close();
  });

  it('A writes an SMS campaign with a live segment and encoding counter', async () => {
    await a.page.goto('/sms/new');
    await a.page.getByLabel('Campaign name').fill('Flash sale');
    const message = a.page.getByLabel('Message');
    await message.fill('a'.repeat(160));
    await a.page.getByText('0 left before another segment').waitFor();
    expect(await a.page.locator('.kpis-inline').innerText()).toMatch(/1\s+segment[\s\S]*GSM-7/);
    await message.fill('Sale today 🎉 {{ customer.firstName }}');
    await a.page.locator('.kpis-inline', { hasText: 'UCS-2' }).waitFor();
    await a.page.getByText('outside the GSM alphabet').waitFor();
    await a.page.getByRole('button', { name: 'Create draft' }).click();
    await a.page.waitForURL(/\/sms\/[0-9a-f-]{36}$/);
    // Without an SMS number the server refuses, and says why.
    await a.page.getByRole('button', { name: 'Send now' }).click();
    const dialog = a.page.getByRole('dialog', { name: 'Send this SMS campaign now?' });
    await dialog.getByRole('button', { name: 'Send now' }).click();
    await dialog.getByRole('alert').filter({ hasText: /number/i }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expectAccessible(a.page, 'sms editor');
    await screenshot(a.page, 'sms-editor');
    await a.page.goto('/sms');
    await a.page.getByRole('link', { name: 'Flash sale' }).waitFor();
    await expectAccessible(a.page, 'sms campaigns');
  });

  it("B pasting A's customer and campaign URLs sees not found, never A's data", async () => {
    for (const url of [shared.customerUrl!, shared.campaignUrl!, shared.resultsUrl!]) {
      await b.page.goto(url);
      await b.page.getByText('Not found', { exact: true }).waitFor();
      const text = await b.page.locator('body').innerText();
      expect(text).not.toMatch(/Lin|Chen|Spring newsletter|lin@example\.com|Acme/);
      await expectAccessible(b.page, `not found ${url}`);
      if (url === shared.customerUrl) await screenshot(b.page, 'not-found');
    }
    await b.page.goto('/customers');
    await b.page.getByText('No customers yet').waitFor();
    await b.page.goto('/outbox');
    await b.page.getByText('The outbox is empty').waitFor();
  });

  it('a signed-out visitor is sent to sign-in and comes back to the page asked for', async () => {
    const c = await newUser(e);
    await c.page.goto('/customers?tag=vip');
    await c.page.waitForURL(/\/sign-in\?next=/);
    await c.page.getByLabel('Email').fill(emailA);
    await c.page.getByLabel('Password').fill(TEST_PASSWORD);
    await c.page.getByRole('button', { name: 'Sign in' }).click();
    await c.page.waitForURL((u) => u.pathname === '/customers' && u.searchParams.get('tag') === 'vip');
    await c.page.getByRole('link', { name: 'Lin Chen' }).waitFor();
    await c.page.getByRole('button', { name: 'Sign out' }).click();
    await c.page.waitForURL(/\/sign-in$/);
    await c.page.goto('/');
    await c.page.waitForURL(/\/sign-in\?next=/);
    expect(c.problems).toEqual([]);
    await c.context.close();
  });

  it('works from the keyboard: a skip link first, focus order follows the page, focus is visible', async () => {
    const k = await newUser(e);
    await k.page.goto('/sign-in');
    await k.page.getByLabel('Email').waitFor();
    const focused = () => k.page.evaluate(() => {
      const el = document.activeElement as HTMLInputElement;
      return { text: (el.getAttribute('aria-label') ?? el.labels?.[0]?.textContent ?? el.textContent ?? '').trim(), ring: getComputedStyle(el).boxShadow !== 'none' || getComputedStyle(el).outlineStyle !== 'none' };
    });
    expect((await focused()).text).toBe('Email'); // autofocus
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      await k.page.keyboard.press('Tab');
      const f = await focused();
      expect(f.ring, f.text).toBe(true);
      order.push(f.text);
    }
    expect(order).toEqual(['Password', 'Sign in', 'Forgot your password?', 'Create an account']);
    await k.page.getByLabel('Email').fill(emailA);
    await k.page.getByLabel('Password').fill(TEST_PASSWORD);
    await k.page.keyboard.press('Enter');
    await k.page.getByRole('heading', { level: 1, name: 'Acme Analytics' }).waitFor();
    await k.page.keyboard.press('Tab');
    expect((await focused()).text).toBe('Skip to content');
    await k.page.keyboard.press('Enter');
    expect(await k.page.evaluate(() => document.activeElement?.id)).toBe('main');
    await k.context.close();
  });

  it('no page broke the CSP or threw', () => {
    expect(a.problems).toEqual([]);
    expect(b.problems).toEqual([]);
  });
});
