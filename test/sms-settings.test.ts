import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, createCustomer, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
let a: Actor;
let b: Actor;
let memberA: Actor;

beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'sms-set-a');
  b = await signUpWithOrg(t.app, 'sms-set-b');
  memberA = await addMember(t.app, a, 'member');
});
afterAll(() => t?.close());

const settings = '/api/sms/settings';
const put = (actor: Actor, payload: unknown) => t.app.inject({ method: 'PUT', url: settings, headers: actor.headers, payload: payload as any });

describe('SMS settings', () => {
  it('starts from defaults, is replaced by an admin (audited), and stays the organization\'s own', async () => {
    expect((await t.app.inject({ url: settings, headers: a.headers })).json()).toEqual({ helpText: null, quietHours: null, timezone: 'UTC', defaultFromNumber: null, updatedAt: null });
    const body = { helpText: 'Acme: reply STOP to opt out.', quietHours: { start: '21:00', end: '08:00' }, timezone: 'America/New_York', defaultFromNumber: '+1 415 555 2671' };
    const res = await put(a, body);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ...body, defaultFromNumber: '+14155552671' });
    expect((await t.app.inject({ url: settings, headers: memberA.headers })).json()).toMatchObject({ timezone: 'America/New_York', quietHours: { start: '21:00', end: '08:00' } });
    // B still has the defaults.
    expect((await t.app.inject({ url: settings, headers: b.headers })).json()).toMatchObject({ helpText: null, quietHours: null, timezone: 'UTC' });
    const audit = (await t.app.inject({ url: '/api/audit-log?resourceType=sms_settings', headers: a.headers })).json();
    expect(audit.data[0]).toMatchObject({ action: 'sms_settings.updated', changes: { timezone: 'America/New_York' } });
    expect((await t.app.inject({ url: '/api/audit-log?resourceType=sms_settings', headers: b.headers })).json().data).toEqual([]);
    // PUT replaces: omitted fields reset.
    expect((await put(a, { timezone: 'Europe/Paris' })).json()).toMatchObject({ helpText: null, quietHours: null, timezone: 'Europe/Paris', defaultFromNumber: null });
  });

  it('refuses members, unknown timezones, malformed times, empty windows and invalid numbers', async () => {
    expect((await put(memberA, { timezone: 'UTC' })).statusCode).toBe(403);
    const bad = async (payload: unknown, path: string) => {
      const res = await put(a, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().details.map((d: any) => d.path).join(' ')).toContain(path);
    };
    await bad({ timezone: 'Mars/Olympus_Mons' }, 'timezone');
    await bad({ quietHours: { start: '9:00', end: '17:00' } }, 'quietHours');
    await bad({ quietHours: { start: '24:00', end: '07:00' } }, 'quietHours');
    await bad({ quietHours: { start: '08:00', end: '08:00' } }, 'quietHours');
    await bad({ defaultFromNumber: '+1 555 0100' }, 'defaultFromNumber');
    await bad({ organizationId: b.organizationId }, '');
    expect((await t.app.inject({ url: settings, headers: a.headers })).json().timezone).toBe('Europe/Paris');
  });
});

describe('SMS preview', () => {
  it('renders Liquid with the customer\'s fields and counts segments and encoding', async () => {
    const c = await createCustomer(t.app, a.headers, { email: 'grace@example.test', phone: '+14155552671', firstName: 'Grace', lastName: 'Hopper', attributes: { plan: 'gold' } });
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sms/preview',
      headers: a.headers,
      payload: { body: 'Hi {{ customer.firstName }} {{ customer.lastName }} ({{ customer.attributes.plan }}, {{ customer.phone }}) - reply STOP to opt out', customerId: c.id },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ body: 'Hi Grace Hopper (gold, +14155552671) - reply STOP to opt out', customerId: c.id, segments: 1, encoding: 'GSM-7', characters: 60 });
    // Without a customer: a sample one.
    const sample = (await t.app.inject({ method: 'POST', url: '/api/sms/preview', headers: a.headers, payload: { body: 'Hi {{ customer.firstName }}' } })).json();
    expect(sample).toMatchObject({ body: 'Hi Ada', customerId: null });
    // One emoji makes it UCS-2 (70 characters a segment, 67 once split).
    const emoji = (await t.app.inject({ method: 'POST', url: '/api/sms/preview', headers: a.headers, payload: { body: `Sale 🎉 ${'x'.repeat(70)}` } })).json();
    expect(emoji).toMatchObject({ encoding: 'UCS-2', segments: 2, characters: 77 });
    const long = (await t.app.inject({ method: 'POST', url: '/api/sms/preview', headers: a.headers, payload: { body: 'x'.repeat(161) } })).json();
    expect(long).toMatchObject({ encoding: 'GSM-7', segments: 2 });
  });

  it('answers 400 with a clear message for a template error, and 404 for another organization\'s customer', async () => {
    const broken = await t.app.inject({ method: 'POST', url: '/api/sms/preview', headers: a.headers, payload: { body: 'Hi {{ customer.firstName ' } });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error).toMatch(/not a valid Liquid template/);
    const filter = await t.app.inject({ method: 'POST', url: '/api/sms/preview', headers: a.headers, payload: { body: '{{ "x" | nosuchfilter }}' } });
    expect(filter.statusCode).toBe(400);
    const cb = await createCustomer(t.app, b.headers, { phone: '+14155552672', firstName: 'Bea' });
    const other = await t.app.inject({ method: 'POST', url: '/api/sms/preview', headers: a.headers, payload: { body: 'Hi {{ customer.firstName }}', customerId: cb.id } });
    expect(other.statusCode).toBe(404);
  });

  it('previews a saved campaign; the campaign shows its segments and encoding; A\'s campaign is 404 for B', async () => {
    const camp = (await t.app.inject({ method: 'POST', url: '/api/sms/campaigns', headers: a.headers, payload: { name: 'Promo', body: 'Hey {{ customer.firstName }}, 20% off — today only' } })).json();
    expect(camp).toMatchObject({ segments: 1, encoding: 'UCS-2' }); // the em dash is not GSM-7
    const p = await t.app.inject({ method: 'POST', url: `/api/sms/campaigns/${camp.id}/preview`, headers: a.headers, payload: {} });
    expect(p.statusCode).toBe(200);
    expect(p.json()).toMatchObject({ body: 'Hey Ada, 20% off — today only', encoding: 'UCS-2', segments: 1 });
    expect((await t.app.inject({ method: 'POST', url: `/api/sms/campaigns/${camp.id}/preview`, headers: b.headers, payload: {} })).statusCode).toBe(404);
    expect((await t.app.inject({ url: `/api/sms/campaigns/${camp.id}/analytics`, headers: b.headers })).statusCode).toBe(404);
  });
});
