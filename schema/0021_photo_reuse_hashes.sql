-- Photo reuse: a flag that follows the answers, and the centre hash of each new photo kept.

-- The hash of the picture without a tenth on every side (server.photos.pipeline.CENTRE_MARGIN): what a
-- cropped copy uploaded later could be compared with. It is stored, not yet searched: comparing the
-- hashes that find 5%- and 10%-crops made the reuse search about a hundred times slower at two million
-- photos (0.47 s against 4.5 ms, under the lock every upload takes), so it waits for a cheaper way.
-- A mirror image needs nothing stored (its hash is compared with phash). Nullable and without a
-- default, so adding it rewrites nothing; no index until a search uses it.
ALTER TABLE photos ADD COLUMN phash_centre bigint;

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
