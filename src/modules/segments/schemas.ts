import { z } from 'zod';
import { pageOf, pageQuery } from '../../lib/pagination.js';

/** A condition tree's limits: nesting levels and nodes (every node costs SQL; event nodes a subquery each). */
export const MAX_DEPTH = 5;
export const MAX_NODES = 50;

const Name = z.string().trim().min(1).max(200);
const AttributeKey = z.string().regex(/^[A-Za-z0-9_$-]{1,64}$/, 'An attribute name: letters, digits, _ $ -');

export const FieldCondition = z.strictObject({
  type: z.literal('field'),
  field: z.enum(['email', 'phone', 'firstName', 'lastName', 'externalId']),
  op: z.enum(['eq', 'neq', 'contains', 'exists', 'notExists']),
  value: z.string().max(254).optional(),
});
export const CreatedCondition = z.strictObject({ type: z.literal('created'), op: z.enum(['before', 'after']), at: z.iso.datetime({ offset: true }) });
export const TagCondition = z.strictObject({ type: z.literal('tag'), op: z.enum(['has', 'notHas']), tag: z.string().trim().min(1).max(64) });
export const AttributeCondition = z.strictObject({
  type: z.literal('attribute'),
  key: AttributeKey,
  op: z.enum(['eq', 'neq', 'gt', 'lt', 'exists', 'notExists']),
  value: z.union([z.string().max(200), z.number(), z.boolean()]).optional(),
});
export const ConsentCondition = z.strictObject({ type: z.literal('consent'), channel: z.enum(['email', 'sms']), optedIn: z.boolean() });
/** "did X at least N times in the last D days" (`atLeast`), "has not done X in the last D days" (`none`). */
export const EventCondition = z.strictObject({
  type: z.literal('event'),
  event: Name,
  op: z.enum(['atLeast', 'none']),
  count: z.number().int().min(1).max(1_000_000).default(1),
  withinDays: z.number().int().min(1).max(3650),
  where: z.record(AttributeKey, z.string().max(200)).refine((w) => Object.keys(w).length <= 5, 'At most 5 property filters').optional(),
});

export type Condition =
  | { type: 'and' | 'or'; conditions: Condition[] }
  | { type: 'not'; condition: Condition }
  | z.infer<typeof FieldCondition>
  | z.infer<typeof CreatedCondition>
  | z.infer<typeof TagCondition>
  | z.infer<typeof AttributeCondition>
  | z.infer<typeof ConsentCondition>
  | z.infer<typeof EventCondition>;

const Group = z.strictObject({
  type: z.enum(['and', 'or']),
  get conditions(): z.ZodArray<z.ZodType<Condition>> {
    return z.array(ConditionNode).min(1).max(MAX_NODES);
  },
});
const Not = z.strictObject({
  type: z.literal('not'),
  get condition(): z.ZodType<Condition> {
    return ConditionNode;
  },
});
const ConditionNode: z.ZodType<Condition> = z.discriminatedUnion('type', [Group, Not, FieldCondition, CreatedCondition, TagCondition, AttributeCondition, ConsentCondition, EventCondition]);

/** Depth and node count, walked without recursion so that an absurdly deep tree costs nothing before it is refused. */
function shapeProblem(root: unknown): string | null {
  const stack: [unknown, number][] = [[root, 1]];
  let nodes = 0;
  while (stack.length) {
    const [n, depth] = stack.pop()!;
    if (!n || typeof n !== 'object') continue;
    if (++nodes > MAX_NODES) return `At most ${MAX_NODES} conditions`;
    if (depth > MAX_DEPTH) return `At most ${MAX_DEPTH} levels of nesting`;
    const o = n as { conditions?: unknown; condition?: unknown };
    if (Array.isArray(o.conditions)) for (const c of o.conditions) stack.push([c, depth + 1]);
    if (o.condition) stack.push([o.condition, depth + 1]);
  }
  return null;
}

/** A segment's condition: the shape checked first (depth, size), then every node strictly. */
export const SegmentCondition = z
  .unknown()
  .superRefine((v, ctx) => {
    const problem = shapeProblem(v);
    // Fatal: the strict walk below recurses, so a tree past the limits is never handed to it.
    if (problem) ctx.addIssue({ code: 'custom', message: problem, continue: false });
  })
  .pipe(ConditionNode)
  .meta({ description: 'A condition tree: and/or/not groups over field, created, tag, attribute, consent and event conditions (see the API guide).' });

const example = {
  type: 'and',
  conditions: [
    { type: 'consent', channel: 'email', optedIn: true },
    { type: 'event', event: 'Order Completed', op: 'atLeast', count: 2, withinDays: 30 },
    { type: 'not', condition: { type: 'tag', op: 'has', tag: 'churned' } },
  ],
};

export const SegmentIn = z.strictObject({ name: Name, condition: SegmentCondition }).meta({ example: { name: 'Repeat buyers', condition: example } });
export type SegmentIn = z.infer<typeof SegmentIn>;
export const SegmentPreviewIn = z.strictObject({ condition: SegmentCondition }).meta({ example: { condition: example } });

export const SegmentOut = z.object({ id: z.uuid(), name: z.string(), condition: z.unknown(), createdAt: z.string(), updatedAt: z.string() });
export const SegmentPage = pageOf(SegmentOut);
export const SegmentListQuery = z.strictObject(pageQuery);

export const PreviewOut = z.object({
  count: z.number().int(),
  sample: z.array(z.object({ id: z.uuid(), email: z.string().nullable(), phone: z.string().nullable(), firstName: z.string().nullable(), lastName: z.string().nullable() })),
});
