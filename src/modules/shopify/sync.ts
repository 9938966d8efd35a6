import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database, Tx } from '../../db/index.js';
import { query, queryOne } from '../../db/sql.js';
import { systemContext, type TenantContext } from '../../http/access.js';
import { AppError } from '../../http/errors.js';
import { enqueueJob, type Job, type JobContext, type JobHandler, type JobResult } from '../../jobs/queue.js';
import { recordAudit } from '../audit/service.js';
import { adminGraphql, type QueryCost } from './client.js';
import { emitCustomerEvents, fromGraphql, upsertShopifyCustomer } from './customers.js';
import { requireShopAccess, shopAccessOf } from './store.js';

/** The sync's note when the plan's customer limit left new customers out (kept until the sync ends). */
const OVER_PLAN = "Customers beyond the plan's customer limit were not created; upgrade the plan and sync again";

export const SHOPIFY_SYNC_QUEUE = 'shopify-customer-sync';
/** Shopify's largest page of a connection. */
export const PAGE_SIZE = 250;
/** Waits for the cost bucket up to this long inside the run; a longer one hands the job back with a retryAt. */
const MAX_INLINE_WAIT_MS = 10_000;

export const CUSTOMERS_QUERY = `query Customers($first: Int!, $after: String) {
  customers(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id firstName lastName email phone tags
      emailMarketingConsent { marketingState }
      smsMarketingConsent { marketingState }
    }
  }
}`;

interface SyncRow {
  id: string;
  status: 'queued' | 'running' | 'completed' | 'failed';
  cursor: string | null;
  pages: number;
  customers_seen: number;
  customers_created: number;
  customers_updated: number;
  throttled: number;
  error: string | null;
  started_at: string | null;
  finished_at: string | null;
  created_at: string;
}

const ISO = sql`'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const iso = (col: string) => sql`to_char(${sql.identifier(col)} at time zone 'UTC', ${ISO})`;
const COLUMNS = sql`id, status, cursor, pages, customers_seen, customers_created, customers_updated, throttled, error,
  ${iso('started_at')} as started_at, ${iso('finished_at')} as finished_at, ${iso('created_at')} as created_at`;

export const toSyncDto = (r: SyncRow) => ({
  id: r.id,
  status: r.status,
  pages: r.pages,
  customersSeen: r.customers_seen,
  customersCreated: r.customers_created,
  customersUpdated: r.customers_updated,
  throttled: r.throttled,
  error: r.error,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  createdAt: r.created_at,
});

/**
 * Starts a customer sync (202): one durable job per organization at a time; asking again while one is
 * queued or running returns that one.
 */
export async function startCustomerSync(tx: Tx, ctx: TenantContext, config: Pick<Config, 'secrets'>) {
  await requireShopAccess(tx, ctx.organizationId, config);
  const running = await queryOne<SyncRow>(
    tx,
    sql`select ${COLUMNS} from shopify_syncs where organization_id = ${ctx.organizationId} and status in ('queued', 'running')
      order by created_at desc limit 1`,
  );
  if (running) return toSyncDto(running);
  const row = await queryOne<SyncRow>(tx, sql`insert into shopify_syncs (organization_id) values (${ctx.organizationId}) returning ${COLUMNS}`);
  await enqueueJob(tx, ctx.organizationId, SHOPIFY_SYNC_QUEUE, { syncId: row!.id }, { singletonKey: `shopify-sync:${row!.id}`, maxAttempts: 10 });
  await recordAudit(tx, ctx, { action: 'shopify.sync_started', resourceType: 'shopify_sync', resourceId: row!.id });
  return toSyncDto(row!);
}

/** The latest sync's progress; 404 when the organization never synced. */
export async function latestSync(tx: Tx, ctx: TenantContext) {
  const row = await queryOne<SyncRow>(tx, sql`select ${COLUMNS} from shopify_syncs where organization_id = ${ctx.organizationId} order by created_at desc, id desc limit 1`);
  if (!row) throw new AppError('not_found', 'No customer sync has run for this organization');
  return toSyncDto(row);
}

/** How long to wait before a query of `cost` points can run, from the bucket the last answer reported. */
export function waitForBucket(cost: QueryCost | null, nextCost: number): number {
  if (!cost) return 0;
  const { currentlyAvailable, restoreRate } = cost.throttleStatus;
  if (currentlyAvailable >= nextCost) return 0;
  return Math.ceil(((nextCost - currentlyAvailable) / Math.max(restoreRate, 1)) * 1000);
}

/**
 * The sync job: pages of 250 customers through `customers(first:, after:)`, each page applied with the
 * cursor after it in one transaction, fenced by the job's lease (a run that lost its job writes
 * nothing). It waits when the cost bucket would run dry for the next page and backs off on THROTTLED.
 * A stopped or crashed run resumes from the stored cursor; upserts are keyed on the Shopify id, so a
 * page applied twice duplicates nobody. Only one page is held in memory at a time.
 */
export function customerSyncHandler(db: Database, config: Config): JobHandler {
  return async (job: Job, { signal }: JobContext): Promise<JobResult | void> => {
    const syncId = String(job.payload.syncId);
    const org = job.organizationId;
    const ctx = systemContext(org, 'shopify-sync');
    const start = await db.withTenant(org, async (tx) => {
      const row = await queryOne<SyncRow>(tx, sql`select ${COLUMNS} from shopify_syncs where organization_id = ${org} and id = ${syncId}`);
      if (!row || row.status === 'completed' || row.status === 'failed') return null;
      const access = await shopAccessOf(tx, org, config);
      if (!access) {
        await query(tx, sql`update shopify_syncs set status = 'failed', error = 'The Shopify store was disconnected', finished_at = now(), updated_at = now()
          where organization_id = ${org} and id = ${syncId}`);
        return null;
      }
      await query(tx, sql`update shopify_syncs set status = 'running', started_at = coalesce(started_at, now()), updated_at = now()
        where organization_id = ${org} and id = ${syncId}`);
      return { row, access };
    });
    if (!start) return;
    const { access } = start;
    let cursor = start.row.cursor;
    let lastCost: QueryCost | null = null;
    let expected = PAGE_SIZE * 2 + 2;
    try {
      for (;;) {
        if (signal.aborted) return;
        const wait = waitForBucket(lastCost, expected);
        if (wait > MAX_INLINE_WAIT_MS) return { retryAt: new Date(Date.now() + wait) };
        if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => {});
        if (signal.aborted) return;
        const res = await adminGraphql<{ customers: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: unknown[] } }>(
          config,
          access.shop,
          access.accessToken,
          CUSTOMERS_QUERY,
          { first: PAGE_SIZE, after: cursor },
          AbortSignal.any([signal, AbortSignal.timeout(60_000)]),
        );
        if (res.cost) {
          lastCost = res.cost;
          expected = res.cost.requestedQueryCost || expected;
        }
        if (res.throttled) {
          // Back off until the bucket holds a page's cost (or a second when the answer said nothing).
          await db.withTenant(org, (tx) => query(tx, sql`update shopify_syncs set throttled = throttled + 1, updated_at = now() where organization_id = ${org} and id = ${syncId}`));
          const backoff = Math.max(waitForBucket(res.cost, expected), 1000 * (res.cost ? 0 : 1), 50);
          if (backoff > MAX_INLINE_WAIT_MS) return { retryAt: new Date(Date.now() + backoff) };
          await sleep(backoff, undefined, { signal }).catch(() => {});
          lastCost = null;
          continue;
        }
        if (!res.data?.customers) throw new Error(`Shopify customers query failed: ${res.errors.map((e) => e.message).join('; ') || 'no data'}`);
        const page = res.data.customers;
        const applied = await db.withTenant(org, async (tx) => {
          // Fenced: the page and its cursor are written only while this run holds the job.
          const held = await queryOne(tx, sql`select 1 as ok from jobs where organization_id = ${org} and id = ${job.id} and lease_id = ${job.leaseId} and state = 'active'`);
          if (!held) return false;
          const createdIds: string[] = [];
          let updated = 0;
          let overPlan = 0;
          for (const node of page.nodes) {
            const c = fromGraphql(node);
            if (!c) continue;
            const r = await upsertShopifyCustomer(tx, org, c, config.billing.plans);
            if (r === 'over_plan') overPlan++;
            else if (r?.created) createdIds.push(r.id);
            else if (r) updated++;
          }
          const created = createdIds.length;
          // New customers are announced to outbound webhooks; a re-sync's unchanged rows are not "updated" events.
          await emitCustomerEvents(tx, org, createdIds, []);
          const done = !page.pageInfo.hasNextPage;
          await query(
            tx,
            sql`update shopify_syncs set cursor = ${page.pageInfo.endCursor ?? cursor}, pages = pages + 1,
                customers_seen = customers_seen + ${page.nodes.length}, customers_created = customers_created + ${created},
                customers_updated = customers_updated + ${updated},
                error = case when ${overPlan}::int > 0 or error = ${OVER_PLAN} then ${OVER_PLAN} else null end,
                status = ${done ? 'completed' : 'running'}, finished_at = ${done ? sql`now()` : sql`null`}, updated_at = now()
              where organization_id = ${org} and id = ${syncId}`,
          );
          await recordAudit(tx, ctx, {
            action: 'shopify.customers_synced',
            resourceType: 'shopify_sync',
            resourceId: syncId,
            changes: { seen: page.nodes.length, created, updated, done, ...(overPlan && { notCreatedOverPlan: overPlan }) },
          });
          return true;
        });
        if (!applied) return;
        if (!page.pageInfo.hasNextPage) return;
        cursor = page.pageInfo.endCursor;
      }
    } catch (err) {
      // Stopped mid-request (worker shutdown, lost lease): nothing of this page was written; the job resumes from the cursor.
      if (signal.aborted) return;
      const message = (err as Error).message.slice(0, 500);
      const last = job.attempts >= job.maxAttempts;
      await db.withTenant(org, (tx) =>
        query(tx, sql`update shopify_syncs set error = ${message}, status = ${last ? 'failed' : 'running'},
            finished_at = ${last ? sql`now()` : sql`null`}, updated_at = now() where organization_id = ${org} and id = ${syncId}`),
      );
      throw err;
    }
  };
}
