import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/index.js';
import { buildServer } from '../src/http/server.js';
import type { App, DnsResolver } from '../src/http/types.js';

/** The server under test, on PGlite by default or on a fresh PostgreSQL database when DATABASE_URL is set. */
export const serverUrl = loadConfig({ ...process.env, NODE_ENV: 'test', DATA_DIR: os.tmpdir() }).databaseUrl;
export const onPostgres = Boolean(serverUrl);

export interface TestDatabase {
  db: Database;
  /** Connection string of the fresh PostgreSQL database (PostgreSQL runs only). */
  url?: string;
  close(): Promise<void>;
}

function withDatabase(url: string, name: string) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createTestDatabase(opts: { poolSize?: number } = {}): Promise<TestDatabase> {
  if (!serverUrl) {
    const db = await openDatabase({ memory: true });
    return { db, close: () => db.close() };
  }
  const name = `sb_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(serverUrl, name);
  const db = await openDatabase({ databaseUrl: url, poolSize: opts.poolSize ?? 4 });
  return {
    db,
    url,
    async close() {
      await db.close();
      const a = new pg.Client({ connectionString: serverUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-test-'));
  return loadConfig(
    {
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      SIGN_IN_MAX_PER_ACCOUNT: '1000',
      SIGN_IN_MAX_PER_IP: '100000',
    },
    overrides,
  );
}

export interface TestApp {
  app: App;
  db: Database;
  config: Config;
  url?: string;
  close(): Promise<void>;
}

export async function createTestApp(opts: { config?: Partial<Config>; poolSize?: number; dns?: DnsResolver } = {}): Promise<TestApp> {
  const tdb = await createTestDatabase({ poolSize: opts.poolSize });
  const config = testConfig(opts.config);
  const app = await buildServer({ config, db: tdb.db, logger: false, dns: opts.dns });
  await app.ready();
  return {
    app,
    db: tdb.db,
    config,
    url: tdb.url,
    async close() {
      await app.close();
      await tdb.close();
    },
  };
}

export function cookieFrom(res: { headers: Record<string, unknown> }): string {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? raw : [raw];
  const c = list.find((v) => typeof v === 'string' && v.startsWith('sb_session='));
  if (!c) throw new Error('no session cookie in response');
  return (c as string).split(';')[0];
}

export interface Actor {
  userId: string;
  email: string;
  organizationId: string;
  cookie: string;
  /** Headers that authenticate as this user's session. */
  headers: Record<string, string>;
}

let seq = 0;
const uniqueEmail = (label: string) => `${label}-${Date.now().toString(36)}-${++seq}@example.test`;

/** Signs up a user with a new organization (owner). */
export async function signUpWithOrg(app: App, label = 'owner', orgName = `Org ${label}`): Promise<Actor> {
  const email = uniqueEmail(label);
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/sign-up',
    payload: { email, password: 'correct horse battery', name: label, organizationName: orgName },
  });
  if (res.statusCode !== 201) throw new Error(`sign-up failed: ${res.statusCode} ${res.body}`);
  const body = res.json();
  const cookie = cookieFrom(res);
  return { userId: body.user.id, email, organizationId: body.organization.id, cookie, headers: { cookie } };
}

/** Signs up a user without any organization. */
export async function signUpWithoutOrg(app: App, label = 'loner') {
  const email = uniqueEmail(label);
  const res = await app.inject({ method: 'POST', url: '/api/auth/sign-up', payload: { email, password: 'correct horse battery', name: label } });
  if (res.statusCode !== 201) throw new Error(`sign-up failed: ${res.statusCode} ${res.body}`);
  const cookie = cookieFrom(res);
  return { userId: res.json().user.id as string, email, cookie, headers: { cookie } };
}

/** Adds a new user to the owner's organization with the given role and returns that user signed in. */
export async function addMember(app: App, owner: Actor, role: 'admin' | 'member', label = role): Promise<Actor> {
  const user = await signUpWithoutOrg(app, label);
  const inv = await app.inject({ method: 'POST', url: '/api/organizations/current/members', headers: owner.headers, payload: { email: user.email, role } });
  if (inv.statusCode !== 201) throw new Error(`invite failed: ${inv.statusCode} ${inv.body}`);
  const sw = await app.inject({ method: 'POST', url: '/api/organizations/current/switch', headers: user.headers, payload: { organizationId: owner.organizationId } });
  if (sw.statusCode !== 200) throw new Error(`switch failed: ${sw.statusCode} ${sw.body}`);
  return { ...user, organizationId: owner.organizationId };
}

export async function createApiKey(app: App, owner: Actor, role: 'admin' | 'member' = 'admin') {
  const res = await app.inject({ method: 'POST', url: '/api/api-keys', headers: owner.headers, payload: { name: `key-${++seq}`, role } });
  if (res.statusCode !== 201) throw new Error(`api key failed: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return { id: body.id as string, key: body.key as string, headers: { authorization: `Bearer ${body.key}` } };
}

export async function createCustomer(app: App, headers: Record<string, string>, body: Record<string, unknown>) {
  const res = await app.inject({ method: 'POST', url: '/api/customers', headers, payload: body });
  if (res.statusCode !== 201) throw new Error(`create customer failed: ${res.statusCode} ${res.body}`);
  return res.json();
}
