-- totp-enroll schema version 1 (PostgreSQL).
-- One row per account: the bytes of EnrollmentRecord::encode() (the secret is sealed,
-- never plaintext) and the optimistic-concurrency version that Store::replace_if checks.
CREATE TABLE totp_enroll_enrollments (
    account    TEXT        NOT NULL PRIMARY KEY,
    version    BIGINT      NOT NULL CHECK (version >= 1),
    record     BYTEA       NOT NULL,
    -- Time of the last write, for operators; the engine never reads it.
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
