import type { Module } from '../module.js';
import { SOCIAL_REFRESH_QUEUE } from './accounts.js';
import { SOCIAL_PUBLISH_QUEUE } from './posts.js';
import { publishHandler } from './publish.js';
import { refreshHandler } from './refresh-job.js';
import { registerSocialRoutes } from './routes.js';

/**
 * Social publishing: accounts connected through OAuth 2 (PKCE) on X, Facebook Pages, Instagram and
 * LinkedIn with their tokens sealed and refreshed ahead of expiry (a job), and posts published at their
 * scheduled time by a durable job that emits social_post.published / social_post.failed.
 */
export const socialModule: Module = {
  name: 'social',
  routes(app, deps) {
    registerSocialRoutes(app, deps);
  },
  jobs({ db, config }) {
    return { handlers: { [SOCIAL_PUBLISH_QUEUE]: publishHandler(db, config), [SOCIAL_REFRESH_QUEUE]: refreshHandler(db, config) } };
  },
};
