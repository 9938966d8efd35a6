-- SMS channel: durable, fenced, resumable sends on the campaign engine (the message columns of
-- src/channels/campaign-store.ts, as email_messages in 0003/0007), Twilio status callbacks, inbound
-- messages and per-organization SMS settings. Runs before 0012_platform.sql, whose sms_campaigns
-- columns are IF NOT EXISTS. Tenant rules as everywhere: organization_id first in keys, composite
-- FKs, new tables under sb_tenant_table (0008_cleanup.sql).

ALTER TABLE sms_campaigns
  ADD COLUMN recipients_resolved_at timestamptz,
  -- Customers of the audience left out because their stored phone number is not a valid E.164 number.
  ADD COLUMN invalid_numbers integer NOT NULL DEFAULT 0,
  -- The organization's number the campaign goes out from, chosen when the send starts.
  ADD COLUMN from_number text,
  ADD COLUMN failed_at timestamptz,
  ADD COLUMN error text;

-- queued (waiting here) → sending (claimed by a run) → sent (Twilio took it) → delivered | undelivered;
-- failed (Twilio refused it, or our retries ran out); cancelled (the campaign stopped, the recipient opted out).
-- Twilio's own accepted/queued/sending/sent all read as sent here: the message has left us.
ALTER TABLE sms_messages DROP CONSTRAINT sms_messages_status_check;
ALTER TABLE sms_messages ADD CONSTRAINT sms_messages_status_check
  CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'cancelled'));
ALTER TABLE sms_messages
  ADD COLUMN from_number text,
  ADD COLUMN attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN next_attempt_at timestamptz,
  ADD COLUMN claimed_at timestamptz,
  ADD COLUMN lease_id uuid,
  ADD COLUMN lease_until timestamptz,
  ADD COLUMN failed_at timestamptz,
  -- Twilio's numeric error code (REST error or the ErrorCode of a status callback).
  ADD COLUMN error_code integer,
  -- Segments of the rendered body (what Twilio bills), and its encoding.
  ADD COLUMN segments integer,
  ADD COLUMN encoding text CHECK (encoding IN ('GSM-7', 'UCS-2'));
-- The sender claims queued rows of one campaign in id order.
CREATE INDEX sms_messages_queue_idx ON sms_messages (organization_id, campaign_id, status, id);
-- Status callbacks: the organization comes from the AccountSid, then the message by its sid within it.
DROP INDEX IF EXISTS sms_messages_provider_idx;
CREATE INDEX sms_messages_provider_idx ON sms_messages (organization_id, provider_message_id) WHERE provider_message_id IS NOT NULL;
-- A STOP cancels the messages still waiting for that number.
CREATE INDEX sms_messages_to_idx ON sms_messages (organization_id, to_phone) WHERE status = 'queued';

-- Every status callback as received: the history of a message, and the place a callback that
-- arrives before its message's sid is recorded waits (the send applies it when it records the sid).
CREATE TABLE sms_status_events (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  message_sid text NOT NULL,
  status text NOT NULL,
  error_code integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id)
);
CREATE INDEX sms_status_events_sid_idx ON sms_status_events (organization_id, message_sid);

-- Messages customers send to the organization's numbers. STOP/START/HELP keywords are kept too
-- (keyword says which); the conversations inbox threads them on the customer.
CREATE TABLE sms_inbound_messages (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  customer_id uuid,
  provider_message_id text NOT NULL,
  from_number text NOT NULL,
  to_number text NOT NULL,
  body text NOT NULL DEFAULT '',
  keyword text CHECK (keyword IN ('stop', 'start', 'help')),
  num_media integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  -- Twilio retries a webhook it got no answer to: one row per message sid.
  CONSTRAINT sms_inbound_messages_sid_key UNIQUE (organization_id, provider_message_id),
  FOREIGN KEY (organization_id, customer_id) REFERENCES customers (organization_id, id) ON DELETE SET NULL (customer_id)
);
CREATE INDEX sms_inbound_messages_list_idx ON sms_inbound_messages (organization_id, created_at DESC, id DESC);
CREATE INDEX sms_inbound_messages_customer_idx ON sms_inbound_messages (organization_id, customer_id, created_at DESC);

-- Inbound messages find their customer by number: customers store numbers as typed ("+1 (555) 123-4567"),
-- matched under the spelling of suppressions.normalizeAddress ("+15551234567").
CREATE INDEX customers_phone_e164_idx ON customers (organization_id, ('+' || ltrim(regexp_replace(phone, '[\s().-]', '', 'g'), '+')))
  WHERE phone IS NOT NULL;

-- One row per organization: HELP reply, quiet hours (local times in an IANA timezone; both null = none),
-- and the number campaigns go out from by default.
CREATE TABLE sms_settings (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  help_text text,
  quiet_hours_start text CHECK (quiet_hours_start ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  quiet_hours_end text CHECK (quiet_hours_end ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  timezone text NOT NULL DEFAULT 'UTC',
  default_from_number text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  CONSTRAINT sms_settings_organization_key UNIQUE (organization_id),
  CHECK ((quiet_hours_start IS NULL) = (quiet_hours_end IS NULL))
);

SELECT sb_tenant_table('sms_status_events');
SELECT sb_tenant_table('sms_inbound_messages');
SELECT sb_tenant_table('sms_settings');
