-- Knowledge base and public help center (issue 11).
--
-- 1. Organizations get a public URL slug (/help/<slug>): lowercase letters, digits and inner hyphens,
--    unique across the platform (a help center's address names one organization). Existing rows are
--    backfilled from the name; a name already taken gets a suffix from the id. The application picks
--    the slug at creation (auth/service.ts: the name, then -2, -3… on collision); the trigger only
--    fills rows inserted without one (fixtures, the owner's scripts).
CREATE FUNCTION sb_slugify(t text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT coalesce(nullif(trim(both '-' from left(regexp_replace(lower(coalesce(t, '')), '[^a-z0-9]+', '-', 'g'), 48)), ''), 'org') $$;

ALTER TABLE organizations ADD COLUMN slug text;
UPDATE organizations o SET slug = s.slug
  FROM (SELECT id, CASE WHEN row_number() OVER (PARTITION BY sb_slugify(name) ORDER BY created_at, id) = 1 THEN sb_slugify(name)
                        ELSE sb_slugify(name) || '-' || left(replace(id::text, '-', ''), 8) END AS slug
          FROM organizations) s
 WHERE s.id = o.id;

CREATE FUNCTION sb_organization_slug() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF NEW.slug IS NULL THEN
    NEW.slug := sb_slugify(NEW.name) || '-' || left(replace(NEW.id::text, '-', ''), 8);
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER organizations_slug BEFORE INSERT ON organizations FOR EACH ROW EXECUTE FUNCTION sb_organization_slug();

ALTER TABLE organizations ALTER COLUMN slug SET NOT NULL;
ALTER TABLE organizations ADD CONSTRAINT organizations_slug_check CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$');
ALTER TABLE organizations ADD CONSTRAINT organizations_slug_key UNIQUE (slug);

-- 2. The full-text configuration of a locale (its language part): the stemmer the index and the queries use.
CREATE FUNCTION sb_kb_config(locale text) RETURNS regconfig
LANGUAGE sql IMMUTABLE
AS $$
  SELECT CASE split_part(locale, '-', 1)
    WHEN 'en' THEN 'pg_catalog.english'::regconfig
    WHEN 'fr' THEN 'pg_catalog.french'::regconfig
    WHEN 'de' THEN 'pg_catalog.german'::regconfig
    WHEN 'es' THEN 'pg_catalog.spanish'::regconfig
    WHEN 'it' THEN 'pg_catalog.italian'::regconfig
    WHEN 'pt' THEN 'pg_catalog.portuguese'::regconfig
    WHEN 'nl' THEN 'pg_catalog.dutch'::regconfig
    ELSE 'pg_catalog.simple'::regconfig
  END
$$;

-- 3. Categories, articles and their per-locale versions.
CREATE TABLE kb_categories (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL,
  slug text NOT NULL CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,78}[a-z0-9])?$'),
  description text NOT NULL DEFAULT '',
  position integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, slug)
);
CREATE INDEX kb_categories_list_idx ON kb_categories (organization_id, created_at DESC, id DESC);
SELECT sb_tenant_table('kb_categories');

-- Views and "was this helpful" votes are counted on the article (one row per article, bumped in place).
CREATE TABLE kb_articles (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  category_id uuid,
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
  published_at timestamptz,
  views integer NOT NULL DEFAULT 0,
  helpful integer NOT NULL DEFAULT 0,
  not_helpful integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, category_id) REFERENCES kb_categories (organization_id, id) ON DELETE SET NULL (category_id)
);
CREATE INDEX kb_articles_list_idx ON kb_articles (organization_id, created_at DESC, id DESC);
CREATE INDEX kb_articles_category_idx ON kb_articles (organization_id, category_id);
SELECT sb_tenant_table('kb_articles');

-- One version of an article per locale. `published` mirrors the article's status (the service sets both in
-- one transaction) so that search reads this one table. body is the author's Markdown; body_html the
-- sanitized rendering served as it is; body_text its plain text, which is indexed and snippeted.
CREATE TABLE kb_article_translations (
  organization_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  article_id uuid NOT NULL,
  locale text NOT NULL CHECK (locale ~ '^[a-z]{2}(-[A-Z]{2})?$'),
  slug text NOT NULL CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,78}[a-z0-9])?$'),
  title text NOT NULL,
  description text NOT NULL DEFAULT '',
  body text NOT NULL DEFAULT '',
  body_html text NOT NULL DEFAULT '',
  body_text text NOT NULL DEFAULT '',
  published boolean NOT NULL DEFAULT false,
  search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector(sb_kb_config(locale), title), 'A') ||
    setweight(to_tsvector(sb_kb_config(locale), description), 'B') ||
    setweight(to_tsvector(sb_kb_config(locale), body_text), 'C')
  ) STORED,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, article_id, locale),
  UNIQUE (organization_id, locale, slug),
  FOREIGN KEY (organization_id, article_id) REFERENCES kb_articles (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX kb_article_translations_search_idx ON kb_article_translations USING gin (search);
SELECT sb_tenant_table('kb_article_translations');

-- 4. Help center search. Under a policy PostgreSQL uses only leakproof operators as index conditions, and
-- tsvector @@ tsquery is not one: under RLS a search would read every article of the organization.
-- Like sb_customer_page (0016_scale.sql), this reviewed function searches past RLS with the GIN index:
--  * the organization is the transaction's tenant (app.org_id, set by withTenant), never a parameter;
--    without one it returns nothing;
--  * only published versions in the given locale; it returns article ids and ranks, at most 100; the
--    caller reads titles and snippets again under RLS (knowledge-base/search.ts);
--  * search_path is pinned, PUBLIC may not execute it, only the runtime role;
--  * test/knowledge-base.test.ts and test/schema-rules.test.ts hold it on the reviewed list.
CREATE FUNCTION sb_kb_search(p_locale text, p_query text, p_limit integer)
RETURNS TABLE (article_id uuid, rank real)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- The tenant of this transaction, as withTenant set it; never a parameter.
  org uuid := nullif(current_setting('app.org_id', true), '')::uuid;
BEGIN
  IF org IS NULL THEN
    RETURN;
  END IF;
  RETURN QUERY EXECUTE 'SELECT t.article_id, ts_rank(t.search, q.q) FROM public.kb_article_translations t,'
    || ' websearch_to_tsquery(public.sb_kb_config($2), $3) AS q(q)'
    || ' WHERE t.organization_id = $1 AND t.locale = $2 AND t.published AND t.search @@ q.q'
    || ' ORDER BY 2 DESC, t.article_id LIMIT $4'
    USING org, p_locale, p_query, least(greatest(coalesce(p_limit, 1), 1), 100);
END
$$;
REVOKE ALL ON FUNCTION sb_kb_search(text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sb_kb_search(text, text, integer) TO switchboard_app;
