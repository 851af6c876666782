-- Whether an inspection's own times say the visit did not happen as recorded (server/review/timing.py):
-- - too_fast: fewer than 3 seconds per answered item between started_at and finished_at, with at least
--   20 items answered. Reading an item and tapping yes or no takes a second or two; 3 s each leaves no
--   time to look at anything, so a list answered faster was not checked on the spot (88 answers in
--   40 seconds). Under 20 answers a short yes/no checklist can honestly take a minute, so it is never
--   flagged. An inspector who notes on paper and types in later is flagged too: the reviewer asks.
-- - overlaps_other: the same inspector's other non-draft inspection at a different station overlaps
--   it in time, or the gap between one's finish and the other's start is too short to travel the
--   straight-line distance between the stations at 120 km/h. Set on both of the pair: the earlier one
--   may be submitted or approved already (as the reuse flag marks an earlier photo's inspection).
-- Both are null ("say nothing") when the phone's clock was off (server.structs.phone_clock_off) or a
-- time is missing: a flag built on times the server does not believe would be a false accusation.
--
-- Nullable and without a default, so adding them rewrites nothing; older inspections stay null (not
-- judged) rather than be backfilled here, which would update every row. Derived, like the photo flags:
-- not part of the record check.
ALTER TABLE inspections
    ADD COLUMN too_fast boolean,
    ADD COLUMN overlaps_other boolean;

-- server.structs.phone_clock_off, in SQL: a told time outside [first receipt - 30 days, last receipt +
-- 60 minutes], or a finish before the start. Hours rather than days, as timedelta(days=30) is.
CREATE FUNCTION phone_clock_off(started timestamptz, finished timestamptz, first_received timestamptz,
                                last_received timestamptz) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(started NOT BETWEEN first_received - interval '720 hours' AND last_received + interval '60 minutes', false)
        OR COALESCE(finished NOT BETWEEN first_received - interval '720 hours' AND last_received + interval '60 minutes', false)
        OR COALESCE(finished < started, false)
$$;

-- Straight-line (great circle) distance in kilometres; null when either place is unknown.
CREATE FUNCTION station_distance_km(lat1 double precision, lon1 double precision, lat2 double precision,
                                    lon2 double precision) RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
    SELECT 2 * 6371.0088 * asin(least(1, sqrt(
               sin(radians(lat2 - lat1) / 2) ^ 2
             + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2)))
$$;

-- The inspections of `inspector` that a visit at `station` from `started` to `finished` cannot have
-- shared the day with: at another station, not a draft, their own clock believed, and overlapping it or
-- too far away for the gap between them at 120 km/h. Looked for from a day before the start to a day
-- after the finish (120 km/h for a day is farther than any two stations are apart; an inspection left
-- open for more than a day is not looked at from the later one's side), through the index below.
-- Used by the trigger and by the reviewer's page (server/review/timing.py), so both say the same.
CREATE FUNCTION visit_timing_partners(inspector uuid, me uuid, station uuid, started timestamptz,
                                      finished timestamptz)
    RETURNS TABLE (id uuid, distance_km double precision) LANGUAGE sql STABLE AS $$
    SELECT o.id, station_distance_km(here.lat, here.lon, there.lat, there.lon)
      FROM stations here, inspections o JOIN stations there ON there.id = o.station_id
     WHERE here.id = station
       AND o.inspector_id = inspector AND o.status <> 'draft'
       AND o.started_at >= started - interval '24 hours' AND o.started_at <= finished + interval '24 hours'
       AND o.id <> me AND o.station_id <> station AND COALESCE(o.made_at, o.finished_at) IS NOT NULL
       AND NOT phone_clock_off(o.started_at, COALESCE(o.made_at, o.finished_at), o.created_at,
                               COALESCE(o.submitted_at, o.updated_at))
       AND ((o.started_at < finished AND started < COALESCE(o.made_at, o.finished_at))
            OR station_distance_km(here.lat, here.lon, there.lat, there.lon)
               > 120 * extract(epoch FROM greatest(o.started_at - finished, started - COALESCE(o.made_at, o.finished_at))) / 3600)
$$;

-- The visits of one inspector by start: the one lookup each submission makes.
CREATE INDEX inspections_inspector_started_idx ON inspections (inspector_id, started_at) WHERE status <> 'draft';

-- Judged as the submission's own statement writes the row (no statement of its own: the submission's
-- transaction stays two statements long, tests/test_sync_hot_path.py), on its first submission, with
-- the times and answers submitted; a resubmission keeps that judgement (see the function). The answered
-- items are those of the document, which are the answer rows the same statement writes. The partners'
-- flags are set here too, and never taken away: a visit's times are fixed at its first submission.
-- Two overlapping inspections submitted in concurrent transactions do not see each other (a phone
-- sends its outbox one at a time), and neither is flagged for it.
CREATE FUNCTION inspections_visit_timing() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    answered integer;
BEGIN
    -- A returned inspection sent again keeps the judgement of its first submission: the phone keeps the
    -- visit's start and stamps a new finish when it is sent again (pwa/js/inspection.js), a span of
    -- days that is no visit, which would flag every visit the inspector made meanwhile and clear a
    -- too-fast one. Its visit is the first submission's: started_at to made_at (0016), which is also
    -- what its partners are judged by (visit_timing_partners).
    IF TG_OP = 'UPDATE' AND OLD.made_at IS NOT NULL THEN
        NEW.too_fast := OLD.too_fast;
        NEW.overlaps_other := OLD.overlaps_other;
        RETURN NEW;
    END IF;
    IF NEW.started_at IS NULL OR NEW.finished_at IS NULL
       OR phone_clock_off(NEW.started_at, NEW.finished_at, NEW.created_at, COALESCE(NEW.submitted_at, NEW.updated_at)) THEN
        NEW.too_fast := NULL;
        NEW.overlaps_other := NULL;
        RETURN NEW;
    END IF;
    answered := CASE WHEN jsonb_typeof(NEW.document -> 'answers') = 'object'
                     THEN (SELECT count(*) FROM jsonb_object_keys(NEW.document -> 'answers')) ELSE 0 END;
    NEW.too_fast := answered >= 20 AND extract(epoch FROM NEW.finished_at - NEW.started_at) < 3 * answered;
    -- At most twenty of them: one is enough to flag this visit, and an inspector whose visits
    -- all overlap (times copied, a tool replaying one document) would otherwise make each submission
    -- read and mark every earlier one, work growing with the inspector's history (the sync benchmark,
    -- one inspector sending the same times over and over, fell from 197 to 89 submissions a second).
    WITH partners AS (
        SELECT p.id FROM visit_timing_partners(NEW.inspector_id, NEW.id, NEW.station_id, NEW.started_at,
                                               NEW.finished_at) p
         LIMIT 20
    ), marked AS (
        UPDATE inspections o SET overlaps_other = true
          FROM partners p WHERE o.id = p.id AND o.overlaps_other IS NOT TRUE
    )
    SELECT EXISTS (SELECT 1 FROM partners) INTO NEW.overlaps_other;
    RETURN NEW;
END $$;

CREATE TRIGGER inspections_visit_timing BEFORE INSERT OR UPDATE OF status, started_at, finished_at ON inspections
    FOR EACH ROW WHEN (NEW.status = 'submitted') EXECUTE FUNCTION inspections_visit_timing();

-- The flagged list (server/review/queries.py _FLAGGED) with the timing flags: its predicate is the
-- list's condition word for word. Built with one read of the table; the index it replaces is dropped.
DROP INDEX inspections_flagged_evidence_idx;
CREATE INDEX inspections_flagged_timing_idx ON inspections (submitted_at DESC, id)
    WHERE status <> 'draft' AND (far_from_station OR critical_failed OR reused_photos > 0 OR photos_far > 0
                                 OR photos_off_time > 0 OR photos_unproven > 0 OR location_imprecise
                                 OR too_fast OR overlaps_other);
