-- The portal's own tables (the library's enrollment table is created by the library).
CREATE TABLE portal_customers (
    login_id            TEXT PRIMARY KEY NOT NULL,
    name                TEXT NOT NULL,
    email               TEXT NOT NULL,
    login_password_hash TEXT NOT NULL,   -- argon2id PHC string
    trade_password_hash TEXT NOT NULL    -- argon2id PHC string
);

CREATE TABLE portal_operators (
    operator_id   TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL          -- argon2id PHC string
);

-- Every engine audit event, without secrets or typed codes.
CREATE TABLE portal_audit (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account TEXT NOT NULL,
    at      BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX portal_audit_by_account ON portal_audit (account, id);

-- The demo's durable mail outbox: what would have been e-mailed (shown at /mail).
CREATE TABLE portal_mail (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account    TEXT NOT NULL,
    to_address TEXT NOT NULL,
    at         BIGINT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL
);
