/**
 * The server side shared by the suites that build their data in SQL and measure through the API:
 * a throwaway database, the server on it (jobs not in-process), an owner pool for the data build,
 * and a signed-up owner. Everything is dropped when the suite ends, also on Ctrl-C.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import type { App } from '../src/http/types.js';
import { buildServer } from '../src/http/server.js';
import { createBenchDatabase, onCleanup } from './lib.js';

export async function benchServer(suite: string, opts: { ownerConnections: number; poolSize?: number }) {
  const bdb = await createBenchDatabase();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `switchboard-bench-${suite}-`));
  const base = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: bdb.url });
  const config = { ...base, jobs: { ...base.jobs, inProcess: false } };
  const db = await openDatabase({ databaseUrl: bdb.url, poolSize: opts.poolSize ?? 4 });
  const app = await buildServer({ config, db, logger: false });
  const owner = new pg.Pool({ connectionString: bdb.url, max: opts.ownerConnections });
  const closeAll = onCleanup(async () => {
    await owner.end();
    await app.close();
    await db.close();
    await bdb.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { bdb, config, db, app, owner, closeAll };
}

/** Signs up an owner with a new organization: its id, slug and the session cookie. */
export async function signUpOwner(app: App, organizationName = 'Bench', email = 'bench@acme.example') {
  const res = await app.inject({ method: 'POST', url: '/api/auth/sign-up', payload: { email, password: 'correct horse battery', name: 'b', organizationName } });
  if (res.statusCode !== 201) throw new Error(`sign-up: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return { org: body.organization.id as string, slug: body.organization.slug as string, cookie: String(res.headers['set-cookie']).split(';')[0] };
}

/**
 * The server of `npm start` on its default embedded database (PGlite on disk), listening on a free
 * port (jobs not in-process, no plan limits), with a signed-up owner's session cookie.
 */
export async function embeddedServer(suite: string, owner: { email: string; name: string; organizationName: string }) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `switchboard-bench-${suite}-`));
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', PORT: '0', JOBS_IN_PROCESS: 'false', BILLING_PLANS: '{"free":{}}' });
  const db = await openDatabase({ dataDir: path.join(dataDir, 'pglite') });
  const app = await buildServer({ config, db, logger: false });
  const cleanup = onCleanup(async () => {
    await app.close();
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const signUp = await fetch(`${base}/api/auth/sign-up`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...owner, password: 'correct horse battery' }),
  });
  if (signUp.status !== 201) {
    await cleanup();
    throw new Error(`sign-up answered ${signUp.status}: ${await signUp.text()}`);
  }
  const cookie = signUp.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { app, base, cookie, cleanup };
}
