-- Saved report definitions (issue 13, Reports): a kind of report over the organization's counters and a
-- date range ({from, to} calendar days or {lastDays}); results are computed when run, never stored.
-- 0001_schema.sql's placeholder reports (never written or read by any code) makes way for this one.
DROP TABLE reports;

CREATE TABLE reports (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('campaign_performance', 'customer_growth', 'messages_by_channel')),
  range jsonb NOT NULL,
  -- Delivery by email (a durable job that re-queues itself): every day or week, to these members' addresses.
  schedule_every text CHECK (schedule_every IN ('day', 'week')),
  schedule_recipients uuid[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id)
);
CREATE INDEX reports_list_idx ON reports (organization_id, created_at DESC, id DESC);
SELECT sb_tenant_table('reports');
