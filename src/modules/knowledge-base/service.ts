import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import { arr, query } from '../../db/sql.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { keysetPage } from '../../lib/pagination.js';
import { isUniqueViolation } from '../../db/errors.js';
import { slugify } from '../../lib/slug.js';
import { recordAudit } from '../audit/service.js';
import { plainText, renderMarkdown } from './render.js';
import type { ArticleIn, ArticleListQuery, ArticlePatch, CategoryIn, CategoryPatch, TranslationIn } from './schemas.js';

const { kbArticles, kbArticleTranslations: translations, kbCategories, organizations } = schema;
type ArticleRow = typeof kbArticles.$inferSelect;
type TranslationRow = typeof translations.$inferSelect;

/** Where the help center serves an article version. */
export const articlePath = (orgSlug: string, locale: string, slug: string) => `/help/${orgSlug}/${locale}/articles/${slug}`;

/** The public URL pieces: this server's address and the organization's slug (read in its own scope). */
export async function orgSlugOf(tx: Tx, organizationId: string) {
  const [o] = await tx.select({ slug: organizations.slug }).from(organizations).where(eq(organizations.id, organizationId));
  if (!o) throw notFound();
  return o.slug;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** An article's own fields with the versions given (whole ones for one article, titles for a list). */
function articleFields<T>(a: ArticleRow, translations: T[]) {
  return {
    id: a.id,
    categoryId: a.categoryId,
    status: a.status,
    publishedAt: iso(a.publishedAt),
    views: a.views,
    helpful: a.helpful,
    notHelpful: a.notHelpful,
    translations,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

function articleDto(a: ArticleRow, ts: TranslationRow[], base: string) {
  return articleFields(
    a,
    ts
      .sort((x, y) => x.locale.localeCompare(y.locale))
      .map((t) => ({ locale: t.locale, slug: t.slug, title: t.title, description: t.description, body: t.body, bodyHtml: t.bodyHtml, url: `${base}${t.locale}/articles/${t.slug}`, updatedAt: t.updatedAt.toISOString() })),
  );
}

/** `${publicUrl}/help/<org slug>/` — the prefix of every public URL of this organization. */
async function helpBase(tx: Tx, organizationId: string, publicUrl: string) {
  return `${publicUrl}/help/${await orgSlugOf(tx, organizationId)}/`;
}

async function assertCategory(tx: Tx, organizationId: string, categoryId: string | null | undefined) {
  if (!categoryId) return;
  const [c] = await tx.select({ id: kbCategories.id }).from(kbCategories).where(and(eq(kbCategories.organizationId, organizationId), eq(kbCategories.id, categoryId)));
  if (!c) throw new AppError('validation_failed', 'No such category', [{ path: ['categoryId'], message: 'No such category in this organization' }]);
}

/** A slug free in this organization and locale: the one asked for (taken → 409), else the title's, with -2, -3… */
async function freeSlug(tx: Tx, organizationId: string, locale: string, t: TranslationIn, articleId: string | null) {
  const mine = articleId ? sql`and article_id <> ${articleId}` : sql``;
  if (t.slug) {
    const [taken] = await query(tx, sql`select 1 from kb_article_translations where organization_id = ${organizationId} and locale = ${locale} and slug = ${t.slug} ${mine}`);
    if (taken) throw slugConflict(locale);
    return t.slug;
  }
  const base = slugify(t.title, 72, 'article');
  const rows = await query<{ slug: string }>(
    tx,
    sql`select slug from kb_article_translations where organization_id = ${organizationId} and locale = ${locale}
        and (slug = ${base} or slug like ${`${base}-%`}) ${mine}`,
  );
  const used = new Set(rows.map((r) => r.slug));
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) if (!used.has(`${base}-${n}`)) return `${base}-${n}`;
}

const slugConflict = (locale: string) =>
  new AppError('conflict', 'Another article of this locale has this slug', [{ path: ['translations', locale, 'slug'], message: 'This slug is taken in this locale' }]);

async function writeTranslation(tx: Tx, organizationId: string, articleId: string, locale: string, t: TranslationIn, published: boolean, isNew: boolean) {
  const slug = await freeSlug(tx, organizationId, locale, t, isNew ? null : articleId);
  const bodyHtml = renderMarkdown(t.body);
  const values = { title: t.title, description: t.description, body: t.body, bodyHtml, bodyText: plainText(bodyHtml), slug, published };
  try {
    await tx.transaction((sp) =>
      sp.insert(translations)
        .values({ organizationId, articleId, locale, ...values })
        .onConflictDoUpdate({ target: [translations.organizationId, translations.articleId, translations.locale], set: { ...values, updatedAt: sql`now()` } }),
    );
  } catch (err) {
    if (isUniqueViolation(err)) throw slugConflict(locale);
    throw err;
  }
}

async function loadArticle(tx: Tx, organizationId: string, id: string) {
  const [a] = await tx.select().from(kbArticles).where(and(eq(kbArticles.organizationId, organizationId), eq(kbArticles.id, id)));
  if (!a) throw notFound();
  const ts = await tx.select().from(translations).where(and(eq(translations.organizationId, organizationId), eq(translations.articleId, id)));
  return { a, ts };
}

export async function getArticle(tx: Tx, ctx: Pick<TenantContext, 'organizationId'>, id: string, publicUrl: string) {
  const { a, ts } = await loadArticle(tx, ctx.organizationId, id);
  return articleDto(a, ts, await helpBase(tx, ctx.organizationId, publicUrl));
}

export async function createArticle(tx: Tx, ctx: TenantContext, input: ArticleIn, publicUrl: string) {
  const org = ctx.organizationId;
  await assertCategory(tx, org, input.categoryId);
  const [a] = await tx.insert(kbArticles).values({ organizationId: org, categoryId: input.categoryId }).returning();
  for (const [locale, t] of Object.entries(input.translations)) await writeTranslation(tx, org, a.id, locale, t, false, true);
  await recordAudit(tx, ctx, { action: 'kb_article.created', resourceType: 'kb_article', resourceId: a.id, changes: { locales: Object.keys(input.translations), titles: Object.values(input.translations).map((t) => t.title) } });
  return getArticle(tx, ctx, a.id, publicUrl);
}

export async function updateArticle(tx: Tx, ctx: TenantContext, id: string, patch: ArticlePatch, publicUrl: string) {
  const org = ctx.organizationId;
  const { a, ts } = await loadArticle(tx, org, id);
  await assertCategory(tx, org, patch.categoryId);
  if (patch.translations) {
    const remaining = new Set(ts.map((t) => t.locale));
    for (const [locale, t] of Object.entries(patch.translations)) {
      if (t === null) remaining.delete(locale);
      else remaining.add(locale);
    }
    if (!remaining.size) throw new AppError('validation_failed', 'An article keeps at least one locale', [{ path: ['translations'], message: 'An article keeps at least one locale' }]);
    const removed = Object.entries(patch.translations).filter(([, t]) => t === null).map(([l]) => l);
    if (removed.length) await tx.delete(translations).where(and(eq(translations.organizationId, org), eq(translations.articleId, id), inArray(translations.locale, removed)));
    for (const [locale, t] of Object.entries(patch.translations)) {
      if (t) await writeTranslation(tx, org, id, locale, t, a.status === 'published', false);
    }
  }
  await tx.update(kbArticles)
    .set({ ...(patch.categoryId !== undefined && { categoryId: patch.categoryId }), updatedAt: sql`now()` })
    .where(and(eq(kbArticles.organizationId, org), eq(kbArticles.id, id)));
  const changes: Record<string, unknown> = {};
  if (patch.categoryId !== undefined) changes.categoryId = patch.categoryId;
  if (patch.translations) changes.locales = Object.fromEntries(Object.entries(patch.translations).map(([l, t]) => [l, t === null ? 'removed' : 'written']));
  await recordAudit(tx, ctx, { action: 'kb_article.updated', resourceType: 'kb_article', resourceId: id, changes });
  return getArticle(tx, ctx, id, publicUrl);
}

/** Publishes or takes back an article: its status and every version's `published` flag, together. */
export async function setArticleStatus(tx: Tx, ctx: TenantContext, id: string, status: 'draft' | 'published', publicUrl: string) {
  const org = ctx.organizationId;
  const [a] = await tx.update(kbArticles)
    .set({ status, ...(status === 'published' && { publishedAt: sql`coalesce(${kbArticles.publishedAt}, now())` }), updatedAt: sql`now()` })
    .where(and(eq(kbArticles.organizationId, org), eq(kbArticles.id, id)))
    .returning({ id: kbArticles.id });
  if (!a) throw notFound();
  await tx.update(translations).set({ published: status === 'published' }).where(and(eq(translations.organizationId, org), eq(translations.articleId, id)));
  await recordAudit(tx, ctx, { action: status === 'published' ? 'kb_article.published' : 'kb_article.unpublished', resourceType: 'kb_article', resourceId: id });
  return getArticle(tx, ctx, id, publicUrl);
}

export async function deleteArticle(tx: Tx, ctx: TenantContext, id: string) {
  const org = ctx.organizationId;
  const titles = await tx.select({ title: translations.title }).from(translations).where(and(eq(translations.organizationId, org), eq(translations.articleId, id)));
  const gone = await tx.delete(kbArticles).where(and(eq(kbArticles.organizationId, org), eq(kbArticles.id, id))).returning({ id: kbArticles.id });
  if (!gone.length) throw notFound();
  await recordAudit(tx, ctx, { action: 'kb_article.deleted', resourceType: 'kb_article', resourceId: id, changes: { titles: titles.map((t) => t.title) } });
}

/** Articles newest first, with their versions' titles (no bodies), filtered by status, category, locale, title words. */
export async function listArticles(tx: Tx, ctx: Pick<TenantContext, 'organizationId'>, q: ArticleListQuery, publicUrl: string) {
  const org = ctx.organizationId;
  const filters: (SQL | undefined)[] = [eq(kbArticles.organizationId, org)];
  if (q.status) filters.push(eq(kbArticles.status, q.status));
  if (q.categoryId) filters.push(eq(kbArticles.categoryId, q.categoryId));
  if (q.locale || q.q) {
    const pattern = q.q ? `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
    filters.push(sql`exists (select 1 from kb_article_translations t where t.organization_id = ${org} and t.article_id = ${kbArticles.id}
      ${q.locale ? sql`and t.locale = ${q.locale}` : sql``} ${pattern ? sql`and t.title ilike ${pattern}` : sql``})`);
  }
  const { rows, nextCursor } = await keysetPage(tx, kbArticles, q, filters);
  const ids = rows.map((r) => r.id);
  const ts = ids.length
    ? await tx.select({ articleId: translations.articleId, locale: translations.locale, slug: translations.slug, title: translations.title, description: translations.description })
        .from(translations).where(and(eq(translations.organizationId, org), inArray(translations.articleId, ids))).orderBy(asc(translations.locale))
    : [];
  const base = await helpBase(tx, org, publicUrl);
  return {
    data: rows.map((a) =>
      articleFields(
        a,
        ts.filter((t) => t.articleId === a.id).map(({ articleId: _, ...t }) => ({ ...t, url: `${base}${t.locale}/articles/${t.slug}` })),
      ),
    ),
    nextCursor,
  };
}

// Categories

type CategoryRow = typeof kbCategories.$inferSelect;
const categoryDto = (c: CategoryRow, articles: number) => ({
  id: c.id, name: c.name, slug: c.slug, description: c.description, position: c.position, articles, createdAt: c.createdAt.toISOString(), updatedAt: c.updatedAt.toISOString(),
});

async function articleCounts(tx: Tx, org: string, ids: string[]) {
  if (!ids.length) return new Map<string, number>();
  const rows = await query<{ id: string; n: number }>(
    tx,
    sql`select category_id as id, count(*)::int as n from kb_articles where organization_id = ${org} and category_id = any(${arr(ids)}::uuid[]) group by category_id`,
  );
  return new Map(rows.map((r) => [r.id, r.n]));
}

export async function listCategories(tx: Tx, ctx: Pick<TenantContext, 'organizationId'>, q: { limit: number; cursor?: string }) {
  const { rows, nextCursor } = await keysetPage(tx, kbCategories, q, [eq(kbCategories.organizationId, ctx.organizationId)], 'oldest');
  const counts = await articleCounts(tx, ctx.organizationId, rows.map((r) => r.id));
  return { data: rows.map((c) => categoryDto(c, counts.get(c.id) ?? 0)), nextCursor };
}

export async function getCategory(tx: Tx, ctx: Pick<TenantContext, 'organizationId'>, id: string) {
  const [c] = await tx.select().from(kbCategories).where(and(eq(kbCategories.organizationId, ctx.organizationId), eq(kbCategories.id, id)));
  if (!c) throw notFound();
  return categoryDto(c, (await articleCounts(tx, ctx.organizationId, [id])).get(id) ?? 0);
}

const categoryConflict = () => new AppError('conflict', 'Another category has this slug', [{ path: ['slug'], message: 'This slug is taken' }]);

async function freeCategorySlug(tx: Tx, org: string, name: string) {
  const base = slugify(name, 72, 'category');
  const rows = await query<{ slug: string }>(tx, sql`select slug from kb_categories where organization_id = ${org} and (slug = ${base} or slug like ${`${base}-%`})`);
  const used = new Set(rows.map((r) => r.slug));
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) if (!used.has(`${base}-${n}`)) return `${base}-${n}`;
}

export async function createCategory(tx: Tx, ctx: TenantContext, input: CategoryIn) {
  const org = ctx.organizationId;
  const slug = input.slug ?? (await freeCategorySlug(tx, org, input.name));
  let row: CategoryRow;
  try {
    [row] = await tx.transaction((sp) => sp.insert(kbCategories).values({ organizationId: org, name: input.name, slug, description: input.description, position: input.position }).returning());
  } catch (err) {
    if (isUniqueViolation(err)) throw categoryConflict();
    throw err;
  }
  await recordAudit(tx, ctx, { action: 'kb_category.created', resourceType: 'kb_category', resourceId: row.id, changes: { name: row.name, slug } });
  return categoryDto(row, 0);
}

export async function updateCategory(tx: Tx, ctx: TenantContext, id: string, patch: CategoryPatch) {
  const org = ctx.organizationId;
  let row: CategoryRow | undefined;
  try {
    [row] = await tx.transaction((sp) =>
      sp.update(kbCategories).set({ ...patch, updatedAt: sql`now()` }).where(and(eq(kbCategories.organizationId, org), eq(kbCategories.id, id))).returning(),
    );
  } catch (err) {
    if (isUniqueViolation(err)) throw categoryConflict();
    throw err;
  }
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'kb_category.updated', resourceType: 'kb_category', resourceId: id, changes: patch });
  return getCategory(tx, ctx, id);
}

/** Deletes a category; its articles stay, uncategorized. */
export async function deleteCategory(tx: Tx, ctx: TenantContext, id: string) {
  const gone = await tx.delete(kbCategories).where(and(eq(kbCategories.organizationId, ctx.organizationId), eq(kbCategories.id, id))).returning({ name: kbCategories.name });
  if (!gone.length) throw notFound();
  await recordAudit(tx, ctx, { action: 'kb_category.deleted', resourceType: 'kb_category', resourceId: id, changes: { name: gone[0].name } });
}
