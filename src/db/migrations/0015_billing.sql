-- Billing: the organization's plan and its Stripe customer and subscription state (billing_accounts,
-- one row per organization), usage counters, and per-subscription event ordering (subscriptions).

-- One row per organization. `plan` is the plan subscribed to (or set by an operator); the plan in
-- force also depends on `status` and `grace_until` (a failed payment keeps the paid plan until then,
-- after which its limits fall back to free's: read-time, nothing deleted). `customers_count` is kept
-- by the statement-level triggers below, in the transaction that changes customers.
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
  customers_count bigint NOT NULL DEFAULT 0 CHECK (customers_count >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id)
);
-- A Stripe customer belongs to at most one organization across the platform: Stripe's webhooks name
-- only the customer id, which must lead to one organization. A reviewed exception to
-- "organization_id first in every unique" (test/schema-rules.test.ts).
CREATE UNIQUE INDEX billing_accounts_stripe_customer_key ON billing_accounts (stripe_customer_id) WHERE stripe_customer_id IS NOT NULL;
SELECT sb_tenant_table('billing_accounts');

INSERT INTO billing_accounts (organization_id, plan, customers_count)
SELECT o.id, o.plan, (SELECT count(*) FROM customers c WHERE c.organization_id = o.id) FROM organizations o;

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

-- The customer count, per statement (a 20,000-row import is one update per batch, not one per row).
-- The runtime role runs them under its own RLS scope: the rows are the organization's own.
CREATE FUNCTION sb_customers_counted_in() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
  INSERT INTO billing_accounts (organization_id, customers_count)
  SELECT organization_id, count(*) FROM added GROUP BY organization_id
  ON CONFLICT (organization_id) DO UPDATE SET customers_count = billing_accounts.customers_count + excluded.customers_count;
  RETURN NULL;
END
$$;
CREATE FUNCTION sb_customers_counted_out() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
  UPDATE billing_accounts b SET customers_count = greatest(b.customers_count - d.n, 0)
  FROM (SELECT organization_id, count(*) AS n FROM removed GROUP BY organization_id) d
  WHERE b.organization_id = d.organization_id;
  RETURN NULL;
END
$$;
CREATE TRIGGER customers_count_in AFTER INSERT ON customers REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION sb_customers_counted_in();
CREATE TRIGGER customers_count_out AFTER DELETE ON customers REFERENCING OLD TABLE AS removed
  FOR EACH STATEMENT EXECUTE FUNCTION sb_customers_counted_out();

-- Stripe does not deliver events in order: each subscription keeps the `created` time of the last
-- event applied to it, and an older event never overwrites newer state.
ALTER TABLE subscriptions ADD COLUMN last_event_at timestamptz;
-- An invoice event can arrive before any event that names the subscription's plan: unknown until one does.
ALTER TABLE subscriptions ALTER COLUMN plan DROP NOT NULL;
ALTER TABLE subscriptions ADD COLUMN cancel_at_period_end boolean NOT NULL DEFAULT false;
