// Segments (issue 13): condition trees validated on save, compiled to parameterised SQL, counted inside the
// organization's scope — a condition naming another organization's event names matches nothing of theirs.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createCustomer, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
let a: Actor;
let b: Actor;
let keyA: Record<string, string>;
let keyB: Record<string, string>;
const buy = `Order Completed ${randomUUID().slice(0, 6)}`;
const open = `Email Opened ${randomUUID().slice(0, 6)}`;
const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();

beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'seg-a');
  b = await signUpWithOrg(t.app, 'seg-b');
  keyA = (await createApiKey(t.app, a)).headers;
  keyB = (await createApiKey(t.app, b)).headers;
  // A: ann bought 3× in the last month and opened mail; bea bought once; cy bought twice but 60 days ago.
  await createCustomer(t.app, a.headers, { email: 'ann@example.com', emailOptIn: true, tags: ['vip'], attributes: { plan: 'pro', spend: 120 } });
  await createCustomer(t.app, a.headers, { email: 'bea@example.com', emailOptIn: false, attributes: { plan: 'free', spend: 15 } });
  await createCustomer(t.app, a.headers, { email: 'cy@example.com', emailOptIn: true, tags: ['churned'] });
  const ev = (email: string, event: string, d: number) => ({ type: 'track', email, event, timestamp: daysAgo(d) });
  const res = await t.app.inject({
    method: 'POST', url: '/api/analytics/events', headers: keyA,
    payload: { batch: [ev('ann@example.com', buy, 1), ev('ann@example.com', buy, 5), ev('ann@example.com', buy, 20), ev('ann@example.com', open, 2), ev('bea@example.com', buy, 3), ev('cy@example.com', buy, 60), ev('cy@example.com', buy, 61)] },
  });
  expect(res.json().rejected).toEqual([]);
  // B: the same event names, many times, for its own customer with A's address.
  await t.app.inject({ method: 'POST', url: '/api/analytics/events', headers: keyB, payload: { batch: Array.from({ length: 5 }, () => ev('bea@example.com', buy, 1)) } });
});
afterAll(() => t?.close());

const preview = (headers: Record<string, string>, condition: unknown) => t.app.inject({ method: 'POST', url: '/api/segments/preview', headers, payload: { condition } });
const emails = (res: { json(): any }) => res.json().sample.map((c: any) => c.email).sort();

describe('segments', () => {
  it('counts customers by events: at least N times in D days, and not in D days', async () => {
    const twice = await preview(a.headers, { type: 'event', event: buy, op: 'atLeast', count: 2, withinDays: 30 });
    expect(twice.statusCode, twice.body).toBe(200);
    expect(twice.json().count).toBe(1);
    expect(emails(twice)).toEqual(['ann@example.com']);
    expect(emails(await preview(a.headers, { type: 'event', event: buy, op: 'atLeast', withinDays: 30 }))).toEqual(['ann@example.com', 'bea@example.com']);
    expect(emails(await preview(a.headers, { type: 'event', event: open, op: 'none', withinDays: 90 }))).toEqual(['bea@example.com', 'cy@example.com']);
    expect(emails(await preview(a.headers, { type: 'event', event: buy, op: 'atLeast', count: 2, withinDays: 90 }))).toEqual(['ann@example.com', 'cy@example.com']);
  });

  it('combines fields, tags, attributes and consent with and/or/not', async () => {
    const cond = {
      type: 'and',
      conditions: [
        { type: 'consent', channel: 'email', optedIn: true },
        { type: 'not', condition: { type: 'tag', op: 'has', tag: 'churned' } },
        { type: 'or', conditions: [{ type: 'attribute', key: 'spend', op: 'gt', value: 100 }, { type: 'field', field: 'email', op: 'contains', value: 'bea' }] },
      ],
    };
    expect(emails(await preview(a.headers, cond))).toEqual(['ann@example.com']);
    expect(emails(await preview(a.headers, { type: 'attribute', key: 'plan', op: 'eq', value: 'free' }))).toEqual(['bea@example.com']);
    // Values are parameters: SQL in a value is only text that matches nothing.
    expect((await preview(a.headers, { type: 'field', field: 'email', op: 'eq', value: "x' or '1'='1" })).json().count).toBe(0);
    expect((await preview(a.headers, { type: 'attribute', key: 'plan', op: 'gt', value: 'pro' })).json().count).toBe(0);
  });

  it('validates the condition on save: strict nodes, depth and size limits', async () => {
    const bad = [
      { type: 'sql', where: '1=1' },
      { type: 'tag', op: 'has', tag: 'vip', extra: true },
      { type: 'event', event: buy, op: 'atLeast', withinDays: 0 },
      { type: 'attribute', key: 'a b', op: 'eq', value: 'x' },
      { type: 'and', conditions: [] },
    ];
    for (const condition of bad) {
      const res = await t.app.inject({ method: 'POST', url: '/api/segments', headers: a.headers, payload: { name: 'bad', condition } });
      expect(res.statusCode, JSON.stringify(condition)).toBe(400);
    }
    let deep: unknown = { type: 'tag', op: 'has', tag: 'vip' };
    for (let i = 0; i < 6; i++) deep = { type: 'not', condition: deep };
    expect((await preview(a.headers, deep)).statusCode).toBe(400);
    const wide = { type: 'or', conditions: Array.from({ length: 60 }, () => ({ type: 'tag', op: 'has', tag: 'x' })) };
    expect((await preview(a.headers, wide)).statusCode).toBe(400);
    // 5,000 levels (built as text: JSON.stringify would recurse): refused before anything walks it recursively.
    const abyss = `{"condition":${'{"type":"not","condition":'.repeat(5000)}{"type":"tag","op":"has","tag":"vip"}${'}'.repeat(5000)}}`;
    const res = await t.app.inject({ method: 'POST', url: '/api/segments/preview', headers: { ...a.headers, 'content-type': 'application/json' }, payload: abyss });
    expect(res.statusCode).toBe(400);
  });

  it('saves, lists, counts, replaces and deletes; another organization sees none of it', async () => {
    const cond = { type: 'event', event: buy, op: 'atLeast', withinDays: 30 };
    const made = await t.app.inject({ method: 'POST', url: '/api/segments', headers: keyA, payload: { name: 'Buyers', condition: cond } });
    expect(made.statusCode, made.body).toBe(201);
    const id = made.json().id;
    expect((await t.app.inject({ method: 'GET', url: `/api/segments/${id}/members`, headers: a.headers })).json().count).toBe(2);
    expect((await t.app.inject({ method: 'GET', url: '/api/segments', headers: a.headers })).json().data.map((s: any) => s.id)).toContain(id);
    // B: not found, not listed; B's own segment over the same event names counts only B's customer.
    for (const url of [`/api/segments/${id}`, `/api/segments/${id}/members`]) expect((await t.app.inject({ method: 'GET', url, headers: keyB })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'PUT', url: `/api/segments/${id}`, headers: keyB, payload: { name: 'x', condition: cond } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/segments/${id}`, headers: keyB })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/api/segments', headers: keyB })).json().data).toEqual([]);
    const fromB = await preview(keyB, { type: 'event', event: buy, op: 'atLeast', count: 5, withinDays: 30 });
    expect(fromB.json().count).toBe(1);
    expect(fromB.json().sample[0].email).toBe('bea@example.com');
    expect(fromB.json().sample[0].id).not.toBe((await preview(a.headers, { type: 'field', field: 'email', op: 'eq', value: 'bea@example.com' })).json().sample[0].id);
    // A's bea (one purchase) never counts B's five.
    expect((await preview(a.headers, { type: 'event', event: buy, op: 'atLeast', count: 5, withinDays: 30 })).json().count).toBe(0);
    const put = await t.app.inject({ method: 'PUT', url: `/api/segments/${id}`, headers: a.headers, payload: { name: 'Repeat buyers', condition: { ...cond, count: 2 } } });
    expect(put.json()).toMatchObject({ name: 'Repeat buyers' });
    expect((await t.app.inject({ method: 'GET', url: `/api/segments/${id}/members`, headers: a.headers })).json().count).toBe(1);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/segments/${id}`, headers: a.headers })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/api/segments/${id}`, headers: a.headers })).statusCode).toBe(404);
  });
});
