-- Whether an inspection's photos back its visit (server/review/evidence.py): how many of the photos its
-- current answers name were taken farther from the station than the presence radius, at a time outside
-- the visit (an hour of slack either side) or in the future, or with neither a position nor a time; and
-- whether its own GPS fix was too imprecise to show presence at all. The queue and the flagged list read
-- them without joining photos.
--
-- Nullable and without a default, so adding them rewrites nothing on a large table: null means "not yet
-- judged". An inspection is judged when it is next submitted or receives a photo; older ones stay null
-- (shown without these flags) rather than be backfilled here, which would update every row.
-- Derived columns, like far_from_station and reused_photos: not part of the record check
-- (server/audit/records.py), since a photo arriving changes them without making a revision.
ALTER TABLE inspections
    ADD COLUMN photos_far integer,
    ADD COLUMN photos_off_time integer,
    ADD COLUMN photos_unproven integer,
    ADD COLUMN location_imprecise boolean;

-- The flagged list (server/review/queries.py _FLAGGED) with the new flags: a small subset, newest first.
-- Its predicate is the list's condition word for word, so the planner can use it. Built once over the
-- table (a read, no rewrite); the older inspections_flagged_idx stays for anything that still asks it.
CREATE INDEX inspections_flagged_evidence_idx ON inspections (submitted_at DESC, id)
    WHERE status <> 'draft' AND (far_from_station OR critical_failed OR reused_photos > 0 OR photos_far > 0
                                 OR photos_off_time > 0 OR photos_unproven > 0 OR location_imprecise);
