-- A visit whose GPS fix is the station's recorded position to the centimetre (distance_m under 0.01 m,
-- server/inspections/rules.py EXACT_STATION_FIX_M): a phone's fix jitters by metres and practically
-- never lands within a centimetre of a surveyed point, while a fake-GPS app set to the coordinates the
-- phone's offline bundle carries lands exactly there. It shows "0 m" and used to pass as presence; it
-- is now the reviewer's flag `location_exact`. No column of its own: distance_m is stored for every
-- inspection with a fix and a station position, so older inspections are flagged too, with no rewrite.

-- The flagged list (server/review/queries.py _FLAGGED) with the exact fix: its predicate is the list's
-- condition word for word. Built with one read of the table; the index it replaces is dropped.
DROP INDEX inspections_flagged_timing_idx;
CREATE INDEX inspections_flagged_exact_idx ON inspections (submitted_at DESC, id)
    WHERE status <> 'draft' AND (far_from_station OR critical_failed OR reused_photos > 0 OR photos_far > 0
                                 OR photos_off_time > 0 OR photos_unproven > 0 OR location_imprecise
                                 OR too_fast OR overlaps_other OR distance_m < 0.01);
