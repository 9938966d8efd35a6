import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  DATABASE_PREPARED_SCOPE: bool.default(true),
  PUBLIC_URL: z.string().url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SESSION_SECRET: z.string().min(32).optional(),
  ENCRYPTION_KEY: z
    .string()
    .regex(/^[0-9a-f]{64}$/i, 'ENCRYPTION_KEY must be 64 hex characters (32 bytes)')
    .optional(),
  TRUST_PROXY: bool.default(false),
  METRICS_TOKEN: z.string().min(16).optional(),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  IMPORT_LIMIT_BYTES: z.coerce.number().int().min(1024).default(64 * 1024 * 1024),
  SIGN_IN_MAX_PER_ACCOUNT: z.coerce.number().int().min(1).default(10),
  SIGN_IN_MAX_PER_IP: z.coerce.number().int().min(1).default(50),
  SIGN_IN_WINDOW_SECONDS: z.coerce.number().int().min(1).default(15 * 60),
  SIGN_IN_ACCOUNT_BACKOFF_AFTER: z.coerce.number().int().min(1).default(100),
  SIGN_IN_BACKOFF_SECONDS: z.coerce.number().int().min(1).default(30),
  RECENT_SIGN_IN_MINUTES: z.coerce.number().int().min(1).default(15),
  // Email: no SMTP_URL → messages go to the local outbox folder in DATA_DIR.
  SMTP_URL: z.string().url().optional(),
  EMAIL_FROM: z.email().default('no-reply@switchboard.local'),
  // The envelope sender (MAIL FROM, Return-Path) of every message: a platform mailbox, never a customer's From.
  EMAIL_BOUNCE_ADDRESS: z.email().optional(),
  EMAIL_TEST_SENDS_PER_HOUR: z.coerce.number().int().min(1).default(30),
  TRACKING_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(3650).default(180),
  EMAIL_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(10),
  EMAIL_RATE_PER_SECOND: z.coerce.number().min(0).default(0),
  EMAIL_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(6),
  EMAIL_RETRY_BASE_MS: z.coerce.number().int().min(1).default(30_000),
  SENDGRID_WEBHOOK_PUBLIC_KEY: z.string().min(1).optional(),
  // SendGrid posts a batch at about 768 KB at most; a bigger body is not SendGrid's.
  SENDGRID_WEBHOOK_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  WEBHOOK_MAX_FAILURES: z.coerce.number().int().min(1).default(30),
  WEBHOOK_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(60),
  // SMS campaigns: messages per second per organization (and worker process), retries, cost estimate.
  SMS_RATE_PER_SECOND: z.coerce.number().min(0).default(10),
  SMS_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(10),
  SMS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(5),
  SMS_RETRY_BASE_MS: z.coerce.number().int().min(1).default(30_000),
  SMS_COST_PER_SEGMENT: z.coerce.number().min(0).default(0.0079),
  SMS_COST_CURRENCY: z.string().regex(/^[A-Z]{3}$/).default('USD'),
  // Twilio REST requests go here instead of https://api.twilio.com (a local stand-in for tests, benches, development).
  TWILIO_API_BASE_URL: z.string().url().optional(),
  // Shopify app (Partners dashboard or a store's custom app): client id and secret (the secret signs webhooks and OAuth queries).
  SHOPIFY_API_KEY: z.string().optional(),
  SHOPIFY_API_SECRET: z.string().optional(),
  SHOPIFY_SCOPES: z.string().default('read_customers,read_orders'),
  SHOPIFY_API_VERSION: z.string().regex(/^\d{4}-\d{2}$/).default('2025-07'),
  // Admin API requests go here instead of https://{shop} (a local stand-in for tests and benches).
  SHOPIFY_ADMIN_BASE_URL: z.string().url().optional(),
  // Outbound webhooks: CIDRs deliveries may reach although private (tests, on-premises), e.g. 127.0.0.0/8,10.0.0.0/8.
  WEBHOOK_ALLOW_PRIVATE_RANGES: z.string().default(''),
  WEBHOOK_SECRET_OVERLAP_HOURS: z.coerce.number().min(0).default(24),
  // First retry delay; the schedule is 1, 6, 24, 120, 360, 720, 2160, 4320, 8640 times it (5 s … 12 h at 5000).
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(1).default(5000),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  // An endpoint is disabled after this many failed attempts in a row, spanning at least WEBHOOK_DISABLE_AFTER_SECONDS.
  WEBHOOK_DISABLE_AFTER_FAILURES: z.coerce.number().int().min(1).default(20),
  WEBHOOK_DISABLE_AFTER_SECONDS: z.coerce.number().int().min(0).default(86_400),
  // Billing: plans and their limits (JSON replacing the built-in table, e.g. {"free":{"customers":500},"pro":{"customers":null}};
  // a missing or null limit is unlimited), the grace period after a failed payment, and Stripe (without a secret key
  // checkout and portal answer 503 billing_not_configured; plans are then set with `npm run cli -- plan set`).
  BILLING_PLANS: z.string().optional(),
  BILLING_GRACE_DAYS: z.coerce.number().min(0).default(7),
  STRIPE_SECRET_KEY: z.string().min(1).optional(),
  STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
  // Stripe API requests go here instead of https://api.stripe.com (a local stand-in for tests and development).
  STRIPE_API_BASE_URL: z.string().url().optional(),
  // Social publishing: the connect flow's callback, token refresh ahead of expiry, publishing retries.
  SOCIAL_REFRESH_AHEAD_SECONDS: z.coerce.number().int().min(0).default(600),
  SOCIAL_PUBLISH_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(6),
  SOCIAL_RETRY_BASE_MS: z.coerce.number().int().min(1).default(30_000),
  // Conversations inbox: the domain of the reply-to addresses agents' email replies carry
  // (reply+<conversation>@domain, routed to SendGrid Inbound Parse); default: EMAIL_FROM's domain.
  INBOX_REPLY_DOMAIN: z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$|^[a-z0-9-]+$/i).optional(),
  // Widget abuse limits, per minute: requests per site token (all its visitors), per visitor, messages per visitor.
  INBOX_WIDGET_REQUESTS_PER_TOKEN: z.coerce.number().int().min(1).default(1200),
  INBOX_WIDGET_REQUESTS_PER_VISITOR: z.coerce.number().int().min(1).default(120),
  INBOX_WIDGET_MESSAGES_PER_VISITOR: z.coerce.number().int().min(1).default(20),
  // Scale-out: Redis shared by every process (rate limits, sign-in throttles, the bus); without it, counters are per process.
  REDIS_URL: z.string().url().optional(),
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/).default('switchboard:'),
  // The bus's LISTEN connection without Redis: a session (not transaction-pooled) connection; default DATABASE_URL.
  BUS_DATABASE_URL: z.string().url().optional(),
  JOBS_IN_PROCESS: bool.default(true),
  JOBS_POLL_MS: z.coerce.number().int().min(10).default(1000),
  JOBS_LEASE_MS: z.coerce.number().int().min(100).default(30_000),
  // Templates render in a worker-thread pool, each render bounded in time and output.
  TEMPLATE_RENDER_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  TEMPLATE_MAX_OUTPUT_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024),
  // At least two threads, so one organization's slow template never holds all of them.
  TEMPLATE_WORKERS: z.coerce.number().int().min(1).max(64).default(Math.max(2, Math.min(4, os.availableParallelism()))),
});

export type Config = {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  dataDir: string;
  databaseUrl?: string;
  databasePoolSize: number;
  /** The scope statement as a named prepared statement (PostgreSQL; off behind a pooler that cannot keep them). */
  databasePreparedScope: boolean;
  publicUrl: string;
  logLevel: string;
  secrets: { session: string; encryptionKey: string };
  trustProxy: boolean;
  /** Bearer token for GET /metrics; without one, /metrics is off (404) in every environment. */
  metricsToken?: string;
  bodyLimitBytes: number;
  importLimitBytes: number;
  /**
   * Sign-in throttling. maxPerAccount counts failures per (account, client address) pair; past
   * accountBackoffAfter failures on an account from all addresses, every address gets one attempt
   * per backoffSeconds for it (slowed, never locked: a fresh address can always try).
   */
  signIn: { maxPerAccount: number; maxPerIp: number; windowSeconds: number; accountBackoffAfter: number; backoffSeconds: number };
  /** How long a sign-in counts as recent for sensitive changes (member roles). */
  recentSignInMinutes: number;
  email: {
    smtpUrl?: string;
    from: string;
    /** Envelope sender of every message (bounces come back here); defaults to `from`. */
    bounceAddress: string;
    /** Test sends per organization and hour (in Redis with REDIS_URL, else per process). */
    testSendsPerHour: number;
    /** Lifetime of open and click tracking tokens; unsubscribe links never expire. */
    trackingTokenTtlDays: number;
    /** Parallel SMTP sends per campaign job (and pooled connections). */
    concurrency: number;
    /** Messages per second per organization and worker process; 0 = unlimited. */
    ratePerSecond: number;
    maxAttempts: number;
    retryBaseMs: number;
    sendgridWebhookPublicKey?: string;
    sendgridWebhookBodyLimitBytes: number;
  };
  sms: {
    /** Messages per second per organization and worker process; 0 = unlimited. */
    ratePerSecond: number;
    /** Parallel Twilio requests per campaign job. */
    concurrency: number;
    maxAttempts: number;
    retryBaseMs: number;
    /** Price of one segment for the analytics cost estimate (Twilio's US rate by default). */
    costPerSegment: number;
    currency: string;
  };
  /** Twilio REST: apiBaseUrl replaces https://api.twilio.com in every SDK request when set. */
  twilio: { apiBaseUrl?: string };
  /**
   * Shopify: the app's key and secret (without the secret, Shopify routes answer 503), scopes asked at
   * install, the Admin API version, and adminBaseUrl replacing https://{shop} in every Admin API call when set.
   */
  shopify: { apiKey?: string; apiSecret?: string; scopes: string; apiVersion: string; adminBaseUrl?: string };
  /** Provider webhooks: failed (unauthenticated) requests allowed per client address and window before 429. */
  webhooks: { maxFailures: number; failureWindowSeconds: number };
  /**
   * Outbound webhooks (src/modules/webhooks). allowPrivateRanges: CIDRs a delivery may reach although
   * private (empty: only public addresses, and https only). Retries at retryBaseMs × 1, 6, 24, 120, 360,
   * 720, 2160, 4320, 8640 (or later, when the endpoint says Retry-After).
   */
  outboundWebhooks: {
    allowPrivateRanges: string[];
    secretOverlapHours: number;
    retryBaseMs: number;
    timeoutMs: number;
    disableAfterFailures: number;
    disableAfterSeconds: number;
  };
  /**
   * Social publishing (src/modules/social). A platform is offered once its client id and secret are set
   * (SOCIAL_<PLATFORM>_CLIENT_ID / _CLIENT_SECRET); its endpoints, scopes and API base URL default to the
   * platform's own and may be replaced (a local stand-in for tests and development).
   */
  social: {
    platforms: Partial<Record<SocialPlatform, SocialPlatformConfig>>;
    /** Tokens are refreshed this long before they expire. */
    refreshAheadSeconds: number;
    publishMaxAttempts: number;
    retryBaseMs: number;
  };
  /** Conversations inbox (src/modules/inbox): replyDomain of the reply-to address on agents' email replies. */
  inbox: { replyDomain: string; widget: { requestsPerToken: number; requestsPerVisitor: number; messagesPerVisitor: number } };
  /**
   * Durable job workers: in the server process by default, or `npm run worker`. A claim holds a job
   * for leaseMs (optional so that overrides of `jobs` may leave it out: 30 s then), renewed every third of it.
   */
  jobs: { inProcess: boolean; pollMs: number; leaseMs?: number };
  /**
   * Shared state across processes (docs/scaling.md). With redisUrl: rate limits, sign-in throttles and
   * the bus live in Redis under keyPrefix. Without it the bus is PostgreSQL LISTEN/NOTIFY over
   * busDatabaseUrl (default databaseUrl; must be a session connection, not a transaction pooler), or
   * in-process on PGlite, and counters are per process.
   */
  scaleOut?: { redisUrl?: string; redisKeyPrefix: string; busDatabaseUrl?: string };
  /**
   * Plans (by name; `free` always exists), the grace period after a failed payment before a paid plan's
   * limits fall back to free, and Stripe: secretKey (checkout, portal), webhookSecret (POST
   * /api/webhooks/stripe), apiBaseUrl replacing https://api.stripe.com in every SDK request when set.
   */
  billing: { plans: Record<string, Plan>; graceDays: number; stripe: { secretKey?: string; webhookSecret?: string; apiBaseUrl?: string } };
  /** Liquid rendering off the event loop: per render (parse included) at most renderTimeoutMs and maxOutputBytes. */
  templates: { renderTimeoutMs: number; maxOutputBytes: number; workers: number };
};

/** The limits a plan sets; null is unlimited. Monthly ones count per calendar month (UTC). */
export const PLAN_LIMITS = ['customers', 'emailsPerMonth', 'smsPerMonth', 'members', 'phoneNumbers'] as const;
export type PlanLimit = (typeof PLAN_LIMITS)[number];
export interface Plan {
  name: string;
  label: string;
  limits: Record<PlanLimit, number | null>;
  /** The Stripe price a checkout for this plan subscribes to (STRIPE_PRICE_<PLAN>); none: not for sale through Stripe. */
  stripePriceId?: string;
}

/** The built-in plans; BILLING_PLANS replaces them. `free` is every organization's plan until it subscribes. */
export const DEFAULT_PLANS: Record<string, Omit<Plan, 'name' | 'stripePriceId'>> = {
  free: { label: 'Free', limits: { customers: 1000, emailsPerMonth: 5000, smsPerMonth: 100, members: 3, phoneNumbers: 1 } },
  starter: { label: 'Starter', limits: { customers: 10_000, emailsPerMonth: 50_000, smsPerMonth: 2000, members: 10, phoneNumbers: 3 } },
  growth: { label: 'Growth', limits: { customers: 100_000, emailsPerMonth: 500_000, smsPerMonth: 20_000, members: 50, phoneNumbers: 10 } },
};
export const FREE_PLAN = 'free';

const PlanLimitsIn = z.strictObject({
  label: z.string().optional(),
  ...Object.fromEntries(PLAN_LIMITS.map((k) => [k, z.number().int().min(0).nullable().optional()])),
}) as z.ZodType<Partial<Record<PlanLimit, number | null>> & { label?: string }>;
const PlansIn = z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/), PlanLimitsIn);

function parsePlans(json: string | undefined, env: NodeJS.ProcessEnv): Record<string, Plan> {
  let table: Record<string, Partial<Record<PlanLimit, number | null>> & { label?: string }> = DEFAULT_PLANS;
  if (json) {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch {
      throw new ConfigError('Invalid configuration: BILLING_PLANS is not JSON');
    }
    const parsed = PlansIn.safeParse(raw);
    if (!parsed.success) throw new ConfigError(`Invalid configuration: BILLING_PLANS: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    table = parsed.data;
  }
  const plans: Record<string, Plan> = {};
  for (const [name, p] of Object.entries(table)) {
    const limits = Object.fromEntries(PLAN_LIMITS.map((k) => [k, p[k] ?? null])) as Plan['limits'];
    const price = env[`STRIPE_PRICE_${name.toUpperCase().replace(/-/g, '_')}`];
    plans[name] = { name, label: p.label ?? name[0].toUpperCase() + name.slice(1), limits, ...(price && { stripePriceId: price }) };
  }
  if (!plans[FREE_PLAN]) plans[FREE_PLAN] = { name: FREE_PLAN, label: 'Free', limits: { customers: null, emailsPerMonth: null, smsPerMonth: null, members: null, phoneNumbers: null } };
  return plans;
}

export const SOCIAL_PLATFORMS = ['x', 'facebook', 'instagram', 'linkedin'] as const;
export type SocialPlatform = (typeof SOCIAL_PLATFORMS)[number];

/** One platform's OAuth 2 client and API, as configured. */
export interface SocialPlatformConfig {
  clientId: string;
  clientSecret: string;
  authorizeUrl: string;
  tokenUrl: string;
  /** The `iss` of ID tokens the token endpoint may return (LinkedIn's with `openid`). */
  issuer: string;
  apiBaseUrl: string;
  scopes: string;
}

const GRAPH = 'https://graph.facebook.com/v23.0';
const SOCIAL_DEFAULTS: Record<SocialPlatform, Omit<SocialPlatformConfig, 'clientId' | 'clientSecret' | 'issuer'> & { issuer?: string }> = {
  x: { authorizeUrl: 'https://x.com/i/oauth2/authorize', tokenUrl: 'https://api.x.com/2/oauth2/token', apiBaseUrl: 'https://api.x.com', scopes: 'tweet.read tweet.write users.read offline.access' },
  facebook: { authorizeUrl: 'https://www.facebook.com/v23.0/dialog/oauth', tokenUrl: `${GRAPH}/oauth/access_token`, apiBaseUrl: GRAPH, scopes: 'pages_show_list pages_manage_posts pages_read_engagement' },
  instagram: {
    authorizeUrl: 'https://www.facebook.com/v23.0/dialog/oauth',
    tokenUrl: `${GRAPH}/oauth/access_token`,
    apiBaseUrl: GRAPH,
    scopes: 'instagram_basic instagram_content_publish pages_show_list pages_read_engagement',
  },
  linkedin: {
    authorizeUrl: 'https://www.linkedin.com/oauth/v2/authorization',
    tokenUrl: 'https://www.linkedin.com/oauth/v2/accessToken',
    apiBaseUrl: 'https://api.linkedin.com',
    scopes: 'openid profile w_member_social',
    issuer: 'https://www.linkedin.com/oauth',
  },
};

const SocialEnv = z.object({
  CLIENT_ID: z.string().min(1).optional(),
  CLIENT_SECRET: z.string().min(1).optional(),
  AUTHORIZE_URL: z.string().url().optional(),
  TOKEN_URL: z.string().url().optional(),
  ISSUER: z.string().url().optional(),
  API_BASE_URL: z.string().url().optional(),
  SCOPES: z.string().min(1).optional(),
});

/** SOCIAL_<PLATFORM>_*: the platforms with a client id and secret, over the platform's defaults. */
function socialPlatforms(env: Record<string, string | undefined>): Partial<Record<SocialPlatform, SocialPlatformConfig>> {
  const out: Partial<Record<SocialPlatform, SocialPlatformConfig>> = {};
  for (const p of SOCIAL_PLATFORMS) {
    const prefix = `SOCIAL_${p.toUpperCase()}_`;
    const raw = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
    const parsed = SocialEnv.safeParse(raw);
    if (!parsed.success) throw new ConfigError(`Invalid configuration: ${parsed.error.issues.map((i) => `${prefix}${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const v = parsed.data;
    if (!v.CLIENT_ID || !v.CLIENT_SECRET) continue;
    const d = SOCIAL_DEFAULTS[p];
    const authorizeUrl = v.AUTHORIZE_URL ?? d.authorizeUrl;
    out[p] = {
      clientId: v.CLIENT_ID,
      clientSecret: v.CLIENT_SECRET,
      authorizeUrl,
      tokenUrl: v.TOKEN_URL ?? d.tokenUrl,
      issuer: v.ISSUER ?? d.issuer ?? new URL(authorizeUrl).origin,
      apiBaseUrl: (v.API_BASE_URL ?? d.apiBaseUrl).replace(/\/$/, ''),
      scopes: v.SCOPES ?? d.scopes,
    };
  }
  return out;
}

const SecretsFile = z.object({ sessionSecret: z.string().min(32), encryptionKey: z.string().regex(/^[0-9a-f]{64}$/i) });

/** Development secrets are generated once and kept in the data folder, so `npm start` needs no configuration. */
function loadOrCreateDevSecrets(dataDir: string): z.infer<typeof SecretsFile> {
  const file = path.join(dataDir, 'secrets.json');
  if (existsSync(file)) return SecretsFile.parse(JSON.parse(readFileSync(file, 'utf8')));
  mkdirSync(dataDir, { recursive: true });
  const secrets = { sessionSecret: randomBytes(32).toString('hex'), encryptionKey: randomBytes(32).toString('hex') };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

export class ConfigError extends Error {}

/** Parses the environment once. The only place in the code base that reads `process.env`. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  // An empty variable (`DATABASE_URL=`) means unset, as in most tools.
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    throw new ConfigError(`Invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  const nonEmpty = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  let session = e.SESSION_SECRET;
  let encryptionKey = e.ENCRYPTION_KEY;
  if (e.NODE_ENV === 'production') {
    const missing = [!session && 'SESSION_SECRET', !encryptionKey && 'ENCRYPTION_KEY', !e.PUBLIC_URL && 'PUBLIC_URL'].filter(Boolean);
    if (missing.length) throw new ConfigError(`Refusing to start in production without ${missing.join(', ')}`);
  } else if (!session || !encryptionKey) {
    const dev = loadOrCreateDevSecrets(path.resolve(e.DATA_DIR));
    session ??= dev.sessionSecret;
    encryptionKey ??= dev.encryptionKey;
  }
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    databasePreparedScope: e.DATABASE_PREPARED_SCOPE,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, ''),
    logLevel: e.LOG_LEVEL,
    secrets: { session: session!, encryptionKey: encryptionKey! },
    trustProxy: e.TRUST_PROXY,
    metricsToken: e.METRICS_TOKEN,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    importLimitBytes: e.IMPORT_LIMIT_BYTES,
    signIn: {
      maxPerAccount: e.SIGN_IN_MAX_PER_ACCOUNT,
      maxPerIp: e.SIGN_IN_MAX_PER_IP,
      windowSeconds: e.SIGN_IN_WINDOW_SECONDS,
      accountBackoffAfter: e.SIGN_IN_ACCOUNT_BACKOFF_AFTER,
      backoffSeconds: e.SIGN_IN_BACKOFF_SECONDS,
    },
    recentSignInMinutes: e.RECENT_SIGN_IN_MINUTES,
    email: {
      smtpUrl: e.SMTP_URL,
      from: e.EMAIL_FROM,
      bounceAddress: e.EMAIL_BOUNCE_ADDRESS ?? e.EMAIL_FROM,
      testSendsPerHour: e.EMAIL_TEST_SENDS_PER_HOUR,
      trackingTokenTtlDays: e.TRACKING_TOKEN_TTL_DAYS,
      concurrency: e.EMAIL_CONCURRENCY,
      ratePerSecond: e.EMAIL_RATE_PER_SECOND,
      maxAttempts: e.EMAIL_MAX_ATTEMPTS,
      retryBaseMs: e.EMAIL_RETRY_BASE_MS,
      sendgridWebhookPublicKey: e.SENDGRID_WEBHOOK_PUBLIC_KEY,
      sendgridWebhookBodyLimitBytes: e.SENDGRID_WEBHOOK_BODY_LIMIT_BYTES,
    },
    sms: {
      ratePerSecond: e.SMS_RATE_PER_SECOND,
      concurrency: e.SMS_CONCURRENCY,
      maxAttempts: e.SMS_MAX_ATTEMPTS,
      retryBaseMs: e.SMS_RETRY_BASE_MS,
      costPerSegment: e.SMS_COST_PER_SEGMENT,
      currency: e.SMS_COST_CURRENCY,
    },
    twilio: { apiBaseUrl: e.TWILIO_API_BASE_URL?.replace(/\/$/, '') },
    shopify: {
      apiKey: e.SHOPIFY_API_KEY,
      apiSecret: e.SHOPIFY_API_SECRET,
      scopes: e.SHOPIFY_SCOPES,
      apiVersion: e.SHOPIFY_API_VERSION,
      adminBaseUrl: e.SHOPIFY_ADMIN_BASE_URL?.replace(/\/$/, ''),
    },
    webhooks: { maxFailures: e.WEBHOOK_MAX_FAILURES, failureWindowSeconds: e.WEBHOOK_FAILURE_WINDOW_SECONDS },
    outboundWebhooks: {
      allowPrivateRanges: e.WEBHOOK_ALLOW_PRIVATE_RANGES.split(',').map((r) => r.trim()).filter(Boolean),
      secretOverlapHours: e.WEBHOOK_SECRET_OVERLAP_HOURS,
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      disableAfterFailures: e.WEBHOOK_DISABLE_AFTER_FAILURES,
      disableAfterSeconds: e.WEBHOOK_DISABLE_AFTER_SECONDS,
    },
    billing: {
      plans: parsePlans(e.BILLING_PLANS, env),
      graceDays: e.BILLING_GRACE_DAYS,
      stripe: { secretKey: e.STRIPE_SECRET_KEY, webhookSecret: e.STRIPE_WEBHOOK_SECRET, apiBaseUrl: e.STRIPE_API_BASE_URL?.replace(/\/$/, '') },
    },
    inbox: {
      replyDomain: (e.INBOX_REPLY_DOMAIN ?? e.EMAIL_FROM.split('@')[1]).toLowerCase(),
      widget: {
        requestsPerToken: e.INBOX_WIDGET_REQUESTS_PER_TOKEN,
        requestsPerVisitor: e.INBOX_WIDGET_REQUESTS_PER_VISITOR,
        messagesPerVisitor: e.INBOX_WIDGET_MESSAGES_PER_VISITOR,
      },
    },
    social: {
      platforms: socialPlatforms(nonEmpty),
      refreshAheadSeconds: e.SOCIAL_REFRESH_AHEAD_SECONDS,
      publishMaxAttempts: e.SOCIAL_PUBLISH_MAX_ATTEMPTS,
      retryBaseMs: e.SOCIAL_RETRY_BASE_MS,
    },
    jobs: { inProcess: e.JOBS_IN_PROCESS, pollMs: e.JOBS_POLL_MS, leaseMs: e.JOBS_LEASE_MS },
    scaleOut: { redisUrl: e.REDIS_URL, redisKeyPrefix: e.REDIS_KEY_PREFIX, busDatabaseUrl: e.BUS_DATABASE_URL },
    templates: { renderTimeoutMs: e.TEMPLATE_RENDER_TIMEOUT_MS, maxOutputBytes: e.TEMPLATE_MAX_OUTPUT_BYTES, workers: e.TEMPLATE_WORKERS },
    ...overrides,
  };
}
