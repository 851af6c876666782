-- The write path: the audit append in one round trip, and sync stamps in constant time per row.

-- Audit append ------------------------------------------------------------------------------------
--
-- audit.record used to take the chain lock, read the head, take a seq and insert: four round trips,
-- all inside the lock, which is held until the caller commits. Under concurrent submissions every
-- one of those round trips (and the event-loop wait before each) was time that other writers spent
-- queued behind the lock. Here the whole append is one call: the lock, the head, the seq, the time
-- and the hash are all taken in the database.
--
-- The row's hash is SHA-256(previous hash || canonical content), the content being the row as
-- sorted-key JSON (server/audit/queries.py canonical, which verify() recomputes). The caller sends
-- that JSON in two pieces around the two values only the database knows: `head` ends with "at":" and
-- `tail` starts with the closing quote of the time and ends with "seq": (seq sorts last among the
-- keys). The time is written as Python's isoformat gives it for UTC, to the microsecond.
CREATE FUNCTION audit_append(p_actor_id uuid, p_actor text, p_action text, p_entity text, p_entity_id text,
                             p_data jsonb, p_ip text, p_head bytea, p_tail bytea)
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_prev bytea;
    v_seq  bigint;
    v_at   timestamptz;
BEGIN
    -- The same transaction-level lock as before (0x61756469, "audi"): held until commit, so the
    -- chain never forks and seq follows the chain.
    PERFORM pg_advisory_xact_lock(1635083369);
    SELECT hash INTO v_prev FROM audit_log ORDER BY seq DESC LIMIT 1;
    v_prev := coalesce(v_prev, decode(repeat('00', 32), 'hex'));
    v_seq := nextval(pg_get_serial_sequence('audit_log', 'seq'));
    -- Taken under the lock, so times follow seq order.
    v_at := clock_timestamp();
    INSERT INTO audit_log (seq, at, actor_id, actor, action, entity, entity_id, data, ip, prev_hash, hash)
    OVERRIDING SYSTEM VALUE
    VALUES (v_seq, v_at, p_actor_id, p_actor, p_action, p_entity, p_entity_id, p_data, p_ip, v_prev,
            sha256(v_prev || p_head
                   || convert_to(to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00', 'UTF8')
                   || p_tail || convert_to(v_seq::text || '}', 'UTF8')));
    RETURN v_seq;
END;
$$;

COMMENT ON FUNCTION audit_append(uuid, text, text, text, text, jsonb, text, bytea, bytea) IS
    'Append one hash-chained audit row inside the caller''s transaction; see server/audit/queries.py record.';

-- Sync stamps -------------------------------------------------------------------------------------
--
-- sync_stamp (0003) updated the single sync_state row once per stamped row. Every UPDATE of a row
-- leaves a new version of it that nobody can prune before the transaction ends, and each lookup of
-- the row walks all of them, so a transaction stamping n rows did O(n^2) work: a 20,000-station
-- import spent seconds in the trigger.
--
-- Now a transaction updates sync_state once, at its first stamp, and every row it stamps carries
-- that one value (remembered in a transaction-local setting). The guarantee the cursor relies on is
-- unchanged: the first stamp takes sync_state's row lock and holds it until commit, so stamps are
-- still handed out in commit order, a reader that sees stamp N has seen every row stamped N or below,
-- and sync_state.seq is still the newest committed stamp (the ETag's input). Rows of one transaction
-- sharing a stamp is harmless to "changed after cursor N" reads: they commit together and are
-- delivered together. A savepoint rolled back undoes its set_config along with its UPDATE, so a
-- stamp whose UPDATE was rolled back is never reused.
CREATE OR REPLACE FUNCTION sync_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_stamp text := current_setting('muaina.sync_stamp', true);
BEGIN
    IF v_stamp IS NULL OR v_stamp = '' THEN
        UPDATE sync_state SET seq = nextval('change_seq') RETURNING seq INTO NEW.change_seq;
        PERFORM set_config('muaina.sync_stamp', NEW.change_seq::text, true);
    ELSE
        NEW.change_seq := v_stamp::bigint;
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION sync_stamp() IS
    'BEFORE INSERT OR UPDATE trigger for any table the offline bundle delivers: sets change_seq in commit order, one stamp per transaction.';
