-- Inspection sync: rejected bodies kept, a commit-ordered sync cursor, and indexes for the lists.

-- A body refused with 409 (stale base revision, or an inspection that is read-only to its inspector)
-- is kept here with who sent it, so a second device's work is never silently lost: reviewers see it
-- in the inspection's history next to the revisions. The same body sent again is kept once.
CREATE TABLE sync_conflicts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inspection_id   uuid NOT NULL REFERENCES inspections (id),
    reason          text NOT NULL CHECK (reason IN ('stale', 'read_only')),
    base_revision   integer NOT NULL,
    server_revision integer NOT NULL,
    body_hash       bytea NOT NULL,
    document        jsonb NOT NULL,
    actor_id        uuid REFERENCES users (id),
    at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (inspection_id, body_hash)
);

CREATE TRIGGER sync_conflicts_immutable BEFORE UPDATE OR DELETE ON sync_conflicts
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The sync cursor --------------------------------------------------------------------------------
--
-- A phone asks for "everything changed after cursor N". A plain sequence is not enough for that:
-- transaction A can take change_seq 100, transaction B take 101 and commit first, and a bundle read
-- in between hands out cursor 101, so A's row (100) is never delivered. Every write to a synced
-- table therefore stamps its row through sync_state: the UPDATE of that single row holds its lock
-- until the writer commits, so stamps are handed out in commit order and a reader that sees stamp
-- N has seen every stamp below it. These tables are written at an administrator's pace (stations,
-- templates, assignments), so serialising their writers costs nothing that matters. The same row
-- is the cheap ETag source: one primary-key read tells whether anything synced has changed.
CREATE TABLE sync_state (
    id  boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq bigint NOT NULL
);
INSERT INTO sync_state (seq) SELECT last_value FROM change_seq;

CREATE FUNCTION sync_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sync_state SET seq = nextval('change_seq') RETURNING seq INTO NEW.change_seq;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION sync_stamp() IS
    'BEFORE INSERT OR UPDATE trigger for any table the offline bundle delivers: sets change_seq in commit order.';

-- Archiving a template must reach phones as a removal, so templates carry a stamp too. Only a
-- change of archived_at stamps it: editing the draft changes nothing a phone holds.
ALTER TABLE templates ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX templates_change_idx ON templates (change_seq);

CREATE TRIGGER stations_sync_stamp BEFORE INSERT OR UPDATE ON stations
    FOR EACH ROW EXECUTE FUNCTION sync_stamp();
CREATE TRIGGER assignments_sync_stamp BEFORE INSERT OR UPDATE ON assignments
    FOR EACH ROW EXECUTE FUNCTION sync_stamp();
CREATE TRIGGER template_versions_sync_stamp BEFORE INSERT ON template_versions
    FOR EACH ROW EXECUTE FUNCTION sync_stamp();
CREATE TRIGGER templates_sync_stamp_insert BEFORE INSERT ON templates
    FOR EACH ROW EXECUTE FUNCTION sync_stamp();
CREATE TRIGGER templates_sync_stamp_archive BEFORE UPDATE ON templates
    FOR EACH ROW WHEN (OLD.archived_at IS DISTINCT FROM NEW.archived_at) EXECUTE FUNCTION sync_stamp();

-- Inspections: lists and the bundle ----------------------------------------------------------------

-- Lists are newest first with keyset pagination on (created_at, id), overall and per station.
CREATE INDEX inspections_created_idx ON inspections (created_at, id);
CREATE INDEX inspections_station_created_idx ON inspections (station_id, created_at, id);
-- The bundle's ETag reads an inspector's returned inspections on every revalidation.
CREATE INDEX inspections_returned_idx ON inspections (inspector_id) WHERE status = 'returned';
CREATE INDEX inspections_open_idx ON inspections (inspector_id) WHERE status IN ('draft', 'returned');

COMMENT ON COLUMN answers.score IS 'the item score in [0, 1] from the scoring engine; NULL when left out of the arithmetic';
COMMENT ON COLUMN answers.max IS 'the item weight when scored, else 0 (score * max is the weighted contribution)';
COMMENT ON COLUMN inspections.photos_missing IS 'referenced photo ids not yet stored; kept by inspections.queries.refresh_missing_photos';
