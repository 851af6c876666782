-- Resumable photo uploads (server/photos/resumable.py): a photo sent in parts, each kept as it arrives,
-- so that a link that drops every minute or two (a police station's edge of coverage) still delivers a
-- 4 MB picture; with one PUT, every attempt began again from the first byte and could fail for ever.
--
-- One row per photo being received, owned by the inspector sending it, naming its inspection and item
-- and the phone's evidence (as the PUT's query parameters), its full size and, when the phone gave it,
-- the SHA-256 the whole must have. `received` is the bytes kept so far: parts are appended only at it.
-- Rows and parts go once the photo is stored (or refused), and `muaina sweep-photos` removes those begun
-- a week ago or more (the phone still holds the picture and sends it again).
CREATE TABLE photo_uploads (
    photo_id     uuid PRIMARY KEY,
    uploaded_by  uuid NOT NULL REFERENCES users (id),
    inspection_id uuid NOT NULL,
    item_key     text NOT NULL,
    size         integer NOT NULL CHECK (size > 0),
    sha256       bytea CHECK (sha256 IS NULL OR length(sha256) = 32),
    device       jsonb NOT NULL,
    received     integer NOT NULL DEFAULT 0 CHECK (received >= 0 AND received <= size),
    created_at   timestamptz NOT NULL DEFAULT now(),
    touched_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX photo_uploads_by_idx ON photo_uploads (uploaded_by);
CREATE INDEX photo_uploads_created_idx ON photo_uploads (created_at);

-- The parts, each at the offset it was sent for. Pictures do not compress: stored out of line as they
-- are, without a try at compressing them.
CREATE TABLE photo_upload_parts (
    photo_id uuid NOT NULL REFERENCES photo_uploads (photo_id) ON DELETE CASCADE,
    start    integer NOT NULL CHECK (start >= 0),
    data     bytea NOT NULL,
    PRIMARY KEY (photo_id, start)
);
ALTER TABLE photo_upload_parts ALTER COLUMN data SET STORAGE EXTERNAL;
