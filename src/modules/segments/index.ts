import type { Module } from '../module.js';
import { registerSegmentRoutes } from './routes.js';

export { compileCondition } from './compile.js';
export { audienceSegmentFilter, requireAudienceSegment, segmentFilter } from './audience.js';

/** Saved customer segments: condition trees over fields, tags, attributes, consent and events, counted in SQL. */
export const segmentsModule: Module = { name: 'segments', routes: registerSegmentRoutes };
