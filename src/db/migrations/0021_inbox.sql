-- The conversations inbox (issue 11): inboxes (a web widget's site token, the identity secret
-- organizations sign their customers with, business hours, CSAT, the Inbound Parse secret),
-- conversations on the web widget, SMS and email, their messages, canned responses, teams and agents'
-- availability. 0001_schema.sql's placeholder chat tables (never written or read by any code) make way.
DROP TABLE chat_messages;
DROP TABLE chat_conversations;

-- site_token: public (it sits in the organization's pages) and names its organization
-- (`<organization id>.<random>`), so the widget's calls find their tenant without a cross-organization
-- read. The identity secret and the Inbound Parse secret are sealed (ENCRYPTION_KEY, bound to the row);
-- the Inbound Parse secret's SHA-256 finds the inbox, and is then compared in constant time.
CREATE TABLE chat_inboxes (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL,
  greeting text NOT NULL DEFAULT '',
  site_token text NOT NULL,
  identity_secret_encrypted text NOT NULL,
  email_secret_hash text NOT NULL,
  email_secret_encrypted text NOT NULL,
  -- {timezone, days: {mon: [{start: '09:00', end: '17:00'}], ...}} or null (always open).
  business_hours jsonb,
  out_of_hours_reply text NOT NULL DEFAULT '',
  csat_enabled boolean NOT NULL DEFAULT true,
  -- Origins (https://shop.example) whose pages may call the widget API with this token; empty: any.
  allowed_origins text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  CONSTRAINT chat_inboxes_site_token_key UNIQUE (organization_id, site_token),
  CONSTRAINT chat_inboxes_email_secret_key UNIQUE (organization_id, email_secret_hash)
);
CREATE INDEX chat_inboxes_list_idx ON chat_inboxes (organization_id, created_at DESC, id DESC);
SELECT sb_tenant_table('chat_inboxes');

CREATE TABLE chat_teams (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id)
);
SELECT sb_tenant_table('chat_teams');

CREATE TABLE chat_team_members (
  organization_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  team_id uuid NOT NULL,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  PRIMARY KEY (organization_id, id),
  CONSTRAINT chat_team_members_key UNIQUE (organization_id, team_id, user_id),
  FOREIGN KEY (organization_id, team_id) REFERENCES chat_teams (organization_id, id) ON DELETE CASCADE
);
SELECT sb_tenant_table('chat_team_members');

-- An agent's availability and the round-robin state: the next conversation goes to the available agent
-- (of the organization, or of the team) assigned least recently. No row: available, never assigned.
CREATE TABLE chat_agents (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  available boolean NOT NULL DEFAULT true,
  last_assigned_at timestamptz,
  PRIMARY KEY (organization_id, id),
  CONSTRAINT chat_agents_user_key UNIQUE (organization_id, user_id)
);
SELECT sb_tenant_table('chat_agents');

CREATE TABLE chat_canned_responses (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  shortcut text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  CONSTRAINT chat_canned_responses_shortcut_key UNIQUE (organization_id, shortcut)
);
SELECT sb_tenant_table('chat_canned_responses');

-- A widget visitor: anonymous (a signed cookie names this row), or a known customer once the
-- organization's server signed their id or email (HMAC identity verification).
CREATE TABLE chat_visitors (
  organization_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  inbox_id uuid NOT NULL,
  customer_id uuid,
  name text,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, inbox_id) REFERENCES chat_inboxes (organization_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organization_id, customer_id) REFERENCES customers (organization_id, id) ON DELETE SET NULL (customer_id)
);
SELECT sb_tenant_table('chat_visitors');

CREATE TABLE chat_conversations (
  organization_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  inbox_id uuid,
  channel text NOT NULL CHECK (channel IN ('web', 'sms', 'email')),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'snoozed', 'resolved')),
  snoozed_until timestamptz,
  assignee_id uuid REFERENCES users (id) ON DELETE SET NULL,
  team_id uuid,
  labels text[] NOT NULL DEFAULT '{}',
  customer_id uuid,
  visitor_id uuid,
  visitor_name text,
  -- The customer's phone (sms) or email address (email) replies go to.
  contact_address text,
  subject text,
  last_message_at timestamptz NOT NULL DEFAULT now(),
  last_message_preview text NOT NULL DEFAULT '',
  -- Messages from the customer not yet followed by an agent's reply.
  unread integer NOT NULL DEFAULT 0,
  csat_score integer CHECK (csat_score BETWEEN 1 AND 5),
  csat_comment text,
  -- When the CSAT question went out (on resolve); an SMS answer of 1–5 after it is the score.
  csat_requested_at timestamptz,
  resolved_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, inbox_id) REFERENCES chat_inboxes (organization_id, id) ON DELETE SET NULL (inbox_id),
  FOREIGN KEY (organization_id, team_id) REFERENCES chat_teams (organization_id, id) ON DELETE SET NULL (team_id),
  FOREIGN KEY (organization_id, customer_id) REFERENCES customers (organization_id, id) ON DELETE SET NULL (customer_id),
  FOREIGN KEY (organization_id, visitor_id) REFERENCES chat_visitors (organization_id, id) ON DELETE SET NULL (visitor_id)
);
CREATE INDEX chat_conversations_list_idx ON chat_conversations (organization_id, last_message_at DESC, id DESC);
CREATE INDEX chat_conversations_status_idx ON chat_conversations (organization_id, status, last_message_at DESC);
CREATE INDEX chat_conversations_customer_idx ON chat_conversations (organization_id, customer_id);
CREATE INDEX chat_conversations_visitor_idx ON chat_conversations (organization_id, visitor_id);
-- Snoozed conversations reopen when their time comes (the inbox.wake job reads this).
CREATE INDEX chat_conversations_snoozed_idx ON chat_conversations (organization_id, snoozed_until) WHERE status = 'snoozed';
-- One unresolved SMS conversation per customer number: inbound messages thread into it.
CREATE UNIQUE INDEX chat_conversations_open_sms_key ON chat_conversations (organization_id, contact_address)
  WHERE channel = 'sms' AND status <> 'resolved';
SELECT sb_tenant_table('chat_conversations');

CREATE TABLE chat_messages (
  organization_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  conversation_id uuid NOT NULL,
  direction text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  -- A private note: shown to agents only, never sent, never in the widget.
  private boolean NOT NULL DEFAULT false,
  author_type text NOT NULL CHECK (author_type IN ('customer', 'agent', 'system')),
  author_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  body text NOT NULL,
  -- Outbound on sms/email: pending → sent (the provider took it) → delivered, or failed with the error.
  delivery_status text CHECK (delivery_status IN ('pending', 'sent', 'delivered', 'failed')),
  delivery_error text,
  provider_message_id text,
  -- Email: this message's Message-ID (ours when outbound, the sender's when inbound), for threading.
  email_message_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, conversation_id) REFERENCES chat_conversations (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX chat_messages_conversation_idx ON chat_messages (organization_id, conversation_id, created_at, id);
-- SendGrid retries a post it got no 2xx for: one row per Message-ID.
CREATE UNIQUE INDEX chat_messages_email_id_key ON chat_messages (organization_id, email_message_id) WHERE email_message_id IS NOT NULL;
CREATE INDEX chat_messages_provider_idx ON chat_messages (organization_id, provider_message_id) WHERE provider_message_id IS NOT NULL;
SELECT sb_tenant_table('chat_messages');
