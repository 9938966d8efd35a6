-- Fenced leases (src/jobs/queue.ts). Every claim of a job writes a new lease_id; every later
-- write about the job names it, so a run that stalled past its lease while another run took the
-- job over can no longer renew, finish, retry or fail it.
ALTER TABLE jobs ADD COLUMN lease_id uuid;

-- A campaign's message rows carry the lease of the run that claimed them, until lease_until
-- (renewed with the job). Outcomes are written only by that run; another run takes a row over
-- only once its lease has run out, so a row being sent is never sent a second time by a takeover.
ALTER TABLE email_messages
  ADD COLUMN lease_id uuid,
  ADD COLUMN lease_until timestamptz;
-- Rows a previous version left claimed: their lease ends as that version's (30 s) would have.
UPDATE email_messages SET lease_until = coalesce(claimed_at, now()) + interval '30 seconds' WHERE status = 'sending';
