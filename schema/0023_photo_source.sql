-- Where the phone got each photo: its camera, opened by the app while the inspector stood in the
-- station ('camera'), or its gallery / file picker ('gallery'), where a picture of any age, a
-- screenshot or a forwarded image can come from. The phone resizes every photo, which strips the
-- EXIF, so without this a gallery picture looks just like a camera shot taken without a GPS fix.
--
-- Nullable and without a default, so adding it rewrites nothing on a large table (the CHECK is
-- checked against the rows, all null, in one read): null means "not said", which is every photo
-- stored before this migration and every upload from a phone whose app does not send it yet.
ALTER TABLE photos ADD COLUMN source text CONSTRAINT photos_source_check CHECK (source IN ('camera', 'gallery'));
