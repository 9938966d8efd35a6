import { z } from 'zod';
import { pageOf, pageQuery } from '../../lib/pagination.js';

/** The longest range a report covers: a year and a day (a leap year's days, whole). */
export const MAX_DAYS = 366;

export const KINDS = ['campaign_performance', 'customer_growth', 'messages_by_channel', 'conversations'] as const;
export const ReportKind = z.enum(KINDS).meta({
  description:
    'campaign_performance: per email and SMS campaign, sent/delivered/opened/clicked/bounced/unsubscribed in the range, and the orders and revenue ' +
    'attributed to it (a Shopify order placed in the range by a customer within attributionDays after their last click on a link of the campaign); ' +
    'customer_growth: per day, new customers (and how many of them are opted in to email and SMS), unsubscribes and the running total; ' +
    'messages_by_channel: per day, campaign messages sent by email and by SMS; ' +
    'conversations: per day, conversations created and resolved, CSAT answers, their average score and the share of satisfied (4 or 5 of 5) ' +
    "(the inbox's conversations, anonymous visitors' included, plus other tools' conversations sent as API events named `Conversation Created`, " +
    '`Conversation Resolved` and `CSAT Submitted` or `CSAT Answered`, score 1–5).',
});

/** Days after a click during which an order counts to the clicked campaign (campaign_performance). */
export const AttributionDays = z.number().int().min(1).max(90).meta({ description: 'Days after a click during which an order counts to the clicked campaign (campaign_performance; default 7)' });

const Day = z.iso.date().meta({ description: 'A calendar day (UTC), YYYY-MM-DD' });
const dayNumber = (d: string) => Date.parse(`${d}T00:00:00Z`) / 86_400_000;

/** Two calendar days, inclusive, at most MAX_DAYS apart and in order. */
export const FixedRange = z
  .strictObject({ from: Day, to: Day })
  .superRefine((r, ctx) => {
    const span = dayNumber(r.to) - dayNumber(r.from) + 1;
    if (span < 1) ctx.addIssue({ code: 'custom', path: ['to'], message: '"to" must not be before "from"' });
    else if (span > MAX_DAYS) ctx.addIssue({ code: 'custom', path: ['to'], message: `A range covers at most ${MAX_DAYS} days` });
  });
/** The last N days, today (UTC) included. */
export const RelativeRange = z.strictObject({ lastDays: z.number().int().min(1).max(MAX_DAYS) });
export const ReportRange = z.union([FixedRange, RelativeRange]).meta({ description: '{from, to} (calendar days, inclusive) or {lastDays} (today included)' });
export type ReportRange = z.infer<typeof ReportRange>;

const Name = z.string().trim().min(1).max(200);

/** Delivery by email to members of the organization, with the CSV attached; null: none. */
export const ReportSchedule = z
  .strictObject({
    every: z.enum(['day', 'week']),
    recipients: z.array(z.uuid()).min(1).max(20).meta({ description: "Members' user ids (GET /api/organizations/current/members)" }),
  })
  .meta({ description: 'Email the results (CSV attached) every day or week, first one interval after saving, to these members' });
export type ReportSchedule = z.infer<typeof ReportSchedule>;

export const ReportIn = z
  .strictObject({ name: Name, kind: ReportKind, range: ReportRange, attributionDays: AttributionDays.optional(), schedule: ReportSchedule.nullable().optional() })
  .meta({ example: { name: 'Campaigns this month', kind: 'campaign_performance', range: { lastDays: 30 } } });
export type ReportIn = z.infer<typeof ReportIn>;

export const ReportPatch = z
  .strictObject({ name: Name.optional(), kind: ReportKind.optional(), range: ReportRange.optional(), attributionDays: AttributionDays.optional(), schedule: ReportSchedule.nullable().optional() })
  .refine((p) => Object.keys(p).length > 0, 'Change at least one of name, kind, range, attributionDays, schedule')
  .meta({ example: { range: { from: '2026-11-01', to: '2026-11-30' } } });
export type ReportPatch = z.infer<typeof ReportPatch>;

export const ReportOut = z.object({ id: z.uuid(), name: z.string(), kind: ReportKind, range: ReportRange, attributionDays: z.number().int(), schedule: ReportSchedule.nullable(), createdAt: z.string(), updatedAt: z.string() });
export const ReportPage = pageOf(ReportOut);
export const ReportListQuery = z.strictObject(pageQuery);

/** A one-off range for a run (the dashboard's date inputs): both days, or neither (the saved range). */
export const ResultsQuery = z
  .strictObject({ from: Day.optional(), to: Day.optional() })
  .superRefine((q, ctx) => {
    if ((q.from === undefined) !== (q.to === undefined)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'Give both "from" and "to", or neither' });
    else if (q.from && q.to) {
      const r = FixedRange.safeParse(q);
      if (!r.success) for (const i of r.error.issues) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
    }
  });

const Cell = z.union([z.string(), z.number().nullable()]).meta({ description: 'Text or a number; null where a channel has no such figure (the opens of an SMS campaign)' });
export const ReportResults = z.object({
  kind: ReportKind,
  from: z.string().meta({ description: 'First day covered (UTC)' }),
  to: z.string().meta({ description: 'Last day covered (UTC), inclusive' }),
  columns: z.array(z.string()).meta({ description: 'The columns of every row, in order (the CSV header)' }),
  rows: z.array(z.record(z.string(), Cell)),
  previous: z
    .object({
      from: z.string().meta({ description: 'First day of the previous period (as many days, ending the day before `from`)' }),
      to: z.string(),
      rows: z.array(z.record(z.string(), Cell)),
    })
    .meta({ description: 'The same report over the period just before, for comparison (same columns)' }),
  totals: z.record(z.string(), z.number().nullable()).meta({ description: "Each numeric column's total over the period (an average column: over the period's answers); totals of the previous period in previousTotals" }),
  previousTotals: z.record(z.string(), z.number().nullable()),
});
export type ReportResults = z.infer<typeof ReportResults>;
