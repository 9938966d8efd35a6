import { and, eq, sql } from 'drizzle-orm';
import type { Config, SocialPlatform } from '../../config.js';
import { schema, type Database, type Tx } from '../../db/index.js';
import { systemContext } from '../../http/access.js';
import type { JobHandler } from '../../jobs/queue.js';
import { recordAudit } from '../audit/service.js';
import { emitEvent } from '../webhooks/emit.js';
import { accessTokenOf, accountRow, refreshAccount, type InTenant } from './accounts.js';
import { platformConfig } from './oauth.js';
import { PlatformError, publishPost } from './platform-api.js';
import { toPost, type PostRow } from './posts.js';

const { socialPosts: sp, socialAccounts: sa } = schema;

/** A token this close to expiry is renewed before publishing. */
const EXPIRY_MARGIN_MS = 60_000;
/** However long a platform asks us to wait, a retry comes back within a day. */
const MAX_WAIT_MS = 24 * 3600_000;

const eventPost = (row: PostRow, platform: SocialPlatform) => {
  const p = toPost(row, platform);
  return { id: p.id, accountId: p.accountId, platform, status: p.status, scheduledAt: p.scheduledAt, publishedAt: p.publishedAt, platformPostId: p.platformPostId, permalink: p.permalink, attempts: p.attempts };
};

/**
 * The social-publish job: one post at its scheduled time. The post moves scheduled → publishing (an
 * attempt counted) in one statement, so an edit or a deletion that came first wins; the platform is
 * called outside any transaction; the outcome is recorded with its webhook event in one transaction.
 * Transient failures (5xx, 429, the network) come back at the time the platform named
 * (`x-rate-limit-reset`, `Retry-After`) or with exponential backoff, up to SOCIAL_PUBLISH_MAX_ATTEMPTS;
 * a refusal fails the post at once; a dead token marks the account for reconnection and fails the post.
 * A worker that dies after the platform accepted and before the outcome is recorded may publish again
 * when the job is taken over: the inherent window of publishing through an API without idempotency keys.
 */
export function publishHandler(db: Database, config: Config): JobHandler {
  return async (job, { signal }) => {
    const org = job.organizationId;
    const postId = String(job.payload.postId);
    const inTenant: InTenant = (fn) => db.withTenant(org, fn);
    const ctx = systemContext(org, 'social-publish');

    const claimed = await inTenant(async (tx) => {
      const [row] = await tx.select().from(sp).where(and(eq(sp.organizationId, org), eq(sp.id, postId)));
      if (!row || !['scheduled', 'publishing'].includes(row.status)) return null;
      if (row.scheduledAt && row.scheduledAt.getTime() > Date.now() + 1000) return { later: row.scheduledAt };
      const [taken] = await tx
        .update(sp)
        .set({ status: 'publishing', attempts: sql`${sp.attempts} + 1`, updatedAt: sql`now()` })
        .where(and(eq(sp.organizationId, org), eq(sp.id, postId), sql`${sp.status} in ('scheduled', 'publishing')`))
        .returning();
      const account = taken && (await accountRow(tx, org, taken.accountId));
      return taken && account ? { post: taken, account } : null;
    });
    if (!claimed) return;
    if ('later' in claimed && claimed.later) return { retryAt: claimed.later };
    if (!('post' in claimed) || !claimed.post || !claimed.account) return;
    const { post } = claimed;
    let { account } = claimed;
    const platform = account.platform as SocialPlatform;

    const fail = (message: string) =>
      inTenant(async (tx) => {
        const [row] = await tx
          .update(sp)
          .set({ status: 'failed', error: message.slice(0, 1000), updatedAt: sql`now()` })
          .where(and(eq(sp.organizationId, org), eq(sp.id, postId), eq(sp.status, 'publishing')))
          .returning();
        if (!row) return;
        await recordAudit(tx, ctx, { action: 'social_post.failed', resourceType: 'social_post', resourceId: postId, changes: { error: message.slice(0, 500), attempts: row.attempts } });
        await emitEvent(tx, { organizationId: org }, 'social_post.failed', { post: eventPost(row, platform), error: message.slice(0, 1000) });
      });

    try {
      if (account.status !== 'connected') throw new PlatformError(`The ${platform} account needs reconnection: ${account.statusReason ?? 'its token was refused'}`, 'auth');
      const cfg = platformConfig(config, platform);
      if (account.tokenExpiresAt && account.tokenExpiresAt.getTime() < Date.now() + EXPIRY_MARGIN_MS && account.platform !== 'facebook' && account.platform !== 'instagram') {
        const renewed = await refreshAccount(inTenant, systemContext(org, 'social-token-refresh'), config, account.id);
        if (renewed.error) throw renewed.error;
        account = (await inTenant((tx) => accountRow(tx, org, account.id)))!;
      }
      const token = accessTokenOf(config, account);
      if (!token) throw new PlatformError(`The ${platform} account has no token: connect it again`, 'auth');
      const published = await publishPost(platform, cfg, { externalId: account.externalId ?? '', handle: account.handle, accessToken: token }, { body: post.body, link: post.link, imageUrls: post.media ?? [] }, signal);
      await inTenant(async (tx: Tx) => {
        const [row] = await tx
          .update(sp)
          .set({ status: 'published', externalId: published.platformPostId, permalink: published.permalink, publishedAt: sql`now()`, error: null, updatedAt: sql`now()` })
          .where(and(eq(sp.organizationId, org), eq(sp.id, postId), eq(sp.status, 'publishing')))
          .returning();
        if (!row) return;
        await recordAudit(tx, ctx, { action: 'social_post.published', resourceType: 'social_post', resourceId: postId, changes: { platformPostId: published.platformPostId, attempts: row.attempts } });
        await emitEvent(tx, { organizationId: org }, 'social_post.published', { post: eventPost(row, platform) });
      });
    } catch (err) {
      const e = err instanceof PlatformError ? err : new PlatformError((err as Error)?.message ?? String(err), 'transient');
      if (e.kind === 'auth') {
        // A token the platform no longer accepts: the account shows it needs reconnecting.
        await inTenant(async (tx) => {
          const [u] = await tx
            .update(sa)
            .set({ status: 'needs_reconnection', statusReason: e.message.slice(0, 500), updatedAt: sql`now()` })
            .where(and(eq(sa.organizationId, org), eq(sa.id, account.id), eq(sa.status, 'connected')))
            .returning({ id: sa.id });
          if (u) await recordAudit(tx, ctx, { action: 'social_account.needs_reconnection', resourceType: 'social_account', resourceId: account.id, changes: { platform, reason: e.message.slice(0, 500) } });
        });
        return fail(e.message);
      }
      if (e.kind === 'transient' && post.attempts < config.social.publishMaxAttempts && !signal.aborted) {
        const backoff = config.social.retryBaseMs * 2 ** (post.attempts - 1);
        const wait = Math.min(MAX_WAIT_MS, Math.max(backoff, (e.retryAt?.getTime() ?? 0) - Date.now()));
        await inTenant((tx) => tx.update(sp).set({ error: `Attempt ${post.attempts} failed, retrying: ${e.message}`.slice(0, 1000), updatedAt: sql`now()` }).where(and(eq(sp.organizationId, org), eq(sp.id, postId))));
        return { retryAt: new Date(Date.now() + wait) };
      }
      if (signal.aborted) return { retryAt: new Date() };
      return fail(e.kind === 'transient' ? `Gave up after ${post.attempts} attempts: ${e.message}` : e.message);
    }
  };
}
