-- Twilio: an organization's account (in integrations) and its phone numbers.
-- Two platform-wide unique keys, both reviewed exceptions to "organization_id first in every unique"
-- (test/schema-rules.test.ts): inbound traffic finds its organization by them, so each must name ONE organization.

-- A Twilio account is connected to at most one organization: its status callbacks carry only the
-- AccountSid, which must lead to one organization and one auth token.
CREATE UNIQUE INDEX integrations_twilio_account_key ON integrations (external_id) WHERE provider = 'twilio';

-- A phone number (E.164) belongs to at most one organization across the platform: an inbound call or
-- message names only the number it was sent to. Bound to at most one IVR flow of the same organization.
CREATE TABLE phone_numbers (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  number text NOT NULL CHECK (number ~ '^\+[1-9][0-9]{6,14}$'),
  friendly_name text,
  sms_enabled boolean NOT NULL DEFAULT true,
  voice_enabled boolean NOT NULL DEFAULT true,
  ivr_flow_id uuid,
  -- The number's IncomingPhoneNumber sid (PN...) in the organization's Twilio account; null when added without one.
  twilio_sid text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, ivr_flow_id) REFERENCES ivr_flows (organization_id, id) ON DELETE SET NULL (ivr_flow_id)
);
CREATE UNIQUE INDEX phone_numbers_number_key ON phone_numbers (number);
CREATE INDEX phone_numbers_list_idx ON phone_numbers (organization_id, created_at DESC, id DESC);
CREATE INDEX phone_numbers_ivr_flow_idx ON phone_numbers (organization_id, ivr_flow_id) WHERE ivr_flow_id IS NOT NULL;

ALTER TABLE phone_numbers ENABLE ROW LEVEL SECURITY;
ALTER TABLE phone_numbers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON phone_numbers
  USING (organization_id = (select nullif(current_setting('app.org_id', true), ''))::uuid)
  WITH CHECK (organization_id = (select nullif(current_setting('app.org_id', true), ''))::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON phone_numbers TO switchboard_app;
