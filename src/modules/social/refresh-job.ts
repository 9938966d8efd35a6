import type { Config } from '../../config.js';
import type { Database } from '../../db/index.js';
import { systemContext } from '../../http/access.js';
import type { JobHandler } from '../../jobs/queue.js';
import { accountRow, refreshAccount, refreshTime, type InTenant } from './accounts.js';

/**
 * The social-token-refresh job: one per account, due SOCIAL_REFRESH_AHEAD_SECONDS before its token
 * expires. It renews the token and comes back before the next expiry; a refused grant leaves the
 * account `needs_reconnection` (and the job ends); a transient failure is retried with backoff by the queue.
 */
export function refreshHandler(db: Database, config: Config): JobHandler {
  return async (job) => {
    const org = job.organizationId;
    const accountId = String(job.payload.accountId);
    const inTenant: InTenant = (fn) => db.withTenant(org, fn);
    const row = await inTenant((tx) => accountRow(tx, org, accountId));
    if (!row || row.status !== 'connected' || !config.social.platforms[row.platform as keyof Config['social']['platforms']]) return;
    // Refreshed by hand meanwhile: come back before the new expiry instead.
    const due = refreshTime(row.tokenExpiresAt, config);
    if (!due) return;
    if (due.getTime() > Date.now() + 1000) return { retryAt: due };
    const outcome = await refreshAccount(inTenant, systemContext(org, 'social-token-refresh'), config, accountId);
    if (outcome.nextRefreshAt) return { retryAt: outcome.nextRefreshAt };
  };
}
