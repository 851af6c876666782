-- An application role that cannot rewrite the audit trail (README: "A database role that cannot
-- rewrite the audit trail"; server/approle.py).
--
-- The guard triggers on audit_log stop an UPDATE, DELETE or TRUNCATE, but the table's owner may
-- disable them. So the app may run as a role of its own that owns nothing and may only read
-- audit_log: `muaina grant-app-role ROLE` grants it what the app needs. Such a role still appends
-- through audit_queue, whose deferred trigger calls audit_append: that function now runs as its
-- owner (SECURITY DEFINER), with the search path pinned to the schema audit_log lives in, so that
-- nothing the caller puts on its path stands in for a table or function it names. Run as the owner
-- (the default, and the embedded database) nothing changes.
DO $$
DECLARE
    v_schema name := (SELECT relnamespace::regnamespace::name FROM pg_class WHERE oid = 'audit_log'::regclass);
BEGIN
    EXECUTE format('ALTER FUNCTION audit_append(uuid, text, text, text, text, jsonb, text, bytea, bytea)'
                   ' SECURITY DEFINER SET search_path = %I, pg_temp', v_schema);
END;
$$;

-- Only the owner and the roles granted (grant-app-role) may append; every role may by default.
REVOKE EXECUTE ON FUNCTION audit_append(uuid, text, text, text, text, jsonb, text, bytea, bytea) FROM PUBLIC;

-- The roles grant-app-role has granted, granted again by `muaina migrate` after it adds tables.
CREATE TABLE app_roles (
    role       name PRIMARY KEY,
    granted_at timestamptz NOT NULL DEFAULT now()
);
