-- Voice: versioned IVR flows, the call center's call record, the steps a caller took, agents' phones.
-- Tenant rules as everywhere: organization_id first in keys, composite foreign keys, RLS enabled and forced.

-- Numbers now bind flows (phone_numbers.ivr_flow_id, 0009): a flow no longer names its number.
DROP INDEX IF EXISTS ivr_flows_phone_idx;
ALTER TABLE ivr_flows DROP COLUMN IF EXISTS phone_number;
-- The version a new call starts on; ivr_flows.definition is that version's definition.
ALTER TABLE ivr_flows ADD COLUMN current_version integer NOT NULL DEFAULT 1 CHECK (current_version >= 1);

-- Every saved definition of a flow, immutable: a call in progress keeps the version it started on.
CREATE TABLE ivr_flow_versions (
  organization_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  flow_id uuid NOT NULL,
  version integer NOT NULL CHECK (version >= 1),
  definition jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  CONSTRAINT ivr_flow_versions_version_key UNIQUE (organization_id, flow_id, version),
  FOREIGN KEY (organization_id, flow_id) REFERENCES ivr_flows (organization_id, id) ON DELETE CASCADE
);
INSERT INTO ivr_flow_versions (organization_id, flow_id, version, definition, created_at)
  SELECT organization_id, id, 1, definition, created_at FROM ivr_flows;

-- An agent's phone: outbound calls ring it first, dial nodes forward to it.
-- Keyed by the membership (not the user id, which other organizations' memberships share): leaving
-- the organization drops the phone. The number is validated (E.164, libphonenumber-js) at the boundary.
CREATE TABLE call_agents (
  organization_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  membership_id uuid NOT NULL,
  phone_number text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  CONSTRAINT call_agents_membership_key UNIQUE (organization_id, membership_id),
  FOREIGN KEY (organization_id, membership_id) REFERENCES memberships (organization_id, id) ON DELETE CASCADE
);

-- Calls: who took it, how it ended, where the caller is in the flow (the gather callback carries only the call).
-- Statuses are Twilio's, checked where they come in (src/modules/calls/schemas.ts); no CHECK, so rows
-- written before this release with other statuses stay readable (the dashboard reports them as they are).
ALTER TABLE calls
  ADD COLUMN agent_user_id uuid,
  ADD COLUMN agent_number text,
  ADD COLUMN disposition text,
  ADD COLUMN recording_url text,
  ADD COLUMN recording_duration_seconds integer,
  ADD COLUMN transcription text,
  ADD COLUMN error_code text,
  ADD COLUMN answered_at timestamptz,
  ADD COLUMN ivr_flow_version integer,
  ADD COLUMN ivr_node text,
  ADD COLUMN ivr_retries integer NOT NULL DEFAULT 0,
  -- Who took the call stays on it after they leave the organization (checked to be a member when set).
  ADD CONSTRAINT calls_agent_fk FOREIGN KEY (agent_user_id) REFERENCES users (id) ON DELETE SET NULL,
  ADD CONSTRAINT calls_flow_version_fk FOREIGN KEY (organization_id, ivr_flow_id, ivr_flow_version)
    REFERENCES ivr_flow_versions (organization_id, flow_id, version) ON DELETE SET NULL (ivr_flow_version);
-- A provider's call sid names one call of one organization.
DROP INDEX IF EXISTS calls_provider_idx;
CREATE UNIQUE INDEX calls_provider_key ON calls (organization_id, provider_call_id) WHERE provider_call_id IS NOT NULL;
CREATE INDEX calls_list_idx ON calls (organization_id, created_at DESC, id DESC);
CREATE INDEX calls_customer_idx ON calls (organization_id, customer_id, created_at DESC) WHERE customer_id IS NOT NULL;

-- The caller's path through a flow, one row per step, in order.
CREATE TABLE call_steps (
  organization_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  call_id uuid NOT NULL,
  seq integer NOT NULL,
  node_id text,
  kind text NOT NULL,
  digits text,
  detail jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  CONSTRAINT call_steps_seq_key UNIQUE (organization_id, call_id, seq),
  FOREIGN KEY (organization_id, call_id) REFERENCES calls (organization_id, id) ON DELETE CASCADE
);

SELECT sb_tenant_table('ivr_flow_versions');
SELECT sb_tenant_table('call_agents');
SELECT sb_tenant_table('call_steps');
