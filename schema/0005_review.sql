-- Review, score overrides, corrective actions and the dashboard rollups.

-- Reviews ---------------------------------------------------------------------------------------

-- One row per decision. `revision` is the revision the reviewer read and judged; `new_revision` is
-- the one the decision created (the phone learns it through the bundle). Decisions are evidence,
-- so the database refuses to change or delete them.
CREATE TABLE reviews (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    inspection_id   uuid NOT NULL REFERENCES inspections (id),
    reviewer_id     uuid NOT NULL REFERENCES users (id),
    decision        text NOT NULL CHECK (decision IN ('approve', 'return')),
    revision        integer NOT NULL,
    new_revision    integer NOT NULL CHECK (new_revision > revision),
    comment         text NOT NULL DEFAULT '',
    item_comments   jsonb NOT NULL DEFAULT '{}',
    percent_before  double precision,
    percent_after   double precision,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_inspection_idx ON reviews (inspection_id, created_at);
CREATE TRIGGER reviews_immutable BEFORE UPDATE OR DELETE ON reviews
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- A reviewer's score for one item, beside the inspector's original, which is never changed: the
-- answers table and the inspection's document keep what the inspector said. Scores are item scores
-- in [0, 1], the unit the scoring engine uses for every item type. An override is in force until the
-- inspector resubmits: new answers are a new thing to judge, so a resubmission supersedes it.
CREATE TABLE score_overrides (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    review_id      uuid NOT NULL REFERENCES reviews (id),
    inspection_id  uuid NOT NULL REFERENCES inspections (id),
    item_key       text NOT NULL,
    reviewer_id    uuid NOT NULL REFERENCES users (id),
    reason         text NOT NULL CHECK (length(btrim(reason)) > 0),
    original_score double precision CHECK (original_score BETWEEN 0 AND 1),
    score          double precision NOT NULL CHECK (score BETWEEN 0 AND 1),
    created_at     timestamptz NOT NULL DEFAULT now(),
    superseded_at  timestamptz
);
CREATE UNIQUE INDEX score_overrides_in_force_idx ON score_overrides (inspection_id, item_key)
    WHERE superseded_at IS NULL;
CREATE INDEX score_overrides_review_idx ON score_overrides (review_id);

-- The reviewers' queue and the flagged list read submitted inspections oldest first and flagged
-- ones newest first; both are small, hot subsets of a table that grows without end.
CREATE INDEX inspections_queue_idx ON inspections (submitted_at, id) WHERE status = 'submitted';
CREATE INDEX inspections_flagged_idx ON inspections (submitted_at DESC, id)
    WHERE status <> 'draft' AND (far_from_station OR critical_failed OR reused_photos > 0);

-- Corrective actions ----------------------------------------------------------------------------

CREATE TABLE actions (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    station_id         uuid NOT NULL REFERENCES stations (id),
    inspection_id      uuid REFERENCES inspections (id),
    item_key           text,
    source             text NOT NULL CHECK (source IN ('submission', 'reviewer')),
    description        text NOT NULL CHECK (length(btrim(description)) > 0),
    owner_name         text NOT NULL DEFAULT '',
    owner_user_id      uuid REFERENCES users (id),
    due_date           date NOT NULL,
    status             text NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'in_progress', 'done', 'verified')),
    evidence_photo_ids uuid[] NOT NULL DEFAULT '{}',
    created_by         uuid REFERENCES users (id),
    verified_by        uuid REFERENCES users (id),
    verified_at        timestamptz,
    change_seq         bigint NOT NULL DEFAULT nextval('change_seq'),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- One unverified action per station and item: a failure found again (a resubmission, the next
-- inspection) joins the action already open instead of piling up duplicates.
CREATE UNIQUE INDEX actions_one_open_idx ON actions (station_id, item_key)
    WHERE status <> 'verified' AND item_key IS NOT NULL;
CREATE INDEX actions_station_idx ON actions (station_id, status);
CREATE INDEX actions_change_idx ON actions (change_seq);
CREATE INDEX actions_open_due_idx ON actions (due_date) WHERE status IN ('open', 'in_progress');

-- Actions travel in the inspector's offline bundle, so their change_seq is stamped in commit order
-- like the other synced tables (see sync_stamp in 0003).
CREATE TRIGGER actions_sync_stamp BEFORE INSERT OR UPDATE ON actions
    FOR EACH ROW EXECUTE FUNCTION sync_stamp();

-- The notes of an action, append-only. The id may come from the phone, so a note queued offline
-- and sent twice is stored once.
CREATE TABLE action_notes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    action_id   uuid NOT NULL REFERENCES actions (id),
    author_id   uuid REFERENCES users (id),
    body        text NOT NULL,
    status_from text,
    status_to   text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX action_notes_action_idx ON action_notes (action_id, at);
CREATE TRIGGER action_notes_append_only BEFORE UPDATE OR DELETE ON action_notes
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Dashboard rollups -------------------------------------------------------------------------------
-- Kept up to date in the transaction of every submission, review, override and return, so a
-- dashboard reads a few thousand rows instead of aggregating answers. An inspection counts while it
-- is submitted or approved, in the month (Pakistan time) of its submitted_at; a returned one is
-- being corrected and counts again when resubmitted. Rollups are derived data, rebuilt from the
-- inspections at will (rollup.rebuild_all), so they carry no foreign keys: a submission's upserts
-- should not pay for a referential check per row.
--
-- Three grains, so that each dashboard reads the smallest table that answers it: per station (station
-- rankings), per district (district and region figures; the finest scope a reviewer has), and item
-- failures per district and per region (an administrator's country-wide list would otherwise sum a
-- row per district, item and month). District and region are those of the station when the
-- inspection was counted, so a station moved to another district keeps its history where it was.

-- The inspections counted, with what each added, so taking one out subtracts exactly what it added
-- and counting it twice is impossible. Its item failures are taken out by reading its answers and
-- overrides again, which cannot have changed meanwhile: answers are read-only while an inspection is
-- counted, and overrides change only inside a review, which takes the inspection out before the
-- change and puts it back after.
CREATE TABLE rollup_ledger (
    inspection_id   uuid PRIMARY KEY REFERENCES inspections (id),
    station_id      uuid NOT NULL,
    district_id     uuid NOT NULL,
    region_id       uuid NOT NULL,
    template_id     uuid NOT NULL,
    period_start    date NOT NULL,
    percent         double precision,
    critical_failed boolean NOT NULL,
    overridden      boolean NOT NULL
);

-- Every change to a rollup row rewrites only its counts, never a key: with room left on each page
-- (fillfactor 70) the update stays on the page (a HOT update) and touches no index, which is most of
-- the cost a submission pays for its rollups.
-- sum_percent is numeric so that adding and later subtracting the same inspection is exact. The
-- counts carry no ">= 0" check: a subtraction is an upsert whose proposed row holds the negative
-- delta, and PostgreSQL checks the proposed row before it finds the conflict.
CREATE TABLE rollup_station_period (
    period_start    date NOT NULL,
    station_id      uuid NOT NULL,
    template_id     uuid NOT NULL,
    inspections     integer NOT NULL DEFAULT 0,
    scored          integer NOT NULL DEFAULT 0,
    sum_percent     numeric NOT NULL DEFAULT 0,
    critical_failed integer NOT NULL DEFAULT 0,
    overridden      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (period_start, station_id, template_id)
) WITH (fillfactor = 70);
CREATE INDEX rollup_station_period_station_idx ON rollup_station_period (station_id, period_start);

CREATE TABLE rollup_district_period (
    period_start    date NOT NULL,
    district_id     uuid NOT NULL,
    template_id     uuid NOT NULL,
    inspections     integer NOT NULL DEFAULT 0,
    scored          integer NOT NULL DEFAULT 0,
    sum_percent     numeric NOT NULL DEFAULT 0,
    critical_failed integer NOT NULL DEFAULT 0,
    overridden      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (period_start, district_id, template_id)
) WITH (fillfactor = 70);
CREATE INDEX rollup_district_period_district_idx ON rollup_district_period (district_id, period_start);

-- An item is answered when its effective score is not null, and failed when that score is 0.
CREATE TABLE rollup_item_failures (
    period_start date NOT NULL,
    template_id  uuid NOT NULL,
    item_key     text NOT NULL,
    district_id  uuid NOT NULL,
    failed       integer NOT NULL DEFAULT 0,
    answered     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (period_start, template_id, item_key, district_id)
) WITH (fillfactor = 70);
CREATE INDEX rollup_item_failures_district_idx ON rollup_item_failures (district_id, period_start);

CREATE TABLE rollup_item_failures_region (
    period_start date NOT NULL,
    template_id  uuid NOT NULL,
    item_key     text NOT NULL,
    region_id    uuid NOT NULL,
    failed       integer NOT NULL DEFAULT 0,
    answered     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (period_start, template_id, item_key, region_id)
) WITH (fillfactor = 70);
CREATE INDEX rollup_item_failures_region_region_idx ON rollup_item_failures_region (region_id, period_start);
