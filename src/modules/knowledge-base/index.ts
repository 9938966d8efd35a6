import type { Module } from '../module.js';
import { registerHelpCenterRoutes } from './public.js';
import { registerKnowledgeBaseRoutes } from './routes.js';

export { helpCenterPath, suggestArticles, suggestArticlesIn } from './search.js';

/**
 * Knowledge base and public help center (issue 11): articles in Markdown with categories, draft/published
 * and per-locale versions (the API under /api/knowledge-base), served as sanitized, server-rendered pages
 * at /help/<organization slug> with PostgreSQL full-text search, a sitemap and view/helpful counters.
 */
export const knowledgeBaseModule: Module = {
  name: 'knowledge-base',
  routes(app, deps) {
    registerKnowledgeBaseRoutes(app, deps);
    registerHelpCenterRoutes(app, deps);
  },
};
