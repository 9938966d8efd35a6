import { z } from 'zod';
import { IdParams, orgErrors, ErrorOut, type App, type ModuleDeps } from '../../http/types.js';
import { pageQuery } from '../../lib/pagination.js';
import { renderMarkdown } from './render.js';
import {
  ArticleIn, ArticleListQuery, ArticleOut, ArticlePage, ArticlePatch, CategoryIn, CategoryOut, CategoryPage, CategoryPatch, PreviewIn, PreviewOut,
} from './schemas.js';
import {
  createArticle, createCategory, deleteArticle, deleteCategory, getArticle, getCategory, listArticles, listCategories, setArticleStatus, updateArticle, updateCategory,
} from './service.js';

const tags = ['knowledge-base'];
const A = '/api/knowledge-base/articles';
const C = '/api/knowledge-base/categories';

export function registerKnowledgeBaseRoutes(app: App, { config }: ModuleDeps) {
  const url = config.publicUrl;

  app.get(A, {
    config: { access: 'org' },
    schema: { tags, operationId: 'listKbArticles', summary: 'Knowledge base articles, newest first (filters: status, categoryId, locale, q in titles; cursor pagination)', querystring: ArticleListQuery, response: { 200: ArticlePage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listArticles(tx, ctx, req.query, url)),
  });
  app.post(A, {
    config: { access: 'org' },
    schema: { tags, operationId: 'createKbArticle', summary: 'Write an article (a draft) in one or more locales; the Markdown is rendered and sanitized', body: ArticleIn, response: { 201: ArticleOut, 409: ErrorOut, ...orgErrors } },
    handler: async (req, reply) => reply.code(201).send(await req.tenant((tx, ctx) => createArticle(tx, ctx, req.body, url))),
  });
  app.post('/api/knowledge-base/preview', {
    config: { access: 'org' },
    schema: { tags, operationId: 'previewKbMarkdown', summary: 'Render Markdown as the help center would serve it (sanitized HTML); nothing is stored', body: PreviewIn, response: { 200: PreviewOut, ...orgErrors } },
    handler: async (req) => ({ html: renderMarkdown(req.body.body) }),
  });
  app.get(`${A}/:id`, {
    config: { access: 'org' },
    schema: { tags, operationId: 'getKbArticle', summary: 'An article with every locale (Markdown and rendered HTML), status and counts', params: IdParams, response: { 200: ArticleOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getArticle(tx, ctx, req.params.id, url)),
  });
  app.patch(`${A}/:id`, {
    config: { access: 'org' },
    schema: { tags, operationId: 'updateKbArticle', summary: 'Change the category, or add, replace (whole) or remove (null) locales', params: IdParams, body: ArticlePatch, response: { 200: ArticleOut, 409: ErrorOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => updateArticle(tx, ctx, req.params.id, req.body, url)),
  });
  app.delete(`${A}/:id`, {
    config: { access: 'org' },
    schema: { tags, operationId: 'deleteKbArticle', summary: 'Delete an article and all its locales', params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => deleteArticle(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });
  app.post(`${A}/:id/publish`, {
    config: { access: 'org' },
    schema: { tags, operationId: 'publishKbArticle', summary: 'Publish an article: every locale appears on the public help center and in search', params: IdParams, response: { 200: ArticleOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => setArticleStatus(tx, ctx, req.params.id, 'published', url)),
  });
  app.post(`${A}/:id/unpublish`, {
    config: { access: 'org' },
    schema: { tags, operationId: 'unpublishKbArticle', summary: 'Take an article back to draft: it leaves the help center and search at once', params: IdParams, response: { 200: ArticleOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => setArticleStatus(tx, ctx, req.params.id, 'draft', url)),
  });

  app.get(C, {
    config: { access: 'org' },
    schema: { tags, operationId: 'listKbCategories', summary: 'Knowledge base categories, oldest first, with their article counts', querystring: z.strictObject(pageQuery), response: { 200: CategoryPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listCategories(tx, ctx, req.query)),
  });
  app.post(C, {
    config: { access: 'org' },
    schema: { tags, operationId: 'createKbCategory', summary: 'Create a category (its slug made from the name unless given)', body: CategoryIn, response: { 201: CategoryOut, 409: ErrorOut, ...orgErrors } },
    handler: async (req, reply) => reply.code(201).send(await req.tenant((tx, ctx) => createCategory(tx, ctx, req.body))),
  });
  app.get(`${C}/:id`, {
    config: { access: 'org' },
    schema: { tags, operationId: 'getKbCategory', summary: 'A category', params: IdParams, response: { 200: CategoryOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getCategory(tx, ctx, req.params.id)),
  });
  app.patch(`${C}/:id`, {
    config: { access: 'org' },
    schema: { tags, operationId: 'updateKbCategory', summary: 'Rename, reorder or re-slug a category', params: IdParams, body: CategoryPatch, response: { 200: CategoryOut, 409: ErrorOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => updateCategory(tx, ctx, req.params.id, req.body)),
  });
  app.delete(`${C}/:id`, {
    config: { access: 'org' },
    schema: { tags, operationId: 'deleteKbCategory', summary: 'Delete a category; its articles stay, uncategorized', params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => deleteCategory(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });
}
