import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../src/db/index.js';
import type { CampaignStatus } from '../src/lib/campaigns.js';
import { createApiKey, createCustomer, createTestApp, signUpWithOrg, signUpWithoutOrg, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
let a: Actor;
let b: Actor;

beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'a');
  b = await signUpWithOrg(t.app, 'b');
});
afterAll(() => t?.close());


/**
 * Seeds one organization's rows straight into the tables, inside that organization.
 * `n` scales everything so the other organization can hold more of every kind.
 */
async function seed(actor: Actor, n: number) {
  const org = actor.organizationId;
  const customers: { id: string; email: string; phone: string }[] = [];
  for (let i = 0; i < 3 * n; i++) {
    customers.push(await createCustomer(t.app, actor.headers, { email: `c${i}-${org}@example.com`, phone: `+1555${i}`, emailOptIn: i % 3 === 0, smsOptIn: i % 3 !== 2 }));
  }
  const { emailCampaigns, emailMessages, smsCampaigns, smsMessages, calls } = schema;
  await t.db.withTenant(org, async (tx) => {
    const emailStatuses: CampaignStatus[] = ['draft', 'sent', 'sent', 'scheduled'];
    const ec = await tx
      .insert(emailCampaigns)
      .values(Array.from({ length: n * 4 }, (_, i) => ({ organizationId: org, name: `E${i}`, status: emailStatuses[i % 4] })))
      .returning();
    const sc = await tx
      .insert(smsCampaigns)
      .values(Array.from({ length: n * 2 }, (_, i) => ({ organizationId: org, name: `S${i}`, status: (i % 2 ? 'failed' : 'sending') as CampaignStatus })))
      .returning();
    // delivered (and opened), bounced, queued: of 2n sent, n delivered and opened, n bounced.
    const now = new Date();
    const emailMsg = [
      { status: 'delivered', sentAt: now, deliveredAt: now, openedAt: now },
      { status: 'bounced', sentAt: now, bouncedAt: now },
      { status: 'queued' },
    ];
    await tx.insert(emailMessages).values(
      customers.map((c, i) => ({ organizationId: org, campaignId: ec[0].id, customerId: c.id, toEmail: c.email, ...emailMsg[i % 3] })),
    );
    // The send pipeline's own statuses (0003_email.sql) are counted, not refused.
    await tx.insert(emailMessages).values(
      ['sending', 'cancelled'].map((status, i) => ({ organizationId: org, campaignId: ec[1].id, customerId: customers[i].id, toEmail: customers[i].email, status })),
    );
    const smsMsg = [{ status: 'delivered', sentAt: now, deliveredAt: now }, { status: 'undelivered', sentAt: now }];
    await tx.insert(smsMessages).values(
      customers.slice(0, 2 * n).map((c, i) => ({ organizationId: org, campaignId: sc[0].id, customerId: c.id, toPhone: c.phone, body: 'hi', ...smsMsg[i % 2] })),
    );
    const callStatuses = ['completed', 'no-answer', 'completed', 'voicemail'];
    await tx.insert(calls).values(
      Array.from({ length: 4 * n }, (_, i) => ({ organizationId: org, direction: 'outbound' as const, fromNumber: '+15550000', toNumber: '+15551111', status: callStatuses[i % 4] })),
    );
  });
}

const zeros = (statuses: string[]) => Object.fromEntries(statuses.map((s) => [s, 0]));
const CAMPAIGN = ['draft', 'scheduled', 'sending', 'sent', 'cancelled', 'failed'];
const EMAIL_MSG = ['queued', 'sending', 'sent', 'delivered', 'deferred', 'bounced', 'dropped', 'failed', 'cancelled'];
const NO_RATES = { emailOptIn: 0, smsOptIn: 0, emailDelivery: 0, emailOpen: 0, emailClick: 0, emailBounce: 0, emailUnsubscribe: 0, smsDelivery: 0 };
const SMS_MSG = ['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'cancelled'];
const CALL = ['queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'no-answer', 'failed', 'canceled'];

describe('dashboard stats', () => {
  it('an empty organization sees zeros with every known status present', async () => {
    const res = await t.app.inject({ url: '/api/dashboard/stats', headers: a.headers });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      customers: { total: 0, emailOptIn: 0, smsOptIn: 0 },
      emailCampaigns: { total: 0, byStatus: zeros(CAMPAIGN) },
      smsCampaigns: { total: 0, byStatus: zeros(CAMPAIGN) },
      messages: { email: { total: 0, byStatus: zeros(EMAIL_MSG) }, sms: { total: 0, byStatus: zeros(SMS_MSG) } },
      calls: { total: 0, byStatus: zeros(CALL) },
      rates: NO_RATES,
    });
  });

  it("counts exactly the caller's organization's own rows, even when the other has more of everything", async () => {
    await seed(a, 1);
    await seed(b, 3);
    const expectFor = (n: number) => ({
      customers: { total: 3 * n, emailOptIn: n, smsOptIn: 2 * n },
      emailCampaigns: { total: 4 * n, byStatus: { ...zeros(CAMPAIGN), draft: n, sent: 2 * n, scheduled: n } },
      smsCampaigns: { total: 2 * n, byStatus: { ...zeros(CAMPAIGN), sending: n, failed: n } },
      messages: {
        email: { total: 3 * n + 2, byStatus: { ...zeros(EMAIL_MSG), delivered: n, bounced: n, queued: n, sending: 1, cancelled: 1 } },
        sms: { total: 2 * n, byStatus: { ...zeros(SMS_MSG), delivered: n, undelivered: n } },
      },
      // 'voicemail' is not a status this code knows: it is still shown, so byStatus sums to total.
      calls: { total: 4 * n, byStatus: { ...zeros(CALL), completed: 2 * n, 'no-answer': n, voicemail: n } },
      rates: { ...NO_RATES, emailOptIn: 0.3333, smsOptIn: 0.6667, emailDelivery: 0.5, emailOpen: 1, emailBounce: 0.5, smsDelivery: 0.5 },
    });
    const statsA = await t.app.inject({ url: '/api/dashboard/stats', headers: a.headers });
    expect(statsA.json()).toEqual(expectFor(1));
    const statsB = await t.app.inject({ url: '/api/dashboard/stats', headers: b.headers });
    expect(statsB.json()).toEqual(expectFor(3));
    // Through an API key of the organization too.
    const key = await createApiKey(t.app, a, 'member');
    expect((await t.app.inject({ url: '/api/dashboard/stats', headers: key.headers })).json()).toEqual(expectFor(1));
  });

  it('follows the API: a campaign created through the API shows up in its own organization only', async () => {
    const before = (await t.app.inject({ url: '/api/dashboard/stats', headers: a.headers })).json();
    const beforeB = (await t.app.inject({ url: '/api/dashboard/stats', headers: b.headers })).json();
    const res = await t.app.inject({ method: 'POST', url: '/api/sms/campaigns', headers: a.headers, payload: { name: 'Counted' } });
    expect(res.statusCode).toBe(201);
    const after = (await t.app.inject({ url: '/api/dashboard/stats', headers: a.headers })).json();
    expect(after.smsCampaigns.total).toBe(before.smsCampaigns.total + 1);
    expect(after.smsCampaigns.byStatus.draft).toBe(before.smsCampaigns.byStatus.draft + 1);
    expect((await t.app.inject({ url: '/api/dashboard/stats', headers: b.headers })).json()).toEqual(beforeB);
  });

  it('requires a credential and an organization', async () => {
    expect((await t.app.inject({ url: '/api/dashboard/stats' })).statusCode).toBe(401);
    const loner = await signUpWithoutOrg(t.app);
    const res = await t.app.inject({ url: '/api/dashboard/stats', headers: loner.headers });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: 'Forbidden - No organization' });
  });
});
