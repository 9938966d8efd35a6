// Reports in a real browser: the list, creating a report, its chart and table over a chosen date range,
// and the CSV download link. axe on the list and the report page.
import { sql } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, hasChromium, newUser, screenshot, screenshotsOnFailure, startE2E, type E2E } from './e2e-support.js';
import { signUpWithOrg, type Actor } from './helpers.js';

let e: E2E;
let a: Awaited<ReturnType<typeof newUser>>;
let owner: Actor;

beforeAll(async () => {
  if (!hasChromium && !process.env.CI) return;
  e = await startE2E();
  a = await newUser(e);
  owner = await signUpWithOrg(e.t.app, 'reports-e2e', 'Reports A');
  const [name, value] = owner.cookie.split(';')[0].split('=');
  await a.context.addCookies([{ name, value, url: e.baseUrl }]);
  await e.t.db.withTenant(owner.organizationId, async (tx) => {
    const org = owner.organizationId;
    const [{ id: ec }] = ((await tx.execute(sql`insert into email_campaigns (organization_id, name) values (${org}, 'Spring sale') returning id`)) as any).rows;
    await tx.execute(sql`insert into email_messages (organization_id, campaign_id, to_email, status, sent_at)
      select ${org}, ${ec}, 'm' || g || '@r.example', 'sent', '2026-03-10T12:00:00Z' from generate_series(1, 7) g`);
  });
});
afterEach((ctx) => screenshotsOnFailure(ctx, 'reports', { a }));
afterAll(async () => {
  await e?.close();
});

async function goto(page: Page, url: string) {
  await page.goto(url);
  await page.getByRole('heading', { level: 1 }).first().waitFor();
}

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

    await a.page.getByLabel('From').fill('2026-03-01');
    await a.page.getByLabel('To').fill('2026-03-31');
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
});
