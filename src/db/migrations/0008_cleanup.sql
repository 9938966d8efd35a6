-- Cleanup: columns and indexes nothing reads or writes, and one helper that puts a new table under
-- the standard tenant rules, so later migrations stop copying the RLS block of 0006_sending.sql.

-- Dead columns. Nothing in the application reads or writes them; a feature that needs one adds it
-- back with its own migration and its own code.
-- organizations.stripe_customer_id (and its platform-wide UNIQUE): billing was never built on it.
ALTER TABLE organizations DROP COLUMN stripe_customer_id;
-- sessions.last_seen_at: only its default was ever written; expiry and re-authentication use
-- expires_at and authenticated_at.
ALTER TABLE sessions DROP COLUMN last_seen_at;

-- Dead indexes.
-- email_events (organization_id, message_id) is the leading part of email_events_type_idx
-- (organization_id, message_id, type), which serves every query the smaller one could.
DROP INDEX email_events_message_idx;
-- No query looks for due campaigns by scheduled_at: a scheduled send waits as a job (jobs.run_at,
-- jobs_due_idx). The index only cost writes on every campaign change.
DROP INDEX email_campaigns_due_idx;

-- sb_tenant_table(t): the standard tenant rules on a table that has organization_id — row-level
-- security enabled AND forced (the owner is held to it too), the one tenant_isolation policy on
-- app.org_id for USING and WITH CHECK, and the runtime role's SELECT, INSERT, UPDATE, DELETE (never
-- TRUNCATE or TRIGGER). Exactly what 0006_sending.sql writes by hand. Call it in the migration that
-- creates the table:   SELECT sb_tenant_table('phone_numbers');
-- It runs as the caller (the migrating owner), not SECURITY DEFINER, and the runtime role may not call it.
CREATE FUNCTION sb_tenant_table(t regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = t AND attname = 'organization_id' AND attnotnull AND NOT attisdropped) THEN
    RAISE EXCEPTION 'sb_tenant_table: % has no organization_id NOT NULL column', t;
  END IF;
  -- A regclass prints as a correctly quoted (and, off the search path, qualified) name.
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s USING (organization_id = (select nullif(current_setting(''app.org_id'', true), ''''))::uuid) WITH CHECK (organization_id = (select nullif(current_setting(''app.org_id'', true), ''''))::uuid)',
    t);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO switchboard_app', t);
END
$$;
REVOKE ALL ON FUNCTION sb_tenant_table(regclass) FROM PUBLIC;
