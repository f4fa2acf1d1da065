-- totp-enroll schema version 3 (SQLite).
-- A write with audit events is ONE statement: the INSERT or conditional UPDATE of the
-- record also sets `events` to the batch (a JSON array of the events' bytes in lowercase
-- hex, in order), and a trigger on the row moves the batch into totp_enroll_outbox (one
-- row per event, ids increasing in array order) and clears the column. SQLite runs a
-- statement and its triggers atomically: the record and its events are written together
-- or not at all (a bad batch, e.g. invalid hex, makes `event` NULL and aborts the whole
-- statement), and a statement that changes no row (a version conflict) fires nothing.
-- `events` is NULL outside a write; writes without events never set it.
ALTER TABLE totp_enroll_enrollments ADD COLUMN events TEXT;

CREATE TRIGGER totp_enroll_enrollments_events_on_insert
AFTER INSERT ON totp_enroll_enrollments
WHEN NEW.events IS NOT NULL
BEGIN
    INSERT INTO totp_enroll_outbox (account, event, created_at)
        SELECT NEW.account, unhex(value), CAST(strftime('%s', 'now') AS INTEGER)
        FROM json_each(NEW.events) ORDER BY key;
    UPDATE totp_enroll_enrollments SET events = NULL WHERE account = NEW.account;
END;

CREATE TRIGGER totp_enroll_enrollments_events_on_update
AFTER UPDATE OF events ON totp_enroll_enrollments
WHEN NEW.events IS NOT NULL
BEGIN
    INSERT INTO totp_enroll_outbox (account, event, created_at)
        SELECT NEW.account, unhex(value), CAST(strftime('%s', 'now') AS INTEGER)
        FROM json_each(NEW.events) ORDER BY key;
    UPDATE totp_enroll_enrollments SET events = NULL WHERE account = NEW.account;
END;
