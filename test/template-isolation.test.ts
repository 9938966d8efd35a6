import { sql } from 'drizzle-orm';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linksTo } from '../src/modules/email/compose.js';
import { createCustomer, createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { startSmtpSink, waitFor, type SmtpSink } from './email-support.js';
import { fakeDns, verifiedDomain } from './sender-support.js';

// Hostile templates cost their own organization a clear 4xx and nobody else anything: rendering
// runs in a bounded worker-thread pool, never on the event loop that answers every tenant.

let t: TestApp;
let sink: SmtpSink;
let a: Actor;
let b: Actor;
// Generous for a loaded test machine (a legitimate render takes milliseconds); the hostile ones take seconds.
const TIMEOUT_MS = 700;
const MAX_OUTPUT = 1024 * 1024;
const dns = fakeDns();

beforeAll(async () => {
  sink = await startSmtpSink();
  const base = testConfig();
  t = await createTestApp({
    config: {
      email: { ...base.email, smtpUrl: sink.url },
      jobs: { inProcess: true, pollMs: 50 },
      templates: { renderTimeoutMs: TIMEOUT_MS, maxOutputBytes: MAX_OUTPUT, workers: 2 },
    },
    dns: dns.resolver,
  });
  a = await signUpWithOrg(t.app, 'ta');
  b = await signUpWithOrg(t.app, 'tb');
  await verifiedDomain(t.app, a.headers, dns, 'a.example');
  await verifiedDomain(t.app, b.headers, dns, 'b.example');
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

// Nine million loop iterations: seconds of CPU on the event loop before, a stopped task now.
const NESTED = '<p>{% for i in (1..3000) %}{% for j in (1..3000) %}{% endfor %}{% endfor %}</p>';
// Only parsed at save before this change, so it may be as hostile as it likes.
const NESTED_FOREVER = '<p>{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}</p>';
// One and a half megabytes of output from a 1 KiB string.
const HUGE = `{% assign s = "${'x'.repeat(1000)}" %}{% for i in (1..1500) %}{{ s }}{% endfor %}`;
// 440 KiB of blocks whose parse alone takes seconds.
const SLOW_PARSE = '{% if a %}x{% endif %}'.repeat(20_000);

async function campaign(actor: Actor, payload: Record<string, unknown>) {
  const res = await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: actor.headers, payload: { name: 'T', subject: 'Hi', html: '<p>Hi</p>', fromEmail: `news@${actor === a ? 'a' : 'b'}.example`, ...payload } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string };
}

/** A campaign whose template never went through the save check (saved by an earlier version). */
async function savedAsIs(actor: Actor, html: string) {
  const c = await campaign(actor, {});
  await t.db.withTenant(actor.organizationId, (tx) => tx.execute(sql`update email_campaigns set html = ${html} where id = ${c.id}`));
  return c;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

const testSend = (actor: Actor, id: string) => t.app.inject({ method: 'POST', url: `/api/email/campaigns/${id}/test`, headers: actor.headers, payload: { to: actor.email } });

async function finished(actor: Actor, id: string) {
  return waitFor(async () => {
    const c = (await t.app.inject({ url: `/api/email/campaigns/${id}`, headers: actor.headers })).json();
    return ['sent', 'failed', 'cancelled'].includes(c.status) && c;
  }, 60_000);
}

describe('a hostile template', () => {
  it('is a 422 at save and at test send, and /api/health keeps answering every tenant meanwhile', async () => {
    const nested = await savedAsIs(a, NESTED);
    const huge = await savedAsIs(a, HUGE);

    // Health latency, sampled back to back while the hostile work runs.
    const latencies: number[] = [];
    let busy = true;
    const sampler = (async () => {
      while (busy) {
        const t0 = performance.now();
        const res = await t.app.inject({ url: '/api/health' });
        latencies.push(performance.now() - t0);
        expect(res.statusCode).toBe(200);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const [sends, hugeSend, slowSave, nestedSave] = await Promise.all([
      Promise.all([1, 2, 3].map(() => testSend(a, nested.id))),
      testSend(a, huge.id),
      t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: a.headers, payload: { name: 'P', subject: 'Hi', html: SLOW_PARSE } }),
      t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: a.headers, payload: { name: 'N', subject: 'Hi', html: NESTED_FOREVER } }),
    ]).finally(() => (busy = false));
    await sampler;

    for (const res of sends) {
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json()).toMatchObject({ code: 'template_too_expensive' });
      // A loop that prints runs out of time or, on a fast warm thread, of output first: either way it is stopped.
      expect(res.json().error).toMatch(new RegExp(`longer than ${TIMEOUT_MS} ms|more than the \\d+ bytes allowed`));
    }
    expect(hugeSend.statusCode, hugeSend.body).toBe(422);
    expect(hugeSend.json().error).toMatch(/more than the \d+ bytes allowed/);
    for (const res of [slowSave, nestedSave]) {
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().code).toBe('template_too_expensive');
    }
    expect(nestedSave.json().details).toEqual([expect.objectContaining({ in: 'body', path: 'html' })]);
    // Nothing hostile reached the mail server, and no hostile campaign was saved.
    // (The sink also holds a's account mail from sign-up: look at previews only.)
    expect(sink.messages.filter((m) => m.to.includes(a.email) && String(m.header('Subject')).startsWith('[Test]'))).toHaveLength(0);
    const names = (await t.app.inject({ url: '/api/email/campaigns', headers: a.headers })).json().data.map((c: { name: string }) => c.name);
    expect(names).not.toContain('P');
    expect(names).not.toContain('N');

    const sorted = [...latencies].sort((x, y) => x - y);
    expect(latencies.length).toBeGreaterThan(20);
    expect(percentile(sorted, 99), `health p50 ${percentile(sorted, 50).toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms`).toBeLessThan(200);

    // The organization's ordinary templates still render, and another organization's too.
    for (const actor of [a, b]) {
      const ok = await campaign(actor, { html: '<p>Hello {{ customer.firstName | default: "there" }}</p>' });
      const res = await testSend(actor, ok.id);
      expect(res.statusCode, res.body).toBe(202);
    }
  });

  it('reaches no partial and no prototype member through include, render or layout', async () => {
    for (const tag of ['include', 'render', 'layout']) {
      for (const name of ['constructor', '__proto__', 'toString']) {
        const html = `<p>{% ${tag} "${name}" %}</p>`;
        const res = await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: a.headers, payload: { name: 'I', subject: 'Hi', html } });
        expect(res.statusCode, `${html}: ${res.body}`).toBe(400);
        expect(res.json().code).toBe('validation_failed');
        expect(res.json().details[0]).toMatchObject({ path: 'html', message: expect.stringContaining(`"${name}"`) });
      }
    }
    const c = await savedAsIs(a, '<p>{% include "constructor" %}{% render "toString" %}{% include "__proto__" %}</p>');
    const before = sink.messages.length;
    const res = await testSend(a, c.id);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error).toMatch(/cannot be rendered/);
    expect(sink.messages.length).toBe(before);
    expect(sink.messages.some((m) => /native code|\[object Object\]/.test(m.html))).toBe(false);
  });

  it("fails its own campaign's messages with a clear error while another organization's campaign is sent", async () => {
    // Depends on the customer, so it passes the save check (empty fields) and explodes per recipient.
    const slow = await campaign(a, { name: 'Slow', html: '<p>{% for i in (1..customer.attributes.n) %}{% for j in (1..customer.attributes.n) %}{% endfor %}{% endfor %}</p>' });
    for (let i = 0; i < 6; i++) await createCustomer(t.app, a.headers, { email: `slow${i}@a.example`, emailOptIn: true, attributes: { n: 3000 } });
    const fine = await campaign(b, { name: 'Fine', html: '<p>Hello {{ customer.firstName }}</p>' });
    for (let i = 0; i < 6; i++) await createCustomer(t.app, b.headers, { email: `fine${i}@b.example`, firstName: `F${i}`, emailOptIn: true });

    for (const [actor, c] of [[a, slow], [b, fine]] as const) {
      const res = await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/send`, headers: actor.headers });
      expect(res.statusCode, res.body).toBe(202);
    }
    const [doneA, doneB] = await Promise.all([finished(a, slow.id), finished(b, fine.id)]);
    expect(doneB).toMatchObject({ status: 'sent', stats: { recipients: 6, sent: 6, failed: 0 } });
    expect(sink.messages.filter((m) => /^fine\d@b\.example$/.test(m.to[0]))).toHaveLength(6);

    expect(doneA).toMatchObject({ status: 'failed', stats: { recipients: 6, sent: 0, failed: 6 } });
    expect(sink.messages.filter((m) => /@a\.example$/.test(m.to[0]))).toHaveLength(0);
    const messages = (await t.app.inject({ url: `/api/email/campaigns/${slow.id}/messages`, headers: a.headers })).json().data;
    expect(messages).toHaveLength(6);
    for (const m of messages) expect(m).toMatchObject({ status: 'failed', error: expect.stringMatching(/^Template too expensive: /) });
  });
});

describe('the visible unsubscribe link', () => {
  it('is decided from the rendered HTML: a comment naming unsubscribe_url does not remove it, a real link is not doubled', async () => {
    await createCustomer(t.app, b.headers, { email: 'unsub@b.example', emailOptIn: true, tags: ['unsub'] });
    const received = async (marker: string, html: string) => {
      const c = await campaign(b, { name: marker, html, audience: { tags: ['unsub'] } });
      await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/send`, headers: b.headers });
      expect(await finished(b, c.id)).toMatchObject({ status: 'sent' });
      const m = sink.messages.find((x) => x.to[0] === 'unsub@b.example' && x.html.includes(marker));
      expect(m, marker).toBeTruthy();
      const url = m!.header('List-Unsubscribe').replace(/^<|>$/g, '');
      expect(url).toMatch(/\/api\/unsubscribe\//);
      return { html: m!.html, links: m!.html.split(`href="${url}"`).length - 1 };
    };
    const commented = await received('U-comment', '<!-- unsubscribe_url --><p>U-comment</p>');
    expect(commented.links).toBe(1);
    expect(commented.html).toMatch(/>Unsubscribe<\/a>/);
    const linked = await received('U-link', '<p>U-link <a href="{{ unsubscribe_url }}">Leave this list</a></p>');
    expect(linked.links).toBe(1);
    expect(linked.html).not.toMatch(/>Unsubscribe<\/a>/);
    // Printed as text, it is no link: the visible link is added.
    const printed = await received('U-text', '<p>U-text {{ unsubscribe_url }}</p>');
    expect(printed.links).toBe(1);
  });
  it('counts a link only as an href to exactly that URL, quoted or not, raw or HTML-escaped', () => {
    const url = 'https://sb.example/api/unsubscribe/abc?x=1&y=2';
    expect(linksTo(`<a href="${url}">Leave</a>`, url)).toBe(true);
    expect(linksTo(`<a HREF = '${url}'>Leave</a>`, url)).toBe(true);
    expect(linksTo(`<a href=${url}>Leave</a>`, url)).toBe(true);
    expect(linksTo(`<a href="${url.replace('&', '&amp;')}">Leave</a>`, url)).toBe(true);
    // Printed as text, a longer URL that starts with it, or another attribute: no link.
    expect(linksTo(`<p>${url}</p>`, url)).toBe(false);
    expect(linksTo(`<a href="${url}3">Other</a>`, url)).toBe(false);
    expect(linksTo(`<img src="${url}">`, url)).toBe(false);
    expect(linksTo(`<p>${url}</p><a href="${url}">Leave</a>`, url)).toBe(true);
  });
});
