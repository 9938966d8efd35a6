// The call center over HTTP: logged calls linked to customers by number, filters, detail, notes, agents' phones, two organizations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, createApiKey, createCustomer, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
let a: Actor;
let b: Actor;

beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'calls-a');
  b = await signUpWithOrg(t.app, 'calls-b');
});
afterAll(() => t?.close());

const url = '/api/call-center/calls';
const log = (over: Record<string, unknown> = {}) => ({ mode: 'log', direction: 'inbound', from: '+14155550123', to: '+14155550100', ...over });

async function logCall(actor: { headers: Record<string, string> }, body: Record<string, unknown>) {
  const res = await t.app.inject({ method: 'POST', url, headers: actor.headers, payload: body });
  if (res.statusCode !== 201) throw new Error(`log call failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

describe('logged calls', () => {
  it('logs a call linked to the customer with that number in the same organization only', async () => {
    const ca = await createCustomer(t.app, a.headers, { phone: '+1 (415) 555-0177', firstName: 'Ada' });
    const cb = await createCustomer(t.app, b.headers, { phone: '+14155550177', firstName: 'Bea' });
    const call = await logCall(a, log({ from: '+1 415 555 0177', durationSeconds: 95, notes: 'Wants a refund', disposition: 'callback', startedAt: '2026-03-02T10:00:00Z' }));
    expect(call).toMatchObject({
      direction: 'inbound',
      from: '+14155550177',
      to: '+14155550100',
      status: 'completed',
      customerId: ca.id,
      agentUserId: a.userId,
      durationSeconds: 95,
      notes: 'Wants a refund',
      disposition: 'callback',
      startedAt: '2026-03-02T10:00:00.000Z',
      endedAt: '2026-03-02T10:01:35.000Z',
      providerCallId: null,
    });
    const inB = await logCall(b, log({ from: '+14155550177' }));
    expect(inB.customerId).toBe(cb.id);
    // Outbound: the customer is the called party.
    expect((await logCall(a, log({ direction: 'outbound', from: '+14155550100', to: '+14155550177' }))).customerId).toBe(ca.id);
    // Nobody with that number: no customer.
    expect((await logCall(a, log({ from: '+14155550999' }))).customerId).toBeNull();
  });

  it('validates numbers (E.164 through libphonenumber), members and customers', async () => {
    const bad = await t.app.inject({ method: 'POST', url, headers: a.headers, payload: log({ from: '12' }) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details[0].path).toBe('from');
    const notMember = await t.app.inject({ method: 'POST', url, headers: a.headers, payload: log({ agentUserId: b.userId }) });
    expect(notMember.json()).toMatchObject({ code: 'validation_failed', details: [{ path: 'agentUserId' }] });
    const cb = await createCustomer(t.app, b.headers, { phone: '+14155550178' });
    const otherCustomer = await t.app.inject({ method: 'POST', url, headers: a.headers, payload: log({ customerId: cb.id }) });
    expect(otherCustomer.json()).toMatchObject({ code: 'validation_failed', details: [{ path: 'customerId' }] });
    const unknownMode = await t.app.inject({ method: 'POST', url, headers: a.headers, payload: { ...log(), mode: 'fax' } });
    expect(unknownMode.statusCode).toBe(400);
  });

  it('lists calls newest first with filters (direction, status, agent, customer, dates) and keyset pages', async () => {
    const org = await signUpWithOrg(t.app, 'calls-filters');
    const agent = await addMember(t.app, org, 'member', 'calls-agent');
    const customer = await createCustomer(t.app, org.headers, { phone: '+14155550160' });
    const c1 = await logCall(org, log({ startedAt: '2026-01-10T09:00:00Z', status: 'no-answer' }));
    const c2 = await logCall(agent, log({ direction: 'outbound', from: '+14155550100', to: '+14155550160', startedAt: '2026-02-10T09:00:00Z' }));
    const c3 = await logCall(org, log({ from: '+14155550160', startedAt: '2026-03-10T09:00:00Z', agentUserId: agent.userId }));
    const ids = async (q: string) => (await t.app.inject({ url: `${url}?${q}`, headers: org.headers })).json().data.map((c: any) => c.id);
    expect(await ids('')).toEqual([c3.id, c2.id, c1.id]);
    expect(await ids('direction=outbound')).toEqual([c2.id]);
    expect(await ids('status=no-answer')).toEqual([c1.id]);
    expect(await ids(`agentUserId=${agent.userId}`)).toEqual([c3.id, c2.id]);
    expect(await ids(`customerId=${customer.id}`)).toEqual([c3.id, c2.id]);
    expect(await ids('from=2026-02-01&to=2026-03-01')).toEqual([c2.id]);
    expect(await ids('from=2026-03-10T09:00:00Z')).toEqual([c3.id]);
    const page1 = (await t.app.inject({ url: `${url}?limit=2`, headers: org.headers })).json();
    expect(page1.data).toHaveLength(2);
    const page2 = (await t.app.inject({ url: `${url}?limit=2&cursor=${page1.nextCursor}`, headers: org.headers })).json();
    expect(page2).toMatchObject({ data: [{ id: c1.id }], nextCursor: null });
    expect((await t.app.inject({ url: `${url}?status=lost`, headers: org.headers })).statusCode).toBe(400);
  });

  it('shows the detail with its steps, and takes notes and a disposition (audited)', async () => {
    const call = await logCall(a, log());
    const detail = (await t.app.inject({ url: `${url}/${call.id}`, headers: a.headers })).json();
    expect(detail).toMatchObject({ id: call.id, steps: [], recordingUrl: null });
    const res = await t.app.inject({ method: 'PATCH', url: `${url}/${call.id}`, headers: a.headers, payload: { notes: 'Refund issued', disposition: 'resolved' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ notes: 'Refund issued', disposition: 'resolved', steps: [] });
    const cleared = await t.app.inject({ method: 'PATCH', url: `${url}/${call.id}`, headers: a.headers, payload: { disposition: null } });
    expect(cleared.json()).toMatchObject({ notes: 'Refund issued', disposition: null });
    const audit = (await t.app.inject({ url: `/api/audit-log?resourceType=call&resourceId=${call.id}`, headers: a.headers })).json();
    expect(audit.data.map((e: any) => e.action)).toEqual(['call.updated', 'call.updated', 'call.logged']);
  });

  it("A's call is 404 for B (read and edit), and B's attempt changes nothing", async () => {
    const call = await logCall(a, log({ notes: 'A only' }));
    expect((await t.app.inject({ url: `${url}/${call.id}`, headers: b.headers })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'PATCH', url: `${url}/${call.id}`, headers: b.headers, payload: { notes: 'B was here' } })).statusCode).toBe(404);
    expect((await t.app.inject({ url, headers: b.headers })).json().data.find((c: any) => c.id === call.id)).toBeUndefined();
    expect((await t.app.inject({ url: `${url}/${call.id}`, headers: a.headers })).json().notes).toBe('A only');
  });
});

describe("agents' phones", () => {
  it('a member sets their own phone, an admin anyone\'s; another member\'s is refused; B cannot touch A\'s members', async () => {
    const member = await addMember(t.app, a, 'member', 'calls-phone');
    const other = await addMember(t.app, a, 'member', 'calls-phone2');
    const own = await t.app.inject({ method: 'PUT', url: `/api/call-center/agents/${member.userId}`, headers: member.headers, payload: { phoneNumber: '+1 415 555 0142' } });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ userId: member.userId, phoneNumber: '+14155550142' });
    const notMine = await t.app.inject({ method: 'PUT', url: `/api/call-center/agents/${other.userId}`, headers: member.headers, payload: { phoneNumber: '+14155550143' } });
    expect(notMine.statusCode).toBe(403);
    const byAdmin = await t.app.inject({ method: 'PUT', url: `/api/call-center/agents/${other.userId}`, headers: (await createApiKey(t.app, a, 'admin')).headers, payload: { phoneNumber: '+14155550143' } });
    expect(byAdmin.statusCode).toBe(200);
    const list = (await t.app.inject({ url: '/api/call-center/agents', headers: a.headers })).json();
    expect(list.data.map((x: any) => x.phoneNumber).sort()).toEqual(['+14155550142', '+14155550143']);
    const paged = (await t.app.inject({ url: '/api/call-center/agents?limit=1', headers: a.headers })).json();
    const next = (await t.app.inject({ url: `/api/call-center/agents?limit=1&cursor=${paged.nextCursor}`, headers: a.headers })).json();
    expect([...paged.data, ...next.data].map((x: any) => x.userId).sort()).toEqual([member.userId, other.userId].sort());
    expect(next.nextCursor).toBeNull();

    expect((await t.app.inject({ method: 'PUT', url: `/api/call-center/agents/${member.userId}`, headers: b.headers, payload: { phoneNumber: '+14155550144' } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/call-center/agents/${member.userId}`, headers: b.headers })).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/api/call-center/agents', headers: b.headers })).json().data).toEqual([]);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/call-center/agents/${member.userId}`, headers: member.headers })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/call-center/agents/${member.userId}`, headers: member.headers })).statusCode).toBe(404);
  });
});
