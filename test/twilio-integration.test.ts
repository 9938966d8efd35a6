// The Twilio account of an organization, through the real `twilio` SDK against a local server speaking
// Twilio's REST shape: credentials checked before they are stored, the token sealed and never returned,
// one organization per account; the transport (the organization's own account, else the outbox).
import { readdirSync, readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryOne } from '../src/db/sql.js';
import { openSecret } from '../src/lib/secret-box.js';
import { toTwilioError, TwilioError } from '../src/modules/twilio/client.js';
import { transportFor, twilioOutboxDir } from '../src/modules/twilio/transport.js';
import { findTwilioAccount, twilioWebhookLookup, verifyTwilioSignature, webhookUrl } from '../src/modules/twilio/webhooks.js';
import { addMember, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';
import { newTwilioAccount, startFakeTwilio, twilioSignature, type FakeTwilio } from './twilio-support.js';

let t: TestApp;
let fake: FakeTwilio;
let a: Actor;
let b: Actor;
let c: Actor;
const accA = newTwilioAccount();
const accB = newTwilioAccount();
const SECRETS = [accA.authToken, accB.authToken];
const url = '/api/integrations/twilio';

beforeAll(async () => {
  fake = await startFakeTwilio({
    accounts: { [accA.accountSid]: { authToken: accA.authToken, friendlyName: 'Acme Support' }, [accB.accountSid]: accB.authToken },
  });
  t = await createTestApp({ config: { twilio: { apiBaseUrl: fake.url } } });
  a = await signUpWithOrg(t.app, 'twilio-a');
  b = await signUpWithOrg(t.app, 'twilio-b');
  c = await signUpWithOrg(t.app, 'twilio-c');
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

/** Every response of this file goes through here: no auth token ever appears in a body. */
async function call(method: string, path: string, who: { headers: Record<string, string> }, payload?: unknown) {
  const res = await t.app.inject({ method: method as any, url: path, headers: who.headers, ...(payload !== undefined && { payload: payload as any }) });
  for (const secret of SECRETS) expect(res.body, `${method} ${path} leaked an auth token`).not.toContain(secret);
  return res;
}

const connect = (who: Actor, acc: { accountSid: string; authToken: string }) => call('PUT', url, who, acc);
const transport = (org: string) => t.db.withTenant(org, (tx) => transportFor(tx, org, t.config));

describe('/api/integrations/twilio', () => {
  it('reports nothing connected at first', async () => {
    const res = await call('GET', url, a);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ connected: false, accountSid: null, friendlyName: null, connectedAt: null });
  });

  it('refuses credentials Twilio rejects (wrong token, unknown account) with a clear 400, and stores nothing', async () => {
    const before = fake.requests.length;
    const wrong = await connect(a, { accountSid: accA.accountSid, authToken: 'f'.repeat(32) });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ code: 'validation_failed', error: expect.stringMatching(/Twilio refused/) });
    expect(wrong.json().details[0]).toMatchObject({ path: 'authToken', message: expect.stringContaining('20003') });
    // The SDK really asked the (fake) Twilio API, with the credentials given.
    const asked = fake.requests.slice(before);
    expect(asked.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([`GET /2010-04-01/Accounts/${accA.accountSid}.json 401`]);

    const unknown = newTwilioAccount();
    expect((await connect(a, unknown)).statusCode).toBe(400);
    expect((await call('GET', url, a)).json().connected).toBe(false);
    const stored = await t.db.withTenant(a.organizationId, (tx) => queryOne(tx, sql`select 1 from integrations where provider = 'twilio'`));
    expect(stored).toBeUndefined();
  });

  it('refuses malformed credentials before asking Twilio', async () => {
    const before = fake.requests.length;
    for (const body of [{ accountSid: 'AC123', authToken: accA.authToken }, { accountSid: accA.accountSid }, { ...accA, extra: 1 }]) {
      expect((await call('PUT', url, a, body)).statusCode).toBe(400);
    }
    expect(fake.requests.length).toBe(before);
  });

  it('a member may read the status but not connect', async () => {
    const member = await addMember(t.app, a, 'member');
    expect((await call('GET', url, member)).statusCode).toBe(200);
    expect((await connect(member, accA)).statusCode).toBe(403);
    expect((await call('DELETE', url, member)).statusCode).toBe(403);
  });

  it('connects good credentials: status shows the account, the token is sealed at rest and audited without it', async () => {
    const res = await connect(a, accA);
    expect(res.statusCode).toBe(200);
    const status = res.json();
    expect(status).toEqual({ connected: true, accountSid: accA.accountSid, friendlyName: 'Acme Support', connectedAt: expect.any(String) });
    expect(Object.keys(status)).not.toContain('authToken');
    expect(new Date(status.connectedAt).toISOString()).toBe(status.connectedAt);
    expect((await call('GET', url, a)).json()).toEqual(status);
    // A's Basic credentials were the ones used.
    expect(fake.requests.at(-1)).toMatchObject({ path: `/2010-04-01/Accounts/${accA.accountSid}.json`, authAccount: accA.accountSid, status: 200 });

    const row = await t.db.withTenant(a.organizationId, (tx) =>
      queryOne<{ external_id: string; sealed: string }>(tx, sql`select external_id, credentials_encrypted as sealed from integrations where provider = 'twilio'`),
    );
    expect(row!.external_id).toBe(accA.accountSid);
    expect(row!.sealed).not.toContain(accA.authToken);
    expect(openSecret(row!.sealed, t.config.secrets.encryptionKey, `twilio-auth-token:${a.organizationId}:${accA.accountSid}`)).toBe(accA.authToken);

    const audit = await call('GET', '/api/audit-log?resourceType=integration', a);
    const entry = audit.json().data.find((e: any) => e.action === 'twilio.connected');
    expect(entry).toMatchObject({ actorType: 'user', actorId: a.userId, changes: { accountSid: accA.accountSid, friendlyName: 'Acme Support' } });
    expect(JSON.stringify(audit.json())).not.toContain(accA.authToken);
  });

  it('an account connected by one organization is a 409 for any other, even with the right token', async () => {
    const res = await connect(b, accA);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'conflict', error: expect.stringMatching(/another organization/) });
    expect((await call('GET', url, b)).json().connected).toBe(false);
    expect((await call('GET', url, a)).json()).toMatchObject({ connected: true, accountSid: accA.accountSid });
    // B connects its own account fine.
    expect((await connect(b, accB)).json()).toMatchObject({ connected: true, accountSid: accB.accountSid });
  });

  it('connecting again replaces the account (audited as a reconnect)', async () => {
    expect((await connect(a, accA)).statusCode).toBe(200);
    const audit = (await call('GET', '/api/audit-log?resourceType=integration', a)).json().data;
    expect(audit.map((e: any) => e.action)).toContain('twilio.reconnected');
  });

  it('answers 503 when Twilio cannot be reached or fails, and stores nothing', async () => {
    fake.failNext(1, { status: 500, code: 20500, message: 'Internal server error' });
    const res = await connect(c, newTwilioAccount());
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('unavailable');
    expect((await call('GET', url, c)).json().connected).toBe(false);
  });
});

describe('transport', () => {
  it("sends through the organization's own Twilio account (its Basic credentials), with the status callback", async () => {
    const tr = await transport(a.organizationId);
    expect(tr).toMatchObject({ kind: 'twilio', accountSid: accA.accountSid });
    const sent = await tr.sendSms({ from: '+14155550100', to: '+14155552671', body: 'Hello', statusCallback: 'https://example.test/api/webhooks/sms' });
    expect(sent).toEqual({ sid: expect.stringMatching(/^SM[0-9a-f]{32}$/), status: 'queued' });
    const req = fake.requestsTo('/Messages.json').at(-1)!;
    expect(req).toMatchObject({
      path: `/2010-04-01/Accounts/${accA.accountSid}/Messages.json`,
      authAccount: accA.accountSid,
      form: { To: '+14155552671', From: '+14155550100', Body: 'Hello', StatusCallback: 'https://example.test/api/webhooks/sms' },
    });
    // B's transport uses B's account, not A's.
    await (await transport(b.organizationId)).sendSms({ from: '+14155550101', to: '+14155552671', body: 'Hi from B' });
    expect(fake.requestsTo('/Messages.json').at(-1)).toMatchObject({ authAccount: accB.accountSid, path: `/2010-04-01/Accounts/${accB.accountSid}/Messages.json` });
  });

  it('creates calls with TwiML, status callback events and recording', async () => {
    const tr = await transport(a.organizationId);
    const call = await tr.createCall({
      from: '+14155550100',
      to: '+14155552671',
      twiml: '<Response><Say>Hello</Say></Response>',
      statusCallback: 'https://example.test/api/webhooks/voice/status',
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      record: true,
    });
    expect(call).toEqual({ sid: expect.stringMatching(/^CA[0-9a-f]{32}$/), status: 'queued' });
    expect(fake.requestsTo('/Calls.json').at(-1)!.form).toMatchObject({
      To: '+14155552671',
      Twiml: '<Response><Say>Hello</Say></Response>',
      StatusCallback: 'https://example.test/api/webhooks/voice/status',
      StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      Record: 'true',
    });
  });

  it("maps Twilio's errors to TwilioError: 4xx permanent with Twilio's code, 429/5xx/network retryable", async () => {
    const tr = await transport(a.organizationId);
    fake.failTo('+14155550111', { code: 21211, message: "The 'To' number is not a valid phone number." });
    fake.failTo('+14155550112', { code: 21610, message: 'Attempt to send to unsubscribed recipient' });
    const failure = (p: Promise<unknown>) => p.then(() => expect.fail('expected a TwilioError'), (e) => e as TwilioError);

    const invalid = await failure(tr.sendSms({ from: '+14155550100', to: '+14155550111', body: 'x' }));
    expect(invalid).toBeInstanceOf(TwilioError);
    expect(invalid).toMatchObject({ code: 21211, status: 400, permanent: true });
    expect(await failure(tr.sendSms({ from: '+14155550100', to: '+14155550112', body: 'x' }))).toMatchObject({ code: 21610, status: 400, permanent: true });

    fake.failNext(1, { status: 429, code: 20429, message: 'Too Many Requests' });
    expect(await failure(tr.sendSms({ from: '+14155550100', to: '+14155552671', body: 'x' }))).toMatchObject({ code: 20429, status: 429, permanent: false });
    fake.failNext(1, { status: 503, code: 20503, message: 'Service unavailable' });
    expect(await failure(tr.createCall({ from: '+14155550100', to: '+14155552671', url: 'https://example.test/twiml' }))).toMatchObject({ status: 503, permanent: false });

    const refused = toTwilioError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }));
    expect(refused).toMatchObject({ status: null, code: null, permanent: false, message: expect.stringContaining('ECONNREFUSED') });
  });

  it('without an account: the outbox writes one JSON file per message or call, with Twilio-shaped sids', async () => {
    const tr = await transport(c.organizationId);
    expect(tr).toMatchObject({ kind: 'outbox', accountSid: null });
    const sms = await tr.sendSms({ from: '+14155550102', to: '+14155552671', body: 'Outbox hello', statusCallback: 'http://localhost:3000/api/webhooks/sms' });
    await new Promise((r) => setTimeout(r, 5)); // the outbox orders by the millisecond
    const call = await tr.createCall({ from: '+14155550102', to: '+14155552671', twiml: '<Response><Hangup/></Response>' });
    expect(sms).toEqual({ sid: expect.stringMatching(/^SM[0-9a-f]{32}$/), status: 'queued' });
    expect(call).toEqual({ sid: expect.stringMatching(/^CA[0-9a-f]{32}$/), status: 'queued' });
    const dir = twilioOutboxDir(t.config, c.organizationId);
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    const records = files.map((f) => JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')));
    expect(records).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'sms', sid: sms.sid, to: '+14155552671', body: 'Outbox hello', statusCallback: 'http://localhost:3000/api/webhooks/sms' }),
        expect.objectContaining({ kind: 'call', sid: call.sid, twiml: '<Response><Hangup/></Response>' }),
      ]),
    );
    expect(fake.requests.some((r) => r.form.Body === 'Outbox hello')).toBe(false);
  });

  it('GET /api/twilio/outbox: each organization sees only its own, newest first, paged', async () => {
    const list = (await call('GET', '/api/twilio/outbox', c)).json();
    expect(list.data).toHaveLength(2);
    expect(list.data[0]).toMatchObject({ kind: 'call', to: '+14155552671', twiml: '<Response><Hangup/></Response>', body: null });
    expect(list.data[1]).toMatchObject({ kind: 'sms', body: 'Outbox hello' });
    expect(list.nextCursor).toBeNull();

    const first = (await call('GET', '/api/twilio/outbox?limit=1', c)).json();
    expect(first.data.map((d: any) => d.id)).toEqual([list.data[0].id]);
    const second = (await call('GET', `/api/twilio/outbox?limit=1&cursor=${first.nextCursor}`, c)).json();
    expect(second).toEqual({ data: [list.data[1]], nextCursor: null });
    expect((await call('GET', '/api/twilio/outbox?cursor=../../etc', c)).statusCode).toBe(400);

    // A and B send through Twilio: nothing in their outboxes, and C's is not theirs to read.
    for (const other of [a, b]) expect((await call('GET', '/api/twilio/outbox', other)).json()).toEqual({ data: [], nextCursor: null });
  });
});

describe('webhook support', () => {
  it('findTwilioAccount resolves the organization and auth token by AccountSid, and nothing else', async () => {
    expect(await findTwilioAccount(t.db, accA.accountSid, t.config)).toEqual({ organizationId: a.organizationId, authToken: accA.authToken });
    expect(await findTwilioAccount(t.db, accB.accountSid, t.config)).toEqual({ organizationId: b.organizationId, authToken: accB.authToken });
    expect(await findTwilioAccount(t.db, newTwilioAccount().accountSid, t.config)).toBeNull();
    expect(await findTwilioAccount(t.db, "AC' or '1'='1", t.config)).toBeNull();
    // The same read as a provider webhook's `lookup` (src/channels/webhook.ts).
    expect(await findTwilioAccount(twilioWebhookLookup(t.db), accB.accountSid, t.config)).toEqual({ organizationId: b.organizationId, authToken: accB.authToken });
  });

  it('verifyTwilioSignature accepts what the SDK signs over the public URL, and nothing altered', () => {
    const cfg = { publicUrl: 'https://switchboard.example.com' };
    const target = webhookUrl(cfg, '/api/webhooks/sms?attempt=2');
    expect(target).toBe('https://switchboard.example.com/api/webhooks/sms?attempt=2');
    const params = { AccountSid: accA.accountSid, MessageSid: `SM${'0'.repeat(32)}`, MessageStatus: 'delivered' };
    const signature = twilioSignature(accA.authToken, target, params);
    expect(verifyTwilioSignature(accA.authToken, signature, target, params)).toBe(true);
    expect(verifyTwilioSignature(accB.authToken, signature, target, params)).toBe(false);
    expect(verifyTwilioSignature(accA.authToken, signature, target, { ...params, MessageStatus: 'failed' })).toBe(false);
    expect(verifyTwilioSignature(accA.authToken, signature, 'http://localhost:3000/api/webhooks/sms?attempt=2', params)).toBe(false);
    expect(verifyTwilioSignature(accA.authToken, undefined, target, params)).toBe(false);
    expect(verifyTwilioSignature(accA.authToken, [signature, signature], target, params)).toBe(false);
  });
});

describe('disconnect', () => {
  it('forgets the account (204, audited): status, lookups and transport all fall back', async () => {
    const res = await call('DELETE', url, a);
    expect(res.statusCode).toBe(204);
    expect((await call('GET', url, a)).json()).toEqual({ connected: false, accountSid: null, friendlyName: null, connectedAt: null });
    expect(await findTwilioAccount(t.db, accA.accountSid, t.config)).toBeNull();
    expect((await transport(a.organizationId)).kind).toBe('outbox');
    const audit = (await call('GET', '/api/audit-log?resourceType=integration', a)).json().data;
    expect(audit[0]).toMatchObject({ action: 'twilio.disconnected', changes: { accountSid: accA.accountSid } });
    expect((await call('DELETE', url, a)).statusCode).toBe(404);
    // B is untouched, and the freed account may now be connected elsewhere.
    expect((await call('GET', url, b)).json()).toMatchObject({ connected: true, accountSid: accB.accountSid });
    expect((await connect(c, accA)).json()).toMatchObject({ connected: true, accountSid: accA.accountSid });
  });
});
