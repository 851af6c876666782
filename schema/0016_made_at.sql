-- When an inspection was made, for the month (and quarter) the dashboards count it in.
--
-- It was the month of `submitted_at`, which every submission sets afresh: an inspection submitted on
-- 28 February, returned for a typo and resubmitted on 3 March left February's figures and rankings for
-- March's, and one finished offline on 31 January and sent on 2 February counted in February.
--
-- `made_at` is the time the phone said the inspection was finished, when its clock could have been
-- right (within 30 days before the server first received it, or an hour after: the rule of
-- server.structs.phone_time, PHONE_CLOCK_DAYS and PHONE_CLOCK_AHEAD_MINUTES), else the time of that
-- first receipt. It is set once, by the first submission, and kept through returns and resubmissions.
ALTER TABLE inspections ADD COLUMN made_at timestamptz;

CREATE FUNCTION inspections_made_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.made_at IS NULL AND NEW.submitted_at IS NOT NULL THEN
        NEW.made_at := CASE
            WHEN NEW.finished_at BETWEEN NEW.submitted_at - interval '30 days' AND NEW.submitted_at + interval '60 minutes'
            THEN NEW.finished_at ELSE NEW.submitted_at END;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER inspections_made_at BEFORE INSERT OR UPDATE OF submitted_at ON inspections
    FOR EACH ROW EXECUTE FUNCTION inspections_made_at();

-- The inspections the dashboards count now keep the month they are counted in (their rollup rows are
-- left as they are: an upgrade changes no month already reported).
UPDATE inspections i SET made_at = i.submitted_at
  FROM rollup_ledger l WHERE l.inspection_id = i.id AND i.submitted_at IS NOT NULL;

-- Any other submitted once (returned now, or being corrected): its first submission decides. (Looked up
-- per inspection left, by the revisions' primary key: not every revision's document read and sorted.)
UPDATE inspections i SET made_at = (
       SELECT CASE WHEN f.finished BETWEEN f.at - interval '30 days' AND f.at + interval '60 minutes'
                   THEN f.finished ELSE f.at END
         FROM (SELECT r.at, (r.document ->> 'finished_at')::timestamptz AS finished
                 FROM inspection_revisions r
                WHERE r.inspection_id = i.id AND r.status = 'submitted'
                ORDER BY r.revision LIMIT 1) f)
 WHERE i.made_at IS NULL;
