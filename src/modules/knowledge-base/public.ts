import { sql } from 'drizzle-orm';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../config.js';
import type { Database, Tx } from '../../db/index.js';
import { query, queryOne } from '../../db/sql.js';
import { AppError } from '../../http/errors.js';
import { htmlPageHeaders } from '../../http/security-headers.js';
import { limiter } from '../../http/throttle.js';
import { ErrorOut, type App } from '../../http/types.js';
import { htmlResponse } from '../../lib/html-page.js';
import { escapeHtml as esc } from '../../lib/html.js';
import { slugSchema } from '../../lib/slug.js';
import { Locale, SearchOut, SearchQuery } from './schemas.js';
import { mainLocale, searchArticles } from './search.js';
import { helpCenterText } from './text.js';

// The public help center: server-rendered HTML per organization at /help/<organization slug>, no script.
// The slug is resolved to an organization by one reviewed platform lookup (withSystem 'resolve-help-center',
// id and name only); everything else is read inside that organization (withTenant), published versions only.

const CSS = [
  ':root{color-scheme:light;--fg:#1f2328;--muted:#57606a;--line:#d0d7de;--accent:#0550ae;--bg:#f6f8fa}',
  '*{box-sizing:border-box}body{margin:0;font:16px/1.6 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:#fff}',
  'header{background:var(--bg);border-bottom:1px solid var(--line)}header .in,main,footer{max-width:48rem;margin:0 auto;padding:1rem}',
  'header .in{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;justify-content:space-between}',
  '.brand{font-weight:600;font-size:1.15rem;color:var(--fg);text-decoration:none}',
  'form.search{display:flex;gap:.5rem}form.search input{font:inherit;padding:.4rem .6rem;border:1px solid var(--muted);border-radius:6px;min-width:14rem}',
  'button{font:inherit;padding:.4rem .9rem;border:1px solid var(--muted);border-radius:6px;background:#fff;color:var(--fg);cursor:pointer}',
  'a{color:var(--accent)}h1{font-size:1.8rem;line-height:1.25;margin:.5rem 0}.lead{color:var(--muted);font-size:1.1rem}',
  'ul.list{list-style:none;padding:0}ul.list li{padding:.6rem 0;border-bottom:1px solid var(--line)}ul.list p{margin:.2rem 0 0;color:var(--muted)}',
  'mark{background:#fff3b0;color:inherit}.crumbs{font-size:.9rem;color:var(--muted)}.crumbs a{color:var(--muted)}',
  'article img{max-width:100%;height:auto}article pre{background:var(--bg);padding:.75rem;overflow:auto;border-radius:6px}',
  'article table{border-collapse:collapse}article td,article th{border:1px solid var(--line);padding:.3rem .6rem}',
  '#feedback{margin-top:2rem;padding-top:1rem;border-top:1px solid var(--line)}#feedback form{display:flex;gap:.5rem}',
  '.langs{font-size:.9rem}.langs a{margin-right:.6rem}footer{color:var(--muted);font-size:.85rem}',
  '.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}',
].join('');

/** Route options: the page's one stylesheet by hash, images over https (article bodies), forms back to this origin, no script. */
const helpHeaders = (() => {
  const h = htmlPageHeaders(CSS);
  h.contentSecurityPolicy.directives['img-src'] = ["'self'", 'https:', 'data:'];
  return h;
})();

const tags = ['help-center'];
const OrgParams = z.strictObject({ org: slugSchema(63) });
const LocaleParams = OrgParams.extend({ locale: Locale });
const ArticleParams = LocaleParams.extend({ article: slugSchema(80) });
const CategoryParams = LocaleParams.extend({ category: slugSchema(80) });
const Html = (d: string) => htmlResponse(d);

interface Org {
  id: string;
  name: string;
  slug: string;
}

/** Slug → organization, remembered for a few seconds (a renamed slug stops answering within that time; misses are never kept). */
function orgResolver(db: Database) {
  const cache = new Map<string, { org: Org; until: number }>();
  return async (slug: string): Promise<Org | null> => {
    const hit = cache.get(slug);
    if (hit && hit.until > Date.now()) return hit.org;
    const org = await db.withSystem('resolve-help-center', async (tx) =>
      (await query<Org>(tx, sql`select id, name, slug from organizations where slug = ${slug}`))[0] ?? null,
    );
    if (cache.size > 10_000) cache.clear();
    if (org) cache.set(slug, { org, until: Date.now() + 10_000 });
    else cache.delete(slug);
    return org;
  };
}

interface Layout {
  org: Org;
  locale: string;
  title: string;
  description?: string;
  canonical?: string;
  alternates?: { hreflang: string; href: string }[];
  q?: string;
  noindex?: boolean;
  body: string;
}

function layout(config: Config, p: Layout) {
  const home = `/help/${p.org.slug}/${p.locale}`;
  const t = helpCenterText(p.locale);
  return (
    `<!doctype html><html lang="${esc(p.locale)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${esc(p.title)}</title>` +
    (p.description ? `<meta name="description" content="${esc(p.description)}">` : '') +
    (p.noindex ? '<meta name="robots" content="noindex">' : '') +
    (p.canonical ? `<link rel="canonical" href="${esc(config.publicUrl + p.canonical)}">` : '') +
    (p.alternates ?? []).map((a) => `<link rel="alternate" hreflang="${esc(a.hreflang)}" href="${esc(config.publicUrl + a.href)}">`).join('') +
    `<style>${CSS}</style></head><body>` +
    `<header><div class="in"><a class="brand" href="${esc(home)}">${esc(t.center(p.org.name))}</a>` +
    `<form class="search" role="search" method="get" action="${esc(`${home}/search`)}"><label class="sr" for="q">${esc(t.searchLabel)}</label>` +
    `<input id="q" name="q" type="search" maxlength="200" required value="${esc(p.q ?? '')}" placeholder="${esc(t.searchPlaceholder)}"><button type="submit">${esc(t.search)}</button></form></div></header>` +
    `<main>${p.body}</main><footer>${esc(p.org.name)}</footer></body></html>`
  );
}

const excerpt = (text: string, n = 160) => (text.length <= n ? text : `${text.slice(0, n - 1).replace(/\s+\S*$/, '')}…`);

interface ListedArticle {
  slug: string;
  title: string;
  description: string;
}
const articleList = (org: Org, locale: string, items: ListedArticle[]) =>
  `<ul class="list">${items
    .map((a) => `<li><a href="${esc(`/help/${org.slug}/${locale}/articles/${a.slug}`)}">${esc(a.title)}</a>${a.description ? `<p>${esc(a.description)}</p>` : ''}</li>`)
    .join('')}</ul>`;

/** The locales with published articles, most articles first. */
const localesOf = (tx: Tx, org: string) =>
  query<{ locale: string; n: number }>(tx, sql`select locale, count(*)::int as n from kb_article_translations where organization_id = ${org} and published group by locale order by 2 desc, 1`);

export function registerHelpCenterRoutes(app: App, { db, config }: { db: Database; config: Config }) {
  const resolve = orgResolver(db);
  const voteLimit = limiter(app, { max: 20, windowMs: 10 * 60_000, message: 'Too many votes from this address: try again later', key: (req) => `kb-vote:${req.ip}` });
  const viewPages = { 'cache-control': 'no-cache' };

  const notFoundPage = (reply: FastifyReply, org: Org | null, locale = 'en', t = helpCenterText(locale)) =>
    reply
      .code(404)
      .type('text/html; charset=utf-8')
      .headers(viewPages)
      .send(
        org
          ? layout(config, { org, locale, title: `${t.notFound} · ${org.name}`, noindex: true, body: `<h1>${esc(t.notFound)}</h1><p>${esc(t.notFoundText)} <a href="/help/${esc(org.slug)}/${esc(locale)}">${esc(t.back)}</a></p>` })
          : '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found</title><meta name="robots" content="noindex"></head><body><main><h1>Not found</h1></main></body></html>',
      );

  app.get('/help/:org', {
    config: { access: 'public' },
    helmet: helpHeaders,
    schema: { tags, operationId: 'helpCenterRoot', summary: "An organization's help center: 302 to its main locale (the one with the most published articles)", params: OrgParams, response: { 302: z.null().describe('Redirect to /help/<org>/<locale>'), 404: Html('No such help center') } },
    handler: async (req, reply) => {
      const org = await resolve(req.params.org);
      if (!org) return notFoundPage(reply, null);
      const locale = await db.withTenant(org.id, (tx) => mainLocale(tx, org.id));
      return reply.header('cache-control', 'no-cache').redirect(`/help/${org.slug}/${locale}`, 302);
    },
  });

  app.get('/help/:org/sitemap.xml', {
    config: { access: 'public' },
    schema: { tags, operationId: 'helpCenterSitemap', summary: "The help center's sitemap: every published article version, with its other locales as hreflang alternates", params: OrgParams, response: { 200: { description: 'Sitemap XML', content: { 'application/xml': { schema: z.string() } } }, 404: ErrorOut } },
    handler: async (req, reply) => {
      const org = await resolve(req.params.org);
      if (!org) throw new AppError('not_found');
      const rows = await db.withTenant(org.id, (tx) =>
        query<{ article_id: string; locale: string; slug: string; lastmod: string }>(
          tx,
          sql`select article_id, locale, slug, to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as lastmod
                from kb_article_translations where organization_id = ${org.id} and published order by article_id, locale limit 45000`,
        ),
      );
      const base = `${config.publicUrl}/help/${org.slug}`;
      const byArticle = new Map<string, typeof rows>();
      for (const r of rows) byArticle.set(r.article_id, [...(byArticle.get(r.article_id) ?? []), r]);
      const locales = [...new Set(rows.map((r) => r.locale))].sort();
      const urls = [
        ...locales.map((l) => `<url><loc>${esc(`${base}/${l}`)}</loc></url>`),
        ...rows.map((r) => {
          const siblings = byArticle.get(r.article_id)!;
          const alternates = siblings.length > 1 ? siblings.map((s) => `<xhtml:link rel="alternate" hreflang="${esc(s.locale)}" href="${esc(`${base}/${s.locale}/articles/${s.slug}`)}"/>`).join('') : '';
          return `<url><loc>${esc(`${base}/${r.locale}/articles/${r.slug}`)}</loc><lastmod>${r.lastmod}</lastmod>${alternates}</url>`;
        }),
      ];
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">\n${urls.join('\n')}\n</urlset>\n`;
      return reply.type('application/xml; charset=utf-8').header('cache-control', 'public, max-age=300').send(xml);
    },
  });

  app.get('/help/:org/:locale', {
    config: { access: 'public' },
    helmet: helpHeaders,
    schema: { tags, operationId: 'helpCenterHome', summary: 'Help center home in a locale: search, categories and the most read articles', params: LocaleParams, response: { 200: Html('The home page'), 404: Html('No such help center') } },
    handler: async (req, reply) => {
      const { locale } = req.params;
      const org = await resolve(req.params.org);
      if (!org) return notFoundPage(reply, null);
      const page = await db.withTenant(org.id, async (tx) => {
        const locales = await localesOf(tx, org.id);
        const categories = await query<{ slug: string; name: string; description: string; n: number }>(
          tx,
          sql`select c.slug, c.name, c.description,
                (select count(*)::int from kb_articles a join kb_article_translations t on t.organization_id = a.organization_id and t.article_id = a.id
                  where a.organization_id = ${org.id} and a.category_id = c.id and t.locale = ${locale} and t.published) as n
              from kb_categories c where c.organization_id = ${org.id} order by c.position, c.name`,
        );
        const popular = await query<ListedArticle>(
          tx,
          sql`select t.slug, t.title, t.description from kb_article_translations t join kb_articles a on a.organization_id = t.organization_id and a.id = t.article_id
               where t.organization_id = ${org.id} and t.locale = ${locale} and t.published order by a.views desc, t.title limit 10`,
        );
        return { locales, categories: categories.filter((c) => c.n > 0), popular };
      });
      const t = helpCenterText(locale);
      const known = page.locales.some((l) => l.locale === locale);
      if (!known && page.locales.length) return notFoundPage(reply, org, page.locales[0].locale);
      const langs = page.locales.length > 1
        ? `<p class="langs">${esc(t.languages)} ${page.locales.map((l) => (l.locale === locale ? `<strong>${esc(l.locale)}</strong>` : `<a href="/help/${esc(org.slug)}/${esc(l.locale)}" hreflang="${esc(l.locale)}">${esc(l.locale)}</a>`)).join(' ')}</p>`
        : '';
      const body =
        `<h1>${esc(t.howCanWeHelp)}</h1>${langs}` +
        (page.categories.length
          ? `<section aria-labelledby="cats"><h2 id="cats">${esc(t.categories)}</h2><ul class="list">${page.categories
              .map((c) => `<li><a href="/help/${esc(org.slug)}/${esc(locale)}/categories/${esc(c.slug)}">${esc(c.name)}</a> (${c.n})${c.description ? `<p>${esc(c.description)}</p>` : ''}</li>`)
              .join('')}</ul></section>`
          : '') +
        (page.popular.length ? `<section aria-labelledby="pop"><h2 id="pop">${esc(t.popular)}</h2>${articleList(org, locale, page.popular)}</section>` : `<p>${esc(t.noArticles)}</p>`);
      return reply.type('text/html; charset=utf-8').headers(viewPages).send(
        layout(config, {
          org,
          locale,
          title: t.center(org.name),
          description: t.description(org.name),
          canonical: `/help/${org.slug}/${locale}`,
          alternates: page.locales.length > 1 ? page.locales.map((l) => ({ hreflang: l.locale, href: `/help/${org.slug}/${l.locale}` })) : [],
          body,
        }),
      );
    },
  });

  app.get('/help/:org/:locale/search', {
    config: { access: 'public' },
    helmet: helpHeaders,
    schema: {
      tags,
      operationId: 'helpCenterSearch',
      summary: 'Help center search results (full-text, ranked, matched words highlighted; published articles of this organization and locale only)',
      params: LocaleParams,
      querystring: z.strictObject({ q: z.string().max(200).default('') }),
      response: { 200: Html('The results page'), 404: Html('No such help center') },
    },
    handler: async (req, reply) => {
      const { locale } = req.params;
      const q = req.query.q.trim();
      const org = await resolve(req.params.org);
      if (!org) return notFoundPage(reply, null);
      const hits = q ? await db.withTenant(org.id, (tx) => searchArticles(tx, org.id, locale, q, 20)) : [];
      const t = helpCenterText(locale);
      const body =
        `<p class="crumbs"><a href="/help/${esc(org.slug)}/${esc(locale)}">${esc(t.home)}</a></p><h1>${q ? t.resultsFor(esc(q)) : esc(t.search)}</h1>` +
        (hits.length
          ? `<ul class="list">${hits
              .map((h) => `<li><a href="/help/${esc(org.slug)}/${esc(locale)}/articles/${esc(h.slug)}">${h.titleHtml}</a><p>${h.snippet || esc(h.description)}</p></li>`)
              .join('')}</ul>`
          : q
            ? `<p>${esc(t.noMatch)}</p>`
            : '');
      return reply.type('text/html; charset=utf-8').headers(viewPages).send(layout(config, { org, locale, q, title: `${q ? `${q} · ` : ''}${t.search} · ${t.center(org.name)}`, noindex: true, body }));
    },
  });

  app.get('/help/:org/:locale/categories/:category', {
    config: { access: 'public' },
    helmet: helpHeaders,
    schema: {
      tags,
      operationId: 'helpCenterCategory',
      summary: "A category's published articles in a locale, by title (50 a page)",
      params: CategoryParams,
      querystring: z.strictObject({ page: z.coerce.number().int().min(1).max(1000).default(1) }),
      response: { 200: Html('The category page'), 404: Html('No such category') },
    },
    handler: async (req, reply) => {
      const { locale, category } = req.params;
      const org = await resolve(req.params.org);
      if (!org) return notFoundPage(reply, null);
      const pageNo = req.query.page;
      const found = await db.withTenant(org.id, async (tx) => {
        const c = await queryOne<{ id: string; name: string; description: string }>(tx, sql`select id, name, description from kb_categories where organization_id = ${org.id} and slug = ${category}`);
        if (!c) return null;
        const items = await query<ListedArticle>(
          tx,
          sql`select t.slug, t.title, t.description from kb_article_translations t join kb_articles a on a.organization_id = t.organization_id and a.id = t.article_id
               where t.organization_id = ${org.id} and a.category_id = ${c.id} and t.locale = ${locale} and t.published
               order by t.title, t.article_id limit 51 offset ${(pageNo - 1) * 50}`,
        );
        return { c, items };
      });
      if (!found || (!found.items.length && pageNo === 1)) return notFoundPage(reply, org, locale);
      const more = found.items.length > 50;
      const path = `/help/${org.slug}/${locale}/categories/${category}`;
      const t = helpCenterText(locale);
      const body =
        `<p class="crumbs"><a href="/help/${esc(org.slug)}/${esc(locale)}">${esc(t.home)}</a></p><h1>${esc(found.c.name)}</h1>` +
        (found.c.description ? `<p class="lead">${esc(found.c.description)}</p>` : '') +
        articleList(org, locale, found.items.slice(0, 50)) +
        `<nav aria-label="${esc(t.pages)}">${pageNo > 1 ? `<a href="${esc(path)}?page=${pageNo - 1}">${esc(t.previous)}</a> ` : ''}${more ? `<a href="${esc(path)}?page=${pageNo + 1}">${esc(t.next)}</a>` : ''}</nav>`;
      return reply.type('text/html; charset=utf-8').headers(viewPages).send(
        layout(config, { org, locale, title: `${found.c.name} · ${t.center(org.name)}`, description: found.c.description || undefined, canonical: pageNo > 1 ? `${path}?page=${pageNo}` : path, body }),
      );
    },
  });

  app.get('/help/:org/:locale/articles/:article', {
    config: { access: 'public' },
    helmet: helpHeaders,
    schema: {
      tags,
      operationId: 'helpCenterArticle',
      summary: 'A published article version (counts a view); hreflang alternates name its other locales',
      params: ArticleParams,
      querystring: z.strictObject({ feedback: z.enum(['thanks']).optional() }),
      response: { 200: Html('The article page'), 404: Html('No such published article') },
    },
    handler: async (req, reply) => {
      const { locale, article } = req.params;
      const org = await resolve(req.params.org);
      if (!org) return notFoundPage(reply, null);
      const countView = req.method === 'GET' && !req.query.feedback;
      const found = await db.withTenant(org.id, async (tx) => {
        const a = await queryOne<{ article_id: string; title: string; description: string; body_html: string; body_text: string; category: string | null; category_slug: string | null }>(
          tx,
          sql`select t.article_id, t.title, t.description, t.body_html, left(t.body_text, 400) as body_text, c.name as category, c.slug as category_slug
                from kb_article_translations t
                join kb_articles a on a.organization_id = t.organization_id and a.id = t.article_id
                left join kb_categories c on c.organization_id = a.organization_id and c.id = a.category_id
               where t.organization_id = ${org.id} and t.locale = ${locale} and t.slug = ${article} and t.published and a.status = 'published'`,
        );
        if (!a) return null;
        const siblings = await query<{ locale: string; slug: string }>(
          tx,
          sql`select locale, slug from kb_article_translations where organization_id = ${org.id} and article_id = ${a.article_id} and published order by locale`,
        );
        if (countView) await tx.execute(sql`update kb_articles set views = views + 1 where organization_id = ${org.id} and id = ${a.article_id}`);
        return { a, siblings };
      });
      if (!found) return notFoundPage(reply, org, locale);
      const { a, siblings } = found;
      const path = `/help/${org.slug}/${locale}/articles/${article}`;
      const others = siblings.filter((s) => s.locale !== locale);
      const t = helpCenterText(locale);
      const body =
        `<p class="crumbs"><a href="/help/${esc(org.slug)}/${esc(locale)}">${esc(t.home)}</a>` +
        (a.category_slug ? ` › <a href="/help/${esc(org.slug)}/${esc(locale)}/categories/${esc(a.category_slug)}">${esc(a.category ?? '')}</a>` : '') +
        `</p><article><h1>${esc(a.title)}</h1>${a.description ? `<p class="lead">${esc(a.description)}</p>` : ''}${a.body_html}</article>` +
        (others.length ? `<p class="langs">${esc(t.alsoIn)} ${others.map((s) => `<a href="/help/${esc(org.slug)}/${esc(s.locale)}/articles/${esc(s.slug)}" hreflang="${esc(s.locale)}">${esc(s.locale)}</a>`).join(' ')}</p>` : '') +
        `<section id="feedback" aria-labelledby="fb"><h2 id="fb">${esc(t.helpful)}</h2>` +
        (req.query.feedback
          ? `<p role="status">${esc(t.thanks)}</p>`
          : `<form method="post" action="${esc(path)}/feedback"><button type="submit" name="helpful" value="yes">${esc(t.yes)}</button><button type="submit" name="helpful" value="no">${esc(t.no)}</button></form>`) +
        '</section>';
      return reply.type('text/html; charset=utf-8').headers(viewPages).send(
        layout(config, {
          org,
          locale,
          title: `${a.title} · ${t.center(org.name)}`,
          description: a.description || excerpt(a.body_text.replace(/\s+/g, ' ')),
          canonical: path,
          alternates: siblings.length > 1 ? [...siblings.map((s) => ({ hreflang: s.locale, href: `/help/${org.slug}/${s.locale}/articles/${s.slug}` }))] : [],
          body,
        }),
      );
    },
  });

  // "Was this helpful?": the article page's form posts here (same origin, no cookie); per-address rate limit.
  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.post('/help/:org/:locale/articles/:article/feedback', {
      config: { access: 'public' },
      helmet: helpHeaders,
      preHandler: voteLimit,
      schema: {
        tags,
        operationId: 'helpCenterArticleFeedback',
        summary: '"Was this article helpful?" — counts a yes or no vote (form post; 20 votes per address per 10 minutes), then 303 back to the article',
        params: ArticleParams,
        body: z.strictObject({ helpful: z.enum(['yes', 'no']) }).meta({ example: { helpful: 'yes' } }),
        response: { 303: z.null().describe('Back to the article, thanking the reader'), 400: ErrorOut, 404: ErrorOut, 429: ErrorOut },
      },
      handler: async (req, reply) => {
        const { locale, article } = req.params as z.infer<typeof ArticleParams>;
        const { helpful } = req.body as { helpful: 'yes' | 'no' };
        const org = await resolve((req.params as { org: string }).org);
        if (!org) throw new AppError('not_found');
        const counted = await db.withTenant(org.id, (tx) =>
          query(
            tx,
            sql`update kb_articles a set ${helpful === 'yes' ? sql`helpful = helpful + 1` : sql`not_helpful = not_helpful + 1`}
                  from kb_article_translations t
                 where t.organization_id = ${org.id} and t.locale = ${locale} and t.slug = ${article} and t.published
                   and a.organization_id = t.organization_id and a.id = t.article_id and a.status = 'published'
                returning a.id`,
          ),
        );
        if (!counted.length) throw new AppError('not_found');
        return reply.header('cache-control', 'no-store').redirect(`/help/${org.slug}/${locale}/articles/${article}?feedback=thanks#feedback`, 303);
      },
    });
  });

  app.get('/api/help/:org/articles', {
    config: { access: 'public' },
    schema: {
      tags,
      operationId: 'searchHelpCenter',
      summary: "Search an organization's help center (JSON): its published articles matching q, best first, with highlighted snippets",
      params: OrgParams,
      querystring: SearchQuery,
      response: { 200: SearchOut, 400: ErrorOut, 404: ErrorOut },
    },
    handler: async (req) => {
      const org = await resolve(req.params.org);
      if (!org) throw new AppError('not_found');
      const { q, limit } = req.query;
      const data = await db.withTenant(org.id, async (tx) => {
        const locale = req.query.locale ?? (await mainLocale(tx, org.id));
        return (await searchArticles(tx, org.id, locale, q, limit)).map((h) => ({
          id: h.id, locale: h.locale, title: h.title, description: h.description, url: `${config.publicUrl}/help/${org.slug}/${h.locale}/articles/${h.slug}`, snippet: h.snippet, rank: h.rank,
        }));
      });
      return { data };
    },
  });
}
