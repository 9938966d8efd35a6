import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
let a: Actor;
let b: Actor;
let campaign: string;

/** A campaign of A with 7 messages queued a second apart: 5 delivered, 2 failed with Twilio's 30003. */
beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'smsm-a');
  b = await signUpWithOrg(t.app, 'smsm-b');
  campaign = await t.db.withTenant(a.organizationId, async (tx) => {
    const org = a.organizationId;
    const [{ id }] = ((await tx.execute(sql`insert into sms_campaigns (organization_id, name, body, status) values (${org}, 'Flash sale', 'hi', 'sent') returning id`)) as any).rows;
    await tx.execute(sql`insert into sms_messages (organization_id, campaign_id, to_phone, body, status, segments, error_code, sent_at, delivered_at, created_at)
      select ${org}, ${id}, '+1555000000' || g, 'hi', case when g in (3, 6) then 'failed' else 'delivered' end, 1,
             case when g in (3, 6) then 30003 end, '2026-06-01T10:00:00Z', case when g not in (3, 6) then '2026-06-01T10:01:00Z'::timestamptz end,
             '2026-06-01T09:00:00Z'::timestamptz + g * interval '1 second'
        from generate_series(1, 7) g`);
    return id as string;
  });
});
afterAll(() => t?.close());

const list = (actor: Actor, qs: string) => t.app.inject({ method: 'GET', url: `/api/sms/campaigns/${campaign}/messages${qs}`, headers: actor.headers });

describe('GET /api/sms/campaigns/:id/messages', () => {
  it('pages through the messages oldest first, each once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await list(a, `?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      seen.push(...body.data.map((m: any) => m.toPhone));
      cursor = body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7].map((g) => `+1555000000${g}`));
  });

  it('filters by status, with the error code of a failed message', async () => {
    const body = (await list(a, '?status=failed')).json();
    expect(body.data.map((m: any) => [m.toPhone, m.status, m.errorCode, m.deliveredAt])).toEqual([
      ['+15550000003', 'failed', 30003, null],
      ['+15550000006', 'failed', 30003, null],
    ]);
    expect((await list(a, '?status=delivered')).json().data).toHaveLength(5);
    expect((await list(a, '?status=bogus')).statusCode).toBe(400);
    expect((await list(a, '?status=failed&extra=1')).statusCode).toBe(400);
  });

  it("is Not found for another organization's campaign", async () => {
    const res = await list(b, '');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'not_found' });
  });

  it('reads the page through the campaign list index (PostgreSQL plans)', async () => {
    if (t.db.kind !== 'postgres') return;
    const plan = await t.db.withTenant(a.organizationId, async (tx) =>
      ((await tx.execute(sql`explain select * from sms_messages where organization_id = ${a.organizationId} and campaign_id = ${campaign} and status = 'failed' order by created_at, id limit 51`)) as any).rows.map((r: any) => r['QUERY PLAN']).join('\n'));
    expect(plan).toMatch(/sms_messages_campaign_(status|list)_idx/);
  });
});
