-- Reports, second part (issue 13): the conversation volume and CSAT kind, revenue attributed from Shopify
-- orders within a report's attribution window, and the indexes the reports and the SMS message list read by.

ALTER TABLE reports DROP CONSTRAINT reports_kind_check;
ALTER TABLE reports ADD CONSTRAINT reports_kind_check
  CHECK (kind IN ('campaign_performance', 'customer_growth', 'messages_by_channel', 'conversations'));
-- Revenue of an order counts to the campaign whose link its customer clicked last within this many days before it.
ALTER TABLE reports ADD COLUMN attribution_days integer NOT NULL DEFAULT 7 CHECK (attribution_days BETWEEN 1 AND 90);

-- Revenue attribution starts from the email clicks in the range (widened by the window), then finds the clicking
-- customers' orders (orders_customer_idx); customer growth counts unsubscribes per day.
CREATE INDEX email_events_click_time_idx ON email_events (organization_id, occurred_at) WHERE type = 'click';
CREATE INDEX orders_ordered_idx ON orders (organization_id, ordered_at) WHERE customer_id IS NOT NULL;
CREATE INDEX customers_unsubscribed_idx ON customers (organization_id, unsubscribed_at) WHERE unsubscribed_at IS NOT NULL;

-- GET /api/sms/campaigns/:id/messages: a campaign's messages oldest first (keyset on created_at, id), with
-- or without a status filter.
CREATE INDEX sms_messages_campaign_list_idx ON sms_messages (organization_id, campaign_id, created_at, id);
CREATE INDEX sms_messages_campaign_status_idx ON sms_messages (organization_id, campaign_id, status, created_at, id);
