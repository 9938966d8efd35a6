/**
 * The seed's isolation scenarios: two organizations with users, customers and campaigns. Each
 * sees only its own; every cross-organization read, update and delete is a 404 and leaves the
 * row as it was; created rows carry the creator's organization whatever the body says.
 * Campaign and dashboard cases run for the routes the server has (read from app.routeTable).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteRecord } from '../src/http/access.js';
import { addMember, createApiKey, createCustomer, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';
import { fakeDns, verifiedDomain } from './sender-support.js';

let t: TestApp;
let a: Actor;
let b: Actor;
let keyA: { headers: Record<string, string> };
let keyB: { headers: Record<string, string> };
let memberA: Actor;
const customersOf: Record<'a' | 'b', any[]> = { a: [], b: [] };

const route = (method: string, url: string): RouteRecord | undefined => t.app.routeTable.find((r) => r.method === method && r.url === url);
const example = (method: string, url: string) => route(method, url)?.bodyExample as Record<string, unknown> | undefined;

/** The campaign kinds the server has, with the table each lives in. */
const CAMPAIGNS = [
  { kind: 'email', collection: '/api/email/campaigns', table: 'email_campaigns', send: '/api/email-campaigns/:id/send' },
  { kind: 'sms', collection: '/api/sms/campaigns', table: 'sms_campaigns', send: '/api/sms-campaigns/:id/send' },
] as const;
type CampaignKind = (typeof CAMPAIGNS)[number];
const campaignsOf: Record<string, Record<'a' | 'b', any[]>> = {};
const present = (c: CampaignKind) => Boolean(route('POST', c.collection) && route('GET', `${c.collection}/:id`));

/** The stored row as text, read as the database owner: any change to it shows. */
async function rowText(table: string, organizationId: string, id: string) {
  const rows = await t.db.owner.query<{ r: string }>(`SELECT t::text AS r FROM "${table}" t WHERE organization_id = $1 AND id = $2`, [organizationId, id]);
  return rows[0]?.r ?? null;
}
async function storedOrganization(table: string, id: string) {
  const rows = await t.db.owner.query<{ o: string }>(`SELECT organization_id::text AS o FROM "${table}" WHERE id = $1`, [id]);
  return rows.map((r) => r.o);
}
async function tableFingerprint(table: string, organizationId: string) {
  const [r] = await t.db.owner.query<{ h: string | null }>(`SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) AS h FROM "${table}" t WHERE organization_id = $1`, [organizationId]);
  return r.h;
}
const ids = (page: any) => page.data.map((x: any) => x.id).sort();
const sorted = (xs: any[]) => xs.map((x) => x.id).sort();

/** Reads, updates (PUT and PATCH) and deletes the other organization's row: each a 404, the row untouched. */
async function attackRow(opts: { collection: string; table: string; victim: Actor; row: any; attackers: Record<string, Record<string, string>> }) {
  const { collection, table, victim, row } = opts;
  const url = `${collection}/${row.id}`;
  const before = await rowText(table, victim.organizationId, row.id);
  const asOwner = (await t.app.inject({ url, headers: victim.headers })).json();
  expect(before).not.toBeNull();
  const failures: string[] = [];
  for (const [who, headers] of Object.entries(opts.attackers)) {
    const attempts: [string, unknown][] = [['GET', undefined]];
    if (route('PUT', `${collection}/:id`)) attempts.push(['PUT', example('PUT', `${collection}/:id`)]);
    if (route('PATCH', `${collection}/:id`)) attempts.push(['PATCH', example('PATCH', `${collection}/:id`)]);
    if (route('DELETE', `${collection}/:id`)) attempts.push(['DELETE', undefined]);
    for (const [method, payload] of attempts) {
      const res = await t.app.inject({ method: method as any, url, headers, ...(payload !== undefined && { payload: payload as any }) });
      if (res.statusCode !== 404 || res.json().error !== 'Not found') failures.push(`${method} ${url} as ${who}: ${res.statusCode} ${res.body.slice(0, 160)}`);
    }
  }
  expect(failures).toEqual([]);
  expect(await rowText(table, victim.organizationId, row.id)).toBe(before);
  const after = await t.app.inject({ url, headers: victim.headers });
  expect(after.statusCode).toBe(200);
  expect(after.json()).toEqual(asOwner);
}

beforeAll(async () => {
  const dns = fakeDns();
  t = await createTestApp({ dns: dns.resolver });
  a = await signUpWithOrg(t.app, 'iso-a');
  b = await signUpWithOrg(t.app, 'iso-b');
  // Each organization proves the domain of the example campaign's From (its own TXT token, its own key).
  for (const actor of [a, b]) await verifiedDomain(t.app, actor.headers, dns, 'acme.example');
  keyA = await createApiKey(t.app, a, 'admin');
  keyB = await createApiKey(t.app, b, 'admin');
  memberA = await addMember(t.app, a, 'member');

  customersOf.a.push(await createCustomer(t.app, a.headers, { email: 'alice@a.example', firstName: 'Alice', tags: ['vip'], emailOptIn: true }));
  customersOf.a.push(await createCustomer(t.app, keyA.headers, { email: 'shared@example.com', firstName: 'Shared-A', tags: ['vip'], smsOptIn: true, phone: '+15550000001' }));
  customersOf.a.push(await createCustomer(t.app, memberA.headers, { phone: '+15550000002', firstName: 'Phone-only A' }));
  customersOf.b.push(await createCustomer(t.app, b.headers, { email: 'bob@b.example', firstName: 'Bob', tags: ['vip'], emailOptIn: true, smsOptIn: true, phone: '+15550000003' }));
  customersOf.b.push(await createCustomer(t.app, keyB.headers, { email: 'SHARED@example.com', firstName: 'Shared-B', tags: ['vip'], emailOptIn: true }));
  for (let i = 0; i < 3; i++) customersOf.b.push(await createCustomer(t.app, b.headers, { email: `b${i}@b.example`, tags: ['vip', 'bulk'], emailOptIn: true }));

  for (const c of CAMPAIGNS) {
    if (!present(c)) continue;
    const body = example('POST', c.collection)!;
    campaignsOf[c.kind] = { a: [], b: [] };
    for (const [side, actor, n] of [['a', a, 1], ['b', b, 3]] as const) {
      for (let i = 0; i < n; i++) {
        const res = await t.app.inject({ method: 'POST', url: c.collection, headers: actor.headers, payload: { ...body, name: `${c.kind} ${side} ${i}` } });
        expect(res.statusCode, res.body).toBe(201);
        campaignsOf[c.kind][side].push(res.json());
      }
    }
  }
});
afterAll(() => t?.close());

describe('each organization sees only its own customers', () => {
  it('lists', async () => {
    for (const [side, actor, key] of [['a', a, keyA], ['b', b, keyB]] as const) {
      for (const headers of [actor.headers, key.headers]) {
        const res = await t.app.inject({ url: '/api/customers?limit=200', headers });
        expect(res.statusCode).toBe(200);
        expect(ids(res.json())).toEqual(sorted(customersOf[side]));
      }
    }
  });

  it('paginated lists never spill into the other organization', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await t.app.inject({ url: `/api/customers?limit=1${cursor ? `&cursor=${cursor}` : ''}`, headers: a.headers });
      expect(res.statusCode).toBe(200);
      seen.push(...res.json().data.map((c: any) => c.id));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual(sorted(customersOf.a));
  });

  it('filters (tag, emailOptIn, smsOptIn) and search by the other organization’s email are empty of foreign rows', async () => {
    const vipA = (await t.app.inject({ url: '/api/customers?tag=vip', headers: a.headers })).json();
    expect(ids(vipA)).toEqual(sorted(customersOf.a.filter((c) => c.tags.includes('vip'))));
    const bulk = (await t.app.inject({ url: '/api/customers?tag=bulk', headers: a.headers })).json();
    expect(bulk.data).toEqual([]);
    const optIn = (await t.app.inject({ url: '/api/customers?emailOptIn=true', headers: keyA.headers })).json();
    expect(ids(optIn)).toEqual(sorted(customersOf.a.filter((c) => c.emailOptIn)));
    const sms = (await t.app.inject({ url: '/api/customers?smsOptIn=true', headers: a.headers })).json();
    expect(ids(sms)).toEqual(sorted(customersOf.a.filter((c) => c.smsOptIn)));
    for (const q of ['bob@b.example', 'b.example', 'Bob', '+15550000003', 'b0@']) {
      for (const headers of [a.headers, keyA.headers]) {
        const res = await t.app.inject({ url: `/api/customers?q=${encodeURIComponent(q)}`, headers });
        expect(res.statusCode).toBe(200);
        expect(res.json().data, `q=${q}`).toEqual([]);
      }
    }
    // The shared address finds only the caller's own customer.
    const shared = (await t.app.inject({ url: '/api/customers?q=shared%40example.com', headers: b.headers })).json();
    expect(ids(shared)).toEqual([customersOf.b[1].id]);
  });

  it('the same email in both organizations is two customers, each its own', async () => {
    const [sa, sb] = [customersOf.a[1], customersOf.b[1]];
    expect(sa.id).not.toBe(sb.id);
    expect(await storedOrganization('customers', sa.id)).toEqual([a.organizationId]);
    expect(await storedOrganization('customers', sb.id)).toEqual([b.organizationId]);
    expect((await t.app.inject({ url: `/api/customers/${sa.id}`, headers: a.headers })).json().firstName).toBe('Shared-A');
    expect((await t.app.inject({ url: `/api/customers/${sb.id}`, headers: b.headers })).json().firstName).toBe('Shared-B');
  });
});

describe('cross-organization reads, updates and deletes are 404 and change nothing', () => {
  it('customers: every one of B’s, by A’s owner, member and API key (and the reverse)', async () => {
    for (const row of customersOf.b) {
      await attackRow({ collection: '/api/customers', table: 'customers', victim: b, row, attackers: { "A's owner": a.headers, "A's member": memberA.headers, "A's API key": keyA.headers } });
    }
    for (const row of customersOf.a) {
      await attackRow({ collection: '/api/customers', table: 'customers', victim: a, row, attackers: { "B's owner": b.headers, "B's API key": keyB.headers } });
    }
  });

  for (const c of CAMPAIGNS) {
    it(`${c.kind} campaigns (when the server has them): lists and every cross-organization read, update and delete`, async () => {
      if (!present(c)) return; // The route does not exist yet; the route matrix covers it the day it does.
      const own = campaignsOf[c.kind];
      for (const [side, actor, key] of [['a', a, keyA], ['b', b, keyB]] as const) {
        for (const headers of [actor.headers, key.headers]) {
          const list = await t.app.inject({ url: `${c.collection}?limit=200`, headers });
          expect(list.statusCode).toBe(200);
          expect(ids(list.json())).toEqual(sorted(own[side]));
        }
      }
      for (const row of own.b) {
        await attackRow({ collection: c.collection, table: c.table, victim: b, row, attackers: { "A's owner": a.headers, "A's member": memberA.headers, "A's API key": keyA.headers } });
      }
      for (const row of own.a) {
        await attackRow({ collection: c.collection, table: c.table, victim: a, row, attackers: { "B's owner": b.headers, "B's API key": keyB.headers } });
      }
    });

    it(`${c.kind} campaigns: a foreign campaign that is sent is still a 404, not a 409 (existence is not revealed)`, async () => {
      if (!present(c)) return;
      const victim = campaignsOf[c.kind].b[2];
      await t.db.owner.query(`UPDATE "${c.table}" SET status = 'sent', sent_at = now() WHERE organization_id = $1 AND id = $2`, [b.organizationId, victim.id]);
      await attackRow({ collection: c.collection, table: c.table, victim: b, row: { id: victim.id }, attackers: { "A's owner": a.headers, "A's API key": keyA.headers } });
      if (route('POST', c.send)) {
        const draft = campaignsOf[c.kind].b[0];
        const before = await rowText(c.table, b.organizationId, draft.id);
        for (const headers of [a.headers, keyA.headers]) {
          const res = await t.app.inject({ method: 'POST', url: c.send.replace(':id', draft.id), headers, ...(route('POST', c.send)!.hasBody && { payload: example('POST', c.send) as any }) });
          expect(res.statusCode).toBe(404);
        }
        expect(await rowText(c.table, b.organizationId, draft.id)).toBe(before);
      }
    });
  }
});

describe('created rows carry the creator’s organization', () => {
  it('organizationId in a body is rejected (400, strict bodies) and nothing is written', async () => {
    const before = await tableFingerprint('customers', b.organizationId);
    const beforeA = await tableFingerprint('customers', a.organizationId);
    for (const extra of [{ organizationId: b.organizationId }, { organization_id: b.organizationId }, { id: customersOf.b[0].id }]) {
      for (const headers of [a.headers, keyA.headers]) {
        const res = await t.app.inject({ method: 'POST', url: '/api/customers', headers, payload: { email: 'smuggle@example.com', ...extra } });
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({ error: 'Validation failed', code: 'validation_failed' });
      }
      const patch = await t.app.inject({ method: 'PATCH', url: `/api/customers/${customersOf.a[0].id}`, headers: a.headers, payload: { firstName: 'X', ...extra } });
      expect(patch.statusCode).toBe(400);
    }
    expect(await tableFingerprint('customers', b.organizationId)).toBe(before);
    expect(await tableFingerprint('customers', a.organizationId)).toBe(beforeA);
  });

  it('a created customer is stored in the creator’s organization, by session and by key', async () => {
    const bySession = await createCustomer(t.app, a.headers, { email: 'made-by-session@example.com' });
    const byKey = await createCustomer(t.app, keyA.headers, { email: 'made-by-key@example.com' });
    const byMember = await createCustomer(t.app, memberA.headers, { email: 'made-by-member@example.com' });
    for (const c of [bySession, byKey, byMember]) expect(await storedOrganization('customers', c.id)).toEqual([a.organizationId]);
    customersOf.a.push(bySession, byKey, byMember);
    // The audit entries are A's too.
    const audit = await t.db.owner.query<{ o: string }>(`SELECT DISTINCT organization_id::text AS o FROM audit_log WHERE resource_id = ANY($1::uuid[])`, [[bySession.id, byKey.id, byMember.id]]);
    expect(audit.map((r) => r.o)).toEqual([a.organizationId]);
  });

  for (const c of CAMPAIGNS) {
    it(`a created ${c.kind} campaign is stored in the creator’s organization; organizationId in its body → 400`, async () => {
      if (!present(c)) return;
      const body = example('POST', c.collection)!;
      const smuggled = await t.app.inject({ method: 'POST', url: c.collection, headers: keyA.headers, payload: { ...body, organizationId: b.organizationId } });
      expect(smuggled.statusCode).toBe(400);
      const res = await t.app.inject({ method: 'POST', url: c.collection, headers: keyA.headers, payload: { ...body, name: `${c.kind} by key` } });
      expect(res.statusCode).toBe(201);
      expect(await storedOrganization(c.table, res.json().id)).toEqual([a.organizationId]);
      campaignsOf[c.kind].a.push(res.json());
    });
  }
});

describe('dashboard stats (when the server has them) never count the other organization’s data', () => {
  it('match the organization’s own rows, even when B has messages and calls', async () => {
    if (!route('GET', '/api/dashboard/stats')) return;
    // Give B messages and calls straight in the database, so there is something to leak.
    const bc = customersOf.b[0];
    const emailCampaign = campaignsOf.email?.b[0];
    const smsCampaign = campaignsOf.sms?.b[0];
    if (emailCampaign) {
      await t.db.owner.query(`INSERT INTO email_messages (organization_id, campaign_id, customer_id, to_email, status) VALUES ($1, $2, $3, 'bob@b.example', 'delivered')`, [b.organizationId, emailCampaign.id, bc.id]);
    }
    if (smsCampaign) {
      await t.db.owner.query(`INSERT INTO sms_messages (organization_id, campaign_id, customer_id, to_phone, body, status) VALUES ($1, $2, $3, '+15550000003', 'hi', 'sent')`, [b.organizationId, smsCampaign.id, bc.id]);
    }
    await t.db.owner.query(`INSERT INTO calls (organization_id, direction, from_number, to_number, status) VALUES ($1, 'outbound', '+15550000009', '+15550000003', 'completed')`, [b.organizationId]);

    const count = async (table: string, org: string, where = 'true') =>
      Number((await t.db.owner.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${table}" WHERE organization_id = $1 AND ${where}`, [org]))[0].n);
    for (const [actor, key] of [[a, keyA], [b, keyB]] as const) {
      const org = actor.organizationId;
      for (const headers of [actor.headers, key.headers]) {
        const res = await t.app.inject({ url: '/api/dashboard/stats', headers });
        expect(res.statusCode).toBe(200);
        const s = res.json();
        expect(s.customers).toEqual({ total: await count('customers', org), emailOptIn: await count('customers', org, 'email_opt_in'), smsOptIn: await count('customers', org, 'sms_opt_in') });
        expect(s.emailCampaigns.total).toBe(await count('email_campaigns', org));
        expect(s.smsCampaigns.total).toBe(await count('sms_campaigns', org));
        if (s.messages?.email) expect(s.messages.email.total).toBe(await count('email_messages', org));
        if (s.messages?.sms) expect(s.messages.sms.total).toBe(await count('sms_messages', org));
        if (s.calls) expect(s.calls.total).toBe(await count('calls', org));
      }
    }
    // And the two organizations really differ, so equal numbers could not be a coincidence.
    const sa = (await t.app.inject({ url: '/api/dashboard/stats', headers: a.headers })).json();
    const sb = (await t.app.inject({ url: '/api/dashboard/stats', headers: b.headers })).json();
    expect(sa.customers.total).not.toBe(sb.customers.total);
    expect(sa.calls.total).toBe(0);
    expect(sb.calls.total).toBe(1);
  });
});

describe('switching organizations', () => {
  it('to one the user is not a member of → 404, and the session stays on its organization', async () => {
    for (const target of [b.organizationId, crypto.randomUUID()]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/organizations/current/switch', headers: a.headers, payload: { organizationId: target } });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ error: 'Not found', code: 'not_found' });
    }
    const session = (await t.app.inject({ url: '/api/auth/session', headers: a.headers })).json();
    expect(session.activeOrganizationId).toBe(a.organizationId);
    expect(session.role).toBe('owner');
    expect(session.organizations.map((o: any) => o.id)).toEqual([a.organizationId]);
    const list = (await t.app.inject({ url: '/api/customers?limit=200', headers: a.headers })).json();
    expect(ids(list)).toEqual(sorted(customersOf.a));
    const [row] = await t.db.owner.query<{ o: string }>(`SELECT active_organization_id::text AS o FROM sessions WHERE user_id = $1`, [a.userId]);
    expect(row.o).toBe(a.organizationId);
  });

  it('an API key cannot switch organizations, and never sees B even with B’s ids', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/organizations/current/switch', headers: keyA.headers, payload: { organizationId: b.organizationId } });
    expect(res.statusCode).toBe(403);
    const current = (await t.app.inject({ url: '/api/organizations/current', headers: keyA.headers })).json();
    expect(current.id).toBe(a.organizationId);
    expect(current.usage.customers).toBe(customersOf.a.length);
    const members = (await t.app.inject({ url: '/api/organizations/current/members', headers: keyA.headers })).json();
    expect(members.data.map((m: any) => m.userId).sort()).toEqual([a.userId, memberA.userId].sort());
    const audit = (await t.app.inject({ url: '/api/audit-log?limit=200', headers: keyA.headers })).json();
    const foreign = new Set([...customersOf.b.map((c) => c.id), b.organizationId, b.userId]);
    expect(audit.data.filter((e: any) => foreign.has(e.resourceId) || foreign.has(e.actorId))).toEqual([]);
    const byId = await t.app.inject({ url: `/api/audit-log?resourceId=${customersOf.b[0].id}`, headers: keyA.headers });
    expect(byId.json().data).toEqual([]);
  });
});

describe('CSV import', () => {
  it('addresses that exist in B become new customers of A; B’s rows are untouched', async () => {
    const before = await tableFingerprint('customers', b.organizationId);
    const csv = ['email,firstName,tags', 'bob@b.example,Imported Bob,imported', 'B0@B.EXAMPLE,Imported B0,imported', 'b1@b.example,,imported'].join('\n');
    const res = await t.app.inject({ method: 'POST', url: '/api/customers/import', headers: { ...keyA.headers, 'content-type': 'text/csv' }, payload: csv });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ created: 3, updated: 0, rejected: [] });
    expect(await tableFingerprint('customers', b.organizationId)).toBe(before);
    const imported = (await t.app.inject({ url: '/api/customers?tag=imported', headers: a.headers })).json();
    expect(imported.data.map((c: any) => c.email.toLowerCase()).sort()).toEqual(['b0@b.example', 'b1@b.example', 'bob@b.example']);
    for (const c of imported.data) {
      expect(customersOf.b.map((x) => x.id)).not.toContain(c.id);
      expect(await storedOrganization('customers', c.id)).toEqual([a.organizationId]);
    }
    const bob = (await t.app.inject({ url: `/api/customers/${customersOf.b[0].id}`, headers: b.headers })).json();
    expect(bob).toEqual(customersOf.b[0]);
  });
});
