-- The audit append moves to commit time, so the chain's lock is held for microseconds.
--
-- 0006 made the append one call of audit_append, but the lock it takes is held until the caller's
-- transaction commits, and between the two lay a round trip to the app and the wait for the app's
-- event loop to send COMMIT: under load, every other writer queued behind that. Now audit.record
-- only queues the row here, and a deferred constraint trigger appends it (audit_append: lock, head,
-- seq, time, hash) while the transaction commits, after its last statement: nothing but the commit
-- itself happens under the lock. Rows a transaction records are appended in the order recorded,
-- and the chain follows commit order. The queue is unlogged and every row leaves it in the
-- transaction that wrote it, so it never holds anything at rest, even after a crash.
CREATE UNLOGGED TABLE audit_queue (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id  uuid,
    actor     text,
    action    text NOT NULL,
    entity    text,
    entity_id text,
    data      jsonb NOT NULL,
    ip        text,
    head      bytea NOT NULL,
    tail      bytea NOT NULL
);

CREATE FUNCTION audit_queue_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM audit_append(NEW.actor_id, NEW.actor, NEW.action, NEW.entity, NEW.entity_id, NEW.data, NEW.ip,
                         NEW.head, NEW.tail);
    DELETE FROM audit_queue WHERE id = NEW.id;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER audit_queue_at_commit AFTER INSERT ON audit_queue
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_queue_append();
