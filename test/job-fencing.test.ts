import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import type { Database } from '../src/db/index.js';
import { createJobRunner } from '../src/jobs/index.js';
import { modules } from '../src/modules/index.js';
import { createCustomer, createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { startSmtpSink, waitFor, type SmtpSink } from './email-support.js';
import { fakeDns, verifiedDomain } from './sender-support.js';

// Fenced leases: a run that stalls past its lease never makes a recipient receive two copies, and
// once another run has taken its job over, the stale run's writes are refused.

const LEASE_MS = 300;
let t: TestApp;
let a: Actor;
let base: Config;

beforeAll(async () => {
  base = testConfig();
  // No in-process worker: each test runs its own workers against its own SMTP servers.
  const dns = fakeDns();
  t = await createTestApp({ config: { jobs: { inProcess: false, pollMs: 20 } }, dns: dns.resolver });
  a = await signUpWithOrg(t.app, 'fa');
  // The workers below send through SMTP, where only a verified sender may send.
  await verifiedDomain(t.app, a.headers, dns, 'fence-sender.example');
});
afterAll(async () => {
  await t?.close();
});

const configFor = (smtpUrl: string, extra: Partial<Config> = {}): Config => ({
  ...t.config,
  email: { ...base.email, smtpUrl, concurrency: 8 },
  jobs: { inProcess: false, pollMs: 20, leaseMs: LEASE_MS },
  templates: { renderTimeoutMs: 10_000, maxOutputBytes: 4 * 1024 * 1024, workers: 2 },
  ...extra,
});

async function sendCampaign(tag: string, html: string) {
  const c = (await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: a.headers, payload: { name: tag, subject: 'Hi {{ customer.firstName }}', fromEmail: 'news@fence-sender.example', html, audience: { tags: [tag] } } })).json();
  const res = await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/send`, headers: a.headers });
  expect(res.statusCode, res.body).toBe(202);
  return c.id as string;
}

const campaignOf = async (id: string) => (await t.app.inject({ url: `/api/email/campaigns/${id}`, headers: a.headers })).json();
const messagesOf = async (id: string) => (await t.app.inject({ url: `/api/email/campaigns/${id}/messages?limit=100`, headers: a.headers })).json().data;

function expectOnceEach(received: { to: string[] }[], addresses: string[]) {
  const to = received.map((m) => m.to[0]).sort();
  expect(to).toEqual([...addresses].sort());
}

it('a run stalled past its lease (slow renders, a stalled SMTP reply) sends every recipient exactly once, as the records say', async () => {
  const stalled = new Set<string>();
  const sink = await startSmtpSink({
    // The server holds its reply to some messages for four leases.
    beforeReply: async (to) => {
      if (to.some((x) => x.startsWith('stall'))) await new Promise((r) => setTimeout(r, 4 * LEASE_MS));
    },
  });
  try {
    const addresses: string[] = [];
    for (let i = 0; i < 16; i++) {
      const kind = i < 4 ? 'slow' : i < 8 ? 'stall' : 'plain';
      const email = `${kind}${i}@fence.example`;
      if (kind === 'stall') stalled.add(email);
      addresses.push(email);
      // A slow recipient's render takes several leases (a loop sized by its own attribute).
      await createCustomer(t.app, a.headers, { email, firstName: `F${i}`, emailOptIn: true, tags: ['stall-run'], attributes: { n: kind === 'slow' ? 1200 : 1 } });
    }
    const id = await sendCampaign('stall-run', '<p>{% for i in (1..customer.attributes.n) %}{% for j in (1..customer.attributes.n) %}{% endfor %}{% endfor %}Hello {{ customer.firstName }}</p>');
    const runner = createJobRunner({ db: t.db, config: configFor(sink.url), modules }).start();
    try {
      await waitFor(async () => (await campaignOf(id)).status === 'sent', 90_000, 50);
    } finally {
      await runner.stop();
    }
    expectOnceEach(sink.messages, addresses);
    expect((await campaignOf(id)).stats).toMatchObject({ recipients: 16, sent: 16, failed: 0 });
    for (const m of await messagesOf(id)) expect(m).toMatchObject({ status: 'sent', attempts: 1, error: null });
    const [job] = ((await t.db.withTenant(a.organizationId, (tx) => tx.execute(sql`select state, attempts from jobs where payload->>'campaignId' = ${id}`))) as any).rows;
    expect(job).toMatchObject({ state: 'completed', attempts: 1 });
  } finally {
    await sink.close();
  }
});

/** The same database, reached through a link that can be cut: calls made while it is cut wait until it is restored. */
function partitionable(db: Database) {
  let healed: Promise<void> = Promise.resolve();
  let heal = () => {};
  const gate = <T>(fn: () => Promise<T>) => healed.then(fn);
  const cut: Database = {
    ...db,
    withTenant: (org, fn, scope) => gate(() => db.withTenant(org, fn, scope)),
    withSystem: (reason, fn) => gate(() => db.withSystem(reason, fn)),
  };
  return {
    db: cut,
    cut() {
      healed = new Promise((r) => (heal = r));
    },
    heal: () => heal(),
  };
}

it("a takeover run's writes win; the stale run can no longer claim or record anything", async () => {
  // The first run's mail server holds every message until told to refuse it (451).
  let release = () => {};
  const released = new Promise<void>((r) => (release = r));
  let arrived = 0;
  const first = await startSmtpSink({
    beforeReply: async () => {
      arrived++;
      await released;
      return { code: 451, message: '4.3.0 Try again later' };
    },
  });
  const second = await startSmtpSink();
  const addresses = Array.from({ length: 8 }, (_, i) => `t${i}@takeover.example`);
  for (const email of addresses) await createCustomer(t.app, a.headers, { email, emailOptIn: true, tags: ['takeover'] });
  const id = await sendCampaign('takeover', '<p>Hello</p>');

  const link = partitionable(t.db);
  const logs: string[] = [];
  const log = { info: (_o: unknown, m?: string) => void logs.push(m ?? ''), error: (_o: unknown, m?: string) => void logs.push(m ?? '') };
  const stale = createJobRunner({ db: link.db, config: configFor(first.url), modules, log }).start();
  const takeover = createJobRunner({ db: t.db, config: configFor(second.url), modules });
  try {
    // Every message is with the first server; then the first run loses its database (and so its lease).
    await waitFor(() => arrived === addresses.length, 30_000, 10);
    link.cut();
    takeover.start();
    await waitFor(async () => (await campaignOf(id)).status === 'sent', 30_000, 50);
    expectOnceEach(second.messages, addresses);

    // The stale run comes back: its renewal, its outcomes (the first server's 451s) and its job result are all refused.
    link.heal();
    release();
    await stale.stop();
  } finally {
    release();
    link.heal();
    await stale.stop();
    await takeover.stop();
    await first.close();
    await second.close();
  }
  expect(first.messages).toHaveLength(0);
  expectOnceEach(second.messages, addresses);
  expect(await campaignOf(id)).toMatchObject({ status: 'sent', stats: { recipients: 8, sent: 8, failed: 0 } });
  for (const m of await messagesOf(id)) {
    expect(m).toMatchObject({ status: 'sent', error: null });
    expect(m.timeline.map((e: { type: string }) => e.type)).not.toContain('deferred');
  }
  const [job] = ((await t.db.withTenant(a.organizationId, (tx) => tx.execute(sql`select state, lease_id from jobs where payload->>'campaignId' = ${id}`))) as any).rows;
  expect(job.state).toBe('completed');
  expect(logs).toContain('job outcome not recorded: another run holds the job');
});

it('an outcome write that fails for good fails the job instead of ending the worker; the retry finishes the campaign', async () => {
  // The run cannot write a refused message's event (the app role lost INSERT on email_events): its
  // outcome write fails on every try, not with a deadlock that a second try would get past.
  // Each accepted message takes the server 300 ms, so outcomes are written while sends are in flight.
  const sink = await startSmtpSink({
    onRcpt: (to) => (to.startsWith('refused') ? { code: 550, message: '5.1.1 No such user' } : undefined),
    beforeReply: () => new Promise((r) => setTimeout(r, 300)),
  });
  const addresses = ['refused@outcome.example', ...Array.from({ length: 20 }, (_, i) => `ok${i}@outcome.example`)];
  for (const email of addresses) await createCustomer(t.app, a.headers, { email, emailOptIn: true, tags: ['outcome-fault'] });
  const id = await sendCampaign('outcome-fault', '<p>Hello</p>');
  const jobOf = async () =>
    ((await t.db.withTenant(a.organizationId, (tx) => tx.execute(sql`select state, attempts, last_error from jobs where payload->>'campaignId' = ${id}`))) as any).rows[0];
  await t.db.owner.query('revoke insert on email_events from switchboard_app');
  const errors: string[] = [];
  const log = { info: () => {}, error: (_o: unknown, m?: string) => void errors.push(m ?? '') };
  const runner = createJobRunner({ db: t.db, config: configFor(sink.url), modules, log }).start();
  try {
    const failed = await waitFor(async () => {
      const job = await jobOf();
      return job?.last_error ? job : null;
    }, 30_000, 20);
    expect(failed.last_error).toMatch(/insert into email_events/);
    expect(failed.state).toBe('queued');
    // The fault is repaired; the same worker, still running, takes the job up again and finishes it.
    await t.db.owner.query('grant insert on email_events to switchboard_app');
    await waitFor(async () => (await campaignOf(id)).status === 'sent', 60_000, 50);
  } finally {
    await t.db.owner.query('grant insert on email_events to switchboard_app');
    await runner.stop();
    await sink.close();
  }
  const byAddress = new Map((await messagesOf(id)).map((m: { email: string }) => [m.email, m]));
  expect(byAddress.get('refused@outcome.example')).toMatchObject({ status: 'failed', error: expect.stringContaining('550') });
  for (const email of addresses.slice(1)) expect(byAddress.get(email)).toMatchObject({ status: 'sent' });
  // Every deliverable address got the message; one whose outcome was lost with the failed write may
  // have had a second copy (the row is taken over when its lease runs out), never a third.
  const received = sink.messages.map((m) => m.to[0]);
  for (const email of addresses.slice(1)) expect(received.filter((x) => x === email).length).toBeGreaterThanOrEqual(1);
  for (const email of addresses.slice(1)) expect(received.filter((x) => x === email).length).toBeLessThanOrEqual(2);
  expect(received).not.toContain('refused@outcome.example');
});
