-- Email channel: sending state on campaigns and messages, and the durable job table.
-- Tenant rules as everywhere: organization_id first in keys, composite FKs, RLS forced.

ALTER TABLE email_campaigns
  ADD COLUMN recipients_resolved_at timestamptz,
  -- Original URLs of the tracked links, frozen when the send starts: a click token names an index into this list.
  ADD COLUMN tracked_links text[] NOT NULL DEFAULT '{}',
  ADD COLUMN failed_at timestamptz,
  ADD COLUMN error text;
CREATE INDEX email_campaigns_due_idx ON email_campaigns (scheduled_at) WHERE status = 'scheduled';

ALTER TABLE email_messages DROP CONSTRAINT email_messages_status_check;
ALTER TABLE email_messages ADD CONSTRAINT email_messages_status_check
  CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'deferred', 'bounced', 'dropped', 'failed', 'cancelled'));
ALTER TABLE email_messages
  ADD COLUMN next_attempt_at timestamptz,
  ADD COLUMN claimed_at timestamptz,
  ADD COLUMN failed_at timestamptz;
-- The sender claims queued rows of one campaign in id order.
CREATE INDEX email_messages_queue_idx ON email_messages (organization_id, campaign_id, status, id);
-- Provider events carry our message id; the webhook resolves its organization by it (system lookup).
CREATE INDEX email_messages_id_idx ON email_messages (id);

CREATE INDEX email_events_type_idx ON email_events (organization_id, message_id, type);

-- Durable jobs. A job belongs to one organization (the worker runs it inside
-- withTenant(organization_id)), so it is a tenant table like any other; only the claim, which
-- looks across organizations for due work, runs under withSystem('job-scheduler').
-- Claimed with FOR UPDATE SKIP LOCKED and a lease: a job whose worker died is taken again
-- when its lease expires; a running worker renews its lease.
CREATE TABLE jobs (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  queue text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}',
  singleton_key text,
  state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'active', 'completed', 'failed', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 10,
  run_at timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id)
);
CREATE INDEX jobs_due_idx ON jobs (queue, run_at) WHERE state IN ('queued', 'active');
-- At most one live job per key (e.g. one sender per campaign).
CREATE UNIQUE INDEX jobs_singleton_key ON jobs (organization_id, queue, singleton_key)
  WHERE singleton_key IS NOT NULL AND state IN ('queued', 'active');

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON jobs
  USING (organization_id = (select nullif(current_setting('app.org_id', true), ''))::uuid)
  WITH CHECK (organization_id = (select nullif(current_setting('app.org_id', true), ''))::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO switchboard_app;
