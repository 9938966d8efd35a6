-- Outbound webhooks (src/modules/webhooks): an organization's endpoints, one delivery per (event,
-- endpoint) and one log row per attempt. Tenant rules as everywhere: organization_id first in keys,
-- composite FKs, every table under sb_tenant_table (0008_cleanup.sql).

-- 0001_schema.sql reserved an empty webhook_endpoints table that nothing ever wrote to; it is replaced
-- by this shape (sealed secrets, rotation overlap, failure streak).
DROP TABLE webhook_endpoints;

CREATE TABLE webhook_endpoints (
  organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  url text NOT NULL,
  -- Event types the endpoint receives, or {'*'} for all of them.
  event_types text[] NOT NULL,
  description text,
  enabled boolean NOT NULL DEFAULT true,
  -- Signing secrets sealed with ENCRYPTION_KEY (src/lib/secret-box.ts), never returned after creation.
  secret_sealed text NOT NULL,
  -- The secret before the last rotation: deliveries carry both signatures until previous_secret_expires_at.
  previous_secret_sealed text,
  previous_secret_expires_at timestamptz,
  -- Failed attempts in a row (any delivery), and since when: the endpoint is disabled past both limits.
  consecutive_failures integer NOT NULL DEFAULT 0,
  failing_since timestamptz,
  disabled_at timestamptz,
  disabled_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id)
);
SELECT sb_tenant_table('webhook_endpoints');

-- pending (waiting for its next attempt) → delivered | failed (retries ran out, or the endpoint went away).
CREATE TABLE webhook_deliveries (
  organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  endpoint_id uuid NOT NULL,
  -- The event's id: the webhook-id header, the same for every endpoint and every retry of the event.
  event_id uuid NOT NULL,
  event_type text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  delivered_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, endpoint_id) REFERENCES webhook_endpoints (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (organization_id, endpoint_id, created_at);
SELECT sb_tenant_table('webhook_deliveries');

-- One row per HTTP attempt: what the endpoint's deliveries log shows.
CREATE TABLE webhook_delivery_attempts (
  organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  endpoint_id uuid NOT NULL,
  delivery_id uuid NOT NULL,
  event_id uuid NOT NULL,
  event_type text NOT NULL,
  attempt integer NOT NULL,
  status_code integer,
  latency_ms integer NOT NULL,
  -- At most 1 KB of the response body.
  response_excerpt text,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, delivery_id) REFERENCES webhook_deliveries (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_delivery_attempts_endpoint_idx ON webhook_delivery_attempts (organization_id, endpoint_id, created_at, id);
CREATE INDEX webhook_delivery_attempts_delivery_idx ON webhook_delivery_attempts (organization_id, delivery_id);
SELECT sb_tenant_table('webhook_delivery_attempts');
