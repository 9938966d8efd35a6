import type { Database } from '../../db/index.js';
import type { Bus } from '../../lib/bus.js';
import { forgetAllApiKeys, forgetApiKey } from './service.js';

/** The platform channel of revoked API keys: every API process's key cache listens on it. */
export const REVOKED_KEYS_CHANNEL = 'platform:api-keys:revoked';

interface RevokedKeys {
  organizationId: string;
  apiKeyIds: string[];
}

/**
 * Keeps this process's key cache in step with revocations made by any process: forgets each key
 * announced on the bus, and forgets every key when the bus reconnects (it may have missed some).
 * Returns the function that stops listening.
 */
export function listenForRevokedKeys(bus: Bus, db: Database): () => void {
  const stop = bus.subscribe(REVOKED_KEYS_CHANNEL, (payload) => {
    const ids = (payload as Partial<RevokedKeys>)?.apiKeyIds;
    if (Array.isArray(ids)) for (const id of ids) if (typeof id === 'string') forgetApiKey(db, id);
  });
  const stopReconnect = bus.onReconnect(() => forgetAllApiKeys(db));
  return () => {
    stop();
    stopReconnect();
  };
}

/**
 * After the revoking transaction committed: forgets the keys here at once and announces them to
 * every process. A failed publish is logged, not thrown — the revocation has committed, and the
 * other processes' caches then let the key go within API_KEY_CACHE_MS.
 */
export async function announceRevokedKeys(
  deps: { bus: Bus; db: Database; log?: { warn(obj: unknown, msg: string): void } },
  organizationId: string,
  apiKeyIds: string[],
) {
  if (!apiKeyIds.length) return;
  for (const id of apiKeyIds) forgetApiKey(deps.db, id);
  try {
    await deps.bus.publish(REVOKED_KEYS_CHANNEL, { organizationId, apiKeyIds } satisfies RevokedKeys);
  } catch (err) {
    deps.log?.warn({ err, apiKeyIds }, 'could not announce revoked API keys on the bus; other processes drop them within the key cache TTL');
  }
}
