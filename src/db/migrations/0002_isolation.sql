-- Row-level security: enabled and FORCED on every tenant table, one policy each.
-- Runtime queries run as switchboard_app (not the owner, no BYPASSRLS) after
-- SET LOCAL ROLE and set_config('app.org_id', ..., true) inside their transaction.
-- nullif matters: once a session has set app.org_id, "unset" reads as '' rather than NULL.

DO $$
BEGIN
  CREATE ROLE switchboard_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO switchboard_app;

DO $$
DECLARE
  t text;
BEGIN
  FOR t IN
    SELECT c.table_name FROM information_schema.columns c
    JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
    WHERE c.table_schema = 'public' AND c.column_name = 'organization_id' AND tb.table_type = 'BASE TABLE'
      AND c.table_name <> 'processed_webhook_events'
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I USING (organization_id = (select nullif(current_setting(''app.org_id'', true), ''''))::uuid) WITH CHECK (organization_id = (select nullif(current_setting(''app.org_id'', true), ''''))::uuid)',
      t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO switchboard_app', t);
  END LOOP;
END
$$;

-- The audit log is append-only for the application.
REVOKE UPDATE, DELETE ON audit_log FROM switchboard_app;

-- A signed-in user reads their own memberships in every organization (to list and switch them).
CREATE POLICY own_memberships ON memberships FOR SELECT
  USING (user_id = (select nullif(current_setting('app.user_id', true), ''))::uuid);

-- Organizations: visible when active, or when the signed-in user is a member.
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organizations
  USING (id = (select nullif(current_setting('app.org_id', true), ''))::uuid)
  WITH CHECK (id = (select nullif(current_setting('app.org_id', true), ''))::uuid);
CREATE POLICY member_organizations ON organizations FOR SELECT
  USING (id IN (SELECT m.organization_id FROM memberships m
                WHERE m.user_id = (select nullif(current_setting('app.user_id', true), ''))::uuid));
GRANT SELECT, INSERT, UPDATE ON organizations TO switchboard_app;

-- Platform tables the application reaches without a tenant (accounts and sign-in).
GRANT SELECT, INSERT, UPDATE, DELETE ON users, sessions TO switchboard_app;
GRANT SELECT, INSERT ON processed_webhook_events TO switchboard_app;

-- A signed-in user sees the pending invitations sent to their own address (to accept them).
CREATE POLICY own_invitations ON invitations FOR SELECT
  USING (accepted_at IS NULL AND lower(email) = lower(nullif(current_setting('app.user_email', true), '')));
