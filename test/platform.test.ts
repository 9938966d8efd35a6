import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/http/server.js';
import { loadConfig, ConfigError } from '../src/config.js';
import { createApiKey, createTestApp, signUpWithOrg, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ config: { metricsToken: 'metrics-token-0123456789' } });
});
afterAll(() => t?.close());

describe('platform', () => {
  it('reports health with database reachability', async () => {
    const res = await t.app.inject({ url: '/api/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', database: 'up' });
  });

  it('describes every registered route in the OpenAPI document', async () => {
    const doc = (await t.app.inject({ url: '/api/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const m of Object.keys(ops)) documented.add(`${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
    }
    const missing = t.app.routeTable
      .filter((r) => !r.url.startsWith('/api/docs'))
      .map((r) => `${r.method} ${r.url}`)
      .filter((k) => !documented.has(k));
    expect(missing).toEqual([]);
    const docs = await t.app.inject({ url: '/api/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/html/);
  });

  it('exposes per-organization request metrics behind a token', async () => {
    const owner = await signUpWithOrg(t.app, 'metrics');
    const key = await createApiKey(t.app, owner);
    await t.app.inject({ url: '/api/customers', headers: key.headers });
    expect((await t.app.inject({ url: '/metrics' })).statusCode).toBe(401);
    const res = await t.app.inject({ url: '/metrics', headers: { authorization: 'Bearer metrics-token-0123456789' } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(`switchboard_http_requests_total{method="GET",route="/api/customers",status="200",organization="${owner.organizationId}"} 1`);
    expect(res.body).toContain('switchboard_http_request_duration_seconds_bucket');
  });

  it('refuses to register a route without an access mode', async () => {
    const app = await buildServer({ config: t.config, db: t.db, logger: false });
    expect(() => app.get('/api/unguarded', async () => 'open')).toThrow(/declares no access mode/);
    await app.close();
  });

  it('refuses to start in production without secrets', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: 'ab'.repeat(32) })).toThrow(/PUBLIC_URL/);
    const ok = loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: 'ab'.repeat(32), PUBLIC_URL: 'https://app.example' });
    expect(ok.secrets.session).toBe('x'.repeat(40));
  });

  it('keeps generated development secrets across restarts', () => {
    const a = loadConfig({ NODE_ENV: 'development', DATA_DIR: t.config.dataDir });
    const b = loadConfig({ NODE_ENV: 'development', DATA_DIR: t.config.dataDir });
    expect(a.secrets).toEqual(b.secrets);
    expect(a.secrets.encryptionKey).toMatch(/^[0-9a-f]{64}$/);
  });
});
