// Phone numbers: E.164 at the boundary, one organization per number across the platform, IVR flows of
// the same organization only; with a Twilio account connected, the number must be the account's and its
// webhooks are pointed at this server (real SDK → local Twilio-shaped server).
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryOne } from '../src/db/sql.js';
import { findNumberOwner } from '../src/modules/twilio/webhooks.js';
import { addMember, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';
import { newTwilioAccount, startFakeTwilio, type FakeTwilio } from './twilio-support.js';

let t: TestApp;
let fake: FakeTwilio;
let a: Actor;
let b: Actor;
let c: Actor;
const accC = newTwilioAccount();
const url = '/api/phone-numbers';

beforeAll(async () => {
  fake = await startFakeTwilio({ accounts: { [accC.accountSid]: accC.authToken } });
  t = await createTestApp({ config: { twilio: { apiBaseUrl: fake.url } } });
  a = await signUpWithOrg(t.app, 'numbers-a');
  b = await signUpWithOrg(t.app, 'numbers-b');
  c = await signUpWithOrg(t.app, 'numbers-c');
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

const req = (method: string, path: string, who: { headers: Record<string, string> }, payload?: unknown) =>
  t.app.inject({ method: method as any, url: path, headers: who.headers, ...(payload !== undefined && { payload: payload as any }) });

async function addNumber(who: Actor, body: Record<string, unknown>) {
  const res = await req('POST', url, who, body);
  if (res.statusCode !== 201) throw new Error(`add number failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** An IVR flow row of the organization (the IVR routes belong to the voice module). */
const createFlow = (org: string, name: string) =>
  t.db.withTenant(org, async (tx) => (await queryOne<{ id: string }>(tx, sql`insert into ivr_flows (organization_id, name) values (${org}, ${name}) returning id`))!.id);

describe('/api/phone-numbers without a Twilio account (development)', () => {
  it('adds a number in E.164, normalizing what libphonenumber-js accepts, with defaults', async () => {
    const n = await addNumber(a, { number: '+1 (415) 555-2671', friendlyName: 'Support line' });
    expect(n).toEqual({
      id: expect.any(String),
      number: '+14155552671',
      friendlyName: 'Support line',
      smsEnabled: true,
      voiceEnabled: true,
      ivrFlowId: null,
      twilioSid: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect((await req('GET', `${url}/${n.id}`, a)).json()).toEqual(n);
    const audit = (await req('GET', `/api/audit-log?resourceType=phone_number&resourceId=${n.id}`, a)).json().data;
    expect(audit).toEqual([expect.objectContaining({ action: 'phone_number.created', changes: expect.objectContaining({ number: '+14155552671' }) })]);
  });

  it('refuses what is not a valid international number', async () => {
    for (const number of ['4155552671', '+1415555267', '+15551234567', 'call me', '+', '']) {
      const res = await req('POST', url, a, { number });
      expect(res.statusCode, number).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
    const res = await req('POST', url, a, { number: '12345' });
    expect(res.json().details).toEqual([expect.objectContaining({ path: 'number', message: expect.stringMatching(/E\.164/) })]);
    expect((await req('POST', url, a, { number: '+14155550123', organizationId: b.organizationId })).statusCode).toBe(400);
  });

  it('a number belongs to one organization across the platform: 409 for a second one, and for a duplicate', async () => {
    const res = await req('POST', url, b, { number: '+14155552671' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'conflict' });
    expect((await req('POST', url, a, { number: '+1 415 555 2671' })).statusCode).toBe(409);
    expect((await req('GET', url, b)).json().data).toEqual([]);
  });

  it('lists newest first with keyset pages', async () => {
    const more = [await addNumber(a, { number: '+14155550130' }), await addNumber(a, { number: '+14155550131', smsEnabled: false })];
    const first = (await req('GET', `${url}?limit=2`, a)).json();
    expect(first.data.map((n: any) => n.number)).toEqual([more[1].number, more[0].number]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (await req('GET', `${url}?limit=2&cursor=${first.nextCursor}`, a)).json();
    expect(second.data.map((n: any) => n.number)).toEqual(['+14155552671']);
    expect(second.nextCursor).toBeNull();
    expect(first.data[0].smsEnabled).toBe(false);
  });

  it('updates name and channels; a member may read but not change numbers', async () => {
    const [n] = (await req('GET', `${url}?limit=1`, a)).json().data;
    const res = await req('PATCH', `${url}/${n.id}`, a, { friendlyName: 'Sales', voiceEnabled: false });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: n.id, number: n.number, friendlyName: 'Sales', voiceEnabled: false, smsEnabled: false });
    expect((await req('PATCH', `${url}/${n.id}`, a, { number: '+14155550199' })).statusCode).toBe(400);

    const member = await addMember(t.app, a, 'member');
    expect((await req('GET', `${url}/${n.id}`, member)).statusCode).toBe(200);
    expect((await req('POST', url, member, { number: '+14155550140' })).statusCode).toBe(403);
    expect((await req('PATCH', `${url}/${n.id}`, member, { friendlyName: 'x' })).statusCode).toBe(403);
    expect((await req('DELETE', `${url}/${n.id}`, member)).statusCode).toBe(403);
  });

  it("binds an IVR flow of the same organization; another organization's or an unknown flow is refused", async () => {
    const [n] = (await req('GET', `${url}?limit=1`, a)).json().data;
    const flowA = await createFlow(a.organizationId, 'Main menu');
    const bound = await req('PATCH', `${url}/${n.id}`, a, { ivrFlowId: flowA });
    expect(bound.statusCode).toBe(200);
    expect(bound.json().ivrFlowId).toBe(flowA);

    const nb = await addNumber(b, { number: '+14155550150' });
    const stolen = await req('PATCH', `${url}/${nb.id}`, b, { ivrFlowId: flowA });
    expect(stolen.statusCode).toBe(400);
    expect(stolen.json().details).toEqual([expect.objectContaining({ path: 'ivrFlowId' })]);
    expect((await req('GET', `${url}/${nb.id}`, b)).json().ivrFlowId).toBeNull();
    expect((await req('PATCH', `${url}/${nb.id}`, b, { ivrFlowId: '00000000-0000-4000-8000-000000000000' })).statusCode).toBe(400);
    // An unknown number stays a 404 whatever the body says.
    expect((await req('PATCH', `${url}/${n.id}`, b, { ivrFlowId: flowA })).statusCode).toBe(404);

    // The inbound lookup sees the binding; deleting the flow unbinds it.
    expect(await findNumberOwner(t.db, n.number, t.config)).toEqual({
      organizationId: a.organizationId, phoneNumberId: n.id, ivrFlowId: flowA, accountSid: null, authToken: null,
    });
    expect((await req('PATCH', `${url}/${n.id}`, a, { ivrFlowId: null })).json().ivrFlowId).toBeNull();
    await req('PATCH', `${url}/${n.id}`, a, { ivrFlowId: flowA });
    await t.db.withTenant(a.organizationId, (tx) => tx.execute(sql`delete from ivr_flows where id = ${flowA}`));
    expect((await req('GET', `${url}/${n.id}`, a)).json().ivrFlowId).toBeNull();
  });

  it("A's numbers are 404 for B (read, change, delete) and stay untouched", async () => {
    const [n] = (await req('GET', `${url}?limit=1`, a)).json().data;
    expect((await req('GET', `${url}/${n.id}`, b)).statusCode).toBe(404);
    expect((await req('PATCH', `${url}/${n.id}`, b, { friendlyName: 'Mine now' })).statusCode).toBe(404);
    expect((await req('DELETE', `${url}/${n.id}`, b)).statusCode).toBe(404);
    expect((await req('GET', `${url}/${n.id}`, a)).json()).toEqual(n);
  });

  it('deleting releases the number for any organization (204, audited)', async () => {
    const n = await addNumber(a, { number: '+14155550160' });
    expect((await req('DELETE', `${url}/${n.id}`, a)).statusCode).toBe(204);
    expect((await req('GET', `${url}/${n.id}`, a)).statusCode).toBe(404);
    expect((await req('DELETE', `${url}/${n.id}`, a)).statusCode).toBe(404);
    const audit = (await req('GET', `/api/audit-log?resourceType=phone_number&resourceId=${n.id}`, a)).json().data;
    expect(audit.map((e: any) => e.action)).toEqual(['phone_number.deleted', 'phone_number.created']);
    expect((await addNumber(b, { number: '+14155550160' })).number).toBe('+14155550160');
    expect(await findNumberOwner(t.db, '+14155550160', t.config)).toMatchObject({ organizationId: b.organizationId });
  });
});

describe('/api/phone-numbers with a Twilio account connected', () => {
  beforeAll(async () => {
    const res = await req('PUT', '/api/integrations/twilio', c, accC);
    expect(res.statusCode).toBe(200);
  });

  it("refuses a number that is not the account's, without storing it", async () => {
    const res = await req('POST', url, c, { number: '+14155550170' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed', error: expect.stringMatching(/not in the connected Twilio account/) });
    expect(fake.requestsTo('/IncomingPhoneNumbers.json', 'GET').at(-1)).toMatchObject({ authAccount: accC.accountSid, query: { PhoneNumber: '+14155550170' } });
    expect((await req('GET', url, c)).json().data).toEqual([]);
  });

  it('matches the number exactly, not as the pattern Twilio searches with', async () => {
    fake.addNumber(accC.accountSid, '+49301234567'); // contains +4930123456, a valid number of its own
    const res = await req('POST', url, c, { number: '+4930123456' });
    expect(res.statusCode).toBe(400);
    expect(fake.numbers(accC.accountSid)[0].sms_url).toBe('');
  });

  it("adds the account's number: its SMS, voice and status webhooks now point here, its PN sid is kept", async () => {
    const pn = fake.addNumber(accC.accountSid, '+14155550180');
    const n = await addNumber(c, { number: '+1 415-555-0180', friendlyName: 'Main' });
    expect(n).toMatchObject({ number: '+14155550180', twilioSid: pn });
    const atTwilio = fake.numbers(accC.accountSid).find((x) => x.sid === pn);
    expect(atTwilio).toMatchObject({
      sid: pn,
      sms_url: `${t.config.publicUrl}/api/webhooks/sms/inbound`,
      sms_method: 'POST',
      voice_url: `${t.config.publicUrl}/api/webhooks/voice/inbound`,
      voice_method: 'POST',
      status_callback: `${t.config.publicUrl}/api/webhooks/voice/status`,
    });
    const update = fake.requestsTo(`/IncomingPhoneNumbers/${pn}.json`, 'POST');
    expect(update).toHaveLength(1);
    expect(update[0].authAccount).toBe(accC.accountSid);

    // The inbound lookup finds the organization, its account and auth token by the number alone.
    expect(await findNumberOwner(t.db, '+14155550180', t.config)).toEqual({
      organizationId: c.organizationId, phoneNumberId: n.id, ivrFlowId: null, accountSid: accC.accountSid, authToken: accC.authToken,
    });
    expect(await findNumberOwner(t.db, '+14155550999', t.config)).toBeNull();
    expect(await findNumberOwner(t.db, 'not a number', t.config)).toBeNull();
    // Never the token in what the API returns.
    expect((await req('GET', url, c)).body).not.toContain(accC.authToken);
  });

  it('a number another organization holds is a 409 even when it is in the account', async () => {
    fake.addNumber(accC.accountSid, '+14155550150'); // B added it in development
    const res = await req('POST', url, c, { number: '+14155550150' });
    expect(res.statusCode).toBe(409);
    expect(await findNumberOwner(t.db, '+14155550150', t.config)).toMatchObject({ organizationId: b.organizationId });
  });

  it('Twilio unavailable → 503 and nothing stored', async () => {
    fake.addNumber(accC.accountSid, '+14155550190');
    fake.failNext(1, { status: 503, code: 20503 });
    const res = await req('POST', url, c, { number: '+14155550190' });
    expect(res.statusCode).toBe(503);
    expect((await req('GET', url, c)).json().data.map((n: any) => n.number)).not.toContain('+14155550190');
  });
});

describe('production', () => {
  it('refuses numbers until a Twilio account proves them', async () => {
    const prod = await createTestApp({ config: { env: 'production' } });
    try {
      const owner = await signUpWithOrg(prod.app, 'numbers-prod');
      const res = await prod.app.inject({ method: 'POST', url, headers: owner.headers, payload: { number: '+14155550200' } });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatch(/Connect a Twilio account/);
    } finally {
      await prod.close();
    }
  });
});
