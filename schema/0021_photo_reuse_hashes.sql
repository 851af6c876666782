-- Photo reuse: seeing through a phone gallery's one-tap edits, and a flag that follows the answers.

-- A crop moves every pixel, so the whole picture's hash of a copy cut 5% off every side, or 10% off
-- one side, lands far from its source's. The hash of the picture without a tenth on every side
-- (server.photos.pipeline.CENTRE_MARGIN) is what such a copy uploaded later is compared with (a
-- mirror image, and a source uploaded after its crop, need nothing stored: see pipeline.reuse_hashes).
-- Nullable and without a default, so adding it rewrites nothing: photos stored before this migration
-- have none and are matched on their whole-picture hash only (a mirror image of one, or the source
-- of a crop of it, is still found; a crop of one uploaded now is not).
ALTER TABLE photos ADD COLUMN phash_centre bigint;

-- Searched through four 16-bit bands, as phash is (0004_photos.sql). Expression indexes rather than
-- generated columns, which would rewrite the table; built with one read of it. Not partial, although
-- older rows index only a null: the planner estimates a condition from the statistics of a full
-- expression index but not of a partial one, and on a large table chose a scan of every photo
-- instead. The queries use these very expressions (server/photos/queries.py, _CENTRE_BANDS).
CREATE INDEX photos_phash_centre_band0_idx ON photos (((phash_centre >> 48) & 65535));
CREATE INDEX photos_phash_centre_band1_idx ON photos (((phash_centre >> 32) & 65535));
CREATE INDEX photos_phash_centre_band2_idx ON photos (((phash_centre >> 16) & 65535));
CREATE INDEX photos_phash_centre_band3_idx ON photos ((phash_centre & 65535));

-- How many photos of the inspection that its current answers name also appear in another inspection.
-- A photo no answer names (taken and then removed, or never placed) is not evidence the reviewer can
-- find, so it no longer raises the queue's "reused" flag. One definition, used by the photo upload
-- (server.photos.queries.recount_reused) and by the trigger below.
CREATE FUNCTION reused_photo_count(inspection uuid) RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT count(DISTINCT ref)::integer
      FROM answers a, unnest(a.photo_ids) AS ref
     WHERE a.inspection_id = inspection
       AND EXISTS (SELECT 1 FROM photos p JOIN photo_reuse r ON r.photo_id = p.id
                    WHERE p.id = ref AND p.inspection_id = inspection)
$$;

-- Answers are what change when an inspection is saved again (a photo dropped from an answer, an item
-- no longer answered): once per statement, each inspection whose answers it touched is recounted, and
-- written only if its count changed. The inspection write path holds the inspection's row lock by then.
CREATE FUNCTION answers_recount_reused() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE inspections i
       SET reused_photos = c.n
      FROM (SELECT x.id, reused_photo_count(x.id) AS n
              FROM (SELECT DISTINCT inspection_id FROM changed) AS x (id)) AS c
     WHERE i.id = c.id AND i.reused_photos <> c.n;
    RETURN NULL;
END $$;
CREATE TRIGGER answers_reused_insert AFTER INSERT ON answers
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION answers_recount_reused();
CREATE TRIGGER answers_reused_update AFTER UPDATE ON answers
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION answers_recount_reused();
CREATE TRIGGER answers_reused_delete AFTER DELETE ON answers
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION answers_recount_reused();

-- The flags raised before this migration by photos no answer names. Only inspections holding a
-- reused photo can be wrong, and photo_reuse names them: no scan of all inspections.
UPDATE inspections i
   SET reused_photos = reused_photo_count(i.id)
 WHERE i.id IN (SELECT p.inspection_id FROM photo_reuse r JOIN photos p ON p.id = r.photo_id)
   AND i.reused_photos <> reused_photo_count(i.id);
