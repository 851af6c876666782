-- The admin's real user imports sent with an import id (POST /api/v1/users/import, Idempotency-Key),
-- recorded in the transaction that creates their accounts, so that a retry whose first reply was lost
-- (a dropped connection, a timeout, after the server committed) is answered with the same accounts
-- instead of "already exists" for every row (server/auth/importer.py, replay).
--
-- No password is kept here, not even a hash: a retry hands out fresh first passwords for the accounts
-- whose first one is still unused, and tells which are no longer so by the account itself:
-- - issued_at: when the first passwords now valid were set (the import, or its latest retry). An
--   account changed since (updated_at later: a reset, a deactivation, its owner's own password) is in use.
-- - used_ids: the accounts a retry found in use, for good: a later retry moves issued_at past their
--   change, and must still leave them alone.
--
-- A new table: nothing existing is rewritten. One row per import (a few a week); retries are honoured
-- for a day (the importer refuses older ids as expired), the rows are kept as a record of the imports.
CREATE TABLE user_imports (
    id          uuid PRIMARY KEY,
    admin_id    uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    file_sha256 bytea NOT NULL CHECK (octet_length(file_sha256) = 32),
    row_count   integer NOT NULL,
    user_ids    uuid[] NOT NULL DEFAULT '{}',
    used_ids    uuid[] NOT NULL DEFAULT '{}',
    issued_at   timestamptz NOT NULL DEFAULT now()
);
