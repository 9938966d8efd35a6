-- processed_webhook_events dedupes provider events globally (primary key (provider, event_id)),
-- and records which organization an event was applied to. A tenant transaction now sees only its
-- own organization's rows: the unique key still refuses a duplicate from anywhere (conflict
-- arbitration is not subject to RLS), and RETURNING shows only what this transaction inserted.
ALTER TABLE processed_webhook_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE processed_webhook_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON processed_webhook_events
  USING (organization_id = (select nullif(current_setting('app.org_id', true), ''))::uuid)
  WITH CHECK (organization_id = (select nullif(current_setting('app.org_id', true), ''))::uuid);
