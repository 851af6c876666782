-- Muaina core schema. Forward only: once applied anywhere, this file is never edited;
-- later changes go into new numbered files.

-- Users, sessions and login throttling ------------------------------------------------------

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text NOT NULL,
    display_name  text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'reviewer', 'inspector')),
    region_ids    uuid[] NOT NULL DEFAULT '{}',
    district_ids  uuid[] NOT NULL DEFAULT '{}',
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Usernames are compared case-insensitively so "Admin" and "admin" can never be two accounts.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- Only a hash of the bearer token is stored: a leaked database row cannot be replayed as a session.
CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    ip           text,
    user_agent   text
);
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;

-- Failed logins per username and per client address, kept in the database so that every
-- app replica throttles the same attacker.
CREATE TABLE login_failures (
    key          text PRIMARY KEY,
    failures     integer NOT NULL,
    first_at     timestamptz NOT NULL,
    locked_until timestamptz
);

-- Audit trail: append-only and hash-chained --------------------------------------------------

CREATE TABLE audit_log (
    seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL,
    actor_id  uuid,
    actor     text,
    action    text NOT NULL,
    entity    text,
    entity_id text,
    data      jsonb NOT NULL DEFAULT '{}',
    ip        text,
    prev_hash bytea NOT NULL,
    hash      bytea NOT NULL
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, seq);
CREATE INDEX audit_log_action_idx ON audit_log (action, seq);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- A global, monotonically increasing change counter. Rows that phones sync carry the value of
-- their last change, so "what changed since cursor N" is one indexed range scan.
CREATE SEQUENCE change_seq;

-- Organisation: region -> district -> circle -> station --------------------------------------

CREATE TABLE regions (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code       text NOT NULL UNIQUE,
    name_en    text NOT NULL,
    name_ur    text NOT NULL DEFAULT '',
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE districts (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code       text NOT NULL UNIQUE,
    name_en    text NOT NULL,
    name_ur    text NOT NULL DEFAULT '',
    region_id  uuid NOT NULL REFERENCES regions (id),
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX districts_region_idx ON districts (region_id);

CREATE TABLE circles (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code        text NOT NULL UNIQUE,
    name_en     text NOT NULL,
    name_ur     text NOT NULL DEFAULT '',
    district_id uuid NOT NULL REFERENCES districts (id),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX circles_district_idx ON circles (district_id);

CREATE TABLE stations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code        text NOT NULL UNIQUE,
    name_en     text NOT NULL,
    name_ur     text NOT NULL,
    district_id uuid NOT NULL REFERENCES districts (id),
    circle_id   uuid REFERENCES circles (id),
    lat         double precision CHECK (lat BETWEEN -90 AND 90),
    lon         double precision CHECK (lon BETWEEN -180 AND 180),
    sips        boolean NOT NULL DEFAULT true,
    kind        text NOT NULL DEFAULT 'police_station'
                CHECK (kind IN ('police_station', 'khidmat_markaz', 'driving_centre', 'other')),
    active      boolean NOT NULL DEFAULT true,
    change_seq  bigint NOT NULL DEFAULT nextval('change_seq'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stations_district_idx ON stations (district_id);
CREATE INDEX stations_change_idx ON stations (change_seq);

-- Templates: a mutable draft and immutable published versions --------------------------------

CREATE TABLE templates (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key         text NOT NULL UNIQUE,
    title_en    text NOT NULL,
    title_ur    text NOT NULL,
    draft       jsonb,
    archived_at timestamptz,
    created_by  uuid REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE template_versions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    template_id  uuid NOT NULL REFERENCES templates (id),
    version      integer NOT NULL CHECK (version > 0),
    definition   jsonb NOT NULL,
    kinds        text[],
    published_by uuid REFERENCES users (id),
    published_at timestamptz NOT NULL DEFAULT now(),
    change_seq   bigint NOT NULL DEFAULT nextval('change_seq'),
    UNIQUE (template_id, version)
);
CREATE INDEX template_versions_change_idx ON template_versions (change_seq);

-- A published version is evidence of what inspectors were asked: the database itself refuses
-- to change or delete it, whatever the application does.
CREATE TRIGGER template_versions_immutable BEFORE UPDATE OR DELETE ON template_versions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Assignments and recurring schedules ---------------------------------------------------------

CREATE TABLE schedules (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    station_id   uuid NOT NULL REFERENCES stations (id),
    template_id  uuid NOT NULL REFERENCES templates (id),
    inspector_id uuid NOT NULL REFERENCES users (id),
    frequency    text NOT NULL CHECK (frequency IN ('monthly', 'quarterly', 'half_yearly')),
    next_due     date NOT NULL,
    active       boolean NOT NULL DEFAULT true,
    created_by   uuid REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE assignments (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    station_id    uuid NOT NULL REFERENCES stations (id),
    template_id   uuid NOT NULL REFERENCES templates (id),
    inspector_id  uuid NOT NULL REFERENCES users (id),
    due_date      date NOT NULL,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    inspection_id uuid,
    schedule_id   uuid REFERENCES schedules (id),
    created_by    uuid REFERENCES users (id),
    change_seq    bigint NOT NULL DEFAULT nextval('change_seq'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assignments_inspector_idx ON assignments (inspector_id, status, due_date);
CREATE INDEX assignments_station_idx ON assignments (station_id);
CREATE INDEX assignments_change_idx ON assignments (change_seq);

-- Inspections, their revisions and answers ----------------------------------------------------

-- The id is made on the phone; the primary key is what makes replays idempotent.
CREATE TABLE inspections (
    id                  uuid PRIMARY KEY,
    station_id          uuid NOT NULL REFERENCES stations (id),
    template_version_id uuid NOT NULL REFERENCES template_versions (id),
    inspector_id        uuid NOT NULL REFERENCES users (id),
    status              text NOT NULL CHECK (status IN ('draft', 'submitted', 'returned', 'approved')),
    revision            integer NOT NULL CHECK (revision > 0),
    body_hash           bytea NOT NULL,
    document            jsonb NOT NULL,
    started_at          timestamptz,
    finished_at         timestamptz,
    submitted_at        timestamptz,
    lat                 double precision,
    lon                 double precision,
    accuracy_m          double precision,
    distance_m          double precision,
    far_from_station    boolean NOT NULL DEFAULT false,
    score_percent       double precision,
    grade               text,
    critical_failed     boolean NOT NULL DEFAULT false,
    score               jsonb,
    photos_expected     integer NOT NULL DEFAULT 0,
    photos_missing      integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inspections_station_idx ON inspections (station_id, submitted_at);
CREATE INDEX inspections_inspector_idx ON inspections (inspector_id, updated_at);
CREATE INDEX inspections_status_idx ON inspections (status, submitted_at);

-- Every revision is kept: there is no silent last-writer-wins, and history can be shown.
CREATE TABLE inspection_revisions (
    inspection_id uuid NOT NULL REFERENCES inspections (id),
    revision      integer NOT NULL,
    status        text NOT NULL,
    body_hash     bytea NOT NULL,
    document      jsonb NOT NULL,
    actor_id      uuid REFERENCES users (id),
    at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (inspection_id, revision)
);
CREATE TRIGGER inspection_revisions_immutable BEFORE UPDATE OR DELETE ON inspection_revisions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Answers as rows, for analytics: the latest revision of each inspection.
CREATE TABLE answers (
    inspection_id uuid NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
    item_key      text NOT NULL,
    section_key   text NOT NULL,
    value         jsonb,
    note          text,
    score         double precision,
    max           double precision,
    critical      boolean NOT NULL DEFAULT false,
    photo_ids     uuid[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (inspection_id, item_key)
);

-- Photos ---------------------------------------------------------------------------------------

CREATE TABLE photos (
    id                uuid PRIMARY KEY,
    inspection_id     uuid NOT NULL REFERENCES inspections (id),
    item_key          text NOT NULL,
    uploaded_by       uuid NOT NULL REFERENCES users (id),
    sha256            bytea NOT NULL,
    phash             bigint NOT NULL,
    size_bytes        integer NOT NULL,
    format            text NOT NULL,
    width             integer NOT NULL,
    height            integer NOT NULL,
    original_key      text NOT NULL,
    display_key       text NOT NULL,
    thumb_key         text NOT NULL,
    exif_taken_at     text,
    exif_lat          double precision,
    exif_lon          double precision,
    device_taken_at   timestamptz,
    device_lat        double precision,
    device_lon        double precision,
    device_accuracy_m double precision,
    distance_m        double precision,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX photos_inspection_idx ON photos (inspection_id);
CREATE INDEX photos_phash_idx ON photos (phash);
CREATE INDEX photos_sha_idx ON photos (sha256);
