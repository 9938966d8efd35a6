// A campaign run's outcome write that PostgreSQL rolls back for a deadlock is run again, whole: every
// outcome is recorded once and nothing of the rolled-back try remains (src/channels/campaign-engine.ts
// writes outcomes through retryTransient; a write that still fails stops the run and fails the job).
// The write locks its rows in id order (campaign-store.ts), whatever order the outcomes came in.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordOutcomes, type CampaignTables, type Fence } from '../src/channels/campaign-store.js';
import { retryTransient } from '../src/db/errors.js';
import { createTestDatabase, onPostgres, type TestDatabase } from './helpers.js';
import { waitFor } from './email-support.js';

const tables: CampaignTables = { campaigns: 'email_campaigns', messages: 'email_messages', address: 'to_email' };

describe.skipIf(!onPostgres)('outcome writes under lock contention (PostgreSQL only: PGlite has one connection)', () => {
  let t: TestDatabase;
  let other: pg.Client;
  let org: string;
  let campaignId: string;
  beforeAll(async () => {
    t = await createTestDatabase();
    other = new pg.Client({ connectionString: t.url });
    await other.connect();
    [{ id: org }] = await t.db.owner.query<{ id: string }>(`insert into organizations (name) values ('Deadlock') returning id`);
    [{ id: campaignId }] = await t.db.owner.query<{ id: string }>(
      `insert into email_campaigns (organization_id, name, status) values ($1, 'Locks', 'sending') returning id`,
      [org],
    );
  });
  afterAll(async () => {
    await other?.end();
    await t?.close();
  });

  /** Two message rows this run holds (leased to it), lower id first, and the run's fence. */
  async function leasedPair() {
    const fence: Fence = { jobId: randomUUID(), leaseId: randomUUID(), leaseMs: 60_000 };
    const rows = await t.db.owner.query<{ id: string }>(
      `insert into email_messages (organization_id, campaign_id, to_email, status, lease_id, lease_until, attempts)
       select $1, $2, 'r' || g || '@locks.example', 'sending', $3, now() + interval '1 minute', 1 from generate_series(1, 2) g
       returning id`,
      [org, campaignId, fence.leaseId],
    );
    const [low, high] = rows.map((r) => r.id).sort();
    return { low, high, fence };
  }

  /** Waits until a backend other than `other` waits for a row lock on email_messages. */
  const blocked = () =>
    waitFor(async () => {
      const r = await t.db.owner.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity
         where datname = current_database() and wait_event_type = 'Lock' and pid <> $1 and query ilike '%email_messages%'`,
        [(other as unknown as { processID: number }).processID],
      );
      return r[0].n > 0;
    }, 10_000, 10);

  it('a deadlocked outcome write is rolled back whole and run again: both outcomes land once, the other writer keeps its change', async () => {
    const { low, high, fence } = await leasedPair();
    // Another writer (a provider's status callback, a takeover) holds the higher row and, after the
    // run's write has locked the lower one, wants it too. Its deadlock check runs late, so PostgreSQL
    // picks the run's write as the victim.
    await other.query('begin');
    await other.query(`set local deadlock_timeout = '20s'`);
    await other.query('select id from email_messages where id = $1 for update', [high]);

    let tries = 0;
    // The outcomes arrive higher id first: the write still locks the lower row first.
    const writing = retryTransient(() => {
      tries++;
      return t.db.withTenant(org, (tx) =>
        recordOutcomes(tx, tables, org, [
          { id: high, status: 'sent', providerMessageId: 'smtp-high' },
          { id: low, status: 'failed', error: '550 no such user' },
        ], fence),
      );
    });
    await blocked();
    await other.query(`update email_messages set provider_message_id = 'from-the-other-writer' where id = $1`, [low]);
    await other.query('commit');

    const recorded = await writing;
    expect(tries).toBe(2);
    expect(recorded.map((r) => [r.id, r.status]).sort()).toEqual([[high, 'sent'], [low, 'failed']].sort());
    const rows = await t.db.owner.query<Record<string, unknown>>(
      `select id, status, provider_message_id, error, lease_id from email_messages where id = any($1::uuid[]) order by id`,
      [[low, high]],
    );
    expect(rows).toEqual([
      // Status only moves forward and a provider id already known is kept.
      { id: low, status: 'failed', provider_message_id: 'from-the-other-writer', error: '550 no such user', lease_id: null },
      { id: high, status: 'sent', provider_message_id: 'smtp-high', error: null, lease_id: null },
    ]);
  });
});
