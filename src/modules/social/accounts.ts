import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { SOCIAL_PLATFORMS, type Config, type SocialPlatform } from '../../config.js';
import { schema, type Tx } from '../../db/index.js';
import { queryOne } from '../../db/sql.js';
import type { AuditContext, TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { cancelQueuedJob, enqueueJob } from '../../jobs/queue.js';
import { keysetPage } from '../../lib/pagination.js';
import { recordAudit } from '../audit/service.js';
import { openIntegrationSecret, sealIntegrationSecret, type IntegrationKind } from '../integrations/store.js';
import { LIMITS } from './limits.js';
import { authorizeUrl, CONNECTION_TTL_MS, exchangeCode, hashState, newState, organizationOfState, platformConfig, renewGrant } from './oauth.js';
import { findAccounts, pageToken, PlatformError, type FoundAccount } from './platform-api.js';

const { socialAccounts: sa } = schema;

/** Tokens are sealed with the integrations store's AES-256-GCM, bound to organization and account. */
const ACCESS: IntegrationKind = { provider: 'social', secretLabel: 'social-access-token' };
const REFRESH: IntegrationKind = { provider: 'social', secretLabel: 'social-refresh-token' };
const VERIFIER: IntegrationKind = { provider: 'social', secretLabel: 'social-pkce-verifier' };

export const SOCIAL_REFRESH_QUEUE = 'social-token-refresh';
const refreshKey = (accountId: string) => `social-refresh:${accountId}`;

/** Runs a function in the organization's transaction: a request's `req.tenant`, or the job's `withTenant`. */
export type InTenant = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

export type AccountRow = typeof sa.$inferSelect;

/** What the API shows of an account: never a token. */
export const toAccount = (r: AccountRow) => ({
  id: r.id,
  platform: r.platform as SocialPlatform,
  handle: r.handle,
  displayName: r.displayName,
  externalId: r.externalId,
  status: r.status as 'connected' | 'needs_reconnection',
  statusReason: r.statusReason,
  scopes: r.scopes,
  tokenExpiresAt: r.tokenExpiresAt?.toISOString() ?? null,
  refreshedAt: r.refreshedAt?.toISOString() ?? null,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

/** The platforms this server offers, with what each accepts in a post. */
export const listPlatforms = (config: Pick<Config, 'social'>) => ({
  data: SOCIAL_PLATFORMS.map((p) => ({ platform: p, ...LIMITS[p], configured: Boolean(config.social.platforms[p]) })),
});

export async function listAccounts(tx: Tx, ctx: { organizationId: string }, q: { limit: number; cursor?: string; platform?: SocialPlatform }) {
  const { rows, nextCursor } = await keysetPage(tx, sa, q, [eq(sa.organizationId, ctx.organizationId), q.platform ? eq(sa.platform, q.platform) : undefined]);
  return { data: rows.map(toAccount), nextCursor };
}

export async function accountRow(tx: Tx, organizationId: string, id: string) {
  const [row] = await tx.select().from(sa).where(and(eq(sa.organizationId, organizationId), eq(sa.id, id)));
  return row;
}

/** Starts a connection: a single-use state bound to the organization and the signed-in person, and the platform's authorize URL. */
export async function startConnection(tx: Tx, ctx: TenantContext, config: Pick<Config, 'social' | 'env' | 'publicUrl' | 'secrets'>, platform: SocialPlatform) {
  const cfg = platformConfig(config, platform);
  const { state, hash } = newState(ctx.organizationId);
  const { url, verifier } = await authorizeUrl(config, platform, cfg, state);
  const expiresAt = new Date(Date.now() + CONNECTION_TTL_MS);
  // Connections nobody finished are forgotten as new ones start.
  await tx.execute(sql`delete from social_connections where organization_id = ${ctx.organizationId} and expires_at < now()`);
  await tx.execute(sql`insert into social_connections (organization_id, platform, user_id, state_hash, code_verifier_encrypted, expires_at)
    values (${ctx.organizationId}, ${platform}, ${ctx.actor.type === 'user' ? ctx.actor.id : null}, ${hash},
      ${sealIntegrationSecret(VERIFIER, config.secrets.encryptionKey, ctx.organizationId, hash, verifier)}, ${expiresAt.toISOString()}::timestamptz)`);
  await recordAudit(tx, ctx, { action: 'social_account.connect_started', resourceType: 'social_account', changes: { platform } });
  return { platform, authorizeUrl: url, expiresAt: expiresAt.toISOString() };
}

const refused = (message: string) => new AppError('validation_failed', message);

/**
 * The platform's redirect back (public: the browser arrives from the platform). The state names its
 * organization and is looked up there only, by its hash; it is taken (deleted) on first use and must be
 * unexpired, so a state cannot be replayed, forged for another organization, or used late. The code is
 * then exchanged with the stored PKCE verifier and the accounts it grants are saved in that organization.
 */
export async function completeConnection(
  withTenant: (organizationId: string, fn: (tx: Tx) => Promise<unknown>) => Promise<unknown>,
  config: Pick<Config, 'social' | 'env' | 'publicUrl' | 'secrets'>,
  query: { state?: string; code?: string; error?: string; error_description?: string },
  currentUrl: URL,
  requestId: string,
): Promise<{ organizationId: string; accountIds: string[] }> {
  const state = query.state ?? '';
  const org = organizationOfState(state);
  if (!org) throw refused('The connection link is invalid: start connecting the account again');
  const hash = hashState(state);
  const taken = (await withTenant(org, async (tx) => {
    const row = await queryOne<{ platform: SocialPlatform; user_id: string | null; sealed: string; fresh: boolean; member: boolean }>(
      tx,
      sql`delete from social_connections c where organization_id = ${org} and state_hash = ${hash}
        returning platform, user_id, code_verifier_encrypted as sealed, expires_at > now() as fresh,
          exists (select 1 from memberships m where m.organization_id = c.organization_id and m.user_id = c.user_id and m.role in ('owner', 'admin')) as member`,
    );
    return row;
  })) as { platform: SocialPlatform; user_id: string | null; sealed: string; fresh: boolean; member: boolean } | undefined;
  if (!taken) throw refused('The connection link is invalid or was already used: start connecting the account again');
  if (!taken.fresh) throw refused('The connection link has expired: start connecting the account again');
  if (!taken.member || !taken.user_id) throw refused('The person who started this connection can no longer connect accounts here');
  if (query.error) throw new PlatformError(`The platform did not grant access: ${query.error_description ?? query.error}`, 'permanent');
  const cfg = platformConfig(config, taken.platform);
  const verifier = openIntegrationSecret(VERIFIER, config.secrets.encryptionKey, org, hash, taken.sealed);
  const grant = await exchangeCode(config, taken.platform, cfg, currentUrl, { state, verifier });
  const found = await findAccounts(taken.platform, cfg, grant);
  if (!found.length) {
    throw new PlatformError(taken.platform === 'instagram' ? 'No Instagram business account is linked to a Facebook Page you manage' : 'The grant gives access to no account (no Facebook Page?)', 'permanent');
  }
  const ctx: AuditContext = { organizationId: org, actor: { type: 'user', id: taken.user_id }, requestId };
  const accountIds = (await withTenant(org, async (tx) => {
    const ids: string[] = [];
    for (const f of found) ids.push(await saveAccount(tx, ctx, config, taken.platform, f, grant.scope));
    return ids;
  })) as string[];
  return { organizationId: org, accountIds };
}

/** Saves (or reconnects: one row per platform account) an account with its tokens sealed, and schedules its refresh. */
async function saveAccount(tx: Tx, ctx: AuditContext, config: Pick<Config, 'secrets' | 'social'>, platform: SocialPlatform, f: FoundAccount, scope: string | null) {
  const org = ctx.organizationId;
  const existing = await queryOne<{ id: string }>(tx, sql`select id from social_accounts where organization_id = ${org} and platform = ${platform} and external_id = ${f.externalId}`);
  const id = existing?.id ?? randomUUID();
  const key = config.secrets.encryptionKey;
  await tx.execute(sql`insert into social_accounts (organization_id, id, platform, handle, external_id, display_name, access_token_encrypted,
      refresh_token_encrypted, token_expires_at, status, status_reason, scopes, refreshed_at)
    values (${org}, ${id}, ${platform}, ${f.handle}, ${f.externalId}, ${f.displayName}, ${sealIntegrationSecret(ACCESS, key, org, id, f.accessToken)},
      ${f.refreshToken ? sealIntegrationSecret(REFRESH, key, org, id, f.refreshToken) : null}, ${f.expiresAt?.toISOString() ?? null}::timestamptz,
      'connected', null, ${scope}, now())
    on conflict (organization_id, platform, external_id) do update set handle = excluded.handle, display_name = excluded.display_name,
      access_token_encrypted = excluded.access_token_encrypted, refresh_token_encrypted = excluded.refresh_token_encrypted,
      token_expires_at = excluded.token_expires_at, status = 'connected', status_reason = null, scopes = excluded.scopes,
      refreshed_at = now(), updated_at = now()`);
  await recordAudit(tx, ctx, { action: existing ? 'social_account.reconnected' : 'social_account.connected', resourceType: 'social_account', resourceId: id, changes: { platform, handle: f.handle } });
  await scheduleRefresh(tx, org, id, f.expiresAt, config);
  return id;
}

/** The refresh job of an account, moved to shortly before its token expires (none for a token that does not). */
export async function scheduleRefresh(tx: Tx, organizationId: string, accountId: string, expiresAt: Date | null, config: Pick<Config, 'social'>) {
  await cancelQueuedJob(tx, organizationId, refreshKey(accountId));
  const at = refreshTime(expiresAt, config);
  if (at) await enqueueJob(tx, organizationId, SOCIAL_REFRESH_QUEUE, { accountId }, { singletonKey: refreshKey(accountId), runAt: at, maxAttempts: 5 });
}

export const refreshTime = (expiresAt: Date | null, config: Pick<Config, 'social'>) =>
  expiresAt ? new Date(Math.max(Date.now(), expiresAt.getTime() - config.social.refreshAheadSeconds * 1000)) : null;

export async function disconnectAccount(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.delete(sa).where(and(eq(sa.organizationId, ctx.organizationId), eq(sa.id, id))).returning();
  if (!row) throw notFound();
  await cancelQueuedJob(tx, ctx.organizationId, refreshKey(id));
  await recordAudit(tx, ctx, { action: 'social_account.disconnected', resourceType: 'social_account', resourceId: id, changes: { platform: row.platform, handle: row.handle } });
}

/** An account's access token, opened (the publisher's). */
export function accessTokenOf(config: Pick<Config, 'secrets'>, row: AccountRow): string | null {
  return row.accessTokenEncrypted ? openIntegrationSecret(ACCESS, config.secrets.encryptionKey, row.organizationId, row.id, row.accessTokenEncrypted) : null;
}

export type RefreshOutcome = { account: ReturnType<typeof toAccount>; nextRefreshAt: Date | null; error?: PlatformError };

/**
 * Renews an account's token. A rotated refresh token replaces the old one. A refused grant (expired,
 * revoked: `invalid_grant`, Graph error 190) marks the account `needs_reconnection` with the reason,
 * recorded and returned with the error; a transient failure changes nothing and is thrown.
 */
export async function refreshAccount(inTenant: InTenant, ctx: AuditContext, config: Pick<Config, 'social' | 'env' | 'secrets'>, id: string): Promise<RefreshOutcome> {
  const org = ctx.organizationId;
  const row = await inTenant((tx) => accountRow(tx, org, id));
  if (!row) throw notFound();
  const platform = row.platform as SocialPlatform;
  const cfg = platformConfig(config, platform);
  const refreshToken = row.refreshTokenEncrypted ? openIntegrationSecret(REFRESH, config.secrets.encryptionKey, org, id, row.refreshTokenEncrypted) : null;
  let grant;
  try {
    grant = await renewGrant(config, platform, cfg, refreshToken);
    // Facebook and Instagram post with the Page's token, renewed from the new long-lived user token.
    if (platform === 'facebook' || platform === 'instagram') grant = { ...grant, accessToken: await pageToken(cfg, platform, row.externalId ?? '', grant.accessToken) };
  } catch (err) {
    const e = err instanceof PlatformError ? err : new PlatformError((err as Error).message, 'transient');
    if (e.kind === 'transient') throw e;
    const updated = await inTenant(async (tx) => {
      const [u] = await tx
        .update(sa)
        .set({ status: 'needs_reconnection', statusReason: e.message.slice(0, 500), updatedAt: sql`now()` })
        .where(and(eq(sa.organizationId, org), eq(sa.id, id)))
        .returning();
      if (u) await recordAudit(tx, ctx, { action: 'social_account.needs_reconnection', resourceType: 'social_account', resourceId: id, changes: { platform, reason: e.message.slice(0, 500) } });
      return u;
    });
    if (!updated) throw notFound();
    return { account: toAccount(updated), nextRefreshAt: null, error: e };
  }
  const key = config.secrets.encryptionKey;
  const g = grant;
  const updated = await inTenant(async (tx) => {
    const [u] = await tx
      .update(sa)
      .set({
        accessTokenEncrypted: sealIntegrationSecret(ACCESS, key, org, id, g.accessToken),
        refreshTokenEncrypted: g.refreshToken ? sealIntegrationSecret(REFRESH, key, org, id, g.refreshToken) : null,
        tokenExpiresAt: g.expiresAt,
        status: 'connected',
        statusReason: null,
        refreshedAt: sql`now()`,
        updatedAt: sql`now()`,
        ...(g.scope && { scopes: g.scope }),
      })
      .where(and(eq(sa.organizationId, org), eq(sa.id, id)))
      .returning();
    if (u) await recordAudit(tx, ctx, { action: 'social_account.token_refreshed', resourceType: 'social_account', resourceId: id, changes: { platform, rotatedRefreshToken: Boolean(g.refreshToken && g.refreshToken !== refreshToken) } });
    return u;
  });
  if (!updated) throw notFound();
  return { account: toAccount(updated), nextRefreshAt: refreshTime(g.expiresAt, config) };
}
