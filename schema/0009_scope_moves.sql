-- A station that leaves a user's scope: its district changed, or its district's region did.
--
-- A bundle delta is read in the user's current scope, so such a station is never in it, not even as a
-- removal, and the phone would go on offering it for new inspections that the server then refuses.
-- These moves are an administrator's rare reorganisation, so each one simply counts in
-- sync_state.moves, which the bundle cursor carries (server/sync/rules.py): after a move every
-- phone's next bundle is a full one, which holds exactly what its user now sees. A statement-level
-- trigger counts a statement once, however many stations it moves (a whole circle, an import).
ALTER TABLE sync_state ADD COLUMN moves bigint NOT NULL DEFAULT 0;

CREATE FUNCTION count_scope_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'stations' THEN
        PERFORM 1 FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE n.district_id <> o.district_id LIMIT 1;
    ELSE
        PERFORM 1 FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE n.region_id <> o.region_id LIMIT 1;
    END IF;
    IF FOUND THEN
        UPDATE sync_state SET moves = moves + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER stations_scope_move AFTER UPDATE ON stations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_scope_move();
CREATE TRIGGER districts_scope_move AFTER UPDATE ON districts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_scope_move();
