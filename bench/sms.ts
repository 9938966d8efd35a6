/**
 * SMS benchmark (issue 7), each pair side by side in one run:
 *  1. a 50,000-recipient SMS campaign delivered by the job worker through the real `twilio` SDK to a
 *     local server speaking Twilio's REST shape, against a bare loop of the SDK's `messages.create`
 *     to the same server with the same concurrency (aim >= 0.7x);
 *  2. signed Twilio status callbacks per second (POST /api/webhooks/sms: signature with the
 *     organization's token, forward-only status update, dedupe) against authenticated requests to a
 *     trivial route (GET /api/sms/settings with an API key: one row), same client, same connections.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import { buildServer } from '../src/http/server.js';
import { createJobRunner } from '../src/jobs/index.js';
import { modules } from '../src/modules/index.js';
import { newTwilioClient } from '../src/modules/twilio/client.js';
import { connectTwilio, newTwilioAccount, startFakeTwilio, twilioSignature } from '../test/twilio-support.js';
import { createBenchDatabase, interleaved, log, loopVariant, onCleanup, runIfMain, settings, versusBaseline, type Result } from './lib.js';

const SUITE = 'sms';
const RECIPIENTS = Number(process.env.BENCH_SMS_RECIPIENTS ?? 50_000);
const BASELINE = Number(process.env.BENCH_SMS_BASELINE ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_SMS_CONCURRENCY ?? 16);
const BODY = 'Hi {{ customer.firstName }}, spring sale: 20% off everything until Sunday. Reply STOP to opt out.';
const FROM = '+14155550100';

const phone = (i: number) => `+1415${String(2000000 + i).padStart(7, '0')}`;

/** The baseline: the SDK's messages.create in a loop, CONCURRENCY in flight, to the same server. */
async function bareLoop(apiBaseUrl: string, account: { accountSid: string; authToken: string }, n: number, statusCallback: string) {
  const client = newTwilioClient({ twilio: { apiBaseUrl } }, account.accountSid, account.authToken);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        await client.messages.create({ from: FROM, to: phone(i), body: `Hi C${i}, spring sale: 20% off everything until Sunday. Reply STOP to opt out.`, statusCallback });
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

export async function run(): Promise<Result[]> {
  const results: Result[] = [];
  const account = newTwilioAccount();
  const fake = await startFakeTwilio({ accounts: { [account.accountSid]: account.authToken }, record: false });
  const closeFake = onCleanup(fake.close);
  const bdb = await createBenchDatabase();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-sms-'));
  const base = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: bdb.url, TWILIO_API_BASE_URL: fake.url, BILLING_PLANS: '{"free":{}}' });
  const config = {
    ...base,
    sms: { ...base.sms, concurrency: CONCURRENCY, ratePerSecond: 0 },
    jobs: { ...base.jobs, inProcess: false, pollMs: 20 },
    webhooks: { ...base.webhooks, maxFailures: 1_000_000 },
  };
  const db = await openDatabase({ databaseUrl: bdb.url, poolSize: 10 });
  const app = await buildServer({ config, db, logger: false });
  const closeAll = onCleanup(async () => {
    await app.close();
    await db.close();
    await bdb.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    const baseUrl = `http://127.0.0.1:${addr.port}`;
    const signUp = await app.inject({ method: 'POST', url: '/api/auth/sign-up', payload: { email: 'bench@acme.example', password: 'correct horse battery', name: 'b', organizationName: 'Bench' } });
    const orgId = signUp.json().organization.id as string;
    const headers = { cookie: String(signUp.headers['set-cookie']).split(';')[0] };
    const ok = async (res: { statusCode: number; body: string }, what: string) => {
      if (res.statusCode >= 300) throw new Error(`${what}: ${res.statusCode} ${res.body}`);
      return JSON.parse(res.body || 'null');
    };
    await connectTwilio(app, headers, fake, account, [FROM]);
    log(`sms: inserting ${RECIPIENTS} customers`);
    await db.withTenant(orgId, (tx) =>
      tx.execute(sql`insert into customers (organization_id, email, first_name, phone, sms_opt_in)
        select ${orgId}, 'c' || i || '@bench.example', 'C' || i, '+1415' || lpad((2000000 + i)::text, 7, '0'), true from generate_series(0, ${RECIPIENTS - 1}) i`),
    );

    // The baseline runs half before and half after the campaign, so load drift hits both alike.
    const statusCallback = `${config.publicUrl}/api/webhooks/sms`;
    log(`sms: bare SDK loop, ${BASELINE / 2} messages (before)`);
    const bareBefore = await bareLoop(fake.url, account, BASELINE / 2, statusCallback);

    const c = await ok(await app.inject({ method: 'POST', url: '/api/sms/campaigns', headers, payload: { name: 'Bench', body: BODY } }), 'create campaign');
    const runner = createJobRunner({ db, config, modules });
    const before = fake.counts.messages;
    log(`sms: campaign to ${RECIPIENTS} recipients through the job worker`);
    const t0 = performance.now();
    await ok(await app.inject({ method: 'POST', url: `/api/sms-campaigns/${c.id}/send`, headers }), 'send');
    runner.start();
    for (;;) {
      const status = await ok(await app.inject({ url: `/api/sms/campaigns/${c.id}`, headers }), 'campaign');
      if (status.status !== 'sending') {
        if (status.status !== 'sent' || status.stats.sent !== RECIPIENTS) throw new Error(`campaign ended ${status.status}: ${JSON.stringify(status.stats)}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const secs = (performance.now() - t0) / 1000;
    await runner.stop();
    const delivered = fake.counts.messages - before;
    log(`sms: bare SDK loop, ${BASELINE / 2} messages (after)`);
    const bare = (bareBefore + (await bareLoop(fake.url, account, BASELINE / 2, statusCallback))) / 2;
    results.push(
      ...versusBaseline(
        SUITE,
        { name: `campaign ${RECIPIENTS} recipients (worker, SDK)`, connections: CONCURRENCY, expected: RECIPIENTS, done: delivered, seconds: secs },
        { name: `bare SDK messages.create loop (${BASELINE})`, requests: BASELINE, rps: bare },
        { name: 'SMS campaign send vs bare SDK loop', aim: 0.7, unit: 'messages/s' },
      ),
    );

    // Status callbacks: every message's sid, each reported sent then delivered (fresh events, not replays).
    const sids = (
      (await db.withTenant(orgId, (tx) => tx.execute(sql`select provider_message_id as sid, to_phone from sms_messages where organization_id = ${orgId} and provider_message_id is not null`))) as unknown as {
        rows: { sid: string; to_phone: string }[];
      }
    ).rows;
    const url = `${config.publicUrl}/api/webhooks/sms`;
    const callbacks: { body: string; signature: string }[] = [];
    for (const status of ['sent', 'delivered']) {
      for (const m of sids) {
        const params = { AccountSid: account.accountSid, MessageSid: m.sid, SmsSid: m.sid, MessageStatus: status, SmsStatus: status, From: FROM, To: m.to_phone, ApiVersion: '2010-04-01' };
        callbacks.push({ body: new URLSearchParams(params).toString(), signature: twilioSignature(account.authToken, url, params) });
      }
    }
    const key = await ok(await app.inject({ method: 'POST', url: '/api/api-keys', headers, payload: { name: 'bench', role: 'member' } }), 'API key');
    let nextCallback = 0;
    const trivial = loopVariant(SUITE, 'GET /api/sms/settings (API key, one-row read)', async () => {
      const res = await fetch(`${baseUrl}/api/sms/settings`, { headers: { authorization: `Bearer ${key.key}` } });
      await res.arrayBuffer();
      return res.status === 200;
    });
    const webhook = loopVariant(SUITE, 'POST /api/webhooks/sms (signed status callback)', async () => {
      const cb = callbacks[nextCallback++ % callbacks.length];
      const res = await fetch(`${baseUrl}/api/webhooks/sms`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': cb.signature },
        body: cb.body,
      });
      await res.arrayBuffer();
      return res.status === 200;
    });
    log(`sms: status callbacks vs an authenticated trivial route, ${settings.seconds} s each (interleaved halves)`);
    const [base2, hook] = await interleaved([trivial, webhook], settings.seconds, 2);
    if (nextCallback > callbacks.length) log(`sms: ${nextCallback - callbacks.length} callbacks were replays (deduplicated)`);
    results.push(base2, hook, {
      kind: 'ratio', suite: SUITE, name: 'signed status callbacks vs authenticated trivial route', value: hook.rps / base2.rps, aim: 'report', met: true,
      detail: `${hook.rps.toFixed(0)} vs ${base2.rps.toFixed(0)} requests/s`,
    });
  } finally {
    await closeAll();
    await closeFake();
  }
  return results;
}

await runIfMain(import.meta.url, run);
