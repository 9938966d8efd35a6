-- Billing: the organization's plan and its Stripe customer and subscription state (billing_accounts,
-- one row per organization), usage counters, and per-subscription event ordering (subscriptions).

-- One row per organization. `plan` is the plan subscribed to (or set by an operator); the plan in
-- force also depends on `status` and `grace_until` (a failed payment keeps the paid plan until then,
-- after which its limits fall back to free's: read-time, nothing deleted). The customer count a plan
-- limits is customer_counts.total (0016_scale.sql), kept in the transaction that changes customers.
CREATE TABLE billing_accounts (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  plan text NOT NULL DEFAULT 'free',
  status text NOT NULL DEFAULT 'none'
    CHECK (status IN ('none', 'manual', 'incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'unpaid', 'paused', 'canceled')),
  stripe_customer_id text,
  stripe_subscription_id text,
  current_period_end timestamptz,
  grace_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id)
);
-- A Stripe customer belongs to at most one organization across the platform: Stripe's webhooks name
-- only the customer id, which must lead to one organization. A reviewed exception to
-- "organization_id first in every unique" (test/schema-rules.test.ts).
CREATE UNIQUE INDEX billing_accounts_stripe_customer_key ON billing_accounts (stripe_customer_id) WHERE stripe_customer_id IS NOT NULL;
SELECT sb_tenant_table('billing_accounts');

INSERT INTO billing_accounts (organization_id, plan) SELECT o.id, o.plan FROM organizations o;

-- Messages accepted for sending per organization and calendar month (UTC): a campaign's audience when
-- its send is accepted, and each test send.
CREATE TABLE usage_months (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  month date NOT NULL CHECK (extract(day FROM month) = 1),
  emails integer NOT NULL DEFAULT 0 CHECK (emails >= 0),
  sms integer NOT NULL DEFAULT 0 CHECK (sms >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, month)
);
SELECT sb_tenant_table('usage_months');

-- Stripe does not deliver events in order: each subscription keeps the `created` time of the last
-- event applied to it, and an older event never overwrites newer state.
ALTER TABLE subscriptions ADD COLUMN last_event_at timestamptz;
-- An invoice event can arrive before any event that names the subscription's plan: unknown until one does.
ALTER TABLE subscriptions ALTER COLUMN plan DROP NOT NULL;
ALTER TABLE subscriptions ADD COLUMN cancel_at_period_end boolean NOT NULL DEFAULT false;
