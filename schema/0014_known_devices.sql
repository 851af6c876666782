-- Devices an account has signed in from (a "device cookie"): a sign-in that presents one for its own
-- name is counted against that device alone, so guesses at the name from anywhere else cannot lock
-- its owner out of the phone or laptop they always use (server/auth/routes.py, login_limits).
-- Only the SHA-256 of the token is kept; the token itself stays on the device.
CREATE TABLE known_devices (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX known_devices_user_idx ON known_devices (user_id);
