import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import type { Database } from '../../db/index.js';
import { requireOrg } from '../../http/access.js';
import { AppError } from '../../http/errors.js';
import { resolveApiKey, resolveSession } from './service.js';

/**
 * The session cookie's name: `__Host-sb_session` whenever the public URL is https (the browser then
 * insists on Secure, Path=/ and no Domain, so no sibling subdomain can plant or shadow it), and plain
 * `sb_session` over http for local development. principal.ts, the auth routes and the OpenAPI
 * security scheme all take the name from here.
 */
export const sessionCookieName = (config: Pick<Config, 'publicUrl'>) =>
  config.publicUrl.startsWith('https:') ? '__Host-sb_session' : 'sb_session';
/** Secure whenever the public URL is https, and always in production. */
export const sessionCookieSecure = (config: Pick<Config, 'publicUrl' | 'env'>) =>
  config.publicUrl.startsWith('https:') || config.env === 'production';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cookie-authenticated unsafe requests must come from our own pages: Fetch Metadata first
 * (Sec-Fetch-Site), then Origin. Requests with neither header are not from a browser and
 * cannot ride on a victim's cookie.
 */
function assertSameOrigin(req: FastifyRequest, config: Config) {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') {
    if (site === 'same-origin' || site === 'none') return;
    throw new AppError('forbidden', 'Forbidden - cross-site request');
  }
  const origin = req.headers.origin;
  if (typeof origin === 'string') {
    const allowed = new Set([new URL(config.publicUrl).origin, `${req.protocol}://${req.host}`]);
    if (!allowed.has(origin)) throw new AppError('forbidden', 'Forbidden - cross-site request');
  }
}

/** Resolves the principal for every request and enforces the route's access mode before the body is read. */
export function registerPrincipal(app: FastifyInstance, deps: { db: Database; config: Config }) {
  const cookieName = sessionCookieName(deps.config);
  const recentMs = deps.config.recentSignInMinutes * 60_000;
  app.decorateRequest('principal', null);
  app.decorateRequest('tenant', function (this: FastifyRequest, fn: any) {
    const ctx = requireOrg(this, this.routeOptions.config.role ?? 'member');
    // GET and HEAD only read (unless the route says it writes): read-only, so a write fails, and on PostgreSQL
    // without BEGIN and COMMIT round trips.
    const readOnly = SAFE_METHODS.has(this.method) && !this.routeOptions.config.writes;
    return deps.db.withTenant(ctx.organizationId, (tx) => fn(tx, ctx), { userId: this.principal?.userId, readOnly });
  } as any);

  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config?.access;
    if (!access || access === 'provider') return;

    const auth = req.headers.authorization;
    const cookie = req.cookies?.[cookieName];
    if (!SAFE_METHODS.has(req.method) && !auth && req.routeOptions.config.csrf !== false) assertSameOrigin(req, deps.config);
    if (access === 'public') return;

    if (auth !== undefined) {
      const m = /^Bearer (\S+)$/.exec(auth);
      req.principal = m ? await resolveApiKey(deps.db, m[1]) : null;
    } else if (cookie) {
      req.principal = await resolveSession(deps.db, cookie);
    }
    if (!req.principal) throw new AppError('unauthorized');

    if (access === 'user') {
      if (req.principal.kind !== 'session') throw new AppError('forbidden', 'Forbidden - this route needs a signed-in user');
    } else {
      requireOrg(req, req.routeOptions.config.role ?? 'member');
    }
    // Declared on the route (config.sessionOnly / recentSignIn), checked here, never in handlers.
    const { sessionOnly, recentSignIn } = req.routeOptions.config;
    if ((sessionOnly || recentSignIn) && req.principal.kind !== 'session') {
      throw new AppError('forbidden', 'Forbidden - this route needs a signed-in user, not an API key');
    }
    if (recentSignIn && Date.now() - (req.principal.authenticatedAt?.getTime() ?? 0) > recentMs) {
      throw new AppError('reauthentication_required', 'Forbidden - sign in again to make this change');
    }
    req.log = req.log.child({
      organizationId: req.principal.organizationId,
      actor: req.principal.apiKeyId ? `api_key:${req.principal.apiKeyId}` : `user:${req.principal.userId}`,
    });
  });
}
