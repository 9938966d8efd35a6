-- Cost follows the page, not the organization (issue 12, database side):
-- 1. indexes whose order matches each keyset list (cursors are row comparisons, src/lib/pagination.ts);
-- 2. trigram indexes and one reviewed SECURITY DEFINER function for customer search and tag filters
--    (under RLS neither ~~* nor @> is leakproof, so a policy-bound query cannot use those indexes);
-- 3. counters maintained by statement triggers in the same transaction as the change: per campaign
--    and status, per campaign and hour (the results page's series), per link, per organization's
--    customers. Backfilled below from the rows already there.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- 1. Keyset orders. A campaign's messages read oldest first; a customer's newest first. (No API lists an
-- SMS campaign's messages yet; its index comes with that list, not before: it would only cost writes.)
CREATE INDEX email_messages_campaign_list_idx ON email_messages (organization_id, campaign_id, created_at, id);
CREATE INDEX email_messages_customer_list_idx ON email_messages (organization_id, customer_id, created_at DESC, id DESC) WHERE customer_id IS NOT NULL;

-- 2. Substring search (case-insensitive) and tags.
CREATE INDEX customers_email_trgm_idx ON customers USING gin (email gin_trgm_ops);
CREATE INDEX customers_first_name_trgm_idx ON customers USING gin (first_name gin_trgm_ops);
CREATE INDEX customers_last_name_trgm_idx ON customers USING gin (last_name gin_trgm_ops);
CREATE INDEX customers_phone_trgm_idx ON customers USING gin (phone gin_trgm_ops);
-- An SMS campaign's opted-out recipients start from the organization's opted-out customers.
CREATE INDEX customers_sms_opted_out_idx ON customers (organization_id, id) WHERE sms_opt_in = false;

-- One page of customer ids matching a search and/or tags, newest first, after the keyset cursor.
-- SECURITY DEFINER so the trigram and tags indexes can be used (as the owner no policy applies);
-- in exchange it is a hole in the wall unless it is narrow, so:
--  * the organization comes ONLY from app.org_id, set by withTenant for the transaction: there is
--    no organization parameter; without a tenant scope it returns nothing;
--  * it returns ids only, at most 201; the API reads the rows again under RLS (customers/service.ts);
--  * search_path is pinned, PUBLIC may not execute it, only the runtime role;
--  * test/customer-search.test.ts and test/schema-rules.test.ts hold it on a reviewed allow-list.
CREATE FUNCTION sb_customer_page(p_q text, p_tags text[], p_email_opt_in boolean, p_sms_opt_in boolean,
                                 p_after_ts timestamptz, p_after_id uuid, p_limit integer)
RETURNS TABLE (id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- The tenant of this transaction, as withTenant set it; never a parameter.
  org uuid := nullif(current_setting('app.org_id', true), '')::uuid;
  query text := 'SELECT c.id FROM public.customers c WHERE c.organization_id = $1';
BEGIN
  IF org IS NULL THEN
    RETURN;
  END IF;
  -- Only fixed text is appended; every value travels in USING. EXECUTE plans with the values, so
  -- the planner sees the pattern's trigrams (a cached generic plan would not).
  IF p_q IS NOT NULL THEN
    query := query || ' AND (c.email ILIKE $2 OR c.first_name ILIKE $2 OR c.last_name ILIKE $2 OR c.phone ILIKE $2)';
  END IF;
  IF p_tags IS NOT NULL THEN query := query || ' AND c.tags @> $3'; END IF;
  IF p_email_opt_in IS NOT NULL THEN query := query || ' AND c.email_opt_in = $4'; END IF;
  IF p_sms_opt_in IS NOT NULL THEN query := query || ' AND c.sms_opt_in = $5'; END IF;
  IF p_after_ts IS NOT NULL THEN query := query || ' AND (c.created_at, c.id) < ($6, $7)'; END IF;
  RETURN QUERY EXECUTE query || ' ORDER BY c.created_at DESC, c.id DESC LIMIT $8'
    USING org, '%' || regexp_replace(p_q, '([\\%_])', '\\\1', 'g') || '%', p_tags, p_email_opt_in, p_sms_opt_in,
          p_after_ts, p_after_id, least(greatest(coalesce(p_limit, 1), 1), 201);
END
$$;
REVOKE ALL ON FUNCTION sb_customer_page(text, text[], boolean, boolean, timestamptz, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sb_customer_page(text, text[], boolean, boolean, timestamptz, uuid, integer) TO switchboard_app;

-- 3. Counters. Each table is a tenant table; the triggers run as whoever changed the rows (the
-- runtime role inside withTenant, so the counters are written under the same policy). Each row has
-- an id like every tenant row (the isolation tests address rows by it); the key is the natural one.

-- Customers of an organization (dashboard stats).
CREATE TABLE customer_counts (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  total integer NOT NULL DEFAULT 0,
  email_opt_in integer NOT NULL DEFAULT 0,
  sms_opt_in integer NOT NULL DEFAULT 0,
  PRIMARY KEY (organization_id)
);
SELECT sb_tenant_table('customer_counts');

-- Messages of an email campaign by status (recipients, pending, failed, cancelled, the dashboard's breakdown).
CREATE TABLE email_campaign_status_counts (
  organization_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  campaign_id uuid NOT NULL,
  status text NOT NULL,
  n integer NOT NULL DEFAULT 0,
  PRIMARY KEY (organization_id, campaign_id, status),
  FOREIGN KEY (organization_id, campaign_id) REFERENCES email_campaigns (organization_id, id) ON DELETE CASCADE
);
SELECT sb_tenant_table('email_campaign_status_counts');

-- An email campaign's funnel per hour (UTC) of each message timestamp, and opens/clicks events per
-- hour of occurrence: summed, the campaign's counts; as rows, the results page's time series.
CREATE TABLE email_campaign_hourly (
  organization_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  campaign_id uuid NOT NULL,
  hour timestamptz NOT NULL,
  sent integer NOT NULL DEFAULT 0,
  delivered integer NOT NULL DEFAULT 0,
  opened integer NOT NULL DEFAULT 0,
  clicked integer NOT NULL DEFAULT 0,
  bounced integer NOT NULL DEFAULT 0,
  complained integer NOT NULL DEFAULT 0,
  unsubscribed integer NOT NULL DEFAULT 0,
  opens integer NOT NULL DEFAULT 0,
  clicks integer NOT NULL DEFAULT 0,
  PRIMARY KEY (organization_id, campaign_id, hour),
  FOREIGN KEY (organization_id, campaign_id) REFERENCES email_campaigns (organization_id, id) ON DELETE CASCADE
);
SELECT sb_tenant_table('email_campaign_hourly');

-- Clicks per link of an email campaign (total, and distinct messages). Keyed on the URL's md5: a
-- URL may be longer than a btree key.
CREATE TABLE email_link_clicks (
  organization_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  campaign_id uuid NOT NULL,
  url_hash text NOT NULL,
  url text NOT NULL,
  clicks integer NOT NULL DEFAULT 0,
  unique_clicks integer NOT NULL DEFAULT 0,
  PRIMARY KEY (organization_id, campaign_id, url_hash),
  FOREIGN KEY (organization_id, campaign_id) REFERENCES email_campaigns (organization_id, id) ON DELETE CASCADE
);
SELECT sb_tenant_table('email_link_clicks');

-- SMS messages of a campaign by status, with their segments.
CREATE TABLE sms_campaign_status_counts (
  organization_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  campaign_id uuid NOT NULL,
  status text NOT NULL,
  n integer NOT NULL DEFAULT 0,
  segments integer NOT NULL DEFAULT 0,
  PRIMARY KEY (organization_id, campaign_id, status),
  FOREIGN KEY (organization_id, campaign_id) REFERENCES sms_campaigns (organization_id, id) ON DELETE CASCADE
);
SELECT sb_tenant_table('sms_campaign_status_counts');

-- SMS sent/delivered per hour (UTC) of sent_at / delivered_at.
CREATE TABLE sms_campaign_hourly (
  organization_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  campaign_id uuid NOT NULL,
  hour timestamptz NOT NULL,
  sent integer NOT NULL DEFAULT 0,
  delivered integer NOT NULL DEFAULT 0,
  PRIMARY KEY (organization_id, campaign_id, hour),
  FOREIGN KEY (organization_id, campaign_id) REFERENCES sms_campaigns (organization_id, id) ON DELETE CASCADE
);
SELECT sb_tenant_table('sms_campaign_hourly');

-- The trigger functions. One per table, fired once per statement with its transition tables, so a
-- 1,000,000-row INSERT … SELECT of recipients costs one aggregate, not a million counter updates.
-- Counter rows are upserted in key order (ORDER BY), so two transactions changing the same campaign
-- lock its counter rows in the same order within a statement rather than deadlocking on them.
-- A delete only updates existing counter rows: when a campaign (or organization) is deleted its
-- counters go by the cascade, and inserting them again would violate the foreign key.

CREATE FUNCTION sb_count_customers() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE src text := CASE TG_OP
  WHEN 'INSERT' THEN 'SELECT organization_id, email_opt_in, sms_opt_in, 1 AS s FROM new_rows'
  WHEN 'DELETE' THEN 'SELECT organization_id, email_opt_in, sms_opt_in, -1 AS s FROM old_rows'
  ELSE 'SELECT organization_id, email_opt_in, sms_opt_in, 1 AS s FROM new_rows UNION ALL SELECT organization_id, email_opt_in, sms_opt_in, -1 FROM old_rows' END;
BEGIN
  EXECUTE format($f$
    WITH d AS (%s),
    agg AS (SELECT organization_id, sum(s)::int AS total, (sum(s) FILTER (WHERE email_opt_in))::int AS e, (sum(s) FILTER (WHERE sms_opt_in))::int AS m
              FROM d GROUP BY organization_id),
    chg AS (SELECT organization_id, total, coalesce(e, 0) AS e, coalesce(m, 0) AS m FROM agg WHERE total <> 0 OR coalesce(e, 0) <> 0 OR coalesce(m, 0) <> 0)
    %s$f$, src, CASE WHEN TG_OP = 'DELETE' THEN
      'UPDATE customer_counts t SET total = t.total + chg.total, email_opt_in = t.email_opt_in + chg.e, sms_opt_in = t.sms_opt_in + chg.m FROM chg WHERE t.organization_id = chg.organization_id'
    ELSE
      'INSERT INTO customer_counts AS t (organization_id, total, email_opt_in, sms_opt_in) SELECT organization_id, total, e, m FROM chg ORDER BY organization_id
         ON CONFLICT (organization_id) DO UPDATE SET total = t.total + excluded.total, email_opt_in = t.email_opt_in + excluded.email_opt_in, sms_opt_in = t.sms_opt_in + excluded.sms_opt_in'
    END);
  RETURN NULL;
END
$$;
CREATE TRIGGER customers_count_ins AFTER INSERT ON customers REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sb_count_customers();
CREATE TRIGGER customers_count_upd AFTER UPDATE ON customers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sb_count_customers();
CREATE TRIGGER customers_count_del AFTER DELETE ON customers REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sb_count_customers();

CREATE FUNCTION sb_count_email_messages() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
  cols text := 'organization_id, campaign_id, status, sent_at, delivered_at, opened_at, clicked_at, bounced_at, complained_at, unsubscribed_at';
  src text := CASE TG_OP
    WHEN 'INSERT' THEN format('SELECT %s, 1 AS s FROM new_rows', cols)
    WHEN 'DELETE' THEN format('SELECT %s, -1 AS s FROM old_rows', cols)
    ELSE format('SELECT %s, 1 AS s FROM new_rows UNION ALL SELECT %s, -1 FROM old_rows', cols, cols) END;
  -- Counters of a campaign that is gone (deleted, cascading to its messages) are not written again.
  live text := 'EXISTS (SELECT 1 FROM email_campaigns c WHERE c.organization_id = x.organization_id AND c.id = x.campaign_id)';
BEGIN
  EXECUTE format($f$
    WITH d AS (%s),
    x AS (SELECT organization_id, campaign_id, status, sum(s)::int AS n FROM d GROUP BY 1, 2, 3 HAVING sum(s) <> 0)
    INSERT INTO email_campaign_status_counts AS t (organization_id, campaign_id, status, n)
    SELECT organization_id, campaign_id, status, n FROM x WHERE %s ORDER BY 1, 2, 3
    ON CONFLICT (organization_id, campaign_id, status) DO UPDATE SET n = t.n + excluded.n$f$, src, live);
  EXECUTE format($f$
    WITH d AS (%s),
    k AS (SELECT d.organization_id, d.campaign_id, date_trunc('hour', v.at, 'UTC') AS hour, v.metric, d.s
            FROM d CROSS JOIN LATERAL (VALUES ('sent', d.sent_at), ('delivered', d.delivered_at), ('opened', d.opened_at), ('clicked', d.clicked_at),
                 ('bounced', d.bounced_at), ('complained', d.complained_at), ('unsubscribed', d.unsubscribed_at)) AS v(metric, at)
           WHERE v.at IS NOT NULL),
    x AS (SELECT organization_id, campaign_id, hour,
            coalesce(sum(s) FILTER (WHERE metric = 'sent'), 0)::int AS sent, coalesce(sum(s) FILTER (WHERE metric = 'delivered'), 0)::int AS delivered,
            coalesce(sum(s) FILTER (WHERE metric = 'opened'), 0)::int AS opened, coalesce(sum(s) FILTER (WHERE metric = 'clicked'), 0)::int AS clicked,
            coalesce(sum(s) FILTER (WHERE metric = 'bounced'), 0)::int AS bounced, coalesce(sum(s) FILTER (WHERE metric = 'complained'), 0)::int AS complained,
            coalesce(sum(s) FILTER (WHERE metric = 'unsubscribed'), 0)::int AS unsubscribed
          FROM k GROUP BY 1, 2, 3)
    INSERT INTO email_campaign_hourly AS t (organization_id, campaign_id, hour, sent, delivered, opened, clicked, bounced, complained, unsubscribed)
    SELECT * FROM x WHERE (sent, delivered, opened, clicked, bounced, complained, unsubscribed) <> (0, 0, 0, 0, 0, 0, 0) AND %s ORDER BY 1, 2, 3
    ON CONFLICT (organization_id, campaign_id, hour) DO UPDATE SET sent = t.sent + excluded.sent, delivered = t.delivered + excluded.delivered,
      opened = t.opened + excluded.opened, clicked = t.clicked + excluded.clicked, bounced = t.bounced + excluded.bounced,
      complained = t.complained + excluded.complained, unsubscribed = t.unsubscribed + excluded.unsubscribed$f$, src, live);
  RETURN NULL;
END
$$;
CREATE TRIGGER email_messages_count_ins AFTER INSERT ON email_messages REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sb_count_email_messages();
CREATE TRIGGER email_messages_count_upd AFTER UPDATE ON email_messages REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sb_count_email_messages();
CREATE TRIGGER email_messages_count_del AFTER DELETE ON email_messages REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sb_count_email_messages();

-- Opens and clicks (events) per hour of occurrence, and clicks per link. A click is unique when its
-- message had no click on that URL before this statement.
CREATE FUNCTION sb_count_email_events() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
  WITH n AS (
    SELECT e.organization_id, m.campaign_id, date_trunc('hour', e.occurred_at, 'UTC') AS hour, e.type
      FROM new_rows e JOIN email_messages m ON m.organization_id = e.organization_id AND m.id = e.message_id
     WHERE e.type IN ('open', 'click')),
  x AS (SELECT organization_id, campaign_id, hour, count(*) FILTER (WHERE type = 'open')::int AS opens, count(*) FILTER (WHERE type = 'click')::int AS clicks
          FROM n GROUP BY 1, 2, 3)
  INSERT INTO email_campaign_hourly AS t (organization_id, campaign_id, hour, opens, clicks)
  SELECT organization_id, campaign_id, hour, opens, clicks FROM x ORDER BY 1, 2, 3
  ON CONFLICT (organization_id, campaign_id, hour) DO UPDATE SET opens = t.opens + excluded.opens, clicks = t.clicks + excluded.clicks;

  -- A (message, URL) pair is a first click when all its click events are this statement's: one index
  -- probe per distinct pair (email_events_type_idx), never a scan of the transition table per event.
  WITH n AS (
    SELECT e.organization_id, m.campaign_id, e.message_id, e.url, count(*)::int AS clicks
      FROM new_rows e JOIN email_messages m ON m.organization_id = e.organization_id AND m.id = e.message_id
     WHERE e.type = 'click' AND e.url IS NOT NULL
     GROUP BY 1, 2, 3, 4),
  x AS (SELECT n.organization_id, n.campaign_id, n.url, sum(n.clicks)::int AS clicks,
               count(*) FILTER (WHERE n.clicks = (SELECT count(*) FROM email_events o WHERE o.organization_id = n.organization_id AND o.message_id = n.message_id
                                                    AND o.type = 'click' AND o.url = n.url))::int AS uniq
          FROM n GROUP BY 1, 2, 3)
  INSERT INTO email_link_clicks AS t (organization_id, campaign_id, url_hash, url, clicks, unique_clicks)
  SELECT organization_id, campaign_id, md5(url), url, clicks, uniq FROM x ORDER BY 1, 2, 3
  ON CONFLICT (organization_id, campaign_id, url_hash) DO UPDATE SET clicks = t.clicks + excluded.clicks, unique_clicks = t.unique_clicks + excluded.unique_clicks;
  RETURN NULL;
END
$$;
CREATE TRIGGER email_events_count_ins AFTER INSERT ON email_events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sb_count_email_events();

CREATE FUNCTION sb_count_sms_messages() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
  cols text := 'organization_id, campaign_id, status, coalesce(segments, 0) AS segments, sent_at, delivered_at';
  src text := CASE TG_OP
    WHEN 'INSERT' THEN format('SELECT %s, 1 AS s FROM new_rows WHERE campaign_id IS NOT NULL', cols)
    WHEN 'DELETE' THEN format('SELECT %s, -1 AS s FROM old_rows WHERE campaign_id IS NOT NULL', cols)
    ELSE format('SELECT %s, 1 AS s FROM new_rows WHERE campaign_id IS NOT NULL UNION ALL SELECT %s, -1 FROM old_rows WHERE campaign_id IS NOT NULL', cols, cols) END;
  live text := 'EXISTS (SELECT 1 FROM sms_campaigns c WHERE c.organization_id = x.organization_id AND c.id = x.campaign_id)';
BEGIN
  EXECUTE format($f$
    WITH d AS (%s),
    x AS (SELECT organization_id, campaign_id, status, sum(s)::int AS n, sum(s * segments)::int AS segments FROM d GROUP BY 1, 2, 3)
    INSERT INTO sms_campaign_status_counts AS t (organization_id, campaign_id, status, n, segments)
    SELECT organization_id, campaign_id, status, n, segments FROM x WHERE (n <> 0 OR segments <> 0) AND %s ORDER BY 1, 2, 3
    ON CONFLICT (organization_id, campaign_id, status) DO UPDATE SET n = t.n + excluded.n, segments = t.segments + excluded.segments$f$, src, live);
  EXECUTE format($f$
    WITH d AS (%s),
    k AS (SELECT d.organization_id, d.campaign_id, date_trunc('hour', v.at, 'UTC') AS hour, v.metric, d.s
            FROM d CROSS JOIN LATERAL (VALUES ('sent', d.sent_at), ('delivered', d.delivered_at)) AS v(metric, at) WHERE v.at IS NOT NULL),
    x AS (SELECT organization_id, campaign_id, hour, coalesce(sum(s) FILTER (WHERE metric = 'sent'), 0)::int AS sent,
                 coalesce(sum(s) FILTER (WHERE metric = 'delivered'), 0)::int AS delivered FROM k GROUP BY 1, 2, 3)
    INSERT INTO sms_campaign_hourly AS t (organization_id, campaign_id, hour, sent, delivered)
    SELECT * FROM x WHERE (sent <> 0 OR delivered <> 0) AND %s ORDER BY 1, 2, 3
    ON CONFLICT (organization_id, campaign_id, hour) DO UPDATE SET sent = t.sent + excluded.sent, delivered = t.delivered + excluded.delivered$f$, src, live);
  RETURN NULL;
END
$$;
CREATE TRIGGER sms_messages_count_ins AFTER INSERT ON sms_messages REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sb_count_sms_messages();
CREATE TRIGGER sms_messages_count_upd AFTER UPDATE ON sms_messages REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sb_count_sms_messages();
CREATE TRIGGER sms_messages_count_del AFTER DELETE ON sms_messages REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sb_count_sms_messages();

-- Backfill from the rows already there.
INSERT INTO customer_counts (organization_id, total, email_opt_in, sms_opt_in)
SELECT organization_id, count(*), count(*) FILTER (WHERE email_opt_in), count(*) FILTER (WHERE sms_opt_in) FROM customers GROUP BY organization_id;

INSERT INTO email_campaign_status_counts (organization_id, campaign_id, status, n)
SELECT organization_id, campaign_id, status, count(*) FROM email_messages GROUP BY 1, 2, 3;

INSERT INTO email_campaign_hourly (organization_id, campaign_id, hour, sent, delivered, opened, clicked, bounced, complained, unsubscribed)
SELECT m.organization_id, m.campaign_id, date_trunc('hour', v.at, 'UTC'),
       count(*) FILTER (WHERE v.metric = 'sent'), count(*) FILTER (WHERE v.metric = 'delivered'), count(*) FILTER (WHERE v.metric = 'opened'),
       count(*) FILTER (WHERE v.metric = 'clicked'), count(*) FILTER (WHERE v.metric = 'bounced'), count(*) FILTER (WHERE v.metric = 'complained'),
       count(*) FILTER (WHERE v.metric = 'unsubscribed')
  FROM email_messages m CROSS JOIN LATERAL (VALUES ('sent', m.sent_at), ('delivered', m.delivered_at), ('opened', m.opened_at), ('clicked', m.clicked_at),
       ('bounced', m.bounced_at), ('complained', m.complained_at), ('unsubscribed', m.unsubscribed_at)) AS v(metric, at)
 WHERE v.at IS NOT NULL GROUP BY 1, 2, 3;

INSERT INTO email_campaign_hourly AS t (organization_id, campaign_id, hour, opens, clicks)
SELECT e.organization_id, m.campaign_id, date_trunc('hour', e.occurred_at, 'UTC'), count(*) FILTER (WHERE e.type = 'open'), count(*) FILTER (WHERE e.type = 'click')
  FROM email_events e JOIN email_messages m ON m.organization_id = e.organization_id AND m.id = e.message_id
 WHERE e.type IN ('open', 'click') GROUP BY 1, 2, 3
ON CONFLICT (organization_id, campaign_id, hour) DO UPDATE SET opens = excluded.opens, clicks = excluded.clicks;

INSERT INTO email_link_clicks (organization_id, campaign_id, url_hash, url, clicks, unique_clicks)
SELECT e.organization_id, m.campaign_id, md5(e.url), e.url, count(*), count(DISTINCT e.message_id)
  FROM email_events e JOIN email_messages m ON m.organization_id = e.organization_id AND m.id = e.message_id
 WHERE e.type = 'click' AND e.url IS NOT NULL GROUP BY 1, 2, e.url;

INSERT INTO sms_campaign_status_counts (organization_id, campaign_id, status, n, segments)
SELECT organization_id, campaign_id, status, count(*), coalesce(sum(segments), 0) FROM sms_messages WHERE campaign_id IS NOT NULL GROUP BY 1, 2, 3;

INSERT INTO sms_campaign_hourly (organization_id, campaign_id, hour, sent, delivered)
SELECT m.organization_id, m.campaign_id, date_trunc('hour', v.at, 'UTC'), count(*) FILTER (WHERE v.metric = 'sent'), count(*) FILTER (WHERE v.metric = 'delivered')
  FROM sms_messages m CROSS JOIN LATERAL (VALUES ('sent', m.sent_at), ('delivered', m.delivered_at)) AS v(metric, at)
 WHERE m.campaign_id IS NOT NULL AND v.at IS NOT NULL GROUP BY 1, 2, 3;
