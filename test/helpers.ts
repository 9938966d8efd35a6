import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/index.js';
import { buildServer } from '../src/http/server.js';
import type { App } from '../src/http/types.js';

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

/** Where each test server's local outbox lives, so helpers can read the account mail it sent. */
const outboxes = new WeakMap<App, string>();

export async function createTestApp(opts: { config?: Partial<Config>; poolSize?: number } = {}): Promise<TestApp> {
  const tdb = await createTestDatabase({ poolSize: opts.poolSize });
  const config = testConfig(opts.config);
  const app = await buildServer({ config, db: tdb.db, logger: false });
  await app.ready();
  outboxes.set(app, path.join(config.dataDir, 'outbox', '_account'));
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
  const c = list.find((v) => typeof v === 'string' && /^(__Host-)?sb_session=[^;]/.test(v));
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
export const TEST_PASSWORD = 'correct horse battery';

/** The text of a raw .eml: its headers, then every part decoded by its own Content-Transfer-Encoding. */
function decodeMail(raw: string): string {
  const text = raw.replace(/\r\n/g, '\n');
  const out = [text.slice(0, text.indexOf('\n\n'))];
  const boundary = /boundary="?([^";\n]+)"?/i.exec(text)?.[1];
  const parts = boundary ? text.split(`--${boundary}`).slice(1) : [text];
  for (const part of parts) {
    const cut = part.indexOf('\n\n');
    if (cut < 0) continue;
    const [head, body] = [part.slice(0, cut), part.slice(cut + 2)];
    const cte = /Content-Transfer-Encoding:\s*([\w-]+)/i.exec(head)?.[1]?.toLowerCase();
    if (cte === 'base64') out.push(Buffer.from(body.replace(/\s/g, ''), 'base64').toString('utf8'));
    else if (cte === 'quoted-printable') out.push(body.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))));
    else out.push(body);
  }
  return out.join('\n');
}

/** Account mail (verification, reset, invitation) the server wrote to its local outbox for an address, oldest first. */
export function accountMailTo(app: App, address: string): string[] {
  const dir = outboxes.get(app);
  if (!dir) throw new Error('accountMailTo: only for servers made by createTestApp');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((f) => decodeMail(readFileSync(path.join(dir, f), 'utf8')))
    .filter((m) => new RegExp(`^To: .*${address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'im').test(m));
}

/** The token of the latest mail to the address whose text matches the pattern (its first group); polls briefly, since some mail is sent after the response. */
export async function tokenFromMail(app: App, address: string, pattern: RegExp): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const hits = accountMailTo(app, address).map((m) => pattern.exec(m)?.[1]).filter(Boolean) as string[];
    if (hits.length) return decodeURIComponent(hits[hits.length - 1]);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no mail to ${address} matching ${pattern}`);
}

export const VERIFY_LINK = /\/api\/auth\/verify-email\?token=([A-Za-z0-9_.%-]+)/;
export const INVITATION_LINK = /\/api\/invitations\/([A-Za-z0-9_.%-]+)\/accept/;
export const RESET_TOKEN = /Token: ([A-Za-z0-9_.-]+)/;

/** Confirms the address by following the link in its verification mail, as its owner would. */
export async function verifyEmail(app: App, address: string) {
  const link = new URL(`http://x${VERIFY_LINK.exec((await latestMail(app, address, VERIFY_LINK)))![0]}`);
  const res = await app.inject({ method: 'GET', url: link.pathname + link.search });
  if (res.statusCode !== 200) throw new Error(`verify-email failed: ${res.statusCode} ${res.body}`);
}

async function latestMail(app: App, address: string, pattern: RegExp) {
  await tokenFromMail(app, address, pattern);
  return accountMailTo(app, address).filter((m) => pattern.test(m)).pop()!;
}

/** Signs up a user with a new organization (owner), with a confirmed email address. */
export async function signUpWithOrg(app: App, label = 'owner', orgName = `Org ${label}`): Promise<Actor> {
  const email = uniqueEmail(label);
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/sign-up',
    payload: { email, password: TEST_PASSWORD, name: label, organizationName: orgName },
  });
  if (res.statusCode !== 201) throw new Error(`sign-up failed: ${res.statusCode} ${res.body}`);
  const body = res.json();
  const cookie = cookieFrom(res);
  await verifyEmail(app, email);
  return { userId: body.user.id, email, organizationId: body.organization.id, cookie, headers: { cookie } };
}

/** Signs up a user without any organization (address confirmed unless verified: false). */
export async function signUpWithoutOrg(app: App, label = 'loner', opts: { verified?: boolean } = {}) {
  const email = uniqueEmail(label);
  const res = await app.inject({ method: 'POST', url: '/api/auth/sign-up', payload: { email, password: TEST_PASSWORD, name: label } });
  if (res.statusCode !== 201) throw new Error(`sign-up failed: ${res.statusCode} ${res.body}`);
  const cookie = cookieFrom(res);
  if (opts.verified !== false) await verifyEmail(app, email);
  return { userId: res.json().user.id as string, email, cookie, headers: { cookie } };
}

/** Invites an address to the owner's organization and returns the invitation token from the mail it sent. */
export async function invite(app: App, owner: Actor, address: string, role: 'admin' | 'member') {
  const inv = await app.inject({ method: 'POST', url: '/api/organizations/current/members', headers: owner.headers, payload: { email: address, role } });
  if (inv.statusCode !== 201) throw new Error(`invite failed: ${inv.statusCode} ${inv.body}`);
  return { invitation: inv.json().invitation, token: await tokenFromMail(app, address, INVITATION_LINK) };
}

/**
 * Adds a new user to the owner's organization the real way — sign up, confirm the address, invite,
 * accept with the token from the invitation mail — and returns that user signed in, in that organization.
 */
export async function addMember(app: App, owner: Actor, role: 'admin' | 'member', label: string = role): Promise<Actor> {
  const user = await signUpWithoutOrg(app, label);
  const { token } = await invite(app, owner, user.email, role);
  const acc = await app.inject({ method: 'POST', url: `/api/invitations/${token}/accept`, headers: user.headers });
  if (acc.statusCode !== 200) throw new Error(`accept failed: ${acc.statusCode} ${acc.body}`);
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
