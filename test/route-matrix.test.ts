/**
 * The HTTP isolation matrix, built from the server's own route table: a route added later is
 * attacked the day it is added, with no change here.
 *
 * For every `org` route: no credential, bad/garbage/unknown/revoked keys, a user without an
 * organization and (on admin routes) member credentials are refused; for every `org` route with a
 * path parameter, every id organization B owns — read straight from every tenant table — is a 404
 * for organization A's owner, by session and by API key. B's data is fingerprinted before and after.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteRecord } from '../src/http/access.js';
import { buildServer } from '../src/http/server.js';
import { newApiKey, randomToken } from '../src/modules/auth/crypto.js';
import { addMember, createApiKey, createTestApp, signUpWithOrg, signUpWithoutOrg, testConfig, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
let a: Actor;
let b: Actor;
let keyA: { id: string; key: string; headers: Record<string, string> };
let keyB: { id: string; key: string; headers: Record<string, string> };
let memberA: Actor;
let memberKeyA: { headers: Record<string, string> };
let lonerHeaders: Record<string, string>;
/** Credentials that must never authenticate: label → headers. */
let badCredentials: [string, Record<string, string>][];
/** Every id organization B owns (API responses and every uuid column of every tenant table). */
let idsOfB: string[];
let fingerprintBefore: Record<string, string>;
let combos = 0;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MALFORMED_IDS = ['not-a-uuid', '1', '00000000-0000-0000-0000-00000000000g', "x' OR '1'='1", '%2e%2e'];

const routes = (): RouteRecord[] => t.app.routeTable;
const orgRoutes = () => routes().filter((r) => r.access === 'org');
const hasParams = (r: RouteRecord) => /:\w+|\*/.test(r.url);
const fill = (url: string, id: string) => url.replace(/:\w+/g, encodeURIComponent(id)).replace(/\*/g, encodeURIComponent(id));
const label = (r: RouteRecord) => `${r.method} ${r.url}`;

/** The body a route is called with: its schema's example. A body schema without one fails the matrix. */
function bodyFor(r: RouteRecord): unknown {
  if (!r.hasBody) return undefined;
  if (r.bodyExample === undefined) {
    throw new Error(`${label(r)} has a body schema without an example: add .meta({ example: {...} }) (a valid body) to it so the isolation matrix can call it`);
  }
  return r.bodyExample;
}

async function call(r: RouteRecord, url: string, headers: Record<string, string>) {
  const payload = bodyFor(r);
  return t.app.inject({ method: r.method as any, url, headers, ...(payload !== undefined && { payload: payload as any }) });
}

async function tenantTables(): Promise<string[]> {
  const rows = await t.db.owner.query<{ table_name: string }>(
    `SELECT c.table_name FROM information_schema.columns c
       JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
      WHERE c.table_schema = 'public' AND c.column_name = 'organization_id' AND tb.table_type = 'BASE TABLE'
      ORDER BY 1`,
  );
  return rows.map((r) => r.table_name);
}

/** md5 of every row of the organization in every tenant table, plus its organizations row. */
async function fingerprint(organizationId: string | null): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of await tenantTables()) {
    const where = organizationId ? 'WHERE organization_id = $1' : '';
    const [row] = await t.db.owner.query<{ h: string | null; n: string }>(
      `SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) AS h, count(*)::text AS n FROM "${table}" t ${where}`,
      organizationId ? [organizationId] : [],
    );
    out[table] = `${row.n}:${row.h ?? '-'}`;
  }
  const [org] = await t.db.owner.query<{ h: string }>(
    `SELECT md5(string_agg(o::text, ',' ORDER BY o::text)) AS h FROM organizations o ${organizationId ? 'WHERE id = $1' : ''}`,
    organizationId ? [organizationId] : [],
  );
  out.organizations = org.h ?? '-';
  return out;
}

/** Waits until nothing is still writing (a queued job, say) so before/after compare like with like. */
async function settledFingerprint(organizationId: string | null) {
  let prev = await fingerprint(organizationId);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const next = await fingerprint(organizationId);
    if (JSON.stringify(next) === JSON.stringify(prev)) return next;
    prev = next;
  }
  return prev;
}

/** Every uuid found in a JSON value (the ids an API response hands out). */
function uuidsIn(value: unknown, into: Set<string>) {
  if (typeof value === 'string') {
    if (UUID.test(value)) into.add(value.toLowerCase());
  } else if (Array.isArray(value)) value.forEach((v) => uuidsIn(v, into));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => uuidsIn(v, into));
}

/** Every value of every uuid column of every row organization B owns, in every tenant table. */
async function idsFromDatabase(organizationId: string, into: Set<string>) {
  const cols = await t.db.owner.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND data_type = 'uuid' AND table_name = ANY($1::text[])`,
    [await tenantTables()],
  );
  for (const { table_name, column_name } of cols) {
    const rows = await t.db.owner.query<{ v: string }>(
      `SELECT DISTINCT "${column_name}"::text AS v FROM "${table_name}" WHERE organization_id = $1 AND "${column_name}" IS NOT NULL`,
      [organizationId],
    );
    rows.forEach((r) => into.add(r.v));
  }
}

/** Resolves to null if the request takes longer than ms (a route that reaches out to a provider, say). */
const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<null>((r) => setTimeout(() => r(null), ms))]);

beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'matrix-a');
  b = await signUpWithOrg(t.app, 'matrix-b');
  keyA = await createApiKey(t.app, a, 'admin');
  keyB = await createApiKey(t.app, b, 'admin');
  memberA = await addMember(t.app, a, 'member');
  memberKeyA = await createApiKey(t.app, a, 'member');
  const revokedA = await createApiKey(t.app, a, 'admin');
  const rev = await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${revokedA.id}`, headers: a.headers });
  expect(rev.statusCode).toBe(204);
  lonerHeaders = (await signUpWithoutOrg(t.app, 'matrix-loner')).headers;

  // A session that has been signed out.
  const gone = await signUpWithOrg(t.app, 'matrix-gone');
  expect((await t.app.inject({ method: 'POST', url: '/api/auth/sign-out', headers: gone.headers })).statusCode).toBe(204);

  // sb_<22 characters of organization>_<43 characters of secret>; both parts may contain '_'.
  const orgPartOf = (key: string) => key.slice(3, 25);
  const secretOf = (key: string) => key.slice(26);
  const unknownA = newApiKey(a.organizationId).key; // right format, A's organization, a secret nobody was given
  badCredentials = [
    ['unknown key of A (valid format)', { authorization: `Bearer ${unknownA}` }],
    ['revoked key of A', revokedA.headers],
    ['key of a non-existent organization', { authorization: `Bearer ${newApiKey(randomUUID()).key}` }],
    ["A's organization with B's secret", { authorization: `Bearer sb_${orgPartOf(keyA.key)}_${secretOf(keyB.key)}` }],
    ["B's organization with A's secret", { authorization: `Bearer sb_${orgPartOf(keyB.key)}_${secretOf(keyA.key)}` }],
    ['valid key with a character appended', { authorization: `Bearer ${keyA.key}x` }],
    ['valid key truncated', { authorization: `Bearer ${keyA.key.slice(0, -1)}` }],
    ['garbage bearer', { authorization: 'Bearer garbage' }],
    ['empty bearer', { authorization: 'Bearer ' }],
    ['scheme only', { authorization: 'Bearer' }],
    ['basic auth', { authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` }],
    ['two tokens', { authorization: `Bearer ${keyA.key} ${keyA.key}` }],
    ['sb_ prefix only', { authorization: 'Bearer sb_' }],
    ['very long bearer', { authorization: `Bearer ${'A'.repeat(8000)}` }],
    ['random token', { authorization: `Bearer ${randomToken(48)}` }],
    ['garbage key beside a valid session cookie', { authorization: 'Bearer garbage', cookie: a.cookie }],
    ['garbage session cookie', { cookie: 'sb_session=garbage' }],
    ['signed-out session cookie', { cookie: gone.cookie }],
    ['oversized session cookie', { cookie: `sb_session=${'x'.repeat(500)}` }],
  ];

  // Populate B with one of everything the route table lets an organization create: every
  // collection POST of an org route, called with its own example body.
  await addMember(t.app, b, 'member');
  await createApiKey(t.app, b, 'member');
  const ids = new Set<string>();
  const creations: string[] = [];
  for (const r of orgRoutes()) {
    if (r.method !== 'POST' || hasParams(r)) continue;
    let res;
    if (r.url === '/api/customers/import') {
      res = await t.app.inject({ method: 'POST', url: r.url, headers: { ...b.headers, 'content-type': 'text/csv' }, payload: 'email,firstName\nimported-b@example.com,Imported\n' });
    } else if (r.hasBody && r.bodyExample !== undefined) {
      res = await within(t.app.inject({ method: 'POST', url: r.url, headers: b.headers, payload: r.bodyExample as any }), 10_000);
    } else continue;
    creations.push(`${label(r)} → ${res ? res.statusCode : 'timeout'}`);
    if (res && res.statusCode < 300) uuidsIn(res.json(), ids);
  }
  console.log(`populated organization B through: ${creations.join('; ')}`);

  // A social account needs a platform's OAuth consent, so B's is written directly (with a post and a
  // connection in progress): the matrix then attacks /api/social/accounts/:id and /api/social/posts/:id with real ids of B.
  const [social] = await t.db.owner.query<{ id: string }>(
    `insert into social_accounts (organization_id, platform, handle, external_id, access_token_encrypted) values ($1, 'x', '@matrix_b', 'matrix-b', 'v1.sealed') returning id`,
    [b.organizationId],
  );
  await t.db.owner.query(`insert into social_posts (organization_id, account_id, body, status) values ($1, $2, 'B draft', 'draft')`, [b.organizationId, social.id]);
  await t.db.owner.query(
    `insert into social_connections (organization_id, platform, user_id, state_hash, code_verifier_encrypted, expires_at) values ($1, 'x', $2, 'matrix-b', 'v1.sealed', now() + interval '10 minutes')`,
    [b.organizationId, b.userId],
  );

  // B's conversations come from its widget, SMS or email, not from an org route: one of each kind of row is
  // written directly, so /api/chat/conversations/:id and its messages, sidebar and assign are attacked with real ids of B.
  const [chat] = await t.db.owner.query<{ id: string }>(
    `insert into chat_conversations (organization_id, channel, contact_address, subject) values ($1, 'email', 'b-customer@example.com', 'B thread') returning id`,
    [b.organizationId],
  );
  await t.db.owner.query(`insert into chat_messages (organization_id, conversation_id, direction, author_type, body) values ($1, $2, 'inbound', 'customer', 'B secret')`, [b.organizationId, chat.id]);

  // Also everything B has that reached the database some other way.
  await idsFromDatabase(b.organizationId, ids);
  // Ids A legitimately owns are not B's (none should be shared, but never attack with them).
  const idsOfA = new Set<string>();
  await idsFromDatabase(a.organizationId, idsOfA);
  for (const id of idsOfA) ids.delete(id);
  idsOfB = [...ids];
  fingerprintBefore = await settledFingerprint(b.organizationId);
});

afterAll(async () => {
  if (combos) console.log(`route matrix: ${combos} route × attack combinations checked over ${routes().length} routes`);
  await t?.close();
});

describe('route matrix (from app.routeTable)', () => {
  it('covers the routes of the seed and holds B with data in its tenant tables', () => {
    const urls = new Set(routes().map(label));
    for (const r of [
      'GET /api/customers', 'GET /api/customers/:id', 'DELETE /api/api-keys/:id', 'DELETE /api/organizations/current/members/:id',
      'GET /api/billing', 'POST /api/billing/checkout', 'POST /api/billing/portal', 'POST /api/webhooks/stripe',
      'GET /api/social/accounts', 'POST /api/social/accounts', 'POST /api/social/accounts/:id', 'DELETE /api/social/accounts/:id',
      'GET /api/social/platforms', 'GET /api/social/posts', 'POST /api/social/posts', 'GET /api/social/posts/:id', 'PATCH /api/social/posts/:id', 'DELETE /api/social/posts/:id',
    ]) {
      expect(urls, r).toContain(r);
    }
    // Customers, API keys, memberships, invitations and audit rows of B at least.
    for (const table of ['customers', 'api_keys', 'memberships', 'invitations', 'audit_log', 'social_accounts', 'social_posts', 'social_connections']) {
      expect(Number(fingerprintBefore[table].split(':')[0]), table).toBeGreaterThan(0);
    }
    expect(idsOfB.length).toBeGreaterThan(10);
    expect(idsOfB).toContain(b.organizationId);
  });

  it('every org route: no credential → 401, bad/garbage/unknown/revoked keys → 401', async () => {
    const failures: string[] = [];
    for (const r of orgRoutes()) {
      const url = fill(r.url, randomUUID());
      for (const [what, headers] of [['no credential', {}] as [string, Record<string, string>], ...badCredentials]) {
        const res = await call(r, url, headers);
        combos++;
        const body = res.json();
        if (res.statusCode !== 401 || body.error !== 'Unauthorized' || body.code !== 'unauthorized') {
          failures.push(`${label(r)} with ${what}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('every org route: a user without an organization → 403 "Forbidden - No organization"', async () => {
    const failures: string[] = [];
    for (const r of orgRoutes()) {
      const res = await call(r, fill(r.url, randomUUID()), lonerHeaders);
      combos++;
      const body = res.json();
      if (res.statusCode !== 403 || body.error !== 'Forbidden - No organization' || body.code !== 'no_organization') {
        failures.push(`${label(r)}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('every admin/owner org route: member session and member API key → 403', async () => {
    const failures: string[] = [];
    const gated = orgRoutes().filter((r) => r.role === 'admin' || r.role === 'owner');
    expect(gated.length).toBeGreaterThan(0);
    for (const r of gated) {
      for (const [what, headers] of [['member session', memberA.headers], ['member API key', memberKeyA.headers]] as const) {
        const res = await call(r, fill(r.url, randomUUID()), headers);
        combos++;
        if (res.statusCode !== 403 || res.json().code !== 'forbidden') failures.push(`${label(r)} as ${what}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      }
    }
    // Owner-only routes also refuse an admin key.
    for (const r of orgRoutes().filter((x) => x.role === 'owner')) {
      const res = await call(r, fill(r.url, randomUUID()), keyA.headers);
      combos++;
      if (res.statusCode !== 403) failures.push(`${label(r)} as admin key: ${res.statusCode}`);
    }
    expect(failures).toEqual([]);
  });

  it("every org route with a path parameter: each of B's ids (and malformed ids) → 404 for A's owner, by session and by key", async () => {
    const failures: string[] = [];
    const withParams = orgRoutes().filter(hasParams);
    expect(withParams.length).toBeGreaterThan(0);
    // Uppercase spellings of some of B's ids are the same uuids.
    const targets = [...idsOfB, ...idsOfB.slice(0, 3).map((id) => id.toUpperCase()), ...MALFORMED_IDS];
    for (const r of withParams) {
      for (const id of targets) {
        for (const [who, headers] of [['owner session', a.headers], ['admin key', keyA.headers]] as const) {
          // Session-only routes refuse every key before looking at the id (checked in the next test).
          if (r.sessionOnly && who === 'admin key') continue;
          const res = await call(r, fill(r.url, id), headers);
          combos++;
          const body = res.statusCode === 404 ? res.json() : null;
          if (res.statusCode !== 404 || body.error !== 'Not found' || body.code !== 'not_found') {
            failures.push(`${label(r)} id=${id} as A's ${who}: ${res.statusCode} ${res.body.slice(0, 200)}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);

  it('every session-only org route (minting keys, membership changes): an admin API key → 403, and nothing changes', async () => {
    const sessionOnly = orgRoutes().filter((r) => r.sessionOnly);
    expect(sessionOnly.map(label)).toEqual(expect.arrayContaining([
      'POST /api/api-keys', 'POST /api/organizations/current/members', 'PATCH /api/organizations/current/members/:id',
      'DELETE /api/organizations/current/members/:id', 'POST /api/organizations/current/leave',
    ]));
    const before = await settledFingerprint(a.organizationId);
    const failures: string[] = [];
    for (const r of sessionOnly) {
      for (const id of [randomUUID(), ...idsOfB.slice(0, 3)]) {
        const res = await call(r, fill(r.url, id), keyA.headers);
        combos++;
        if (res.statusCode !== 403 || res.json().code !== 'forbidden') failures.push(`${label(r)} with A's admin key: ${res.statusCode} ${res.body.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await settledFingerprint(a.organizationId)).toEqual(before);
  });

  it('every user route: no credential and bad credentials → 401; an API key is not a signed-in user → 403', async () => {
    const failures: string[] = [];
    for (const r of routes().filter((x) => x.access === 'user')) {
      const url = fill(r.url, randomUUID());
      for (const [what, headers] of [['no credential', {}] as [string, Record<string, string>], ...badCredentials]) {
        const res = await call(r, url, headers);
        combos++;
        if (res.statusCode !== 401 || res.json().error !== 'Unauthorized') failures.push(`${label(r)} with ${what}: ${res.statusCode}`);
      }
      const res = await call(r, url, keyA.headers);
      combos++;
      if (res.statusCode !== 403) failures.push(`${label(r)} with an API key: ${res.statusCode}`);
    }
    expect(failures).toEqual([]);
  });

  it('provider routes: an unsigned request is refused (4xx, or 503 while unconfigured) and writes nothing', async () => {
    const providerRoutes = routes().filter((r) => r.access === 'provider');
    const before = await settledFingerprint(null);
    const failures: string[] = [];
    for (const r of providerRoutes) {
      for (const payload of [{}, [{ event: 'delivered', sg_message_id: 'x', email: 'ada@example.com' }], 'MessageSid=SM1&MessageStatus=delivered']) {
        const res = await t.app.inject({
          method: r.method as any,
          url: fill(r.url, randomUUID()),
          payload: payload as any,
          headers: typeof payload === 'string' ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
        });
        combos++;
        // Refused: 401 for a bad signature (any 4xx), or 503 while the provider is not configured; never handled, never a 500.
        if (!((res.statusCode >= 400 && res.statusCode < 500) || res.statusCode === 503)) failures.push(`${label(r)} unsigned: ${res.statusCode} ${res.body.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await settledFingerprint(null)).toEqual(before);
  });

  it("B's data is unchanged after the whole matrix", async () => {
    expect(await settledFingerprint(b.organizationId)).toEqual(fingerprintBefore);
  });
});

describe('default deny at registration', () => {
  it('a route registered without an access mode makes the server refuse to start', async () => {
    const app = await buildServer({ config: testConfig(), db: t.db, logger: false });
    const register = async () => {
      app.get('/api/forgot-the-access-mode', async () => ({ ok: true }));
      await app.ready();
    };
    await expect(register()).rejects.toThrow(/declares no access mode/);
    expect(app.routeTable.some((r) => r.url === '/api/forgot-the-access-mode')).toBe(false);
    await app.close().catch(() => {});
  });

  it('a role on a route that is not an org route is refused too', async () => {
    const app = await buildServer({ config: testConfig(), db: t.db, logger: false });
    const register = async () => {
      app.get('/api/public-with-role', { config: { access: 'public', role: 'admin' }, schema: { operationId: 'publicWithRole', summary: 'x' } }, async () => ({ ok: true }));
      await app.ready();
    };
    await expect(register()).rejects.toThrow(/role applies to org routes only/);
    await app.close().catch(() => {});
  });

  it('a route without an operationId or a summary is refused (the OpenAPI document needs both)', async () => {
    for (const schema of [undefined, { summary: 'No id' }, { operationId: 'noSummary' }]) {
      const app = await buildServer({ config: testConfig(), db: t.db, logger: false });
      const register = async () => {
        app.get('/api/undocumented', { config: { access: 'public' }, schema }, async () => ({ ok: true }));
        await app.ready();
      };
      await expect(register()).rejects.toThrow(/needs schema.operationId and schema.summary/);
      await app.close().catch(() => {});
    }
  });

  it('every route in the table has an access mode, and every body schema an example', () => {
    const failures: string[] = [];
    for (const r of routes()) {
      if (!['org', 'user', 'provider', 'public'].includes(r.access)) failures.push(`${label(r)}: access ${String(r.access)}`);
      if (r.hasBody && r.bodyExample === undefined) failures.push(`${label(r)}: body schema without an example — add .meta({ example: {...} })`);
    }
    expect(failures).toEqual([]);
  });
});
