// The tenant-side halves of the SMS pipeline: audience resolution, status callbacks and inbound
// messages, applied inside one organization's transaction as the webhook routes and the send do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { query } from '../src/db/sql.js';
import type { TenantContext } from '../src/http/access.js';
import { resolveAudience } from '../src/modules/sms/audience.js';
import { applyInboundSms, keywordOf } from '../src/modules/sms/inbound.js';
import { applyPendingStatus, applyStatusCallback } from '../src/modules/sms/status.js';
import { createCustomer, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
let a: Actor;
let b: Actor;

beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'sms-apply-a');
  b = await signUpWithOrg(t.app, 'sms-apply-b');
});
afterAll(() => t?.close());

const ctxOf = (actor: Actor): TenantContext => ({ organizationId: actor.organizationId, actor: { type: 'user', id: actor.userId }, requestId: 'test', role: 'owner' });
const inTenant = <T>(actor: Actor, fn: Parameters<TestApp['db']['withTenant']>[1]) => t.db.withTenant(actor.organizationId, fn) as Promise<T>;

async function campaign(actor: Actor, body: Record<string, unknown>) {
  const res = await t.app.inject({ method: 'POST', url: '/api/sms/campaigns', headers: actor.headers, payload: { name: 'C', body: 'Hi {{ customer.firstName }}', ...body } });
  expect(res.statusCode).toBe(201);
  return res.json();
}

async function messages(actor: Actor, campaignId: string) {
  return inTenant<any[]>(actor, (tx) =>
    query(tx, sql`select id, customer_id, to_phone, status, error_code, provider_message_id from sms_messages where organization_id = ${actor.organizationId} and campaign_id = ${campaignId} order by to_phone`),
  );
}

async function customer(actor: Actor, id: string) {
  return (await t.app.inject({ url: `/api/customers/${id}`, headers: actor.headers })).json();
}

describe('audience', () => {
  it('one message per opted-in, unsuppressed customer with a valid number in the tags; invalid numbers counted', async () => {
    const mk = (body: Record<string, unknown>) => createCustomer(t.app, a.headers, { smsOptIn: true, tags: ['vip'], ...body });
    const ok1 = await mk({ phone: '+1 (415) 555-2601', firstName: 'Ok1' });
    const ok2 = await mk({ phone: '+14155552602', firstName: 'Ok2' });
    await mk({ phone: '+14155552603', smsOptIn: false }); // not opted in
    await mk({ phone: '+14155552604', tags: ['other'] }); // outside the audience
    await mk({ phone: '+1 555 0100' }); // not a valid number
    await mk({ phone: '12345' }); // not a valid number
    await mk({ email: 'no-phone@example.test' }); // no number
    await mk({ phone: '+14155552605' }); // suppressed below
    await mk({ phone: '+1-415-555-2602', firstName: 'SameNumber' }); // shares ok2's number: one text per phone
    const sup = await t.app.inject({ method: 'POST', url: '/api/suppressions', headers: a.headers, payload: { channel: 'sms', address: '+14155552605', reason: 'manual' } });
    expect(sup.statusCode).toBe(201);
    // B has the same numbers, opted in: not A's audience.
    await createCustomer(t.app, b.headers, { phone: '+14155552601', smsOptIn: true, tags: ['vip'] });

    const c = await campaign(a, { audience: { tags: ['vip'] } });
    const r = await inTenant<{ recipients: number; invalid: number }>(a, (tx) => resolveAudience(tx, a.organizationId, c.id, { tags: ['vip'] }));
    expect(r).toEqual({ recipients: 2, invalid: 2 });
    const rows = await messages(a, c.id);
    expect(rows.map((m) => [m.customer_id, m.to_phone, m.status])).toEqual([
      [ok1.id, '+14155552601', 'queued'],
      [ok2.id, '+14155552602', 'queued'],
    ]);
    // Resolving again (a resumed send) adds nobody twice.
    expect(await inTenant(a, (tx) => resolveAudience(tx, a.organizationId, c.id, { tags: ['vip'] }))).toEqual({ recipients: 0, invalid: 2 });
    expect(await messages(a, c.id)).toHaveLength(2);
  });
});

describe('status callbacks', () => {
  async function sentCampaign(actor: Actor, sids: string[]) {
    const c = await campaign(actor, {});
    for (const [i, sid] of sids.entries()) {
      const cu = await createCustomer(t.app, actor.headers, { phone: `+1415555${3000 + i + (actor === b ? 100 : 0)}`, smsOptIn: true });
      await inTenant(actor, (tx) =>
        tx.execute(sql`insert into sms_messages (organization_id, campaign_id, customer_id, to_phone, body, status, provider_message_id, sent_at)
          values (${actor.organizationId}, ${c.id}, ${cu.id}, ${cu.phone}, 'x', 'sent', ${sid}, now())`),
      );
    }
    return c;
  }
  const apply = (actor: Actor, messageSid: string, status: string, errorCode?: number) =>
    inTenant<{ found: boolean; changed: boolean }>(actor, (tx) => applyStatusCallback(tx, actor.organizationId, { messageSid, status, errorCode }));

  it('moves forward only: out-of-order and repeated callbacks leave the furthest status, error codes kept', async () => {
    const c = await sentCampaign(a, ['SMa1', 'SMa2', 'SMa3']);
    expect(await apply(a, 'SMa1', 'sent')).toEqual({ found: true, changed: false }); // already sent as far as we know
    expect(await apply(a, 'SMa1', 'delivered')).toEqual({ found: true, changed: true });
    expect(await apply(a, 'SMa1', 'sent')).toEqual({ found: true, changed: false }); // late
    expect(await apply(a, 'SMa1', 'delivered')).toEqual({ found: true, changed: false }); // repeated
    expect(await apply(a, 'SMa1', 'undelivered', 30003)).toEqual({ found: true, changed: false }); // a final status stays
    // Delivery receipt first, then the late "sent" and "queued".
    await apply(a, 'SMa2', 'undelivered', 30005);
    await apply(a, 'SMa2', 'sent');
    await apply(a, 'SMa2', 'queued');
    await apply(a, 'SMa3', 'failed', 30007);
    const rows = await messages(a, c.id);
    expect(rows.map((m) => [m.provider_message_id, m.status, m.error_code])).toEqual([
      ['SMa1', 'delivered', null],
      ['SMa2', 'undelivered', 30005],
      ['SMa3', 'failed', 30007],
    ]);
    const stats = (await t.app.inject({ url: `/api/sms/campaigns/${c.id}`, headers: a.headers })).json().stats;
    expect(stats).toEqual({ recipients: 3, sent: 2, delivered: 1, failed: 2, optedOut: 0 });
    const an = (await t.app.inject({ url: `/api/sms/campaigns/${c.id}/analytics`, headers: a.headers })).json();
    expect(an).toMatchObject({ recipients: 3, sent: 2, delivered: 1, undelivered: 1, failed: 1, errorCodes: [{ code: 30005, count: 1 }, { code: 30007, count: 1 }] });
  });

  it("A's sid is unknown to B: B's callback for it changes nothing in A", async () => {
    const c = await sentCampaign(a, ['SMx1']);
    expect(await apply(b, 'SMx1', 'failed', 30008)).toEqual({ found: false, changed: false });
    expect((await messages(a, c.id))[0]).toMatchObject({ status: 'sent', error_code: null });
  });

  it('a callback that comes before its sid is recorded is applied when the sid is', async () => {
    const c = await campaign(a, {});
    const cu = await createCustomer(t.app, a.headers, { phone: '+14155553500', smsOptIn: true });
    expect(await apply(a, 'SMearly', 'sent')).toEqual({ found: false, changed: false });
    expect(await apply(a, 'SMearly', 'delivered')).toEqual({ found: false, changed: false });
    await inTenant(a, async (tx) => {
      await tx.execute(sql`insert into sms_messages (organization_id, campaign_id, customer_id, to_phone, body, status, provider_message_id)
        values (${a.organizationId}, ${c.id}, ${cu.id}, ${cu.phone}, 'x', 'sent', 'SMearly')`);
      await applyPendingStatus(tx, a.organizationId, ['SMearly']);
    });
    expect((await messages(a, c.id))[0]).toMatchObject({ status: 'delivered' });
  });
});

describe('inbound messages', () => {
  const inbound = (actor: Actor, from: string, body: string, sid = `SM${Math.random().toString(36).slice(2)}`) =>
    inTenant<Awaited<ReturnType<typeof applyInboundSms>>>(actor, (tx) => applyInboundSms(tx, ctxOf(actor), { messageSid: sid, from, to: '+14155550000', body }));

  it('knows the keywords, any case, trimmed', () => {
    for (const w of ['STOP', ' stop ', 'Stopall', 'unsubscribe', 'CANCEL', 'end', 'Quit', 'stop.']) expect(keywordOf(w), w).toBe('stop');
    for (const w of ['START', 'unstop']) expect(keywordOf(w), w).toBe('start');
    for (const w of ['HELP', 'info']) expect(keywordOf(w), w).toBe('help');
    for (const w of ['stop it', 'please stop', 'hello', '']) expect(keywordOf(w), w).toBeNull();
  });

  it("STOP suppresses the number in that organization only and turns smsOptIn off; START lifts it", async () => {
    const ca = await createCustomer(t.app, a.headers, { phone: '+1 (415) 555-2700', smsOptIn: true });
    const cb = await createCustomer(t.app, b.headers, { phone: '+14155552700', smsOptIn: true });
    // Both organizations have a campaign waiting to go to that number.
    const campA = await campaign(a, {});
    const campB = await campaign(b, {});
    await inTenant(a, (tx) => resolveAudience(tx, a.organizationId, campA.id, {}));
    await inTenant(b, (tx) => resolveAudience(tx, b.organizationId, campB.id, {}));
    const r = await inbound(a, '+14155552700', '  Stop ');
    expect(r).toMatchObject({ keyword: 'stop', customerId: ca.id, reply: null, stored: true });
    expect((await customer(a, ca.id)).smsOptIn).toBe(false);
    const supA = (await t.app.inject({ url: '/api/suppressions?channel=sms&address=%2B14155552700', headers: a.headers })).json().data;
    expect(supA).toMatchObject([{ address: '+14155552700', reason: 'unsubscribed', source: 'sms_stop' }]);
    // B: same number, untouched.
    expect((await customer(b, cb.id)).smsOptIn).toBe(true);
    expect((await t.app.inject({ url: '/api/suppressions?channel=sms', headers: b.headers })).json().data).toEqual([]);
    // A's waiting message to the number is cancelled; B's is not.
    expect((await messages(a, campA.id)).find((m) => m.to_phone === '+14155552700')).toMatchObject({ status: 'cancelled' });
    expect((await messages(b, campB.id)).find((m) => m.to_phone === '+14155552700')).toMatchObject({ status: 'queued' });
    // A twice-delivered STOP is applied once.
    const sid = 'SMdup1';
    await inbound(a, '+14155552700', 'STOP', sid);
    expect((await inbound(a, '+14155552700', 'STOP', sid)).stored).toBe(false);

    const start = await inbound(a, '+14155552700', 'start');
    expect(start).toMatchObject({ keyword: 'start', customerId: ca.id });
    expect((await customer(a, ca.id)).smsOptIn).toBe(true);
    expect((await t.app.inject({ url: '/api/suppressions?channel=sms&address=%2B14155552700', headers: a.headers })).json().data).toEqual([]);
    const audit = (await t.app.inject({ url: '/api/audit-log?resourceType=suppression', headers: a.headers })).json().data.map((e: any) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['sms.opted_out', 'sms.opted_in']));
  });

  it('START leaves a suppression the organization added by hand', async () => {
    await t.app.inject({ method: 'POST', url: '/api/suppressions', headers: a.headers, payload: { channel: 'sms', address: '+14155552701', reason: 'manual' } });
    await inbound(a, '+14155552701', 'START');
    expect((await t.app.inject({ url: '/api/suppressions?channel=sms&address=%2B14155552701', headers: a.headers })).json().data).toHaveLength(1);
  });

  it("HELP answers with the organization's help text, or one naming it", async () => {
    expect((await inbound(b, '+14155552702', 'help')).reply).toBe('Org sms-apply-b: reply STOP to opt out of messages, START to opt back in.');
    await t.app.inject({ method: 'PUT', url: '/api/sms/settings', headers: a.headers, payload: { helpText: 'Acme support: 555-0100. Reply STOP to opt out.' } });
    expect((await inbound(a, '+14155552702', 'INFO')).reply).toBe('Acme support: 555-0100. Reply STOP to opt out.');
  });

  it('anything else is stored on the customer with that number, listed for the organization only', async () => {
    const ca = await createCustomer(t.app, a.headers, { phone: '+14155552710', firstName: 'Talker' });
    const r = await inbound(a, '+14155552710', 'Do you ship to Canada?');
    expect(r).toMatchObject({ keyword: null, customerId: ca.id, reply: null });
    const unknown = await inbound(a, '+14155552799', 'who is this');
    expect(unknown.customerId).toBeNull();
    const list = (await t.app.inject({ url: `/api/sms/inbound?customerId=${ca.id}`, headers: a.headers })).json();
    expect(list.data).toMatchObject([{ customerId: ca.id, from: '+14155552710', body: 'Do you ship to Canada?', keyword: null }]);
    const all = (await t.app.inject({ url: '/api/sms/inbound?limit=100', headers: a.headers })).json().data;
    expect(all.some((m: any) => m.body === 'who is this')).toBe(true);
    expect((await t.app.inject({ url: '/api/sms/inbound?limit=100', headers: b.headers })).json().data.some((m: any) => m.body === 'who is this')).toBe(false);
  });
});
