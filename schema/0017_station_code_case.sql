-- Station codes are the same whatever their case: `ps-7` is the station `PS-7`.
--
-- The column's UNIQUE compared them exactly, so a file saved by Excel with the codes in another case
-- made a second copy of every station (stations are never deleted). The server now matches and checks
-- codes by lower(code) (server/org/importer.py, server/org/queries.code_taken), and this index makes
-- that look-up quick and, where it can, holds the rule in the database too.
--
-- An installation may already hold two codes that differ only in case. A unique index would fail on
-- them and stop the upgrade, so then the index is a plain one (the look-up stays quick) and a NOTICE
-- names how many: the server refuses any new such pair either way, and an import row naming one of them
-- must spell it exactly. Once an admin has renamed one of each pair, the unique index can be made by hand:
--   CREATE UNIQUE INDEX stations_code_lower_key ON stations (lower(code));
--   DROP INDEX stations_code_lower_idx;
-- Codes are ASCII (server/org/rules.CODE), so lower() is the same under every collation and in Python.
-- One pass over the table and one index build: seconds even at 20,000 stations and beyond.
DO $$
DECLARE
    pairs integer;
BEGIN
    SELECT count(*) INTO pairs FROM (SELECT 1 FROM stations GROUP BY lower(code) HAVING count(*) > 1) AS dup;
    IF pairs = 0 THEN
        CREATE UNIQUE INDEX stations_code_lower_key ON stations (lower(code));
    ELSE
        CREATE INDEX stations_code_lower_idx ON stations (lower(code));
        RAISE NOTICE '% station code(s) are held by more than one station in different letter case; '
                     'stations_code_lower_idx is not unique until one of each is renamed', pairs;
    END IF;
END $$;
