import { z } from 'zod';
import { pageOf, pageQuery } from '../../lib/pagination.js';
import { EmailAddress, Tags } from '../../lib/schemas.js';

export const MAX_ATTRIBUTES_BYTES = 16 * 1024;
/** Nesting levels below `attributes` itself; deeper documents are refused before anything walks them recursively. */
export const MAX_ATTRIBUTES_DEPTH = 32;

/** Depth of a JSON value, walked without recursion and abandoned as soon as it passes `limit`. */
function depthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d >= limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return false;
}

/**
 * The one rule for a customer's attributes, shared by the JSON API and the CSV import: at most
 * MAX_ATTRIBUTES_DEPTH levels deep and MAX_ATTRIBUTES_BYTES as UTF-8 JSON. Returns the problem, or null.
 */
export function attributesProblem(a: Record<string, unknown>): string | null {
  // Depth first: JSON.stringify recurses, and 6,000 levels overflow the stack (a 500 before this check).
  if (depthExceeds(a, MAX_ATTRIBUTES_DEPTH)) return `attributes must be at most ${MAX_ATTRIBUTES_DEPTH} levels deep`;
  if (Buffer.byteLength(JSON.stringify(a)) > MAX_ATTRIBUTES_BYTES) return `attributes must be at most ${MAX_ATTRIBUTES_BYTES} bytes as JSON`;
  return null;
}

export const Phone = z.string().trim().regex(/^\+?[0-9 ().-]{4,32}$/, 'Invalid phone number');
export const Attributes = z.record(z.string().max(64), z.unknown()).superRefine((a, ctx) => {
  const problem = attributesProblem(a);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const fields = {
  email: EmailAddress.nullable().optional(),
  phone: Phone.nullable().optional(),
  firstName: z.string().trim().max(200).nullable().optional(),
  lastName: z.string().trim().max(200).nullable().optional(),
  emailOptIn: z.boolean().optional(),
  smsOptIn: z.boolean().optional(),
  tags: Tags.optional(),
  attributes: Attributes.optional(),
};

const reachable = (c: { email?: string | null; phone?: string | null }) => Boolean(c.email || c.phone);
const reachableIssue = { message: 'A customer needs an email or a phone number', path: ['email'] };

const example = {
  email: 'ada@example.com',
  phone: '+15551234567',
  firstName: 'Ada',
  lastName: 'Lovelace',
  emailOptIn: true,
  smsOptIn: false,
  tags: ['vip'],
  attributes: { plan: 'pro' },
};

export const CustomerCreate = z.strictObject(fields).refine(reachable, reachableIssue).meta({ example });
/** PUT replaces the customer: omitted fields go back to their defaults. */
export const CustomerReplace = CustomerCreate;
export const CustomerPatch = z.strictObject(fields).meta({ example: { firstName: 'Augusta', tags: ['vip', 'newsletter'] } });
export type CustomerInput = z.infer<typeof CustomerPatch>;

const boolString = z.enum(['true', 'false']).transform((v) => v === 'true');
export const CustomerListQuery = z.strictObject({
  ...pageQuery,
  q: z.string().trim().min(1).max(200).optional(),
  tag: z.string().trim().min(1).max(64).optional(),
  emailOptIn: boolString.optional(),
  smsOptIn: boolString.optional(),
});
export type CustomerListQuery = z.infer<typeof CustomerListQuery>;

export const CustomerOut = z.object({
  id: z.uuid(),
  /** The organization's own id for the customer (an event's `userId`), set through the events API. */
  externalId: z.string().nullable(),
  /** The anonymous id of a profile made by events before the person was identified. */
  anonymousId: z.string().nullable(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  emailOptIn: z.boolean(),
  smsOptIn: z.boolean(),
  emailStatus: z.enum(['active', 'bounced', 'complained']),
  /** The email address is on the organization's suppression list: no campaign or test send reaches it. */
  emailSuppressed: z.boolean(),
  /** The phone number is on the suppression list. */
  smsSuppressed: z.boolean(),
  tags: z.array(z.string()),
  attributes: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const CustomerPage = pageOf(CustomerOut);

export const ImportResult = z.object({
  created: z.number(),
  updated: z.number(),
  rejected: z.array(z.object({ row: z.number(), error: z.string() })),
});
