/**
 * Email benchmark (issue 3): a 100,000-recipient campaign delivered by the job worker to a local
 * SMTP sink, against a bare nodemailer loop (same pooled transport settings, same sink, same
 * run); and a full-size (4,500-event, ~720 KB) signed SendGrid webhook batch (events/s, time to acknowledge).
 */
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import { buildServer } from '../src/http/server.js';
import { createJobRunner } from '../src/jobs/index.js';
import { modules } from '../src/modules/index.js';
import { composeMessage, prepareCampaign } from '../src/modules/email/compose.js';
import { acquireRenderPool } from '../src/modules/email/render-pool.js';
import { TokenSigner } from '../src/modules/email/tokens.js';
import { senderIdentity, type SendingIdentity } from '../src/modules/senders/identity.js';
import { createBenchDatabase, log, onCleanup, runIfMain, versusBaseline, type Result } from './lib.js';

const SUITE = 'email';
const RECIPIENTS = Number(process.env.BENCH_EMAIL_RECIPIENTS ?? 100_000);
const BASELINE = Number(process.env.BENCH_EMAIL_BASELINE ?? 30_000);
/** A full-size SendGrid batch (they post at most about 768 KB; the route refuses more than 1 MiB). */
const EVENTS = 4_500;
const CONCURRENCY = Number(process.env.BENCH_EMAIL_CONCURRENCY ?? 16);

const HTML = `<html><body><h1>Spring sale</h1><p>Hi {{ customer.firstName | default: "there" }},</p>
<p>Everything is 20% off this week. <a href="https://shop.example/sale">Shop the sale</a> or
<a href="https://shop.example/new">see what is new</a>.</p><p>Thanks, the Acme team</p></body></html>`;

async function startSink() {
  let received = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    maxClients: 1000,
    onData(stream, _s, cb) {
      stream.on('data', () => {});
      stream.on('end', () => {
        received++;
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = ((server as any).server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${port}`, count: () => received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * The baseline: nodemailer's pooled transport with the same settings, CONCURRENCY sends in
 * flight, and one message already composed the way the worker composes them (same HTML, text
 * and headers, so the same bytes per message) — everything the worker does besides is overhead.
 * With `dkim`, nodemailer signs each message with the sender domain's key, as every campaign
 * message from a verified domain is signed; without it, the loop sends unsigned mail.
 */
async function bareLoop(url: string, n: number, config: Config, dkim?: SendingIdentity['dkim']) {
  const transport = nodemailer.createTransport({ url, pool: true, maxConnections: CONCURRENCY, maxMessages: Infinity, ...(dkim ? { dkim } : {}) } as any);
  const prepared = prepareCampaign({ id: randomUUID(), name: 'Bench', subject: 'Hi {{ customer.firstName }}', preheader: null, fromName: null, fromEmail: 'news@acme.example', replyTo: null, html: HTML, text: null });
  const renderer = acquireRenderPool(config.templates);
  const m = await composeMessage(renderer.pool, prepared, { messageId: randomUUID(), organizationId: randomUUID(), toEmail: 'c0@bench.example', customer: { email: 'c0@bench.example', firstName: 'C0', lastName: null } }, new TokenSigner(config.secrets.encryptionKey), config);
  await renderer.release();
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        await transport.sendMail({ from: m.from, to: `c${i}@bench.example`, subject: m.subject, html: m.html, text: m.text, headers: m.headers, messageId: m.messageIdHeader });
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  transport.close();
  return n / secs;
}

export async function run(): Promise<Result[]> {
  const results: Result[] = [];
  const sink = await startSink();
  const closeSink = onCleanup(sink.close);
  const bdb = await createBenchDatabase();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-email-'));
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const base = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: bdb.url, BILLING_PLANS: '{"free":{}}' });
  const config = {
    ...base,
    email: { ...base.email, smtpUrl: sink.url, concurrency: CONCURRENCY, sendgridWebhookPublicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64') },
    jobs: { inProcess: false, pollMs: 20 },
  };
  const db = await openDatabase({ databaseUrl: bdb.url, poolSize: 10 });
  // Sender domain verification answered locally: the campaign's From is a verified (and DKIM-signed) domain, as in production.
  const txt = new Map<string, string[][]>();
  const app = await buildServer({ config, db, logger: false, dns: { resolveTxt: async (name) => txt.get(name) ?? [] } });
  const closeAll = onCleanup(async () => {
    await app.close();
    await db.close();
    await bdb.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  try {
    await app.ready();
    const signUp = await app.inject({ method: 'POST', url: '/api/auth/sign-up', payload: { email: 'bench@acme.example', password: 'correct horse battery', name: 'b', organizationName: 'Bench' } });
    const orgId = signUp.json().organization.id as string;
    const cookie = String(signUp.headers['set-cookie']).split(';')[0];
    const headers = { cookie };
    const domain = (await app.inject({ method: 'POST', url: '/api/senders/domains', headers, payload: { domain: 'acme.example' } })).json();
    for (const r of domain.records) txt.set(r.name, [[r.value]]);
    await app.inject({ method: 'POST', url: `/api/senders/domains/${domain.id}/verify`, headers });
    log(`email: inserting ${RECIPIENTS} customers`);
    await db.withTenant(orgId, (tx) =>
      tx.execute(sql`insert into customers (organization_id, email, first_name, email_opt_in)
        select ${orgId}, 'c' || i || '@bench.example', 'C' || i, true from generate_series(1, ${RECIPIENTS}) i`),
    );

    // The campaign's messages are DKIM-signed with the domain's key; the signed baseline signs with the same key.
    const identity = await db.withTenant(orgId, (tx) => senderIdentity(tx, orgId, 'news@acme.example', config));
    if (!identity?.dkim) throw new Error('the bench sender domain has no DKIM key');
    // The baselines run half before and half after the campaign, so load drift on the machine hits both alike.
    log(`email: bare nodemailer loops, ${BASELINE / 2} messages each, signed and unsigned (before)`);
    const signedBefore = await bareLoop(sink.url, BASELINE / 2, config, identity.dkim);
    const bareBefore = await bareLoop(sink.url, BASELINE / 2, config);

    const c = (await app.inject({ method: 'POST', url: '/api/email/campaigns', headers, payload: { name: 'Bench', subject: 'Hi {{ customer.firstName }}', fromEmail: 'news@acme.example', html: HTML } })).json();
    const before = sink.count();
    const runner = createJobRunner({ db, config, modules });
    log(`email: campaign to ${RECIPIENTS} recipients through the job worker`);
    const t0 = performance.now();
    const sent = await app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/send`, headers });
    if (sent.statusCode !== 202) throw new Error(`send failed: ${sent.statusCode} ${sent.body}`);
    runner.start();
    for (;;) {
      const status = (await app.inject({ url: `/api/email/campaigns/${c.id}`, headers })).json();
      if (status.status !== 'sending') {
        if (status.status !== 'sent' || status.stats.sent !== RECIPIENTS) throw new Error(`campaign ended ${status.status}: ${JSON.stringify(status.stats)}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const secs = (performance.now() - t0) / 1000;
    await runner.stop();
    const delivered = sink.count() - before;
    log(`email: bare nodemailer loops, ${BASELINE / 2} messages each, signed and unsigned (after)`);
    const bare = (bareBefore + (await bareLoop(sink.url, BASELINE / 2, config))) / 2;
    const signed = (signedBefore + (await bareLoop(sink.url, BASELINE / 2, config, identity.dkim))) / 2;
    const campaign = { name: `campaign ${RECIPIENTS} recipients (worker)`, connections: CONCURRENCY, expected: RECIPIENTS, done: delivered, seconds: secs };
    results.push(
      // Issue 12's aim: the campaign against the same messages, DKIM-signed, sent by nodemailer alone.
      ...versusBaseline(
        SUITE,
        campaign,
        { name: `bare nodemailer loop, DKIM-signed (${BASELINE})`, requests: BASELINE, rps: signed },
        { name: 'campaign send vs bare nodemailer, both DKIM-signed', aim: 0.8, unit: 'messages/s' },
      ),
      // Against unsigned mail: the signature (an RSA-2048 operation per message) counts as overhead here.
      ...versusBaseline(
        SUITE,
        campaign,
        { name: `bare nodemailer loop, unsigned (${BASELINE})`, requests: BASELINE, rps: bare },
        { name: 'diag: campaign send (signed) vs bare nodemailer (unsigned)', aim: null, unit: 'messages/s' },
      ).slice(1),
    );

    // Webhook: a full batch of events for real messages of the campaign, signed as SendGrid signs them.
    const ids = ((await db.withTenant(orgId, (tx) => tx.execute(sql`select id from email_messages where organization_id = ${orgId} limit ${EVENTS}`))) as any).rows.map((r: any) => r.id);
    const ts = Math.floor(Date.now() / 1000);
    const kinds = ['delivered', 'open', 'click', 'delivered', 'open'];
    const events = Array.from({ length: EVENTS }, (_, i) => ({
      event: kinds[i % kinds.length],
      sg_event_id: `bench-${i}`,
      sb_message_id: ids[i % ids.length],
      timestamp: ts,
      email: `c${i}@bench.example`,
      ...(i % kinds.length === 2 ? { url: 'https://shop.example/sale' } : {}),
    }));
    const body = JSON.stringify(events);
    const t1 = performance.now();
    const signature = sign('sha256', Buffer.from(String(ts) + body), privateKey).toString('base64');
    const res = await app.inject({
      method: 'POST',
      url: '/api/webhooks/email',
      headers: { 'content-type': 'application/json', 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': String(ts) },
      payload: body,
    });
    const ackMs = performance.now() - t1;
    if (res.statusCode !== 200 || res.json().applied !== EVENTS) throw new Error(`webhook: ${res.statusCode} ${res.body.slice(0, 300)}`);
    results.push({ kind: 'load', suite: SUITE, name: `webhook batch of ${EVENTS} signed events`, connections: 1, seconds: ackMs / 1000, requests: EVENTS, rps: EVENTS / (ackMs / 1000), p50Ms: ackMs, p99Ms: ackMs, errors: 0 });
    log(`email: webhook ${EVENTS} events acknowledged in ${ackMs.toFixed(0)} ms (${(body.length / 1e6).toFixed(1)} MB)`);
  } finally {
    await closeAll();
    await closeSink();
  }
  return results;
}

await runIfMain(import.meta.url, run);
