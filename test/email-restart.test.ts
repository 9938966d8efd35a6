import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createJobRunner } from '../src/jobs/index.js';
import { modules } from '../src/modules/index.js';
import { createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { startSmtpSink, waitFor, type SmtpSink } from './email-support.js';
import { fakeDns, verifiedDomain } from './sender-support.js';

let t: TestApp;
let sink: SmtpSink;
let a: Actor;
let b: Actor;
const N = 2000;
const dns = fakeDns();

beforeAll(async () => {
  sink = await startSmtpSink({ parse: false });
  const base = testConfig();
  // No in-process worker: the test starts, stops and restarts workers itself.
  t = await createTestApp({ config: { email: { ...base.email, smtpUrl: sink.url, concurrency: 8 }, jobs: { inProcess: false, pollMs: 50 } }, dns: dns.resolver });
  a = await signUpWithOrg(t.app, 'ra');
  await verifiedDomain(t.app, a.headers, dns, 'r.example');
  b = await signUpWithOrg(t.app, 'rb');
  for (const [actor, n] of [[a, N], [b, 50]] as const) {
    await t.db.withTenant(actor.organizationId, (tx) =>
      tx.execute(sql`insert into customers (organization_id, email, first_name, email_opt_in)
        select ${actor.organizationId}, 'r' || i || '@shared.example', 'R' || i, true from generate_series(1, ${n}) i`),
    );
  }
});
/** The campaign's messages (the sink also receives the account mail of sign-up). */
const campaignMail = () => sink.messages.filter((m) => String(m.to[0]).endsWith('@shared.example'));

afterAll(async () => {
  await t?.close();
  await sink?.close();
});

it('a restart in the middle of a 2,000-recipient send ends with every recipient exactly once', async () => {
  const c = (
    await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: a.headers, payload: { name: 'Big', subject: 'Hi {{ customer.firstName }}', fromEmail: 'news@r.example', html: '<p>Hello</p>' } })
  ).json();
  expect((await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/send`, headers: a.headers })).statusCode).toBe(202);

  const first = createJobRunner({ db: t.db, config: t.config, modules }).start();
  await waitFor(() => campaignMail().length >= 300, 60_000, 5);
  await first.stop();
  const atStop = campaignMail().length;
  expect(atStop).toBeLessThan(N);
  const mid = (await t.app.inject({ url: `/api/email/campaigns/${c.id}`, headers: a.headers })).json();
  expect(mid.status).toBe('sending');
  // Everything handed to the server before the stop is recorded as sent: nothing is left claimed.
  expect(mid.stats.sent).toBe(atStop);

  const second = createJobRunner({ db: t.db, config: t.config, modules }).start();
  try {
    await waitFor(async () => (await t.app.inject({ url: `/api/email/campaigns/${c.id}`, headers: a.headers })).json().status === 'sent', 120_000);
  } finally {
    await second.stop();
  }
  const recipients = campaignMail().map((m) => m.to[0]);
  expect(recipients).toHaveLength(N);
  expect(new Set(recipients).size).toBe(N);
  for (let i = 1; i <= N; i++) expect(recipients).toContain(`r${i}@shared.example`);
  const done = (await t.app.inject({ url: `/api/email/campaigns/${c.id}`, headers: a.headers })).json();
  expect(done.stats).toMatchObject({ recipients: N, sent: N, failed: 0 });
  // Organization B has the same addresses; none of its customers is a recipient of A's campaign.
  const foreign = await t.db.withTenant(b.organizationId, (tx) => tx.execute(sql`select count(*)::int as n from email_messages`));
  expect((foreign as any).rows[0].n).toBe(0);
  // As long as its own waits (60 s to the stop, 120 s to the end): 2,000 sends on the embedded database
  // share two cores with the other test files.
}, 200_000);
