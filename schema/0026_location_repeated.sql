-- Whether an inspection's GPS fix is exactly the fix of another visit (location_repeated): the same
-- latitude and longitude, to the last digit the phone sent, as another non-draft inspection of any
-- inspector at any station. A real GPS fix jitters by metres from one reading to the next, so two visits
-- seldom share one to the centimetre; a fake-GPS app set to a place near the station (not on it, which
-- location_exact, 0025, already tells) sends the very same coordinates on every visit, and so does a
-- tool replaying one document. The flag is a sign for the reviewer, not proof.
--
-- Only fixes claiming to be precise are judged (precise_fix_m below): a position made from Wi-Fi
-- networks and cell towers repeats exactly for the same networks, honestly, but it says it is good to
-- ten metres or more. A fix with no accuracy or a wider one is left null ("say nothing"), as are older
-- inspections (not backfilled here, which would update every row).
--
-- Nullable and without a default, so adding it rewrites nothing. Derived, like the timing flags: not
-- part of the record check.
ALTER TABLE inspections ADD COLUMN location_repeated boolean;

-- The accuracy (metres) a fix must claim, under it, to be judged. A satellite fix outdoors claims a few
-- metres, and jitters; a network position (Wi-Fi access points, cell towers) claims 10 m and more, and
-- repeats exactly, honestly, for the same access points; a fake-GPS app claims a few metres. Phones
-- round the accuracy to whole metres (pwa/js/geo.js), so 8 judges fixes claiming 7 m or better and
-- leaves an honest Wi-Fi position at 10 to 14 m alone. The one place this number is written
-- (repeated_fix_partners and the trigger below read it; server/review/evidence.py calls the former).
CREATE FUNCTION precise_fix_m() RETURNS double precision LANGUAGE sql IMMUTABLE AS $$ SELECT 8.0::float8 $$;

-- The other non-draft inspections whose precise fix is exactly this one, when this one is precise too;
-- none when `accuracy` is null or not under precise_fix_m(). Not counted: the inspector's own other
-- inspections begun within twelve hours of this one, at any station. A phone standing still hands the
-- last fix out again (the app accepts one up to a minute old, and a phone at rest may keep reporting
-- one position), so two checklists filled one after the other in the same office may honestly carry
-- one fix, and so may two stations sharing one compound (a police station and a Khidmat Markaz)
-- visited one after the other; visits on other days or by others may not. A fake fix reused on one day
-- at stations far apart goes unseen here, but is far_from_station at all of them but one.
-- One probe of the index below, reading at most 200 of the visits with this fix, so that one fix sent on
-- thousands of checklists of one visit (a tool replaying one document, the sync benchmark) costs each
-- submission no more than that: past 200 of them, another visit with the fix may go unseen. Used by
-- the trigger and by the reviewer's page (server/review/evidence.py), so both say the same.
CREATE FUNCTION repeated_fix_partners(me uuid, inspector uuid, started timestamptz,
                                      fix_lat double precision, fix_lon double precision,
                                      accuracy double precision)
    RETURNS TABLE (id uuid) LANGUAGE sql STABLE AS $$
    SELECT c.id
      FROM (SELECT o.id, o.inspector_id, o.started_at
              FROM inspections o
             WHERE accuracy < precise_fix_m()
               AND o.lat = fix_lat AND o.lon = fix_lon AND o.accuracy_m < precise_fix_m()
               AND o.status <> 'draft' AND o.lat IS NOT NULL AND o.id <> me
             LIMIT 200) c
     WHERE NOT (c.inspector_id = inspector
                AND COALESCE(c.started_at BETWEEN started - interval '12 hours' AND started + interval '12 hours', false))
$$;

-- The fixes of the inspections that count: the one lookup each submission makes. A fix sent a thousand
-- times is a thousand entries under one key, of which a lookup reads 200 at most (above).
CREATE INDEX inspections_fix_idx ON inspections (lat, lon, accuracy_m) WHERE status <> 'draft' AND lat IS NOT NULL;

-- Judged as the submission's own statement writes the row (no statement of its own: the submission's
-- transaction stays two statements long, tests/test_sync_hot_path.py), on its first submission, with
-- the fix submitted; a resubmission keeps that judgement (the fix cannot change after the first
-- submission anyway: server/inspections/rules.py place_problems). The partners are marked too, and
-- never cleared. Two identical fixes submitted in concurrent transactions do not see each other (a
-- phone sends its outbox one at a time), and neither is flagged for it.
CREATE FUNCTION inspections_location_repeated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.made_at IS NOT NULL THEN
        NEW.location_repeated := OLD.location_repeated;
        RETURN NEW;
    END IF;
    IF NEW.lat IS NULL OR NEW.lon IS NULL OR NEW.accuracy_m IS NULL OR NEW.accuracy_m >= precise_fix_m() THEN
        NEW.location_repeated := NULL;
        RETURN NEW;
    END IF;
    -- At most twenty of them: one is enough to flag this visit, and a fix replayed on every visit
    -- would otherwise make each submission read and mark every earlier one, work growing with the
    -- history (as the timing partners, 0022).
    WITH partners AS (
        SELECT p.id FROM repeated_fix_partners(NEW.id, NEW.inspector_id, NEW.started_at, NEW.lat, NEW.lon,
                                              NEW.accuracy_m) p
         LIMIT 20
    ), marked AS (
        UPDATE inspections o SET location_repeated = true
          FROM partners p WHERE o.id = p.id AND o.location_repeated IS NOT TRUE
    )
    SELECT EXISTS (SELECT 1 FROM partners) INTO NEW.location_repeated;
    RETURN NEW;
END $$;

CREATE TRIGGER inspections_location_repeated BEFORE INSERT OR UPDATE OF status ON inspections
    FOR EACH ROW WHEN (NEW.status = 'submitted') EXECUTE FUNCTION inspections_location_repeated();

-- The flagged list (server/review/queries.py _FLAGGED) with the repeated fix: its predicate is the
-- list's condition word for word. Built with one read of the table; the index it replaces is dropped.
DROP INDEX inspections_flagged_exact_idx;
CREATE INDEX inspections_flagged_repeated_idx ON inspections (submitted_at DESC, id)
    WHERE status <> 'draft' AND (far_from_station OR critical_failed OR reused_photos > 0 OR photos_far > 0
                                 OR photos_off_time > 0 OR photos_unproven > 0 OR location_imprecise
                                 OR too_fast OR overlaps_other OR distance_m < 0.01 OR location_repeated);
