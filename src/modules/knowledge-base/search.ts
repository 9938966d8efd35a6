import { sql } from 'drizzle-orm';
import type { Database, Tx } from '../../db/index.js';
import { arr, query, queryOne } from '../../db/sql.js';
import { escapeHtml } from '../../lib/html.js';

/** ts_headline marks matches with two control characters, which article text never holds (render.ts strips them). */
const START = '\u0001';
const STOP = '\u0002';
const HEADLINE = `StartSel=${START}, StopSel=${STOP}, MaxWords=30, MinWords=12, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "`;
const TITLE_HEADLINE = `StartSel=${START}, StopSel=${STOP}, HighlightAll=true`;

/** Highlighter output made safe: everything escaped, then the markers become <mark> elements. */
export const markedHtml = (s: string) => escapeHtml(s).replaceAll(START, '<mark>').replaceAll(STOP, '</mark>');

export interface Hit {
  id: string;
  locale: string;
  slug: string;
  title: string;
  /** Title with the matched words in <mark> (escaped HTML). */
  titleHtml: string;
  description: string;
  /** A passage of the body with the matched words in <mark> (escaped HTML). */
  snippet: string;
  rank: number;
}

/**
 * The organization's published articles in a locale matching the words (websearch syntax: "quoted
 * phrases", -excluded, or), best first by ts_rank over title (A), description (B) and body (C), with
 * highlighted snippets. Runs in the organization's tenant transaction: sb_kb_search (0022) finds and
 * ranks the ids with the GIN index; titles and snippets are read again here under RLS.
 */
export async function searchArticles(tx: Tx, organizationId: string, locale: string, q: string, limit: number): Promise<Hit[]> {
  const ranked = await query<{ article_id: string; rank: number }>(tx, sql`select article_id, rank from sb_kb_search(${locale}, ${q}, ${limit})`);
  if (!ranked.length) return [];
  const rows = await query<{ id: string; slug: string; title: string; description: string; title_hl: string; snippet: string }>(
    tx,
    sql`select t.article_id as id, t.slug, t.title, t.description,
               ts_headline(sb_kb_config(t.locale), t.title, q, ${TITLE_HEADLINE}) as title_hl,
               ts_headline(sb_kb_config(t.locale), t.body_text, q, ${HEADLINE}) as snippet
          from kb_article_translations t, websearch_to_tsquery(sb_kb_config(${locale}), ${q}) q
         where t.organization_id = ${organizationId} and t.locale = ${locale} and t.published
           and t.article_id = any(${arr(ranked.map((r) => r.article_id))}::uuid[])`,
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ranked.flatMap((r) => {
    const row = byId.get(r.article_id);
    if (!row) return [];
    return [{ id: row.id, locale, slug: row.slug, title: row.title, titleHtml: markedHtml(row.title_hl), description: row.description, snippet: markedHtml(row.snippet), rank: Number(r.rank) }];
  });
}

/** The locale a help center opens in: the one with the most published articles ('en' when none). */
export async function mainLocale(tx: Tx, organizationId: string): Promise<string> {
  const row = await queryOne<{ locale: string }>(
    tx,
    sql`select locale from kb_article_translations where organization_id = ${organizationId} and published
        group by locale order by count(*) desc, locale limit 1`,
  );
  return row?.locale ?? 'en';
}

/**
 * Articles to suggest while a visitor types (the web chat widget, before a conversation starts): the
 * organization's published articles matching `q`, best first, in `locale` or the help center's main
 * locale. Reads only inside the organization (withTenant); `url` is the public page's path.
 */
/** The public help center's address for the organization (relative to PUBLIC_URL). */
export async function helpCenterPath(tx: Tx, organizationId: string): Promise<string | null> {
  const [org] = await query<{ slug: string }>(tx, sql`select slug from organizations where id = ${organizationId}`);
  return org ? `/help/${org.slug}` : null;
}

/** Published articles matching what a visitor types (the web-chat widget), in the caller's tenant transaction. */
export async function suggestArticlesIn(tx: Tx, organizationId: string, q: string, limit = 5, locale?: string) {
  const words = q.trim().slice(0, 200);
  if (!words) return [];
  const base = await helpCenterPath(tx, organizationId);
  if (!base) return [];
  const l = locale ?? (await mainLocale(tx, organizationId));
  const hits = await searchArticles(tx, organizationId, l, words, Math.min(Math.max(1, limit), 20));
  return hits.map((h) => ({ id: h.id, locale: h.locale, title: h.title, description: h.description, url: `${base}/${h.locale}/articles/${h.slug}`, snippet: h.snippet, rank: h.rank }));
}

/** suggestArticlesIn in a transaction of its own. */
export async function suggestArticles(db: Database, organizationId: string, q: string, limit = 5, locale?: string) {
  return db.withTenant(organizationId, (tx) => suggestArticlesIn(tx, organizationId, q, limit, locale));
}
