-- totp-enroll schema version 2 (PostgreSQL).
-- The audit outbox: the encoded events of each write (AuditEvent::encode), inserted in the
-- same statement as the record, until an Outbox delivers and acknowledges them. Identity
-- ids only grow and are never reused. A row of totp_enroll_enrollments whose record is
-- empty ('\x') is a tombstone (an erased account that keeps its version).
CREATE TABLE totp_enroll_outbox (
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account    TEXT        NOT NULL,
    event      BYTEA       NOT NULL,
    -- Time of the write, for operators; the engine never reads it.
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Store::list pages through accounts in byte order (COLLATE "C"), whatever the database's
-- default collation; this index serves each page without sorting the table. Built inside
-- the migration's transaction: writes to the enrollments wait until it is built.
CREATE INDEX totp_enroll_enrollments_account_bytes
    ON totp_enroll_enrollments (account COLLATE "C");
