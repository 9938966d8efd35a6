import { and, eq, gte, lt, sql } from 'drizzle-orm';
import type { SocialPlatform } from '../../config.js';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, conflictOr404, notFound } from '../../http/errors.js';
import { cancelQueuedJob, enqueueJob } from '../../jobs/queue.js';
import { keysetPage } from '../../lib/pagination.js';
import { recordAudit } from '../audit/service.js';
import { accountRow } from './accounts.js';
import { checkPost, lengthOf, LIMITS, textFor } from './limits.js';
import type { PostCreate, PostListQuery, PostPatch } from './schemas.js';

const { socialPosts: sp, socialAccounts: sa } = schema;

export const SOCIAL_PUBLISH_QUEUE = 'social-publish';
export const publishKey = (postId: string) => `social-post:${postId}`;

export type PostRow = typeof sp.$inferSelect;

/** A post as the API shows it, with the length its platform counts. */
export function toPost(r: PostRow, platform: SocialPlatform) {
  const text = textFor(platform, r.body, r.link);
  return {
    id: r.id,
    accountId: r.accountId,
    platform,
    body: r.body,
    link: r.link,
    imageUrls: r.media ?? [],
    status: r.status as 'draft' | 'scheduled' | 'publishing' | 'published' | 'failed',
    scheduledAt: r.scheduledAt?.toISOString() ?? null,
    publishedAt: r.publishedAt?.toISOString() ?? null,
    platformPostId: r.externalId,
    permalink: r.permalink,
    error: r.error,
    attempts: r.attempts,
    length: { count: lengthOf(platform, text), limit: LIMITS[platform].maxCharacters },
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** The platform of the organization's account, or a 400 naming the field (another organization's account does not exist here). */
async function platformOfAccount(tx: Tx, organizationId: string, accountId: string): Promise<SocialPlatform> {
  const row = await accountRow(tx, organizationId, accountId);
  if (!row) throw new AppError('validation_failed', 'No such social account', [{ in: 'body', path: 'accountId', message: 'No such social account in this organization' }]);
  return row.platform as SocialPlatform;
}

function validate(platform: SocialPlatform, post: { body: string; link: string | null; imageUrls: string[]; status: string; scheduledAt: Date | null }) {
  const details: { in: 'body'; path: string; message: string }[] = checkPost(platform, post).map((p) => ({ in: 'body', ...p }));
  if (post.status === 'scheduled') {
    if (!post.scheduledAt) details.push({ in: 'body', path: 'scheduledAt', message: 'A scheduled post needs scheduledAt' });
    else if (post.scheduledAt.getTime() < Date.now() - 60_000) details.push({ in: 'body', path: 'scheduledAt', message: 'scheduledAt is in the past' });
  }
  if (details.length) throw new AppError('validation_failed', details[0].message, details);
}

/** A scheduled post has its publish job at its time; any other state has none queued. */
async function syncJob(tx: Tx, organizationId: string, row: PostRow) {
  await cancelQueuedJob(tx, organizationId, publishKey(row.id));
  if (row.status === 'scheduled' && row.scheduledAt) {
    await enqueueJob(tx, organizationId, SOCIAL_PUBLISH_QUEUE, { postId: row.id }, { singletonKey: publishKey(row.id), runAt: row.scheduledAt, maxAttempts: 20 });
  }
}

export async function createPost(tx: Tx, ctx: TenantContext, input: PostCreate) {
  const platform = await platformOfAccount(tx, ctx.organizationId, input.accountId);
  const scheduledAt = input.scheduledAt ? new Date(input.scheduledAt) : null;
  const post = { body: input.body, link: input.link ?? null, imageUrls: input.imageUrls ?? [], status: input.status, scheduledAt };
  validate(platform, post);
  const [row] = await tx
    .insert(sp)
    .values({ organizationId: ctx.organizationId, accountId: input.accountId, body: post.body, link: post.link, media: post.imageUrls, status: post.status, scheduledAt })
    .returning();
  await syncJob(tx, ctx.organizationId, row);
  await recordAudit(tx, ctx, { action: 'social_post.created', resourceType: 'social_post', resourceId: row.id, changes: { accountId: row.accountId, status: row.status, scheduledAt: row.scheduledAt?.toISOString() ?? null } });
  return toPost(row, platform);
}

export async function listPosts(tx: Tx, ctx: { organizationId: string }, q: PostListQuery) {
  // The calendar's window is on the day a post goes out: published, else scheduled.
  const day = sql`coalesce(${sp.publishedAt}, ${sp.scheduledAt})`;
  const { rows, nextCursor } = await keysetPage(tx, sp, q, [
    eq(sp.organizationId, ctx.organizationId),
    q.accountId ? eq(sp.accountId, q.accountId) : undefined,
    q.status ? eq(sp.status, q.status) : undefined,
    q.from ? gte(day, new Date(q.from)) : undefined,
    q.to ? lt(day, new Date(q.to)) : undefined,
  ]);
  const platforms = await platformsOf(tx, ctx.organizationId, [...new Set(rows.map((r) => r.accountId))]);
  return { data: rows.map((r) => toPost(r, platforms.get(r.accountId) ?? 'x')), nextCursor };
}

async function platformsOf(tx: Tx, organizationId: string, ids: string[]) {
  if (!ids.length) return new Map<string, SocialPlatform>();
  const rows = await tx
    .select({ id: sa.id, platform: sa.platform })
    .from(sa)
    .where(and(eq(sa.organizationId, organizationId), sql`${sa.id} = any(${sql.param(ids)}::uuid[])`));
  return new Map(rows.map((r) => [r.id, r.platform as SocialPlatform]));
}

export async function getPost(tx: Tx, ctx: { organizationId: string }, id: string) {
  const [row] = await tx.select().from(sp).where(and(eq(sp.organizationId, ctx.organizationId), eq(sp.id, id)));
  if (!row) throw notFound();
  return toPost(row, await platformOfAccount(tx, ctx.organizationId, row.accountId));
}

const notPublished = sql`${sp.status} in ('draft', 'scheduled', 'failed')`;
const explain = (tx: Tx, organizationId: string, id: string) =>
  conflictOr404(
    tx.select({ status: sp.status }).from(sp).where(and(eq(sp.organizationId, organizationId), eq(sp.id, id))).then((r) => r[0]),
    (r) => (r.status === 'published' ? 'This post is published: it can no longer be changed' : 'This post is being published: it can no longer be changed'),
  );

/** Changes a post while it is not published (nor being published): one statement that refuses those states; 409 then. */
export async function updatePost(tx: Tx, ctx: TenantContext, id: string, patch: PostPatch) {
  const [current] = await tx.select().from(sp).where(and(eq(sp.organizationId, ctx.organizationId), eq(sp.id, id)));
  if (!current) throw notFound();
  const accountId = patch.accountId ?? current.accountId;
  const platform = await platformOfAccount(tx, ctx.organizationId, accountId);
  const next = {
    body: patch.body ?? current.body,
    link: patch.link === undefined ? current.link : patch.link,
    imageUrls: patch.imageUrls ?? current.media ?? [],
    // A failed post is edited back into a draft unless it is scheduled again.
    status: patch.status ?? (current.status === 'failed' ? 'draft' : current.status),
    scheduledAt: patch.scheduledAt === undefined ? current.scheduledAt : patch.scheduledAt ? new Date(patch.scheduledAt) : null,
  };
  validate(platform, next);
  const [row] = await tx
    .update(sp)
    .set({ accountId, body: next.body, link: next.link, media: next.imageUrls, status: next.status, scheduledAt: next.scheduledAt, error: null, updatedAt: sql`now()` })
    .where(and(eq(sp.organizationId, ctx.organizationId), eq(sp.id, id), notPublished))
    .returning();
  if (!row) return explain(tx, ctx.organizationId, id);
  await syncJob(tx, ctx.organizationId, row);
  await recordAudit(tx, ctx, { action: 'social_post.updated', resourceType: 'social_post', resourceId: id, changes: { fields: Object.keys(patch), status: row.status } });
  return toPost(row, platform);
}

export async function deletePost(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.delete(sp).where(and(eq(sp.organizationId, ctx.organizationId), eq(sp.id, id), notPublished)).returning({ id: sp.id, status: sp.status });
  if (!row) return explain(tx, ctx.organizationId, id);
  await cancelQueuedJob(tx, ctx.organizationId, publishKey(id));
  await recordAudit(tx, ctx, { action: 'social_post.deleted', resourceType: 'social_post', resourceId: id, changes: { status: row.status } });
}
