// Reports in a real browser: the list, creating a report, its chart and table over a chosen date range,
// and the CSV download link; totals against the previous period with the dashed line, the schedule and
// attribution settings; another organization pasting a report's URL sees Not found. axe on each page.
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, expectAccessible, goto, hasChromium, newUser, screenshot, screenshotsOnFailure, startE2E } from './e2e-support.js';
import { addMember, signUpWithOrg, type Actor } from './helpers.js';

let e: E2E;
let a: Awaited<ReturnType<typeof newUser>>;
let owner: Actor;
let bUser: Awaited<ReturnType<typeof newUser>>;
let member: Actor;

beforeAll(async () => {
  if (!hasChromium && !process.env.CI) return;
  e = await startE2E();
  a = await newUser(e);
  owner = await signUpWithOrg(e.t.app, 'reports-e2e', 'Reports A');
  const [name, value] = owner.cookie.split(';')[0].split('=');
  await a.context.addCookies([{ name, value, url: e.baseUrl }]);
  member = await addMember(e.t.app, owner, 'member', 'reports-e2e-member');
  bUser = await newUser(e);
  const other = await signUpWithOrg(e.t.app, 'reports-e2e-b', 'Reports B');
  const [bn, bv] = other.cookie.split(';')[0].split('=');
  await bUser.context.addCookies([{ name: bn, value: bv, url: e.baseUrl }]);
  await e.t.db.withTenant(owner.organizationId, async (tx) => {
    const org = owner.organizationId;
    const [{ id: ec }] = ((await tx.execute(sql`insert into email_campaigns (organization_id, name) values (${org}, 'Spring sale') returning id`)) as any).rows;
    await tx.execute(sql`insert into email_messages (organization_id, campaign_id, to_email, status, sent_at)
      select ${org}, ${ec}, 'm' || g || '@r.example', 'sent', '2026-03-10T12:00:00Z' from generate_series(1, 7) g`);
    // The day before, another campaign sent 5: the previous period of a report over the 10th.
    const [{ id: wc }] = ((await tx.execute(sql`insert into email_campaigns (organization_id, name) values (${org}, 'Winter sale') returning id`)) as any).rows;
    await tx.execute(sql`insert into email_messages (organization_id, campaign_id, to_email, status, sent_at)
      select ${org}, ${wc}, 'w' || g || '@r.example', 'sent', '2026-03-09T12:00:00Z' from generate_series(1, 5) g`);
  });
});
afterEach((ctx) => screenshotsOnFailure(ctx, 'reports', { a }));
afterAll(async () => {
  await e?.close();
});

describe.skipIf(!hasChromium && !process.env.CI)('reports (Chromium)', () => {
  it('creates a report, runs it over chosen dates with a chart, and links the CSV', async () => {
    await goto(a.page, '/reports');
    await a.page.getByText('No reports yet').waitFor();
    await expectAccessible(a.page, 'reports list');
    await a.page.getByLabel('Name').fill('Campaigns in March');
    await a.page.getByLabel('Kind').selectOption('campaign_performance');
    await a.page.getByRole('button', { name: 'Create report' }).click();
    await a.page.waitForURL(/\/reports\/[0-9a-f-]{36}$/);
    await a.page.getByRole('heading', { level: 1, name: 'Campaigns in March' }).waitFor();

    await a.page.getByLabel('From', { exact: true }).fill('2026-03-01');
    await a.page.getByLabel('To', { exact: true }).fill('2026-03-31');
    await a.page.getByRole('button', { name: 'Run for these dates' }).click();
    await a.page.getByRole('heading', { name: '2026-03-01 to 2026-03-31' }).waitFor();
    await a.page.getByText('Sent per campaign').waitFor();
    await a.page.getByRole('cell', { name: 'Spring sale' }).waitFor();
    const href = await a.page.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
    expect(href).toMatch(/\/api\/reports\/[0-9a-f-]{36}\/results\.csv\?from=2026-03-01&to=2026-03-31$/);
    const csv = await a.page.evaluate(async (u) => (await fetch(u)).text(), href!);
    expect(csv).toContain('Spring sale,7,');
    await expectAccessible(a.page, 'report page');
    await screenshot(a.page, 'reports-view');

    await goto(a.page, '/reports');
    await a.page.getByRole('link', { name: 'Campaigns in March' }).waitFor();
    expect(a.problems).toEqual([]);
  });

  it('shows totals against the previous period, the dashed previous-period line, and saves the schedule and attribution window', async () => {
    await goto(a.page, '/reports');
    await a.page.getByLabel('Name').fill('Messages 10th');
    await a.page.getByLabel('Kind').selectOption('messages_by_channel');
    await a.page.getByRole('button', { name: 'Create report' }).click();
    await a.page.waitForURL(/\/reports\/[0-9a-f-]{36}$/);
    const reportUrl = new URL(a.page.url()).pathname;
    await a.page.getByLabel('From', { exact: true }).fill('2026-03-10');
    await a.page.getByLabel('To', { exact: true }).fill('2026-03-10');
    await a.page.getByRole('button', { name: 'Run for these dates' }).click();
    await a.page.getByText('Compared with the previous period, 2026-03-09 to 2026-03-09.').waitFor();
    const totals = a.page.getByRole('region', { name: 'Totals against the previous period' });
    // Email: 7 on the 10th against 5 on the 9th.
    await expect.poll(() => totals.getByText('Email sent').locator('..').innerText()).toContain('▲ 40% vs 5');
    await totals.getByText('Email sent').locator('..').getByText('7', { exact: true }).waitFor();
    await a.page.getByRole('img', { name: /Messages sent per day, previous period dashed: this period 7, previous period 5/ }).waitFor();
    expect(await a.page.locator('.period-chart canvas').count()).toBe(1);

    // Email it every week to the member.
    await a.page.getByLabel('Email this report').selectOption('week');
    await expect.poll(() => a.page.getByRole('button', { name: 'Save delivery' }).isDisabled()).toBe(true);
    await a.page.getByRole('checkbox', { name: new RegExp(member.email) }).check();
    await a.page.getByRole('button', { name: 'Save delivery' }).click();
    await a.page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await expectAccessible(a.page, 'report with comparison and schedule');
    await screenshot(a.page, 'reports-compare');
    await a.page.reload();
    await a.page.getByText('emailed every week to 1 member').waitFor();
    expect(await a.page.getByRole('checkbox', { name: new RegExp(member.email) }).isChecked()).toBe(true);
    // And stop it again.
    await a.page.getByLabel('Email this report').selectOption('');
    await a.page.getByRole('button', { name: 'Save delivery' }).click();
    await a.page.getByText('· not emailed').waitFor();

    // Organization B pasting the URL sees Not found, and nothing of the report.
    await bUser.page.goto(reportUrl);
    await bUser.page.getByRole('alert').filter({ hasText: 'Not found' }).waitFor();
    expect(await bUser.page.content()).not.toContain('Messages 10th');
    await expectAccessible(bUser.page, 'another organization\'s report');
    expect(bUser.problems).toEqual([]);
    expect(a.problems).toEqual([]);
  });

  it('changes the attribution window of a campaign report', async () => {
    await goto(a.page, '/reports');
    await a.page.getByLabel('Name').fill('Revenue');
    await a.page.getByLabel('Kind').selectOption('campaign_performance');
    await a.page.getByRole('button', { name: 'Create report' }).click();
    await a.page.waitForURL(/\/reports\/[0-9a-f-]{36}$/);
    await a.page.getByText('revenue from orders within 7 days of a click').waitFor();
    await a.page.getByRole('region', { name: 'Totals against the previous period' }).getByText('Attributed revenue').waitFor();
    await a.page.getByLabel('Attribution window (days)').fill('14');
    await a.page.getByRole('button', { name: 'Save delivery' }).click();
    await a.page.getByText('revenue from orders within 14 days of a click').waitFor();
    expect(a.problems).toEqual([]);
  });

  it("dashboard leftovers: an SMS campaign's messages paged with a status filter; the customer page's Calls link filters the call log", async () => {
    const org = owner.organizationId;
    const { campaign, customer } = await e.t.db.withTenant(org, async (tx) => {
      const [{ id: c }] = ((await tx.execute(sql`insert into sms_campaigns (organization_id, name, body, status) values (${org}, 'Flash SMS', 'hi', 'sent') returning id`)) as any).rows;
      await tx.execute(sql`insert into sms_messages (organization_id, campaign_id, to_phone, body, status, segments, error_code, sent_at, created_at)
        select ${org}, ${c}, '+1555010' || lpad(g::text, 4, '0'), 'hi', case when g % 20 = 0 then 'failed' else 'delivered' end, 1,
               case when g % 20 = 0 then 30003 end, now(), now() - interval '1 hour' + g * interval '1 second' from generate_series(1, 60) g`);
      const [{ id: k }] = ((await tx.execute(sql`insert into customers (organization_id, email, first_name, phone) values (${org}, 'caller@r.example', 'Carla', '+14155550101') returning id`)) as any).rows;
      await tx.execute(sql`insert into calls (organization_id, direction, from_number, to_number, status, customer_id) values
        (${org}, 'inbound', '+14155550101', '+14155550999', 'completed', ${k}), (${org}, 'inbound', '+14155550777', '+14155550999', 'completed', null)`);
      return { campaign: c as string, customer: k as string };
    });
    await goto(a.page, `/sms/${campaign}/results`);
    const table = a.page.getByRole('table', { name: 'Messages of this campaign' });
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBe(50);
    await a.page.getByRole('navigation', { name: 'Message pages' }).getByRole('button', { name: 'Next page →' }).click();
    await expect.poll(() => table.locator('tbody tr').count()).toBe(10);
    await a.page.getByRole('search', { name: 'Filter messages' }).getByLabel('Status').selectOption('failed');
    await expect.poll(() => table.locator('tbody tr').count()).toBe(3);
    await table.getByText('Error 30003').first().waitFor();
    await expectAccessible(a.page, 'SMS results with messages');

    await goto(a.page, `/customers/${customer}`);
    // The page's own link (the sidebar has a Calls link too), once the customer has loaded.
    await a.page.getByRole('main').getByRole('link', { name: 'Calls', exact: true }).click();
    await a.page.waitForURL(new RegExp(`/calls\\?customer=${customer}$`));
    await a.page.getByText('Calls with Carla').waitFor();
    await expect.poll(() => a.page.locator('table tbody tr').count()).toBe(1);
    await a.page.getByText('From +14155550101').waitFor();
    await expectAccessible(a.page, 'calls of a customer');
    expect(a.problems).toEqual([]);
  });
});
