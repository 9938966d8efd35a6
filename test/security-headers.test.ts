import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxDir } from '../src/modules/email/mailer.js';
import { TokenSigner } from '../src/modules/email/tokens.js';
import { createApiKey, createTestApp, signUpWithOrg, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ config: { env: 'development' } });
});
afterAll(() => t?.close());

/** A Content-Security-Policy header as directive → source list. */
function parseCsp(header: string | undefined) {
  expect(header, 'no Content-Security-Policy header').toBeTruthy();
  const map = new Map<string, string[]>();
  for (const part of header!.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) map.set(name.toLowerCase(), sources);
  }
  return map;
}

/** Whether the policy lets the page load a resource of this kind (browser fallback rules for the directives used here). */
function allows(csp: Map<string, string[]>, directive: 'script-src' | 'style-src' | 'img-src' | 'connect-src', what: { url: URL; origin: string } | { inline: string }) {
  const sources = csp.get(directive) ?? csp.get('default-src') ?? ['*'];
  if ('inline' in what) {
    const hash = `'sha256-${createHash('sha256').update(what.inline, 'utf8').digest('base64')}'`;
    // 'unsafe-inline' is ignored by browsers when a hash or nonce is present, and is not something we allow anyway.
    return sources.includes(hash);
  }
  if (sources.includes("'none'")) return false;
  if (what.url.protocol === 'data:') return sources.includes('data:');
  return (sources.includes("'self'") && what.url.origin === what.origin) || sources.includes(what.url.origin);
}

/** [whole, attributes, body] of each element (body empty for void elements such as <link>). */
const tags = (html: string, name: string) =>
  [...html.matchAll(new RegExp(name === 'link' ? `<${name}\\b([^>]*)>()` : `<${name}\\b([^>]*)>([\\s\\S]*?)</${name}>`, 'gi'))];
const attr = (attrs: string, name: string) => new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`, 'i').exec(attrs)?.[1];

describe('security headers', () => {
  it('sends helmet headers and a strict policy on JSON responses, errors and unknown routes', async () => {
    for (const url of ['/api/health', '/api/customers', '/api/no-such-route']) {
      const res = await t.app.inject({ url });
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['x-frame-options'], url).toBe('DENY');
      expect(res.headers['referrer-policy'], url).toBe('no-referrer');
      expect(res.headers['cross-origin-resource-policy'], url).toBe('same-origin');
      expect(res.headers['x-powered-by'], url).toBeUndefined();
      const csp = parseCsp(res.headers['content-security-policy'] as string);
      expect(csp.get('default-src'), url).toEqual(["'none'"]);
      expect(csp.get('frame-ancestors'), url).toEqual(["'none'"]);
    }
    // HSTS only when the public URL is https.
    expect((await t.app.inject({ url: '/api/health' })).headers['strict-transport-security']).toBeUndefined();
    const secure = await createTestApp({ config: { publicUrl: 'https://app.example' } });
    try {
      const res = await secure.app.inject({ url: '/api/health' });
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    } finally {
      await secure.close();
    }
  });

  it('serves the API docs under a policy that allows every script, stylesheet and image the page loads, and nothing inline', async () => {
    const origin = 'http://localhost';
    const page = await t.app.inject({ url: '/api/docs/' });
    expect(page.statusCode).toBe(200);
    const csp = parseCsp(page.headers['content-security-policy'] as string);
    const base = new URL('/api/docs/', origin);
    const html = page.body;

    const scripts = tags(html, 'script');
    expect(scripts.length).toBeGreaterThan(0);
    const loaded: string[] = [];
    for (const [, attrs, body] of scripts) {
      const src = attr(attrs, 'src');
      if (!src) {
        expect(allows(csp, 'script-src', { inline: body }), `inline script blocked: ${body.slice(0, 80)}`).toBe(true);
        continue;
      }
      const url = new URL(src, base);
      expect(allows(csp, 'script-src', { url, origin }), `script blocked: ${url}`).toBe(true);
      loaded.push(url.pathname);
    }
    for (const [, attrs, body] of tags(html, 'style')) expect(allows(csp, 'style-src', { inline: body }), `inline style blocked: ${attrs}`).toBe(true);
    expect(html).not.toMatch(/\sstyle\s*=/i); // style attributes would need 'unsafe-inline'
    expect(html).not.toMatch(/\son[a-z]+\s*=/i); // inline event handlers are blocked by script-src-attr
    for (const [, attrs] of tags(html, 'link')) {
      const rel = attr(attrs, 'rel');
      const url = new URL(attr(attrs, 'href')!, base);
      if (rel === 'stylesheet') expect(allows(csp, 'style-src', { url, origin }), `stylesheet blocked: ${url}`).toBe(true);
      if (rel === 'icon') expect(allows(csp, 'img-src', { url, origin }), `icon blocked: ${url}`).toBe(true);
      loaded.push(url.pathname);
    }
    // The initializer fetches the OpenAPI document relative to the page.
    expect(allows(csp, 'connect-src', { url: new URL('./json', base), origin })).toBe(true);
    loaded.push(new URL('./json', base).pathname);
    // swagger-ui draws its icons from data: URIs.
    expect(allows(csp, 'img-src', { url: new URL('data:image/svg+xml;base64,AA=='), origin })).toBe(true);

    for (const p of loaded) {
      const res = await t.app.inject({ url: p });
      expect(res.statusCode, p).toBe(200);
      expect(res.headers['x-content-type-options'], p).toBe('nosniff');
      const type = String(res.headers['content-type']);
      if (p.endsWith('.js')) expect(type, p).toMatch(/javascript/);
      if (p.endsWith('.css')) expect(type, p).toMatch(/text\/css/);
    }
    // What the initializer script runs is served under the same policy.
    const initializer = loaded.find((p) => p.endsWith('swagger-initializer.js'))!;
    expect(parseCsp((await t.app.inject({ url: initializer })).headers['content-security-policy'] as string)).toEqual(csp);
  });

  it('serves the unsubscribe page under a policy that allows its one stylesheet by hash, no script, and its form', async () => {
    const token = new TokenSigner(t.config.secrets.encryptionKey).sign({ kind: 'unsubscribe', organizationId: randomUUID(), messageId: randomUUID(), link: 0 });
    for (const [url, status] of [
      [`/api/unsubscribe/${token}`, 200],
      ['/api/unsubscribe/not-a-token', 404],
    ] as const) {
      const res = await t.app.inject({ url });
      expect(res.statusCode).toBe(status);
      const csp = parseCsp(res.headers['content-security-policy'] as string);
      const styles = tags(res.body, 'style');
      expect(styles.length).toBe(1);
      expect(allows(csp, 'style-src', { inline: styles[0][2] })).toBe(true);
      expect(allows(csp, 'style-src', { inline: 'body{display:none}' })).toBe(false);
      expect(tags(res.body, 'script')).toEqual([]);
      expect(csp.get('script-src') ?? csp.get('default-src')).toEqual(["'none'"]);
      expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
      if (status === 200) {
        const action = attr(tags(res.body, 'form')[0][1], 'action')!;
        expect(action.startsWith('/api/unsubscribe/')).toBe(true); // same origin
        expect(csp.get('form-action')).toEqual(["'self'"]);
      }
    }
  });

  it('lets mail clients embed the open pixel from another origin', async () => {
    const res = await t.app.inject({ url: '/api/t/open/not-a-token' });
    expect(res.headers['content-type']).toBe('image/gif');
    expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
  });

  it('serves raw outbox messages as attachments browsers do not sniff', async () => {
    const owner = await signUpWithOrg(t.app, 'outbox-headers');
    const key = await createApiKey(t.app, owner);
    const dir = outboxDir(t.config, owner.organizationId);
    mkdirSync(dir, { recursive: true });
    const id = `${Date.now()}-${randomUUID()}.eml`;
    writeFileSync(path.join(dir, id), 'To: a@example.com\r\nSubject: hi\r\nContent-Type: text/html\r\n\r\n<script>alert(1)</script>');
    const res = await t.app.inject({ url: `/api/email/outbox/${id}`, headers: key.headers });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^message\/rfc822/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${id}"`);
  });

  it('keeps /metrics closed without METRICS_TOKEN, in development too', async () => {
    expect(t.config.env).toBe('development');
    expect(t.config.metricsToken).toBeUndefined();
    const res = await t.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('switchboard_http_requests_total');
  });
});
