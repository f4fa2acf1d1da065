-- totp-enroll schema version 2 (SQLite).
-- The audit outbox: the encoded events of each write (AuditEvent::encode), inserted in the
-- same transaction as the record, until an Outbox delivers and acknowledges them.
-- AUTOINCREMENT: ids only grow and are never reused, even after the newest rows are
-- deleted. A row of totp_enroll_enrollments whose record is empty (X'') is a tombstone
-- (an erased account that keeps its version); no schema change is needed for it.
CREATE TABLE totp_enroll_outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account    TEXT    NOT NULL,
    event      BLOB    NOT NULL,
    -- Unix seconds of the write, for operators; the engine never reads it.
    created_at BIGINT  NOT NULL
);
