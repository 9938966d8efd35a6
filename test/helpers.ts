import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/index.js';
import { buildServer } from '../src/http/server.js';
import { accountMailerFor } from '../src/modules/auth/mail.js';
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

/** `url` with its database replaced by `name`. */
export function withDatabase(url: string, name: string) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * `through`: the URL of a pooler (PgBouncer) in front of the same server; the database is created on the server
 * and the platform connects to it through the pooler, as a deployment behind one would.
 */
export async function createTestDatabase(opts: { poolSize?: number; through?: string; preparedScope?: boolean } = {}): Promise<TestDatabase> {
  if (!serverUrl) {
    const db = await openDatabase({ memory: true });
    return { db, close: () => db.close() };
  }
  const name = `sb_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(opts.through ?? serverUrl, name);
  const db = await openDatabase({ databaseUrl: url, poolSize: opts.poolSize ?? 4, preparedScope: opts.preparedScope });
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
      // Tests about other features run without plan limits; billing tests set their own plans.
      BILLING_PLANS: '{"free":{}}',
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

/**
 * The account mail each test server sent, as the mailer was handed it (so tests whose server sends
 * through SMTP still read their verification and invitation links). The outbox test reads the files.
 */
const sentMail = new WeakMap<App, string[]>();

/** A server on a fresh database, or on `database` (one database, several servers: several API processes' view; closing the app leaves it open). */
export async function createTestApp(opts: { config?: Partial<Config>; poolSize?: number; dns?: DnsResolver; database?: TestDatabase } = {}): Promise<TestApp> {
  const shared = opts.database;
  const tdb = shared ?? (await createTestDatabase({ poolSize: opts.poolSize }));
  const config = testConfig(opts.config);
  const app = await buildServer({ config, db: tdb.db, logger: false, dns: opts.dns });
  await app.ready();
  const sent: string[] = [];
  sentMail.set(app, sent);
  const mailer = accountMailerFor(app, config);
  const send = mailer.send.bind(mailer);
  mailer.send = (mail) => {
    sent.push(`To: ${mail.to}\nSubject: ${mail.subject}\n\n${mail.lines.join('\n\n')}`);
    return send(mail);
  };
  return {
    app,
    db: tdb.db,
    config,
    url: tdb.url,
    async close() {
      await app.close();
      if (!shared) await tdb.close();
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

/** Account mail (verification, reset, invitation) the server sent to an address, oldest first. */
export function accountMailTo(app: App, address: string): string[] {
  const sent = sentMail.get(app);
  if (!sent) throw new Error('accountMailTo: only for servers made by createTestApp');
  const to = `To: ${address}`.toLowerCase();
  return sent.filter((m) => m.slice(0, m.indexOf('\n')).toLowerCase() === to);
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

/**
 * Whether a local service (Redis, a PostgreSQL server) answers on host:port. Suites that need one run
 * when it does, and always in CI (CI=true), where .ci/run starts them: a missing service there fails
 * the run instead of skipping silently.
 */
export async function serviceUp(port: number, host = '127.0.0.1'): Promise<boolean> {
  if (process.env.CI) return true;
  const net = await import('node:net');
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(1000, () => done(false));
  });
}
