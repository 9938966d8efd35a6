// The campaign results page charts the server's hourly series (GET /api/email/campaigns/:id/analytics →
// series), so the chart covers every recipient, not the 50 on the page: a campaign of 120 messages sent
// over three hours shows 120 sent on the chart while the recipients table pages 50 at a time.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, hasChromium, newUser, screenshot, startE2E, type E2E } from './e2e-support.js';
import { TEST_PASSWORD } from './helpers.js';

let e: E2E;
let user: Awaited<ReturnType<typeof newUser>>;
const stamp = Date.now().toString(36);

beforeAll(async () => {
  if (!hasChromium && !process.env.CI) return;
  e = await startE2E();
  user = await newUser(e);
});
afterAll(async () => {
  await e?.close();
});

describe.skipIf(!hasChromium && !process.env.CI)('campaign results over time (Chromium)', () => {
  it('charts every recipient by hour from the server, while the table pages', async () => {
    const { page, problems } = user;
    const org = `Series ${stamp}`;
    await page.goto('/sign-up');
    await page.getByLabel('Your name').fill('Sam');
    await page.getByLabel('Work email').fill(`sam-${stamp}@example.test`);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByLabel('Organization name').fill(org);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { level: 1, name: org }).waitFor();

    const [{ id: organizationId }] = await e.t.db.owner.query<{ id: string }>(`select id from organizations where name = $1`, [org]);
    // A sent campaign of 120 messages over three hours, as the runtime role of that organization:
    // the counters behind the analytics are kept by the database as the rows go in.
    const campaignId = await e.t.db.withTenant(organizationId, async (tx) => {
      await tx.execute(sql`insert into customers (organization_id, email, email_opt_in) select ${organizationId}, 'r' || g || '@series.example', true from generate_series(1, 120) g`);
      const [c] = ((await tx.execute(sql`insert into email_campaigns (organization_id, name, subject, html, status, started_at, sent_at)
        values (${organizationId}, 'Spring sale', 'Spring', '<p>Hi</p>', 'sent', now() - interval '3 hours', now()) returning id`)) as any).rows;
      await tx.execute(sql`insert into email_messages (organization_id, campaign_id, customer_id, to_email, status, sent_at, delivered_at, opened_at)
        select organization_id, ${c.id}, id, email, 'delivered', now() - make_interval(mins => 180 - (row_number() over (order by email))::int),
               now() - make_interval(mins => 179 - (row_number() over (order by email))::int),
               case when email like 'r1%' then now() - interval '10 minutes' end
          from customers where organization_id = ${organizationId}`);
      return c.id as string;
    });

    await page.goto(`/campaigns/${campaignId}/results`);
    await page.getByRole('heading', { level: 1, name: 'Spring sale' }).waitFor();
    const chart = page.getByRole('img', { name: /Over time \(all recipients, by hour\)/ });
    await chart.waitFor();
    // Every recipient on the chart (120 sent, 120 delivered, 32 opened: r1, r10–r19, r100–r120), 50 in the table.
    expect(await chart.getAttribute('aria-label')).toMatch(/Sent 120, Delivered 120, Opened 32, Clicked 0/);
    await expect.poll(() => page.locator('section[aria-labelledby="recipients-h"] tbody tr').count()).toBe(50);
    await expectAccessible(page, 'campaign results with the hourly series');
    await screenshot(page, 'campaign-results-series');
    expect(problems).toEqual([]);
  }, 60_000);
});
