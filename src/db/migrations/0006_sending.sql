-- Sending as someone: verified sender identities, the suppression list.
-- Tenant rules as everywhere: organization_id first in keys, RLS enabled and forced.

-- The identity branch adds this column with its email verification flow; test sends go only to
-- members whose address is verified.
ALTER TABLE users ADD COLUMN IF NOT EXISTS email_verified_at timestamptz;

-- A sender domain: proven by a TXT record (_switchboard.<domain>), signed with its own DKIM key.
-- The private key is stored encrypted (AES-256-GCM under ENCRYPTION_KEY), never returned.
CREATE TABLE sender_domains (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  domain text NOT NULL CHECK (domain = lower(domain)),
  verification_token text NOT NULL,
  dkim_selector text NOT NULL,
  dkim_public_key text NOT NULL,
  dkim_private_key_enc text NOT NULL,
  verified_at timestamptz,
  dkim_verified_at timestamptz,
  last_checked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  CONSTRAINT sender_domains_domain_key UNIQUE (organization_id, domain)
);

-- A single sender address, proven by a confirmation link mailed to it (single use, expiring;
-- only the SHA-256 of the token is kept).
CREATE TABLE sender_addresses (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  email text NOT NULL CHECK (email = lower(email)),
  token_hash text,
  token_expires_at timestamptz,
  verified_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  CONSTRAINT sender_addresses_email_key UNIQUE (organization_id, email)
);
CREATE INDEX sender_addresses_token_idx ON sender_addresses (organization_id, token_hash) WHERE token_hash IS NOT NULL;

-- Consent that survives the customer row: keyed by the normalized address (lowercased email,
-- E.164 number), never touched by deleting, renaming or re-importing a customer.
CREATE TABLE suppressions (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  channel text NOT NULL CHECK (channel IN ('email', 'sms')),
  address text NOT NULL CHECK (address = lower(address)),
  reason text NOT NULL CHECK (reason IN ('unsubscribed', 'complained', 'bounced', 'manual')),
  source text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  CONSTRAINT suppressions_address_key UNIQUE (organization_id, channel, address)
);
CREATE INDEX suppressions_list_idx ON suppressions (organization_id, created_at DESC, id DESC);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['sender_domains', 'sender_addresses', 'suppressions'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I USING (organization_id = (select nullif(current_setting(''app.org_id'', true), ''''))::uuid) WITH CHECK (organization_id = (select nullif(current_setting(''app.org_id'', true), ''''))::uuid)',
      t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO switchboard_app', t);
  END LOOP;
END
$$;
