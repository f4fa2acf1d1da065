-- totp-enroll schema version 1 (SQLite).
-- One row per account: the bytes of EnrollmentRecord::encode() (the secret is sealed,
-- never plaintext) and the optimistic-concurrency version that Store::replace_if checks.
CREATE TABLE totp_enroll_enrollments (
    account    TEXT    NOT NULL PRIMARY KEY,
    version    BIGINT  NOT NULL CHECK (version >= 1),
    record     BLOB    NOT NULL,
    -- Unix seconds of the last write, for operators; the engine never reads it.
    updated_at BIGINT  NOT NULL
) WITHOUT ROWID;
