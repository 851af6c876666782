-- Names of regions, districts, circles and stations as the app now stores them (server/org/rules.py,
-- name_text): in NFC, with Urdu's own yeh (ی) and kaf (ک) for the Arabic ones (ي ى ك) that look the same.
-- A name stored decomposed (a file saved on a Mac) or with Arabic letters was not found by a search typed
-- on an Urdu keyboard, and every re-import of the same file said it changed. Only names that differ are
-- written, so only those stations travel to the phones again.
CREATE FUNCTION pg_temp.name_text(t text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT btrim(normalize(translate(t, 'يىك', 'ییک'), NFC)) $$;

UPDATE regions SET name_en = pg_temp.name_text(name_en), name_ur = pg_temp.name_text(name_ur)
 WHERE (name_en, name_ur) IS DISTINCT FROM (pg_temp.name_text(name_en), pg_temp.name_text(name_ur));
UPDATE districts SET name_en = pg_temp.name_text(name_en), name_ur = pg_temp.name_text(name_ur)
 WHERE (name_en, name_ur) IS DISTINCT FROM (pg_temp.name_text(name_en), pg_temp.name_text(name_ur));
UPDATE circles SET name_en = pg_temp.name_text(name_en), name_ur = pg_temp.name_text(name_ur)
 WHERE (name_en, name_ur) IS DISTINCT FROM (pg_temp.name_text(name_en), pg_temp.name_text(name_ur));
UPDATE stations SET name_en = pg_temp.name_text(name_en), name_ur = pg_temp.name_text(name_ur)
 WHERE (name_en, name_ur) IS DISTINCT FROM (pg_temp.name_text(name_en), pg_temp.name_text(name_ur));
