/**
 * What the README promises for scale-out, as real processes: 2 API processes (JOBS_IN_PROCESS=false)
 * and 2 `worker` processes, all `node dist/cli.js` from one build, on one fresh PostgreSQL database,
 * sending to a local SMTP sink. A 20,000-recipient campaign made through API process 1 reaches every
 * recipient with exactly one message (one Message-ID each) although the worker sending it is killed
 * (SIGKILL) midway and restarted. What the killed worker had handed to the SMTP server after its last
 * recorded outcomes is handed over again by the worker that takes over — the same message, same
 * Message-ID (receivers drop it as a duplicate): counted and bounded here, not hidden;
 * the isolation scenarios hold through API process 2; a key revoked on process 1 stops working on
 * process 2 within the bus's delivery time (PostgreSQL LISTEN/NOTIFY here: no REDIS_URL).
 *
 * PostgreSQL only: PGlite is one process's embedded database, several processes cannot share it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import { createTestDatabase, onPostgres, TEST_PASSWORD, type TestDatabase } from './helpers.js';
import { startSmtpSink, waitFor, type SmtpSink } from './email-support.js';

const root = path.resolve(import.meta.dirname, '..');
// 20,000 by default; MULTI_PROCESS_RECIPIENTS changes it (a smaller run on a machine busy with other work).
const RECIPIENTS = Number(process.env.MULTI_PROCESS_RECIPIENTS ?? 20_000);
// Time allowed for the send, scaled to the run's size (about 2 minutes for 20,000 on an idle 2-core machine).
const SEND_BUDGET_MS = Math.max(240_000, RECIPIENTS * 30);
const LEASE_MS = 3000;

interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

describe.skipIf(!onPostgres)('2 API processes and 2 workers on one PostgreSQL (skipped on PGlite: processes cannot share an embedded database; set DATABASE_URL)', () => {
  const procs: Proc[] = [];
  let tdb: TestDatabase;
  let sink: SmtpSink;
  let env: NodeJS.ProcessEnv;
  let api: string[];
  const started = Date.now();

  function spawnCli(name: string, command: 'serve' | 'worker', extra: NodeJS.ProcessEnv = {}): Proc {
    const child = spawn(process.execPath, ['dist/cli.js', command], { cwd: root, env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output = (output + d).slice(-20_000)));
    child.stderr!.on('data', (d) => (output = (output + d).slice(-20_000)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const p = { name, child, output: () => output, exited };
    procs.push(p);
    return p;
  }

  async function serve(name: string, port: number) {
    const p = spawnCli(name, 'serve', { PORT: String(port) });
    let exited = false;
    void p.exited.then(() => (exited = true));
    for (const until = Date.now() + 60_000; Date.now() < until && !exited; ) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/api/health`)).ok) return `http://127.0.0.1:${port}`;
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${name} did not start: ${p.output()}`);
  }

  beforeAll(async () => {
    // One build, as deployed: `npm start` and `npm run worker` run dist/ (rebuilt here only when stale).
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: root, stdio: 'inherit' });
    tdb = await createTestDatabase();
    sink = await startSmtpSink({ parse: false });
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-multi-'));
    env = {
      PATH: process.env.PATH,
      NODE_ENV: 'development',
      DATABASE_URL: tdb.url,
      DATABASE_POOL_SIZE: '6',
      DATA_DIR: dataDir,
      // One deployment: every process shares the secrets (sessions made by one are read by the other).
      SESSION_SECRET: randomBytes(32).toString('hex'),
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      PUBLIC_URL: 'http://switchboard.test',
      LOG_LEVEL: 'warn',
      BILLING_PLANS: '{"free":{}}',
      SMTP_URL: sink.url,
      EMAIL_CONCURRENCY: '10',
      JOBS_IN_PROCESS: 'false',
      JOBS_POLL_MS: '100',
      // Short leases: a killed worker's campaign is taken over within seconds, not 30.
      JOBS_LEASE_MS: String(LEASE_MS),
      TEMPLATE_WORKERS: '1',
      // Renders are bounded at 500 ms by default; a machine busy with other work may take longer.
      TEMPLATE_RENDER_TIMEOUT_MS: '10000',
    };
    const base = 21000 + Math.floor(Math.random() * 20000);
    api = await Promise.all([serve('api-1', base), serve('api-2', base + 1)]);
    spawnCli('worker-1', 'worker');
    spawnCli('worker-2', 'worker');
  }, 600_000);

  afterAll(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await sink?.close();
    await tdb?.close();
    console.log(`multi-process test: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  });

  const call = async (base: string, method: string, url: string, opts: { headers?: Record<string, string>; json?: unknown; body?: string; contentType?: string } = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    let body: string | undefined = opts.body;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.contentType) headers['content-type'] = opts.contentType;
    const res = await fetch(base + url, { method, headers, body });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  async function signUp(base: string, label: string) {
    const email = `${label}-${Date.now().toString(36)}@example.test`;
    const res = await fetch(`${base}/api/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: TEST_PASSWORD, name: label, organizationName: `Org ${label}` }),
    });
    expect(res.status).toBe(201);
    const body = await res.json();
    return { organizationId: body.organization.id as string, headers: { cookie: res.headers.get('set-cookie')!.split(';')[0] } };
  }

  /** The worker processes with a TCP connection open to the SMTP sink: the one(s) sending now. */
  function sendingWorkers(): Proc[] {
    const port = Number(new URL(sink.url).port);
    const inodes = new Set<string>();
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 10) continue;
        const remPort = parseInt(f[2].split(':')[1], 16);
        if (remPort === port && f[3] === '01') inodes.add(f[9]);
      }
    }
    return procs.filter((p) => p.name.startsWith('worker') && p.child.exitCode === null && p.child.signalCode === null).filter((p) => {
      try {
        return readdirSync(`/proc/${p.child.pid}/fd`).some((fd) => {
          try {
            const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p.child.pid}/fd/${fd}`));
            return m !== null && inodes.has(m[1]);
          } catch {
            return false;
          }
        });
      } catch {
        return false;
      }
    });
  }

  it(`sends a ${RECIPIENTS.toLocaleString('en')}-recipient campaign exactly once per recipient while the sending worker is killed and restarted; isolation and key revocation hold across API processes`, async () => {
    const [one, two] = api;
    onTestFailed(() => {
      for (const p of procs) console.log(`--- ${p.name} (exit ${p.child.exitCode ?? p.child.signalCode ?? 'running'})\n${p.output()}`);
    });
    const progress = setInterval(() => console.log(`${((Date.now() - started) / 1000).toFixed(0)} s: ${sink.messages.length} messages at the sink`), 10_000);
    onTestFinished(() => clearInterval(progress));
    const a = await signUp(one, 'mp-a');
    const b = await signUp(two, 'mp-b');

    // A's audience, imported through API process 1.
    const csv = ['email,first_name,email_opt_in', ...Array.from({ length: RECIPIENTS }, (_, i) => `r${i}@mp.example,R${i},true`)].join('\n');
    const imported = await call(one, 'POST', '/api/customers/import', { headers: a.headers, body: csv, contentType: 'text/csv' });
    expect(imported.status, JSON.stringify(imported.body)).toBe(200);
    expect(imported.body.created).toBe(RECIPIENTS);

    // A sender domain; its DNS check is not what this test is about, so it is marked verified in the database.
    const domain = await call(one, 'POST', '/api/senders/domains', { headers: a.headers, json: { domain: 'mp.example' } });
    expect(domain.status).toBe(201);
    const admin = new pg.Client({ connectionString: tdb.url });
    admin.on('error', () => {});
    await admin.connect();
    onTestFinished(() => admin.end().catch(() => {}));
    await admin.query('update sender_domains set verified_at = now(), dkim_verified_at = now() where id = $1', [domain.body.id]);

    const campaign = await call(one, 'POST', '/api/email/campaigns', {
      headers: a.headers,
      json: { name: 'Everyone', subject: 'Hi {{ customer.firstName }}', fromEmail: 'news@mp.example', html: '<p>Hello {{ customer.firstName }}</p>' },
    });
    expect(campaign.status, JSON.stringify(campaign.body)).toBe(201);
    const sendStarted = Date.now();
    expect((await call(one, 'POST', `/api/email-campaigns/${campaign.body.id}/send`, { headers: a.headers })).status).toBe(202);

    const campaignMail = () => sink.messages.filter((m) => String(m.to[0]).endsWith('@mp.example'));
    // Midway: kill the worker that is talking to the SMTP server, mid-conversation.
    await waitFor(() => campaignMail().length >= RECIPIENTS / 4, SEND_BUDGET_MS, 5);
    const victims = sendingWorkers();
    expect(victims.length).toBeGreaterThan(0);
    const victim = victims[0];
    victim.child.kill('SIGKILL');
    await victim.exited;
    const atKill = campaignMail().length;
    console.log(`SIGKILL ${victim.name} (pid ${victim.child.pid}) after ${atKill} messages`);
    expect(atKill).toBeLessThan(RECIPIENTS);
    spawnCli(`${victim.name}-restarted`, 'worker');

    // Meanwhile, through API process 2: organization B cannot see or touch A's ids.
    const key = await call(one, 'POST', '/api/api-keys', { headers: a.headers, json: { name: 'integration', role: 'admin' } });
    expect(key.status).toBe(201);
    const customers = await call(two, 'GET', '/api/customers?limit=1', { headers: a.headers });
    expect(customers.status).toBe(200);
    const customerId = customers.body.data[0].id;
    for (const [method, url] of [
      ['GET', `/api/email/campaigns/${campaign.body.id}`],
      ['GET', `/api/customers/${customerId}`],
      ['DELETE', `/api/customers/${customerId}`],
      ['POST', `/api/email-campaigns/${campaign.body.id}/cancel`],
      ['DELETE', `/api/api-keys/${key.body.id}`],
      ['GET', `/api/senders/domains/${domain.body.id}`],
    ] as const) {
      const res = await call(two, method, url, { headers: b.headers });
      expect(res.status, `${method} ${url} as B via process 2`).toBe(404);
    }
    const bLists = await Promise.all(['/api/customers', '/api/email/campaigns', '/api/api-keys', '/api/senders/domains'].map((u) => call(two, 'GET', u, { headers: b.headers })));
    for (const l of bLists) {
      expect(l.status).toBe(200);
      expect(l.body.data).toEqual([]);
    }
    // The same requests as A through process 2 do find them (the 404s above are isolation, not a broken process).
    expect((await call(two, 'GET', `/api/email/campaigns/${campaign.body.id}`, { headers: a.headers })).status).toBe(200);

    // A key revoked on process 1 stops working on process 2, which had it cached.
    const bearer = { authorization: `Bearer ${key.body.key}` };
    expect((await call(two, 'GET', '/api/customers?limit=1', { headers: bearer })).status).toBe(200);
    expect((await call(two, 'GET', '/api/customers?limit=1', { headers: bearer })).status).toBe(200);
    expect((await call(one, 'DELETE', `/api/api-keys/${key.body.id}`, { headers: a.headers })).status).toBe(204);
    const revokedAt = Date.now();
    let refusedMs = -1;
    while (refusedMs < 0) {
      const r = await call(two, 'GET', '/api/customers?limit=1', { headers: bearer });
      if (r.status === 401) refusedMs = Date.now() - revokedAt;
      else expect(r.status).toBe(200);
      if (Date.now() - revokedAt > 12_000) throw new Error('revoked key still accepted by process 2 after 12 s');
    }
    console.log(`revoked key refused by API process 2 ${refusedMs} ms after process 1 answered the revocation (LISTEN/NOTIFY)`);
    expect(refusedMs).toBeLessThan(1000);
    expect((await call(one, 'GET', '/api/customers?limit=1', { headers: bearer })).status).toBe(401);

    // The campaign completes; every recipient got exactly one message.
    await waitFor(async () => (await call(one, 'GET', `/api/email/campaigns/${campaign.body.id}`, { headers: a.headers })).body.status === 'sent', SEND_BUDGET_MS, 250);
    const sendSeconds = (Date.now() - sendStarted) / 1000;
    // Per recipient: SMTP transactions at the sink, and distinct messages (Message-ID is the message row's id).
    const copies = new Map<string, number>();
    const messageIds = new Map<string, Set<string>>();
    for (const m of campaignMail()) {
      const to = m.to[0];
      copies.set(to, (copies.get(to) ?? 0) + 1);
      const id = /^Message-ID:\s*(<[^>]+>)/im.exec(m.raw)?.[1] ?? 'none';
      messageIds.set(to, (messageIds.get(to) ?? new Set()).add(id));
    }
    const duplicated = [...copies].filter(([, n]) => n > 1);
    console.log(
      `campaign sent in ${sendSeconds.toFixed(1)} s: ${campaignMail().length} SMTP deliveries for ${copies.size} recipients; ` +
        `${duplicated.length} recipients got a second copy of the same message (same Message-ID) from the killed worker's unrecorded sends`,
    );
    expect(copies.size).toBe(RECIPIENTS);
    for (let i = 0; i < RECIPIENTS; i++) {
      // Exactly one message per recipient: every copy at the sink is the same message (one Message-ID).
      const ids = messageIds.get(`r${i}@mp.example`);
      expect(ids?.size, `r${i}@mp.example`).toBe(1);
      expect([...ids!][0]).not.toBe('none');
    }
    // A second SMTP transaction only for what the killed worker handed over after its last recorded
    // outcomes (outcomes are written every 250 ms or 500 messages, plus EMAIL_CONCURRENCY in flight).
    expect(duplicated.length).toBeLessThanOrEqual(Math.min(atKill, 510));
    expect(duplicated.every(([, n]) => n === 2)).toBe(true);
    const done = await call(two, 'GET', `/api/email/campaigns/${campaign.body.id}`, { headers: a.headers });
    expect(done.body.stats).toMatchObject({ recipients: RECIPIENTS, sent: RECIPIENTS, failed: 0 });
    // Organization B received nothing and has no messages.
    const foreign = await admin.query(`select count(*)::int as n from email_messages where organization_id = $1`, [b.organizationId]);
    expect(foreign.rows[0].n).toBe(0);
  }, 2 * SEND_BUDGET_MS + 60_000);
});
