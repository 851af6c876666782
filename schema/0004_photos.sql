-- Photos: the reuse index, the reuse evidence, and the inspection's reuse flag.

-- Near-duplicate search (DESIGN §6: "flag the same picture reused across inspections or stations").
-- Two perceptual hashes are the same picture when at most REUSE_MAX_DISTANCE (6) of their 64 bits
-- differ. A plain index cannot answer "within 6 bits of", so the hash is cut into four 16-bit
-- bands, each indexed. If two hashes differ in at most 7 bits, some band differs in at most one
-- bit (four bands with two or more differing bits would make at least 8), so probing each band
-- for its own value and its 16 one-bit neighbours (17 values, 68 index probes in all) finds every
-- candidate; the exact distance is then checked on the few rows found. With uniformly spread
-- hashes a probe returns about N / 65536 rows, so a million photos cost about a thousand
-- candidate rows and a hundred million about a hundred thousand, instead of a full scan.
-- The bands are generated columns so that no writer can ever store them out of step with phash;
-- the arithmetic shift of a negative bigint is harmless because the mask keeps 16 bits.
ALTER TABLE photos
    ADD COLUMN phash_band0 integer GENERATED ALWAYS AS ((phash >> 48) & 65535) STORED,
    ADD COLUMN phash_band1 integer GENERATED ALWAYS AS ((phash >> 32) & 65535) STORED,
    ADD COLUMN phash_band2 integer GENERATED ALWAYS AS ((phash >> 16) & 65535) STORED,
    ADD COLUMN phash_band3 integer GENERATED ALWAYS AS (phash & 65535) STORED;
CREATE INDEX photos_phash_band0_idx ON photos (phash_band0);
CREATE INDEX photos_phash_band1_idx ON photos (phash_band1);
CREATE INDEX photos_phash_band2_idx ON photos (phash_band2);
CREATE INDEX photos_phash_band3_idx ON photos (phash_band3);

-- A storage key is made once by the server and never reused, so each one names one object.
ALTER TABLE photos ADD CONSTRAINT photos_original_key_key UNIQUE (original_key);

-- Each pair of near-identical photos in different inspections, written in both directions so
-- "what is this photo a copy of" is one primary-key range scan from either side. The evidence is
-- kept as found (distance, identical bytes) so a reviewer sees why the flag was raised.
CREATE TABLE photo_reuse (
    photo_id   uuid NOT NULL REFERENCES photos (id),
    other_id   uuid NOT NULL REFERENCES photos (id),
    distance   smallint NOT NULL CHECK (distance BETWEEN 0 AND 64),
    same_bytes boolean NOT NULL,
    found_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (photo_id, other_id),
    CHECK (photo_id <> other_id)
);

-- How many of the inspection's photos also appear in another inspection: the reviewers' queue
-- shows a "reused photo" flag when it is above zero, without joining photos on every listing.
ALTER TABLE inspections ADD COLUMN reused_photos integer NOT NULL DEFAULT 0;
