-- The conversations report reads the inbox itself, so conversations of anonymous widget visitors (who have no
-- customer, hence no customer event) are counted too: created, resolved and CSAT answers per day, each by
-- an index on its own time. A CSAT answer gets its own time (it used to be known only by updated_at).

ALTER TABLE chat_conversations ADD COLUMN csat_answered_at timestamptz;
UPDATE chat_conversations SET csat_answered_at = updated_at WHERE csat_score IS NOT NULL;

CREATE INDEX chat_conversations_created_idx ON chat_conversations (organization_id, created_at);
CREATE INDEX chat_conversations_resolved_idx ON chat_conversations (organization_id, resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX chat_conversations_csat_idx ON chat_conversations (organization_id, csat_answered_at) WHERE csat_score IS NOT NULL;

-- The click counter (sb_count_email_events) asks, per (message, URL) of a batch, whether it is the first click:
-- an index on exactly that probe. Without it the planner, on a table whose statistics are still those of an
-- empty one (a new deployment's first large campaign), took email_events_click_time_idx (organization only) and
-- read every click of the organization per pair: 50,000 clicks in one statement ran over 7 minutes (stopped);
-- with it, 2.9 s.
CREATE INDEX email_events_click_url_idx ON email_events (organization_id, message_id, url) WHERE type = 'click';
