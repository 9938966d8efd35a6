import type { Module } from '../module.js';
import { startPartitionUpkeep } from './partitions.js';
import { registerAnalyticsRoutes } from './routes.js';

export { trackChannelRow, trackEmailEvents, trackInternal } from './track.js';

/** Customer events: ingestion (Segment-compatible), queries, timelines; the worker keeps monthly partitions ahead. */
export const analyticsModule: Module = {
  name: 'analytics',
  routes: registerAnalyticsRoutes,
  jobs({ db }) {
    const stop = startPartitionUpkeep(db, (err) => console.error('analytics: creating event partitions failed', err));
    return { handlers: {}, close: stop };
  },
};
