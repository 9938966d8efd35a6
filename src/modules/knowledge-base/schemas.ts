import { z } from 'zod';
import { pageOf, pageQuery } from '../../lib/pagination.js';
import { slugSchema } from '../../lib/slug.js';

/** A language, optionally with a region: en, fr, de, es, pt-BR… (search stems en/fr/de/es/it/pt/nl; others match words as written). */
export const LOCALE_PATTERN = /^[a-z]{2}(-[A-Z]{2})?$/;
export const Locale = z.string().regex(LOCALE_PATTERN, 'A language code (en, fr…), optionally with a region (pt-BR)').meta({ example: 'en' });
export const MAX_LOCALES = 20;
export const MAX_BODY = 100_000;

const Title = z.string().trim().min(1).max(200);
const Description = z.string().trim().max(500).meta({ description: 'Shown under the title, in search results and as the page\'s meta description' });
export const ArticleSlug = slugSchema(80).meta({ description: 'Unique per organization and locale; made from the title when left out' });

export const TranslationIn = z
  .strictObject({
    title: Title,
    description: Description.default(''),
    body: z.string().max(MAX_BODY).default('').meta({ description: `Markdown, at most ${MAX_BODY} characters; rendered to sanitized HTML` }),
    slug: ArticleSlug.optional(),
  })
  .meta({ example: { title: 'Resetting your password', description: 'Get back into your account', body: 'Open **Settings** and choose *Reset password*.' } });
export type TranslationIn = z.infer<typeof TranslationIn>;

const localeCount = (min: number) => (r: Record<string, unknown>) => {
  const n = Object.keys(r).length;
  return n >= min && n <= MAX_LOCALES;
};

export const ArticleIn = z
  .strictObject({
    categoryId: z.uuid().nullable().default(null),
    translations: z
      .record(Locale, TranslationIn)
      .refine(localeCount(1), `Between 1 and ${MAX_LOCALES} locales`)
      .meta({ description: 'The article per locale (en, fr…): at least one' }),
  })
  .meta({ example: { categoryId: null, translations: { en: { title: 'Resetting your password', description: 'Get back into your account', body: 'Open **Settings** and choose *Reset password*.' } } } });
export type ArticleIn = z.infer<typeof ArticleIn>;

export const ArticlePatch = z
  .strictObject({
    categoryId: z.uuid().nullable().optional(),
    translations: z
      .record(Locale, TranslationIn.nullable())
      .refine(localeCount(1), `Between 1 and ${MAX_LOCALES} locales`)
      .optional()
      .meta({ description: 'Locales to add or replace whole; null removes a locale (an article keeps at least one)' }),
  })
  .refine((p) => p.categoryId !== undefined || p.translations !== undefined, 'Change at least one of categoryId, translations')
  .meta({ example: { translations: { fr: { title: 'Réinitialiser votre mot de passe', body: 'Ouvrez **Paramètres**.' } } } });
export type ArticlePatch = z.infer<typeof ArticlePatch>;

export const Status = z.enum(['draft', 'published']);

export const TranslationOut = z.object({
  locale: z.string(),
  slug: z.string(),
  title: z.string(),
  description: z.string(),
  body: z.string().meta({ description: 'The Markdown as written' }),
  bodyHtml: z.string().meta({ description: 'The Markdown rendered and sanitized: exactly what the help center serves' }),
  url: z.string().meta({ description: 'Its public address on the help center (answers only while the article is published)' }),
  updatedAt: z.string(),
});
const Counts = {
  views: z.number().int().meta({ description: 'Help center page views' }),
  helpful: z.number().int().meta({ description: '"Was this helpful?" yes votes' }),
  notHelpful: z.number().int().meta({ description: '"Was this helpful?" no votes' }),
};
export const ArticleOut = z.object({
  id: z.uuid(),
  categoryId: z.uuid().nullable(),
  status: Status,
  publishedAt: z.string().nullable(),
  ...Counts,
  translations: z.array(TranslationOut),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const ArticleSummary = z.object({
  id: z.uuid(),
  categoryId: z.uuid().nullable(),
  status: Status,
  publishedAt: z.string().nullable(),
  ...Counts,
  translations: z.array(z.object({ locale: z.string(), slug: z.string(), title: z.string(), description: z.string(), url: z.string() })),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const ArticlePage = pageOf(ArticleSummary);
export const ArticleListQuery = z.strictObject({
  ...pageQuery,
  status: Status.optional(),
  categoryId: z.uuid().optional(),
  locale: Locale.optional().meta({ description: 'Only articles with a version in this locale' }),
  q: z.string().trim().min(1).max(200).optional().meta({ description: 'Words in a title (any locale), case-insensitive' }),
});
export type ArticleListQuery = z.infer<typeof ArticleListQuery>;

export const PreviewIn = z.strictObject({ body: z.string().max(MAX_BODY) }).meta({ example: { body: '# Hello\n\nSome **Markdown**.' } });
export const PreviewOut = z.object({ html: z.string().meta({ description: 'The sanitized HTML the help center would serve' }) });

export const CategoryIn = z
  .strictObject({
    name: z.string().trim().min(1).max(120),
    slug: slugSchema(80).optional().meta({ description: 'Unique per organization; made from the name when left out' }),
    description: z.string().trim().max(500).default(''),
    position: z.number().int().min(0).max(10_000).default(0).meta({ description: 'Order on the help center, smallest first' }),
  })
  .meta({ example: { name: 'Account', description: 'Signing in, passwords, profile', position: 1 } });
export type CategoryIn = z.infer<typeof CategoryIn>;
export const CategoryPatch = z
  .strictObject({
    name: z.string().trim().min(1).max(120).optional(),
    slug: slugSchema(80).optional(),
    description: z.string().trim().max(500).optional(),
    position: z.number().int().min(0).max(10_000).optional(),
  })
  .refine((p) => Object.keys(p).length > 0, 'Change at least one of name, slug, description, position')
  .meta({ example: { position: 2 } });
export type CategoryPatch = z.infer<typeof CategoryPatch>;
export const CategoryOut = z.object({
  id: z.uuid(),
  name: z.string(),
  slug: z.string(),
  description: z.string(),
  position: z.number().int(),
  articles: z.number().int().meta({ description: 'Articles in the category (drafts included)' }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const CategoryPage = pageOf(CategoryOut);

/** Public search (JSON): the help center's search and the widget's suggestions. */
export const SearchQuery = z.strictObject({
  q: z.string().trim().min(1).max(200),
  locale: Locale.optional().meta({ description: 'The help center locale to search; the organization\'s main locale when left out' }),
  limit: z.coerce.number().int().min(1).max(20).default(5),
});
export const SearchHit = z.object({
  id: z.uuid(),
  locale: z.string(),
  title: z.string(),
  description: z.string(),
  url: z.string(),
  snippet: z.string().meta({ description: 'A passage of the body, HTML-escaped, the matched words in <mark>' }),
  rank: z.number(),
});
export const SearchOut = z.object({ data: z.array(SearchHit) });
export type SearchHit = z.infer<typeof SearchHit>;
