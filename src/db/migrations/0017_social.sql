-- Social publishing: accounts connected through OAuth 2 (authorization code with PKCE), the
-- connections in progress (the state and the PKCE verifier between the redirect and the callback),
-- and posts published by a durable job. social_accounts and social_posts come from 0001_schema.sql
-- (already under tenant RLS); this migration gives them what publishing needs.

-- An account's platform and life: connected, or needing the person to connect it again (an expired
-- or revoked grant — shown, never a silent failure). Tokens stay sealed in *_encrypted.
ALTER TABLE social_accounts
  ADD CONSTRAINT social_accounts_platform_check CHECK (platform IN ('x', 'facebook', 'instagram', 'linkedin')),
  ADD COLUMN status text NOT NULL DEFAULT 'connected' CHECK (status IN ('connected', 'needs_reconnection')),
  ADD COLUMN status_reason text,
  ADD COLUMN display_name text,
  ADD COLUMN scopes text,
  ADD COLUMN refreshed_at timestamptz;
-- One row per platform account in an organization: connecting it again updates the row.
CREATE UNIQUE INDEX social_accounts_external_key ON social_accounts (organization_id, platform, external_id);
CREATE INDEX social_accounts_list_idx ON social_accounts (organization_id, created_at DESC, id DESC);

-- A connection in progress: only the SHA-256 of the state is stored (the state itself is
-- `<organization>.<secret>`, so the public callback finds its organization without a cross-tenant
-- lookup), the PKCE verifier sealed, single use (deleted when the callback takes it), ten minutes.
CREATE TABLE social_connections (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  platform text NOT NULL CHECK (platform IN ('x', 'facebook', 'instagram', 'linkedin')),
  user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  state_hash text NOT NULL,
  code_verifier_encrypted text NOT NULL,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  CONSTRAINT social_connections_state_key UNIQUE (organization_id, state_hash)
);
SELECT sb_tenant_table('social_connections');

-- Posts: a link beside the text (media holds image URLs), the platform's permalink beside its post
-- id (external_id), and the publishing attempts.
ALTER TABLE social_posts
  ADD COLUMN link text,
  ADD COLUMN permalink text,
  ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0);
CREATE INDEX social_posts_list_idx ON social_posts (organization_id, created_at DESC, id DESC);
CREATE INDEX social_posts_calendar_idx ON social_posts (organization_id, (coalesce(published_at, scheduled_at)));
CREATE INDEX social_posts_account_idx ON social_posts (organization_id, account_id);
