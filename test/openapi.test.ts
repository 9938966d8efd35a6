import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.js';

// The OpenAPI document is part of the product: a typed client is generated from it, and the committed
// copy (docs/openapi.json, linted by Redocly in CI) must be the one the server serves.
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const served = async () => (await t.app.inject({ url: '/api/openapi.json' })).json();

it('is committed as served: run `npm run openapi` after changing a route', async () => {
  const committed = JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'docs', 'openapi.json'), 'utf8'));
  expect(committed).toEqual(await served());
});

it('gives every operation a unique operationId, a summary and documented error answers', async () => {
  const doc = await served();
  const ids = new Map<string, string>();
  const noErrors: string[] = [];
  for (const [url, ops] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      const where = `${method.toUpperCase()} ${url}`;
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
      expect(ids.get(op.operationId), `${where} reuses ${op.operationId}`).toBeUndefined();
      ids.set(op.operationId, where);
      expect(op.summary, where).toBeTruthy();
      if (!Object.keys(op.responses ?? {}).some((code) => code.startsWith('4'))) noErrors.push(where);
    }
  }
  // The reviewed exceptions of .redocly.lint-ignore.yaml, and no other.
  expect(noErrors.sort()).toEqual(['GET /api/health', 'GET /api/openapi.json', 'GET /api/t/open/{token}']);
  // Every route the server registered is in the document (the API reference's own pages aside).
  const routes = t.app.routeTable.filter((r) => !r.url.startsWith('/api/docs'));
  expect(ids.size).toBe(routes.length);
});
