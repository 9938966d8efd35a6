-- Shopify: a connected store (in integrations, provider 'shopify', external_id = the shop's
-- myshopify.com domain), customers linked by their Shopify id, orders, customer syncs and the
-- exports that customers/data_request webhooks produce.

-- A shop is connected to at most one organization: its webhooks name only the shop domain
-- (X-Shopify-Shop-Domain), which must lead to one organization. A reviewed exception to
-- "organization_id first in every unique" (test/schema-rules.test.ts).
CREATE UNIQUE INDEX integrations_shopify_shop_key ON integrations (external_id) WHERE provider = 'shopify';

-- The customer's id in the organization's Shopify store (numeric, as text): the key a sync and the
-- customers/* webhooks upsert on before falling back to email and phone.
ALTER TABLE customers ADD COLUMN shopify_customer_id text;
CREATE UNIQUE INDEX customers_shopify_id_key ON customers (organization_id, shopify_customer_id) WHERE shopify_customer_id IS NOT NULL;

-- Orders from the store (orders/create), linked to the customer by Shopify customer id or email.
CREATE TABLE orders (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  shopify_order_id text NOT NULL,
  customer_id uuid,
  shopify_customer_id text,
  number text,
  total numeric(14, 2) NOT NULL DEFAULT 0,
  currency text NOT NULL DEFAULT 'USD',
  items_count integer NOT NULL DEFAULT 0 CHECK (items_count >= 0),
  ordered_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  CONSTRAINT orders_shopify_order_key UNIQUE (organization_id, shopify_order_id),
  FOREIGN KEY (organization_id, customer_id) REFERENCES customers (organization_id, id) ON DELETE SET NULL (customer_id)
);
CREATE INDEX orders_customer_idx ON orders (organization_id, customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX orders_list_idx ON orders (organization_id, created_at DESC, id DESC);
SELECT sb_tenant_table('orders');

-- One customer sync from the store: progress, and the GraphQL cursor after the last page applied
-- (a sync that stops resumes after it).
CREATE TABLE shopify_syncs (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  cursor text,
  pages integer NOT NULL DEFAULT 0,
  customers_seen integer NOT NULL DEFAULT 0,
  customers_created integer NOT NULL DEFAULT 0,
  customers_updated integer NOT NULL DEFAULT 0,
  throttled integer NOT NULL DEFAULT 0,
  error text,
  started_at timestamptz,
  finished_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id)
);
CREATE INDEX shopify_syncs_list_idx ON shopify_syncs (organization_id, created_at DESC, id DESC);
SELECT sb_tenant_table('shopify_syncs');

-- What a customers/data_request webhook asked for and the export produced for the shop owner.
CREATE TABLE shopify_data_requests (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  shop text NOT NULL,
  shopify_request_id text,
  shopify_customer_id text,
  email text,
  export jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id)
);
CREATE INDEX shopify_data_requests_list_idx ON shopify_data_requests (organization_id, created_at DESC, id DESC);
SELECT sb_tenant_table('shopify_data_requests');
