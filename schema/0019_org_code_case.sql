-- Region, district and circle codes are the same whatever their case, as station codes are since 0017:
-- `da` is the district `DA`.
--
-- Their UNIQUE compared codes exactly, so an admin could add a district `da` beside `DA`, and a file
-- naming `da` (a station import's district_code, a user import's district_codes) found nothing. The
-- server now finds and checks these codes by lower(code) (server/org/rules.Codes, server/org/queries.code_taken),
-- and these indexes make that quick and, where they can, hold the rule in the database too.
--
-- As in 0017: an installation may already hold two codes of one level that differ only in case. A
-- unique index would fail on them and stop the upgrade, so then that level's index is a plain one and a
-- NOTICE names how many: the server refuses any new such pair either way, and a file naming one of them
-- must spell it exactly. Once an admin has renamed one of each pair, the unique index can be made by
-- hand, e.g. for districts:
--   CREATE UNIQUE INDEX districts_code_lower_key ON districts (lower(code));
--   DROP INDEX districts_code_lower_idx;
-- Codes are ASCII (server/org/rules.CODE), so lower() is the same under every collation and in Python.
-- These tables hold tens to thousands of rows: the upgrade takes milliseconds.
DO $$
DECLARE
    level text;
    pairs integer;
BEGIN
    FOREACH level IN ARRAY ARRAY['regions', 'districts', 'circles'] LOOP
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %I GROUP BY lower(code) HAVING count(*) > 1) AS dup', level)
            INTO pairs;
        IF pairs = 0 THEN
            EXECUTE format('CREATE UNIQUE INDEX %I ON %I (lower(code))', level || '_code_lower_key', level);
        ELSE
            EXECUTE format('CREATE INDEX %I ON %I (lower(code))', level || '_code_lower_idx', level);
            RAISE NOTICE '% % code(s) are held by more than one row in different letter case; '
                         '%_code_lower_idx is not unique until one of each is renamed', pairs, level, level;
        END IF;
    END LOOP;
END $$;
