// Drizzle table definitions mirroring the committed SQL migrations (src/db/migrations).
// The migrations are the source of truth; test/schema-rules.test.ts checks these columns exist there.
import { boolean, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { Audience, CampaignStatus } from '../lib/campaigns.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const created = () => ts('created_at').notNull().defaultNow();
const updated = () => ts('updated_at').notNull().defaultNow();
/** organization_id first, then id: the tenant primary key shape. */
const tenantKey = () => ({
  organizationId: uuid('organization_id').notNull(),
  id: uuid('id').notNull().defaultRandom(),
});
const tenantPk = (t: { organizationId: any; id: any }) => [primaryKey({ columns: [t.organizationId, t.id] })];

export const organizations = pgTable('organizations', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  /** The public URL slug (/help/<slug>), unique across the platform (0022_knowledge_base.sql). */
  slug: text('slug').notNull(),
  plan: text('plan').notNull().default('free'),
  createdAt: created(),
  updatedAt: updated(),
});

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  email: text('email').notNull(),
  name: text('name').notNull(),
  /** Never readable by the runtime role (column privileges): select columns explicitly, never `select()`. */
  passwordHash: text('password_hash').notNull(),
  emailVerifiedAt: ts('email_verified_at'),
  createdAt: created(),
  updatedAt: updated(),
});

export const sessions = pgTable('sessions', {
  id: uuid('id').primaryKey().defaultRandom(),
  tokenHash: text('token_hash').notNull(),
  userId: uuid('user_id').notNull(),
  activeOrganizationId: uuid('active_organization_id'),
  ip: text('ip'),
  userAgent: text('user_agent'),
  createdAt: created(),
  expiresAt: ts('expires_at').notNull(),
  /** When the holder last proved their password; sensitive changes want it recent. */
  authenticatedAt: ts('authenticated_at').notNull().defaultNow(),
});

/** Single-use, expiring account tokens (0005_identity.sql); only the SHA-256 is stored. */
export const userTokens = pgTable('user_tokens', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id').notNull(),
  purpose: text('purpose').$type<'verify_email' | 'password_reset'>().notNull(),
  tokenHash: text('token_hash').notNull(),
  email: text('email').notNull(),
  createdAt: created(),
  expiresAt: ts('expires_at').notNull(),
  usedAt: ts('used_at'),
});

export const processedWebhookEvents = pgTable(
  'processed_webhook_events',
  {
    provider: text('provider').notNull(),
    eventId: text('event_id').notNull(),
    organizationId: uuid('organization_id'),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.eventId] })],
);

export const memberships = pgTable(
  'memberships',
  { ...tenantKey(), userId: uuid('user_id').notNull(), role: text('role').$type<Role>().notNull(), createdAt: created() },
  tenantPk,
);

export const invitations = pgTable(
  'invitations',
  {
    ...tenantKey(),
    email: text('email').notNull(),
    role: text('role').$type<GrantableRole>().notNull(),
    invitedByUserId: uuid('invited_by_user_id'),
    createdAt: created(),
    expiresAt: ts('expires_at').notNull(),
    acceptedAt: ts('accepted_at'),
    tokenHash: text('token_hash'),
  },
  tenantPk,
);

export const apiKeys = pgTable(
  'api_keys',
  {
    ...tenantKey(),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull(),
    role: text('role').$type<GrantableRole>().notNull(),
    createdByUserId: uuid('created_by_user_id'),
    createdAt: created(),
    lastUsedAt: ts('last_used_at'),
    revokedAt: ts('revoked_at'),
  },
  tenantPk,
);

export const customers = pgTable(
  'customers',
  {
    ...tenantKey(),
    email: text('email'),
    phone: text('phone'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    emailOptIn: boolean('email_opt_in').notNull().default(false),
    smsOptIn: boolean('sms_opt_in').notNull().default(false),
    emailStatus: text('email_status').$type<'active' | 'bounced' | 'complained'>().notNull().default('active'),
    unsubscribedAt: ts('unsubscribed_at'),
    tags: text('tags').array().notNull().default([]),
    attributes: jsonb('attributes').$type<Record<string, unknown>>().notNull().default({}),
    /** The organization's own id for the customer (Segment's userId; 0019_analytics_events.sql). */
    externalId: text('external_id'),
    /** The anonymous id a profile made by events was first seen under. */
    anonymousId: text('anonymous_id'),
    createdAt: created(),
    updatedAt: updated(),
  },
  tenantPk,
);

/** Customer events, partitioned by month on occurred_at (0019_analytics_events.sql). */
export const analyticsEvents = pgTable(
  'analytics_events',
  {
    organizationId: uuid('organization_id').notNull(),
    occurredAt: ts('occurred_at').notNull(),
    id: uuid('id').notNull().defaultRandom(),
    customerId: uuid('customer_id'),
    type: text('type').$type<'track' | 'identify'>().notNull(),
    name: text('name').notNull(),
    properties: jsonb('properties').$type<Record<string, unknown>>().notNull().default({}),
    messageId: text('message_id').notNull(),
    source: text('source').$type<'api' | 'internal'>().notNull().default('api'),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.occurredAt, t.id] })],
);

/** Every messageId accepted, per organization: the idempotency key events cannot carry uniquely (partitioned). */
export const analyticsEventIds = pgTable(
  'analytics_event_ids',
  {
    organizationId: uuid('organization_id').notNull(),
    id: uuid('id').notNull().defaultRandom(),
    messageId: text('message_id').notNull(),
    occurredAt: ts('occurred_at').notNull(),
    createdAt: created(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.messageId] })],
);

/** Saved customer segments (0019_analytics_events.sql); the condition is validated by modules/segments. */
export const segments = pgTable(
  'segments',
  {
    ...tenantKey(),
    name: text('name').notNull(),
    condition: jsonb('condition').$type<unknown>().notNull(),
    createdAt: created(),
    updatedAt: updated(),
  },
  tenantPk,
);

/** Saved report definitions (0020_reports.sql); kind and range are validated by modules/reports. */
export const reports = pgTable(
  'reports',
  {
    ...tenantKey(),
    name: text('name').notNull(),
    kind: text('kind').notNull(),
    range: jsonb('range').$type<unknown>().notNull(),
    attributionDays: integer('attribution_days').notNull().default(7),
    scheduleEvery: text('schedule_every').$type<'day' | 'week'>(),
    scheduleRecipients: uuid('schedule_recipients').array().notNull().default([]),
    createdAt: created(),
    updatedAt: updated(),
  },
  tenantPk,
);

/** Knowledge base categories (0022_knowledge_base.sql). */
export const kbCategories = pgTable(
  'kb_categories',
  {
    ...tenantKey(),
    name: text('name').notNull(),
    slug: text('slug').notNull(),
    description: text('description').notNull().default(''),
    position: integer('position').notNull().default(0),
    createdAt: created(),
    updatedAt: updated(),
  },
  tenantPk,
);

/** Knowledge base articles: status and counters; the text lives in kbArticleTranslations, one per locale. */
export const kbArticles = pgTable(
  'kb_articles',
  {
    ...tenantKey(),
    categoryId: uuid('category_id'),
    status: text('status').$type<'draft' | 'published'>().notNull().default('draft'),
    publishedAt: ts('published_at'),
    views: integer('views').notNull().default(0),
    helpful: integer('helpful').notNull().default(0),
    notHelpful: integer('not_helpful').notNull().default(0),
    createdAt: created(),
    updatedAt: updated(),
  },
  tenantPk,
);

/** One locale's version of an article; `search` (a generated tsvector) is left out: the database computes it. */
export const kbArticleTranslations = pgTable(
  'kb_article_translations',
  {
    organizationId: uuid('organization_id').notNull(),
    id: uuid('id').notNull().defaultRandom(),
    articleId: uuid('article_id').notNull(),
    locale: text('locale').notNull(),
    slug: text('slug').notNull(),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    body: text('body').notNull().default(''),
    bodyHtml: text('body_html').notNull().default(''),
    bodyText: text('body_text').notNull().default(''),
    published: boolean('published').notNull().default(false),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.articleId, t.locale] })],
);

export type { Audience, CampaignStatus };

export const emailCampaigns = pgTable(
  'email_campaigns',
  {
    ...tenantKey(),
    name: text('name').notNull(),
    subject: text('subject').notNull().default(''),
    preheader: text('preheader'),
    fromName: text('from_name'),
    fromEmail: text('from_email'),
    replyTo: text('reply_to'),
    html: text('html').notNull().default(''),
    text: text('text'),
    audience: jsonb('audience').$type<Audience>().notNull().default({}),
    status: text('status').$type<CampaignStatus>().notNull().default('draft'),
    scheduledAt: ts('scheduled_at'),
    startedAt: ts('started_at'),
    sentAt: ts('sent_at'),
    cancelledAt: ts('cancelled_at'),
    createdAt: created(),
    updatedAt: updated(),
    recipientsResolvedAt: ts('recipients_resolved_at'),
    trackedLinks: text('tracked_links').array().notNull().default([]),
    failedAt: ts('failed_at'),
    error: text('error'),
  },
  tenantPk,
);

export const emailMessages = pgTable(
  'email_messages',
  {
    ...tenantKey(),
    campaignId: uuid('campaign_id').notNull(),
    customerId: uuid('customer_id'),
    toEmail: text('to_email').notNull(),
    status: text('status').notNull().default('queued'),
    providerMessageId: text('provider_message_id'),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    sentAt: ts('sent_at'),
    deliveredAt: ts('delivered_at'),
    openedAt: ts('opened_at'),
    clickedAt: ts('clicked_at'),
    bouncedAt: ts('bounced_at'),
    complainedAt: ts('complained_at'),
    unsubscribedAt: ts('unsubscribed_at'),
    createdAt: created(),
    updatedAt: updated(),
    nextAttemptAt: ts('next_attempt_at'),
    claimedAt: ts('claimed_at'),
    failedAt: ts('failed_at'),
    /** The job lease of the run that claimed the row (0007_job_fencing.sql), and until when it holds it. */
    leaseId: uuid('lease_id'),
    leaseUntil: ts('lease_until'),
  },
  tenantPk,
);

export const emailEvents = pgTable(
  'email_events',
  {
    ...tenantKey(),
    messageId: uuid('message_id').notNull(),
    type: text('type').notNull(),
    url: text('url'),
    providerEventId: text('provider_event_id'),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    occurredAt: ts('occurred_at').notNull().defaultNow(),
    createdAt: created(),
  },
  tenantPk,
);

export const smsCampaigns = pgTable(
  'sms_campaigns',
  {
    ...tenantKey(),
    name: text('name').notNull(),
    body: text('body').notNull().default(''),
    audience: jsonb('audience').$type<Audience>().notNull().default({}),
    status: text('status').$type<CampaignStatus>().notNull().default('draft'),
    scheduledAt: ts('scheduled_at'),
    startedAt: ts('started_at'),
    sentAt: ts('sent_at'),
    cancelledAt: ts('cancelled_at'),
    recipientsResolvedAt: ts('recipients_resolved_at'),
    failedAt: ts('failed_at'),
    error: text('error'),
    createdAt: created(),
    updatedAt: updated(),
    /** Sending state (0011_sms.sql). */
    invalidNumbers: integer('invalid_numbers').notNull().default(0),
    fromNumber: text('from_number'),
  },
  tenantPk,
);

export const smsMessages = pgTable(
  'sms_messages',
  {
    ...tenantKey(),
    campaignId: uuid('campaign_id'),
    customerId: uuid('customer_id'),
    toPhone: text('to_phone').notNull(),
    body: text('body').notNull(),
    status: text('status').notNull().default('queued'),
    providerMessageId: text('provider_message_id'),
    error: text('error'),
    sentAt: ts('sent_at'),
    deliveredAt: ts('delivered_at'),
    createdAt: created(),
    updatedAt: updated(),
    /** Durable, fenced sends (0011_sms.sql), as email_messages. */
    fromNumber: text('from_number'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at'),
    claimedAt: ts('claimed_at'),
    leaseId: uuid('lease_id'),
    leaseUntil: ts('lease_until'),
    failedAt: ts('failed_at'),
    errorCode: integer('error_code'),
    segments: integer('segments'),
    encoding: text('encoding').$type<'GSM-7' | 'UCS-2'>(),
  },
  tenantPk,
);

/** Twilio status callbacks as received (0011_sms.sql). */
export const smsStatusEvents = pgTable(
  'sms_status_events',
  {
    ...tenantKey(),
    messageSid: text('message_sid').notNull(),
    status: text('status').notNull(),
    errorCode: integer('error_code'),
    createdAt: created(),
  },
  tenantPk,
);

/** Messages customers send to the organization's numbers (0011_sms.sql). */
export const smsInboundMessages = pgTable(
  'sms_inbound_messages',
  {
    ...tenantKey(),
    customerId: uuid('customer_id'),
    providerMessageId: text('provider_message_id').notNull(),
    fromNumber: text('from_number').notNull(),
    toNumber: text('to_number').notNull(),
    body: text('body').notNull().default(''),
    keyword: text('keyword').$type<'stop' | 'start' | 'help'>(),
    numMedia: integer('num_media').notNull().default(0),
    createdAt: created(),
  },
  tenantPk,
);

/** Per-organization SMS settings (0011_sms.sql): one row per organization. */
export const smsSettings = pgTable(
  'sms_settings',
  {
    ...tenantKey(),
    helpText: text('help_text'),
    quietHoursStart: text('quiet_hours_start'),
    quietHoursEnd: text('quiet_hours_end'),
    timezone: text('timezone').notNull().default('UTC'),
    defaultFromNumber: text('default_from_number'),
    createdAt: created(),
    updatedAt: updated(),
  },
  tenantPk,
);

export const ivrFlows = pgTable(
  'ivr_flows',
  {
    ...tenantKey(),
    name: text('name').notNull(),
    /** The current version's definition (0010_voice.sql); every version is kept in ivr_flow_versions. */
    definition: jsonb('definition').$type<Record<string, unknown>>().notNull().default({}),
    active: boolean('active').notNull().default(true),
    currentVersion: integer('current_version').notNull().default(1),
    createdAt: created(),
    updatedAt: updated(),
  },
  tenantPk,
);

/** Immutable saved definitions of a flow: a call keeps the version it started on (0010_voice.sql). */
export const ivrFlowVersions = pgTable(
  'ivr_flow_versions',
  {
    ...tenantKey(),
    flowId: uuid('flow_id').notNull(),
    version: integer('version').notNull(),
    definition: jsonb('definition').$type<Record<string, unknown>>().notNull(),
    createdAt: created(),
  },
  tenantPk,
);

/** An agent's phone number: outbound calls ring it first, dial nodes forward to it. */
export const callAgents = pgTable(
  'call_agents',
  {
    ...tenantKey(),
    membershipId: uuid('membership_id').notNull(),
    phoneNumber: text('phone_number').notNull(),
    createdAt: created(),
    updatedAt: updated(),
  },
  tenantPk,
);

export const calls = pgTable(
  'calls',
  {
    ...tenantKey(),
    direction: text('direction').$type<'inbound' | 'outbound'>().notNull(),
    fromNumber: text('from_number').notNull(),
    toNumber: text('to_number').notNull(),
    status: text('status').notNull().default('queued'),
    customerId: uuid('customer_id'),
    ivrFlowId: uuid('ivr_flow_id'),
    providerCallId: text('provider_call_id'),
    durationSeconds: integer('duration_seconds'),
    notes: text('notes'),
    startedAt: ts('started_at'),
    endedAt: ts('ended_at'),
    createdAt: created(),
    updatedAt: updated(),
    agentUserId: uuid('agent_user_id'),
    agentNumber: text('agent_number'),
    disposition: text('disposition'),
    recordingUrl: text('recording_url'),
    recordingDurationSeconds: integer('recording_duration_seconds'),
    transcription: text('transcription'),
    errorCode: text('error_code'),
    answeredAt: ts('answered_at'),
    /** The flow version the call started on, and where the caller is in it (the gather callback's state). */
    ivrFlowVersion: integer('ivr_flow_version'),
    ivrNode: text('ivr_node'),
    ivrRetries: integer('ivr_retries').notNull().default(0),
  },
  tenantPk,
);

/** The caller's path through a flow, in order (0010_voice.sql). */
export const callSteps = pgTable(
  'call_steps',
  {
    ...tenantKey(),
    callId: uuid('call_id').notNull(),
    seq: integer('seq').notNull(),
    nodeId: text('node_id'),
    kind: text('kind').notNull(),
    digits: text('digits'),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: created(),
  },
  tenantPk,
);

export const auditLog = pgTable(
  'audit_log',
  {
    ...tenantKey(),
    actorType: text('actor_type').$type<'user' | 'api_key' | 'system'>().notNull(),
    actorReason: text('actor_reason'),
    actorId: uuid('actor_id'),
    action: text('action').notNull(),
    resourceType: text('resource_type').notNull(),
    resourceId: uuid('resource_id'),
    changes: jsonb('changes').$type<Record<string, unknown> | null>(),
    requestId: text('request_id'),
    createdAt: created(),
  },
  tenantPk,
);

export type Role = 'owner' | 'admin' | 'member';
/** The roles an invitation or an API key can carry: ownership is only ever handed over by an owner. */
export type GrantableRole = Exclude<Role, 'owner'>;

/** Durable jobs (0003_email.sql): one organization each, claimed by workers with a lease. */
export const jobs = pgTable(
  'jobs',
  {
    ...tenantKey(),
    queue: text('queue').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    singletonKey: text('singleton_key'),
    state: text('state').$type<'queued' | 'active' | 'completed' | 'failed' | 'cancelled'>().notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(10),
    runAt: ts('run_at').notNull().defaultNow(),
    lockedUntil: ts('locked_until'),
    /** Fencing token of the current claim: every write about the job names it. */
    leaseId: uuid('lease_id'),
    lastError: text('last_error'),
    createdAt: created(),
    updatedAt: updated(),
  },
  tenantPk,
);

/** Sender identities (0006_sending.sql): a domain proven by DNS and signed with its own DKIM key. */
export const senderDomains = pgTable(
  'sender_domains',
  {
    ...tenantKey(),
    domain: text('domain').notNull(),
    verificationToken: text('verification_token').notNull(),
    dkimSelector: text('dkim_selector').notNull(),
    dkimPublicKey: text('dkim_public_key').notNull(),
    dkimPrivateKeyEnc: text('dkim_private_key_enc').notNull(),
    verifiedAt: ts('verified_at'),
    dkimVerifiedAt: ts('dkim_verified_at'),
    lastCheckedAt: ts('last_checked_at'),
    createdAt: created(),
    updatedAt: updated(),
  },
  tenantPk,
);

/** A single sender address, proven by a confirmation link. */
export const senderAddresses = pgTable(
  'sender_addresses',
  {
    ...tenantKey(),
    email: text('email').notNull(),
    tokenHash: text('token_hash'),
    tokenExpiresAt: ts('token_expires_at'),
    verifiedAt: ts('verified_at'),
    createdAt: created(),
    updatedAt: updated(),
  },
  tenantPk,
);

export type SuppressionChannel = 'email' | 'sms';
export type SuppressionReason = 'unsubscribed' | 'complained' | 'bounced' | 'manual';

/** Addresses an organization must not message again, whatever happens to its customer rows. */
export const suppressions = pgTable(
  'suppressions',
  {
    ...tenantKey(),
    channel: text('channel').$type<SuppressionChannel>().notNull(),
    address: text('address').notNull(),
    reason: text('reason').$type<SuppressionReason>().notNull(),
    source: text('source').notNull(),
    createdAt: created(),
  },
  tenantPk,
);

/** Phone numbers (0009_twilio.sql): a number belongs to one organization across the platform; inbound traffic finds it by the number. */
export const phoneNumbers = pgTable(
  'phone_numbers',
  {
    ...tenantKey(),
    number: text('number').notNull(),
    friendlyName: text('friendly_name'),
    smsEnabled: boolean('sms_enabled').notNull().default(true),
    voiceEnabled: boolean('voice_enabled').notNull().default(true),
    ivrFlowId: uuid('ivr_flow_id'),
    twilioSid: text('twilio_sid'),
    createdAt: created(),
    updatedAt: updated(),
  },
  tenantPk,
);

/** Exports produced by Shopify's customers/data_request webhook (0014_shopify.sql), for the shop owner to fetch. */
export const shopifyDataRequests = pgTable(
  'shopify_data_requests',
  {
    ...tenantKey(),
    shop: text('shop').notNull(),
    shopifyRequestId: text('shopify_request_id'),
    shopifyCustomerId: text('shopify_customer_id'),
    email: text('email'),
    export: jsonb('export').$type<Record<string, unknown>>().notNull(),
    createdAt: created(),
  },
  tenantPk,
);

/** Outbound webhook endpoints (0013_webhooks.sql): secrets sealed, never returned after creation. */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    ...tenantKey(),
    url: text('url').notNull(),
    eventTypes: text('event_types').array().notNull(),
    description: text('description'),
    enabled: boolean('enabled').notNull().default(true),
    secretSealed: text('secret_sealed').notNull(),
    previousSecretSealed: text('previous_secret_sealed'),
    previousSecretExpiresAt: ts('previous_secret_expires_at'),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    failingSince: ts('failing_since'),
    disabledAt: ts('disabled_at'),
    disabledReason: text('disabled_reason'),
    createdAt: created(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  tenantPk,
);

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event for one endpoint; its attempts are logged in webhook_delivery_attempts. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    ...tenantKey(),
    endpointId: uuid('endpoint_id').notNull(),
    eventId: uuid('event_id').notNull(),
    eventType: text('event_type').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status').$type<WebhookDeliveryStatus>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at'),
    deliveredAt: ts('delivered_at'),
    createdAt: created(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  tenantPk,
);

export const webhookDeliveryAttempts = pgTable(
  'webhook_delivery_attempts',
  {
    ...tenantKey(),
    endpointId: uuid('endpoint_id').notNull(),
    deliveryId: uuid('delivery_id').notNull(),
    eventId: uuid('event_id').notNull(),
    eventType: text('event_type').notNull(),
    attempt: integer('attempt').notNull(),
    statusCode: integer('status_code'),
    latencyMs: integer('latency_ms').notNull(),
    responseExcerpt: text('response_excerpt'),
    error: text('error'),
    createdAt: created(),
  },
  tenantPk,
);

/** Social accounts (0001_schema.sql, 0017_social.sql): tokens sealed, never returned. */
export const socialAccounts = pgTable(
  'social_accounts',
  {
    ...tenantKey(),
    platform: text('platform').notNull(),
    handle: text('handle').notNull(),
    externalId: text('external_id'),
    displayName: text('display_name'),
    accessTokenEncrypted: text('access_token_encrypted'),
    refreshTokenEncrypted: text('refresh_token_encrypted'),
    tokenExpiresAt: ts('token_expires_at'),
    status: text('status').notNull().default('connected'),
    statusReason: text('status_reason'),
    scopes: text('scopes'),
    refreshedAt: ts('refreshed_at'),
    createdAt: created(),
    updatedAt: updated(),
  },
  tenantPk,
);

/** Social posts (0001_schema.sql, 0017_social.sql): drafts, scheduled, published by the social-publish job. */
export const socialPosts = pgTable(
  'social_posts',
  {
    ...tenantKey(),
    accountId: uuid('account_id').notNull(),
    body: text('body').notNull(),
    link: text('link'),
    media: jsonb('media').$type<string[]>().notNull().default([]),
    status: text('status').notNull().default('draft'),
    scheduledAt: ts('scheduled_at'),
    publishedAt: ts('published_at'),
    externalId: text('external_id'),
    permalink: text('permalink'),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    createdAt: created(),
    updatedAt: updated(),
  },
  tenantPk,
);
