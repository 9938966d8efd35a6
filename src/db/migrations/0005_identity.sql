-- Identity hardening: proven email ownership, single-use tokens, invitation tokens, recent sign-in,
-- and users/sessions behind row-level security with password hashes unreadable by the runtime role.

-- Another branch adds the same column (test-send recipients must be verified): same name and type.
ALTER TABLE users ADD COLUMN IF NOT EXISTS email_verified_at timestamptz;

-- When the holder of the session last proved their password (re-authentication for sensitive changes).
ALTER TABLE sessions ADD COLUMN authenticated_at timestamptz NOT NULL DEFAULT now();

-- An invitation is accepted only through its own token (only its SHA-256 is kept). Invitations
-- made before this column existed have none and can no longer be accepted: invite again.
ALTER TABLE invitations ADD COLUMN token_hash text;
CREATE UNIQUE INDEX invitations_token_key ON invitations (organization_id, token_hash);

-- Single-use, expiring account tokens (email verification, password reset). Only SHA-256 is stored;
-- `email` is the address the token was mailed to, so a token proves that address only.
CREATE TABLE user_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose text NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
  token_hash text NOT NULL UNIQUE,
  email text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX user_tokens_user_idx ON user_tokens (user_id, purpose);

-- Keys of people who are no longer members stop working (a removed member's keys are now revoked
-- with the membership; this catches the ones removed before).
UPDATE api_keys k SET revoked_at = now()
 WHERE k.revoked_at IS NULL AND k.created_by_user_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.organization_id = k.organization_id AND m.user_id = k.created_by_user_id);

-- users: a transaction sees the signed-in user's own row, and (inside an organization) the rows of
-- that organization's members, whom member lists and recipient checks join. Nobody else's.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY own_user ON users
  USING (id = (select nullif(current_setting('app.user_id', true), ''))::uuid)
  WITH CHECK (id = (select nullif(current_setting('app.user_id', true), ''))::uuid);
-- memberships is itself under RLS here, so this reads only the organization that is set.
CREATE POLICY co_members ON users FOR SELECT
  USING (id IN (SELECT m.user_id FROM memberships m
                WHERE m.organization_id = (select nullif(current_setting('app.org_id', true), ''))::uuid));

-- password_hash is never readable by the runtime role: column privileges leave it out, and sign-in
-- reads it through sb_sign_in_lookup below, one address at a time.
REVOKE ALL ON users FROM switchboard_app;
GRANT SELECT (id, email, name, email_verified_at, created_at, updated_at) ON users TO switchboard_app;
GRANT INSERT ON users TO switchboard_app;
GRANT UPDATE (name, password_hash, email_verified_at, updated_at) ON users TO switchboard_app;

-- sessions and user_tokens: only the signed-in user's own rows (the token names the user, see
-- src/modules/auth/crypto.ts, so resolving one needs no cross-account lookup).
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY own_sessions ON sessions
  USING (user_id = (select nullif(current_setting('app.user_id', true), ''))::uuid)
  WITH CHECK (user_id = (select nullif(current_setting('app.user_id', true), ''))::uuid);

ALTER TABLE user_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY own_tokens ON user_tokens
  USING (user_id = (select nullif(current_setting('app.user_id', true), ''))::uuid)
  WITH CHECK (user_id = (select nullif(current_setting('app.user_id', true), ''))::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON user_tokens TO switchboard_app;

-- The one way to an account by address (sign-in, password reset): the id and hash of exactly the
-- address asked for. SECURITY DEFINER runs as the owner, past RLS; the fixed search_path keeps a
-- caller's objects out of it, and only the runtime role may call it.
CREATE FUNCTION sb_sign_in_lookup(p_email text)
RETURNS TABLE (id uuid, email text, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT u.id, u.email, u.password_hash FROM public.users u WHERE lower(u.email) = lower(p_email)
$$;
REVOKE ALL ON FUNCTION sb_sign_in_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sb_sign_in_lookup(text) TO switchboard_app;
