import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.js';

// The built dashboard (dist/web, built by the test run's global setup) served by the API server.
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

const csp = (header: unknown) => new Map(String(header).split(';').map((d) => { const [k, ...v] = d.trim().split(/\s+/); return [k, v] as const; }));

describe('dashboard serving', () => {
  it('answers client routes with index.html under the app CSP: every script and stylesheet it loads is allowed, nothing inline', async () => {
    for (const url of ['/', '/sign-in', '/customers/5f0c4f43-8c1f-4d0e-9a52-1f7f1b0b6a11?q=x', '/campaigns/new']) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      const policy = csp(res.headers['content-security-policy']);
      expect(policy.get('default-src')).toEqual(["'none'"]);
      expect(policy.get('script-src')).toEqual(["'self'"]);
      expect(policy.get('style-src')).toEqual(["'self'"]);
      expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
      expect(res.headers['x-frame-options']).toBe('DENY');
      // Every <script> has a same-origin src and no body; stylesheets are links to our own files.
      const scripts = [...res.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.length).toBeGreaterThan(0);
      for (const [, attrs, body] of scripts) {
        expect(body.trim()).toBe('');
        expect(attrs).toMatch(/src="\/assets\/[^"]+\.js"/);
      }
      expect(res.body).not.toMatch(/<style\b|\sstyle="/);
    }
  });

  it('serves built files by name with long caching, and nothing else from disk', async () => {
    const index = (await t.app.inject({ url: '/' })).body;
    const js = /src="(\/assets\/[^"]+\.js)"/.exec(index)![1];
    const res = await t.app.inject({ url: js });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    for (const url of ['/assets/nope.js', '/assets/../../package.json', '/%2e%2e/package.json', '/favicon.ico', '/assets/index.js.map']) {
      const miss = await t.app.inject({ url });
      expect(miss.statusCode, url).toBe(404);
      expect(miss.json(), url).toEqual({ error: 'Not found', code: 'not_found' });
    }
  });

  it('leaves /api alone: unknown API paths and non-GET requests stay JSON 404s', async () => {
    for (const [method, url] of [['GET', '/api/nope'], ['GET', '/api'], ['POST', '/customers'], ['DELETE', '/'], ['GET', '/metrics']] as const) {
      const res = await t.app.inject({ method, url });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json()).toEqual({ error: 'Not found', code: 'not_found' });
      expect(csp(res.headers['content-security-policy']).get('default-src')).toEqual(["'none'"]);
    }
  });
});
