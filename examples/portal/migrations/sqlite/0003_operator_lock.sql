-- The support desk's operators log in with a password AND a one-time password of the
-- desk's own engine (their accounts `desk:<operator>` in the library's table). Their
-- consecutive failures of either factor are counted here, atomically
-- (UPDATE … SET failures = failures + 1 … RETURNING), and the fifth locks the operator
-- (`locked_at`, Unix seconds) until another operator unlocks it; a complete login clears
-- them.
ALTER TABLE portal_operators ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE portal_operators ADD COLUMN locked_at BIGINT;
