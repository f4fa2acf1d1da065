-- The audit trail now comes from the library's durable outbox, delivered at least once
-- (src/notify.rs): each row names the outbox event it came from, and the UNIQUE index
-- makes a redelivered event add no second row and no second mail
-- (INSERT … ON CONFLICT (event_id) DO NOTHING). Rows written before this migration have
-- no event id (NULLs never conflict).
ALTER TABLE portal_audit ADD COLUMN event_id BIGINT;
-- The request that caused the event (RequestContext): id, client address, user agent.
ALTER TABLE portal_audit ADD COLUMN request_id TEXT;
ALTER TABLE portal_audit ADD COLUMN client TEXT;
ALTER TABLE portal_audit ADD COLUMN user_agent TEXT;
CREATE UNIQUE INDEX portal_audit_by_event ON portal_audit (event_id);

ALTER TABLE portal_mail ADD COLUMN event_id BIGINT;
CREATE UNIQUE INDEX portal_mail_by_event ON portal_mail (event_id);
