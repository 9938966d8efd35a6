-- Customer events (issue 13): a Segment-compatible track/identify store, partitioned by month.

-- The organization's own id for a customer (Segment's userId) and the anonymous id a profile was first
-- seen under (anonymousId). A profile made by events alone may have neither email nor phone.
ALTER TABLE customers ADD COLUMN external_id text;
ALTER TABLE customers ADD COLUMN anonymous_id text;
CREATE UNIQUE INDEX customers_external_id_key ON customers (organization_id, external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX customers_anonymous_id_key ON customers (organization_id, anonymous_id) WHERE anonymous_id IS NOT NULL;
ALTER TABLE customers DROP CONSTRAINT customers_check;
ALTER TABLE customers ADD CONSTRAINT customers_identified_check
  CHECK (email IS NOT NULL OR phone IS NOT NULL OR external_id IS NOT NULL OR anonymous_id IS NOT NULL);

-- 0001_schema.sql's placeholder analytics_events (never written or read by any code) makes way for the
-- partitioned table.
DROP TABLE analytics_events;

-- Events, partitioned by month on occurred_at. The partition key must be part of every unique index of
-- a partitioned table, so the primary key is (organization_id, occurred_at, id) and idempotency on the
-- client's messageId lives in analytics_event_ids below (not here, where it would have to include the time).
CREATE TABLE analytics_events (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  occurred_at timestamptz NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  customer_id uuid,
  type text NOT NULL CHECK (type IN ('track', 'identify')),
  name text NOT NULL,
  properties jsonb NOT NULL DEFAULT '{}',
  message_id text NOT NULL,
  source text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'internal')),
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, occurred_at, id),
  -- A deleted customer's events go with them (erasure).
  FOREIGN KEY (organization_id, customer_id) REFERENCES customers (organization_id, id) ON DELETE CASCADE
) PARTITION BY RANGE (occurred_at);
CREATE INDEX analytics_events_customer_idx ON analytics_events (organization_id, customer_id, occurred_at DESC);
CREATE INDEX analytics_events_name_idx ON analytics_events (organization_id, name, occurred_at);
SELECT sb_tenant_table('analytics_events');

-- Events older than the first monthly partition (a historical import) land here. Newer months always have
-- their own partition before an event can reach them (ingestion accepts at most a day into the future, and
-- sb_event_partitions keeps the current month and the next ones created), so this never holds rows of a
-- month that gets a partition later; sb_event_partitions moves them out if it ever does.
CREATE TABLE analytics_events_default PARTITION OF analytics_events DEFAULT;

-- Idempotency: one row per (organization, messageId) ever accepted. An unpartitioned table, so the
-- unique key needs no timestamp: a replay with another timestamp is still recognised.
CREATE TABLE analytics_event_ids (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  -- A row id like every tenant table's (isolation tests address rows by it); the key is the messageId.
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  message_id text NOT NULL,
  occurred_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, message_id)
);
SELECT sb_tenant_table('analytics_event_ids');

-- sb_event_partitions(ahead): makes sure analytics_events has a partition for the current month and the
-- `ahead` months after it (analytics_events_YYYYMM). Idempotent; serialised by an advisory lock. Rows of a
-- new month found in the default partition are moved into it. Runs as the owner (migrations, the worker's
-- partition upkeep through withSystem('event-partitions')); the runtime role may not call it.
CREATE FUNCTION sb_event_partitions(ahead integer) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
  m date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
  lo timestamptz;
  hi timestamptz;
  part text;
  made integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(727275);
  FOR i IN 0..ahead LOOP
    lo := ((m + make_interval(months => i))::timestamp AT TIME ZONE 'UTC');
    hi := ((m + make_interval(months => i + 1))::timestamp AT TIME ZONE 'UTC');
    part := 'analytics_events_' || to_char(m + make_interval(months => i), 'YYYYMM');
    CONTINUE WHEN to_regclass('public.' || part) IS NOT NULL;
    IF EXISTS (SELECT 1 FROM analytics_events_default WHERE occurred_at >= lo AND occurred_at < hi) THEN
      EXECUTE format('CREATE TABLE public.%I (LIKE analytics_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
      EXECUTE format('WITH moved AS (DELETE FROM analytics_events_default WHERE occurred_at >= %L AND occurred_at < %L RETURNING *) INSERT INTO public.%I SELECT * FROM moved', lo, hi, part);
      EXECUTE format('ALTER TABLE analytics_events ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
    ELSE
      EXECUTE format('CREATE TABLE public.%I PARTITION OF analytics_events FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
    END IF;
    made := made + 1;
  END LOOP;
  RETURN made;
END
$$;
REVOKE ALL ON FUNCTION sb_event_partitions(integer) FROM PUBLIC;
SELECT sb_event_partitions(2);

-- Segments: a saved condition tree over customer fields, tags, attributes, consent and events
-- (validated by the API on save; compiled to parameterised SQL when counted).
CREATE TABLE segments (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL,
  condition jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id)
);
CREATE INDEX segments_list_idx ON segments (organization_id, created_at DESC, id DESC);
SELECT sb_tenant_table('segments');
