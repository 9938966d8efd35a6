-- The platform as an audit actor (src/http/access.ts systemContext): a provider webhook or a job
-- writes audit entries through the same function as people, naming why it acted.
ALTER TABLE audit_log ADD COLUMN actor_reason text;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_reason_check CHECK ((actor_type = 'system') = (actor_reason IS NOT NULL));

-- The campaign engine (src/channels/campaign-store.ts) runs every channel's campaigns on the same
-- columns: SMS campaigns gain what email campaigns have (IF NOT EXISTS: the SMS migration may have added them).
ALTER TABLE sms_campaigns
  ADD COLUMN IF NOT EXISTS recipients_resolved_at timestamptz,
  ADD COLUMN IF NOT EXISTS failed_at timestamptz,
  ADD COLUMN IF NOT EXISTS error text;
