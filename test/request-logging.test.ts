import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/http/server.js';
import { redactUrl } from '../src/http/logging.js';
import type { App } from '../src/http/types.js';
import { TokenSigner } from '../src/modules/email/tokens.js';
import { createTestDatabase, testConfig, type TestDatabase } from './helpers.js';

// What the request log records: a server with logging on, its JSON lines captured.
let tdb: TestDatabase;
let app: App;
const lines: string[] = [];
const config = testConfig({ logLevel: 'info' });
beforeAll(async () => {
  tdb = await createTestDatabase();
  app = await buildServer({ config, db: tdb.db, logStream: { write: (line) => void lines.push(line) } });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await tdb?.close();
});

const logged = () => lines.map((l) => JSON.parse(l));

describe('request logging', () => {
  it('never takes a client-supplied X-Request-Id as the request id, and logs it as clientRequestId', async () => {
    const res = await app.inject({ url: '/api/health', headers: { 'x-request-id': 'client-chosen-id' } });
    const ours = res.headers['x-request-id'] as string;
    expect(ours).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const entries = logged().filter((e) => e.reqId === ours);
    expect(entries.map((e) => e.msg)).toEqual(['incoming request', 'request completed']);
    for (const e of entries) expect(e.clientRequestId).toBe('client-chosen-id');
    expect(logged().some((e) => e.reqId === 'client-chosen-id')).toBe(false);

    // Replaying another request's id gets a new one.
    const replay = await app.inject({ url: '/api/health', headers: { 'x-request-id': ours } });
    expect(replay.headers['x-request-id']).not.toBe(ours);

    // Error replies carry their request's id too: an unknown path, a missing key, a body that is not JSON.
    const failures = [
      await app.inject({ url: '/api/no-such-path' }),
      await app.inject({ url: '/api/customers' }),
      await app.inject({ method: 'POST', url: '/api/auth/sign-in', headers: { 'content-type': 'application/json' }, payload: '{' }),
    ];
    expect(failures.map((r) => r.statusCode)).toEqual([404, 401, 400]);
    for (const r of failures) expect(logged().some((e) => e.reqId === r.headers['x-request-id'])).toBe(true);
  });

  it('redacts tracking and unsubscribe tokens from request URLs', async () => {
    const signer = new TokenSigner(config.secrets.encryptionKey);
    const claims = { organizationId: randomUUID(), messageId: randomUUID(), link: 0 };
    const tokens = {
      open: signer.sign({ kind: 'open', ...claims }),
      click: signer.sign({ kind: 'click', ...claims }),
      unsubscribe: signer.sign({ kind: 'unsubscribe', ...claims }),
    };
    const requests = [
      { method: 'GET', url: `/api/t/open/${tokens.open}`, logged: '/api/t/open/[redacted]' },
      { method: 'GET', url: `/api/t/click/${tokens.click}`, logged: '/api/t/click/[redacted]' },
      { method: 'GET', url: `/api/unsubscribe/${tokens.unsubscribe}`, logged: '/api/unsubscribe/[redacted]' },
      { method: 'POST', url: `/api/unsubscribe/${tokens.unsubscribe}?via=mail`, logged: '/api/unsubscribe/[redacted]?via=mail' },
      // A token link that matches no route, and a token in a query string.
      { method: 'GET', url: `/api/unsubscribe/${tokens.unsubscribe}/extra`, logged: '/api/unsubscribe/[redacted]/extra' },
      { method: 'GET', url: `/api/health?token=${tokens.open}`, logged: '/api/health?token=%5Bredacted%5D' },
    ] as const;
    for (const r of requests) {
      lines.length = 0;
      const res = await app.inject({
        method: r.method,
        url: r.url,
        ...(r.method === 'POST' ? { payload: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
      });
      const all = lines.join('');
      for (const token of Object.values(tokens)) expect(all, r.url).not.toContain(token);
      const incoming = logged().find((e) => e.msg === 'incoming request' && e.reqId === res.headers['x-request-id']);
      expect(incoming?.req.url, r.url).toBe(r.logged);
    }
  });

  it('keeps ids and ordinary segments readable', () => {
    const id = randomUUID();
    expect(redactUrl(`/api/customers/${id}?limit=5`, '/api/customers/:id')).toBe(`/api/customers/${id}?limit=5`);
    expect(redactUrl(`/api/customers/${id}`)).toBe(`/api/customers/${id}`);
    expect(redactUrl('/api/invitations/abc/accept', '/api/invitations/:inviteToken/accept')).toBe('/api/invitations/[redacted]/accept');
  });
});
