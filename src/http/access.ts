import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Role, Tx } from '../db/index.js';
import { AppError } from './errors.js';

/**
 * Every route declares how it is reached. Registering a route without one throws (default deny).
 * org      — a session cookie or API key resolved to a member of an organization
 * user     — a signed-in user, organization optional (session, creating and switching organizations)
 * provider — an inbound webhook; the handler verifies the provider's signature on the raw body first
 * public   — health, sign-up/in, tracking links (signed tokens)
 */
export type AccessMode = 'org' | 'user' | 'provider' | 'public';

export interface AccessConfig {
  access: AccessMode;
  /** Minimum role for `org` routes (default member). */
  role?: Role;
  /**
   * `false` on public routes whose credential is a token in the URL (one-click unsubscribe, sender
   * confirmation): no cookie is involved, so the cross-site check does not apply. Public routes only.
   */
  csrf?: boolean;
  /** Only a signed-in person, never an API key (minting keys, changing membership). */
  sessionOnly?: boolean;
  /** The session must have proved its password recently (RECENT_SIGN_IN_MINUTES); implies sessionOnly. */
  recentSignIn?: boolean;
}

export interface Principal {
  kind: 'session' | 'api_key';
  userId: string | null;
  userEmail: string | null;
  apiKeyId: string | null;
  sessionId: string | null;
  organizationId: string | null;
  role: Role | null;
  /** When the session last proved its password (null for API keys). */
  authenticatedAt: Date | null;
}

/** A person or key acting through the API (taken from the verified principal only). */
export type PrincipalActor = { type: 'user' | 'api_key'; id: string };
/** The platform acting on its own (a provider webhook, a job), with the reason it acted. */
export type SystemActor = { type: 'system'; reason: string };

/** Who did it, for the audit log: what recordAudit needs from any caller. */
export interface AuditContext {
  organizationId: string;
  actor: PrincipalActor | SystemActor;
  /** The HTTP request (or provider delivery) that caused it, when there is one. */
  requestId: string | null;
}

/** An HTTP caller inside its organization. */
export interface TenantContext extends AuditContext {
  actor: PrincipalActor;
  requestId: string;
  role: Role;
}

/** The context a webhook or job writes audit entries with: same function, same table as users. */
export const systemContext = (organizationId: string, reason: string, requestId: string | null = null): AuditContext => ({
  organizationId,
  actor: { type: 'system', reason },
  requestId,
});

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessMode;
    role?: Role;
    csrf?: boolean;
    sessionOnly?: boolean;
    recentSignIn?: boolean;
    /**
     * A GET that changes data (an OAuth callback): its req.tenant is read-write. Every other GET or HEAD runs
     * req.tenant read-only, where a write fails (src/db/index.ts, Scope.readOnly).
     */
    writes?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** Runs fn inside the caller's organization (RLS-scoped; read-only for GET and HEAD, see `writes`). `org` routes only. */
    tenant<T>(fn: (tx: Tx, ctx: TenantContext) => Promise<T>): Promise<T>;
  }
}

const RANK: Record<Role, number> = { member: 1, admin: 2, owner: 3 };
export const roleAtLeast = (role: Role | null, min: Role) => role !== null && RANK[role] >= RANK[min];

export interface RouteRecord {
  method: string;
  url: string;
  access: AccessMode;
  role?: Role;
  /** Refuses API keys (see AccessConfig). */
  sessionOnly?: boolean;
  /** Whether the route takes a request body, and the example body its schema declares (`.meta({ example })`). */
  hasBody: boolean;
  bodyExample?: unknown;
}

/** Route prefixes registered by documentation plugins, which cannot declare an access mode themselves. */
const DOC_PREFIXES = ['/api/docs'];

/**
 * Records every route with its access mode and refuses a route that declares none, or that is missing
 * from the OpenAPI document's essentials (an operationId for generated clients, a summary).
 */
export function enforceAccessModes(app: FastifyInstance, table: RouteRecord[]) {
  app.addHook('onRoute', (route: RouteOptions) => {
    const config = (route.config ?? {}) as AccessConfig;
    const docs = DOC_PREFIXES.some((p) => route.url.startsWith(p));
    if (!config.access) {
      if (docs) {
        route.config = { ...(route.config as object), access: 'public' } as any;
      } else {
        throw new Error(`Route ${String(route.method)} ${route.url} declares no access mode (config.access)`);
      }
    }
    const doc = route.schema as { operationId?: string; summary?: string; hide?: boolean } | undefined;
    if (!docs && !doc?.hide && (!doc?.operationId || !doc.summary)) {
      throw new Error(`Route ${String(route.method)} ${route.url} needs schema.operationId and schema.summary (the OpenAPI document)`);
    }
    const access = (route.config as AccessConfig).access;
    if (config.role && access !== 'org') throw new Error(`Route ${route.url}: a role applies to org routes only`);
    if (config.csrf === false && access !== 'public') throw new Error(`Route ${route.url}: only token-authenticated public routes may turn the CSRF check off`);
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const body = (route.schema as { body?: { meta?: () => { example?: unknown } | undefined } } | undefined)?.body;
    for (const method of methods) {
      if (method === 'HEAD') continue;
      const sessionOnly = Boolean(config.sessionOnly || config.recentSignIn) || undefined;
      table.push({ method, url: route.url, access, role: config.role, sessionOnly, hasBody: Boolean(body), bodyExample: body?.meta?.()?.example });
    }
  });
}

export function requireOrg(req: FastifyRequest, minRole: Role = 'member'): TenantContext {
  const p = req.principal;
  if (!p) throw new AppError('unauthorized');
  if (!p.organizationId || !p.role) throw new AppError('no_organization');
  if (!roleAtLeast(p.role, minRole)) throw new AppError('forbidden', 'Forbidden - Insufficient role');
  return {
    organizationId: p.organizationId,
    actor: p.kind === 'api_key' ? { type: 'api_key', id: p.apiKeyId! } : { type: 'user', id: p.userId! },
    requestId: req.id,
    role: p.role,
  };
}
