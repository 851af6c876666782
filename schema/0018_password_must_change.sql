-- Whether the account's password was set by someone other than its owner, who is asked to choose
-- their own at the next sign-in (the PWA's password screen). An admin who creates an account, resets
-- another person's password or imports accounts from a file knows the password, and an imported
-- one travels in a downloaded file: the flag is set then (server/auth/routes.py, importer.py) and
-- cleared when the owner changes it (POST /api/v1/auth/password).
--
-- Existing accounts are left as they are (false): nothing says who set their passwords, and asking
-- every user of a running installation at once would be a surprise. A column with a constant default
-- is only a catalogue change since PostgreSQL 11: no table rewrite, instant on any number of users.
ALTER TABLE users ADD COLUMN password_must_change boolean NOT NULL DEFAULT false;
