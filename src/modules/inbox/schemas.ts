import { z } from 'zod';
import { pageOf, pageQuery } from '../../lib/pagination.js';

/** Longest message an agent or a visitor may post (characters). */
export const MAX_MESSAGE = 5000;
export const CHANNELS = ['web', 'sms', 'email'] as const;
export const STATUSES = ['open', 'pending', 'snoozed', 'resolved'] as const;
export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const Hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'Expected HH:MM');
const Interval = z.strictObject({ start: Hhmm, end: Hhmm }).refine((i) => i.start < i.end, 'start must be before end');
const TimeZone = z
  .string()
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'Unknown IANA time zone');

export const BusinessHours = z.strictObject({
  timezone: TimeZone,
  days: z.strictObject(Object.fromEntries(DAYS.map((d) => [d, z.array(Interval).max(4).optional()])) as Record<(typeof DAYS)[number], z.ZodOptional<z.ZodArray<typeof Interval>>>),
});
export type BusinessHours = z.infer<typeof BusinessHours>;

const Name = z.string().trim().min(1).max(120);
const Origin = z.string().max(200).regex(/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i, 'An origin: scheme://host[:port]');
const Origins = z.array(Origin).max(20);
const Text = (max: number) => z.string().max(max);

export const InboxCreate = z
  .strictObject({
    name: Name,
    greeting: Text(500).optional(),
    businessHours: BusinessHours.nullable().optional(),
    outOfHoursReply: Text(1000).optional(),
    csatEnabled: z.boolean().optional(),
    allowedOrigins: Origins.optional(),
  })
  .meta({ example: { name: 'Website', greeting: 'Hi! How can we help?', csatEnabled: true } });

export const InboxPatch = z
  .strictObject({
    name: Name.optional(),
    greeting: Text(500).optional(),
    businessHours: BusinessHours.nullable().optional(),
    outOfHoursReply: Text(1000).optional(),
    csatEnabled: z.boolean().optional(),
    allowedOrigins: Origins.optional(),
  })
  .meta({ example: { greeting: 'Hello there' } });

export const InboxOut = z.object({
  id: z.uuid(),
  name: z.string(),
  /** Public: goes in the embed snippet (`data-site-token`). */
  siteToken: z.string(),
  /** Signs customers' ids or emails for identity verification; admins and owners only (null for members). */
  identitySecret: z.string().nullable(),
  greeting: z.string(),
  businessHours: BusinessHours.nullable(),
  outOfHoursReply: z.string(),
  csatEnabled: z.boolean(),
  /** Origins whose pages may call the widget API with this site token; empty: any origin. */
  allowedOrigins: z.array(z.string()),
  /** SendGrid Inbound Parse destination URL (contains this inbox's secret); admins and owners only. */
  emailInboundUrl: z.string().nullable(),
  createdAt: z.string(),
});
export const InboxList = z.object({ data: z.array(InboxOut) });

const Person = z.object({ id: z.uuid(), email: z.string(), name: z.string() });

export const ConversationOut = z.object({
  id: z.uuid(),
  inboxId: z.uuid().nullable(),
  channel: z.enum(CHANNELS),
  status: z.enum(STATUSES),
  snoozedUntil: z.string().nullable(),
  assignee: Person.nullable(),
  teamId: z.uuid().nullable(),
  labels: z.array(z.string()),
  customer: z.object({ id: z.uuid(), email: z.string().nullable(), phone: z.string().nullable(), firstName: z.string().nullable(), lastName: z.string().nullable() }).nullable(),
  visitorName: z.string().nullable(),
  subject: z.string().nullable(),
  lastMessageAt: z.string(),
  lastMessagePreview: z.string(),
  /** Customer messages since the last agent reply. */
  unread: z.number().int(),
  csatScore: z.number().int().nullable(),
  csatComment: z.string().nullable(),
  createdAt: z.string(),
});
export type ConversationOut = z.infer<typeof ConversationOut>;
export const ConversationPage = pageOf(ConversationOut);

export const ConversationListQuery = z.strictObject({
  ...pageQuery,
  status: z.enum(STATUSES).optional(),
  assigneeId: z.uuid().optional(),
  /** `false`: only conversations nobody is assigned to (the inbox's "Unassigned" view); `true`: only assigned ones. */
  assigned: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  teamId: z.uuid().optional(),
  label: z.string().max(50).optional(),
  channel: z.enum(CHANNELS).optional(),
  customerId: z.uuid().optional(),
  inboxId: z.uuid().optional(),
});

const Label = z.string().trim().min(1).max(50).regex(/^[^,\s][^,]*$/, 'No commas');

export const ConversationPatch = z
  .strictObject({
    status: z.enum(STATUSES).optional(),
    snoozedUntil: z.iso.datetime({ offset: true }).nullable().optional(),
    assigneeId: z.uuid().nullable().optional(),
    teamId: z.uuid().nullable().optional(),
    labels: z.array(Label).max(20).optional(),
  })
  .meta({ example: { labels: ['billing'] } });

export const AssignBody = z.strictObject({ strategy: z.literal('round-robin') }).meta({ example: { strategy: 'round-robin' } });

export const MessageOut = z.object({
  id: z.uuid(),
  conversationId: z.uuid(),
  direction: z.enum(['inbound', 'outbound']),
  private: z.boolean(),
  authorType: z.enum(['customer', 'agent', 'system']),
  author: z.object({ id: z.uuid(), name: z.string() }).nullable(),
  body: z.string(),
  deliveryStatus: z.enum(['pending', 'sent', 'delivered', 'failed']).nullable(),
  deliveryError: z.string().nullable(),
  createdAt: z.string(),
});
export type MessageOut = z.infer<typeof MessageOut>;
export const MessagePage = pageOf(MessageOut);
export const MessageListQuery = z.strictObject({ ...pageQuery });

export const MessageCreate = z
  .strictObject({ body: z.string().trim().min(1).max(MAX_MESSAGE), private: z.boolean().optional() })
  .meta({ example: { body: 'Thanks for reaching out — looking into it now.' } });

export const SidebarOut = z.object({
  customer: z
    .object({
      id: z.uuid(),
      email: z.string().nullable(),
      phone: z.string().nullable(),
      firstName: z.string().nullable(),
      lastName: z.string().nullable(),
      emailOptIn: z.boolean(),
      smsOptIn: z.boolean(),
      tags: z.array(z.string()),
      attributes: z.record(z.string(), z.unknown()),
      createdAt: z.string(),
    })
    .nullable(),
  orders: z.array(z.object({ id: z.uuid(), number: z.string().nullable(), total: z.string(), currency: z.string(), orderedAt: z.string().nullable() })),
  pastConversations: z.array(z.object({ id: z.uuid(), channel: z.enum(CHANNELS), status: z.enum(STATUSES), subject: z.string().nullable(), lastMessagePreview: z.string(), lastMessageAt: z.string() })),
  campaignsReceived: z.array(z.object({ channel: z.enum(['email', 'sms']), campaignId: z.uuid(), name: z.string(), status: z.string(), at: z.string() })),
});

export const CannedOut = z.object({ id: z.uuid(), shortcut: z.string(), body: z.string(), createdAt: z.string() });
export const CannedList = z.object({ data: z.array(CannedOut) });
const Shortcut = z.string().trim().min(1).max(40).regex(/^[a-z0-9][a-z0-9_-]*$/i, 'Letters, digits, - and _');
export const CannedCreate = z.strictObject({ shortcut: Shortcut, body: z.string().trim().min(1).max(MAX_MESSAGE) }).meta({ example: { shortcut: 'thanks', body: 'Thanks for your patience!' } });
export const CannedPatch = z.strictObject({ shortcut: Shortcut.optional(), body: z.string().trim().min(1).max(MAX_MESSAGE).optional() }).meta({ example: { body: 'Thank you!' } });

export const TeamOut = z.object({ id: z.uuid(), name: z.string(), memberIds: z.array(z.uuid()), createdAt: z.string() });
export const TeamList = z.object({ data: z.array(TeamOut) });
export const TeamCreate = z.strictObject({ name: Name, memberIds: z.array(z.uuid()).max(500).default([]) }).meta({ example: { name: 'Support', memberIds: [] } });
export const TeamPatch = z.strictObject({ name: Name.optional(), memberIds: z.array(z.uuid()).max(500).optional() }).meta({ example: { name: 'Tier 2' } });

export const AgentOut = z.object({ id: z.uuid(), email: z.string(), name: z.string(), available: z.boolean() });
export const AgentList = z.object({ data: z.array(AgentOut) });
export const AvailabilityBody = z.strictObject({ available: z.boolean() }).meta({ example: { available: true } });

// Widget
const SiteToken = z.string().min(10).max(200);
export const WidgetSessionBody = z
  .strictObject({
    siteToken: SiteToken,
    userId: z.string().min(1).max(200).optional(),
    email: z.email().max(320).optional(),
    name: z.string().trim().max(120).optional(),
    userHash: z.string().regex(/^[0-9a-f]{64}$/i).optional(),
  })
  .meta({ example: { siteToken: '00000000-0000-0000-0000-000000000000.example', name: 'Ada' } });
export const WidgetSessionOut = z.object({
  visitorId: z.uuid(),
  /** The signed visitor id, as in the cookie: for browsers that block third-party cookies, sent back as `x-visitor-token`. */
  visitorToken: z.string(),
  identified: z.boolean(),
  inbox: z.object({ name: z.string(), greeting: z.string(), online: z.boolean(), csatEnabled: z.boolean() }),
  helpCenterUrl: z.string().nullable(),
});
export const WidgetMessageBody = z.strictObject({ body: z.string().trim().min(1).max(MAX_MESSAGE) }).meta({ example: { body: 'Hello, I have a question about my order.' } });
export const WidgetConversationOut = z.object({
  id: z.uuid(),
  status: z.enum(STATUSES),
  lastMessageAt: z.string(),
  lastMessagePreview: z.string(),
  csatScore: z.number().int().nullable(),
  createdAt: z.string(),
});
export const WidgetConversationList = z.object({ data: z.array(WidgetConversationOut) });
export const WidgetMessageOut = z.object({
  id: z.uuid(),
  conversationId: z.uuid(),
  direction: z.enum(['inbound', 'outbound']),
  authorType: z.enum(['customer', 'agent', 'system']),
  authorName: z.string().nullable(),
  body: z.string(),
  createdAt: z.string(),
});
export const WidgetMessageList = pageOf(WidgetMessageOut);
export const WidgetStarted = z.object({ conversation: WidgetConversationOut, message: WidgetMessageOut });
export const CsatBody = z.strictObject({ score: z.number().int().min(1).max(5), comment: z.string().trim().max(1000).optional() }).meta({ example: { score: 5, comment: 'Quick and helpful' } });
export const WidgetArticles = z.object({ data: z.array(z.object({ title: z.string(), url: z.string(), snippet: z.string() })) });
export const ArticleQuery = z.strictObject({ q: z.string().max(200).optional() });
