import { z } from 'zod';
import { pageOf, pageQuery } from '../../lib/pagination.js';
import { EXAMPLE_FLOW, FlowDefinition } from './flow.js';

const Name = z.string().trim().min(1).max(200);

export const IvrFlowCreate = z
  .strictObject({ name: Name, definition: FlowDefinition, active: z.boolean().optional() })
  .meta({ example: { name: 'Main line', definition: EXAMPLE_FLOW } });
/** PUT replaces the flow: omitted `active` goes back to true. */
export const IvrFlowReplace = IvrFlowCreate;
export const IvrFlowPatch = z
  .strictObject({ name: Name.optional(), definition: FlowDefinition.optional(), active: z.boolean().optional() })
  .meta({ example: { name: 'Main line (weekend)' } });
export type IvrFlowInput = z.infer<typeof IvrFlowPatch>;

export const IvrFlowListQuery = z.strictObject({ ...pageQuery, active: z.enum(['true', 'false']).optional() });
export type IvrFlowListQuery = z.infer<typeof IvrFlowListQuery>;

const StoredDefinition = z
  .record(z.string(), z.unknown())
  .describe('The flow graph as saved: { start, nodes: { [id]: node } } (see docs/api.md, "IVR flows")');

export const IvrFlowOut = z.object({
  id: z.uuid(),
  name: z.string(),
  active: z.boolean(),
  version: z.number().describe('The current version: new calls start on it; calls in progress keep theirs'),
  definition: StoredDefinition,
  phoneNumbers: z.array(z.object({ id: z.uuid(), number: z.string() })).describe('The organization\'s numbers bound to this flow'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const IvrFlowPage = pageOf(IvrFlowOut);

export const IvrFlowVersionOut = z.object({
  version: z.number(),
  current: z.boolean(),
  definition: StoredDefinition,
  createdAt: z.string(),
});
export const IvrFlowVersionPage = pageOf(IvrFlowVersionOut);
export const IvrFlowVersionQuery = z.strictObject(pageQuery);
