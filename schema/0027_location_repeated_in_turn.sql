-- Two first submissions carrying one precise fix, written at the same moment, now take turns (0026 let
-- them miss each other). Each one's lookup ran against what was committed when it ran, so neither saw
-- the other's uncommitted row and neither was flagged: a tool replaying one document from several
-- connections at once, or two phones of one fake-GPS setup syncing together, went unflagged. And both
-- then marked the same earlier visits, each in its own order, which could deadlock (answered 503, and
-- the phone sent again; nothing lost, but a wait).
--
-- Now the trigger takes a transaction-level lock named after the fix before it looks: a second
-- submission with the same fix waits until the first has committed (or rolled back), then looks with a
-- fresh snapshot (a statement of a PL/pgSQL function run in READ COMMITTED takes its own), finds the
-- first, is flagged and marks it. Submissions with different fixes never share the lock (the key is a
-- hash of the fix: two fixes meeting on one key only wait for each other, as if they were one). The wait
-- is in step 1 of rollup.LOCK_ORDER (the inspection's own row): a submission holding the lock goes on to
-- sync_state, the rollups and the audit chain, which the one waiting for it has not taken yet, so the
-- two cannot wait for each other. Only precise fixes of first submissions take it; real fixes jitter, so
-- honest submissions never meet on it, and the sync benchmark sends no fix.
--
-- The key lives in the two-int4 space of advisory locks (namespace 0x66697821, "fix!"), which no
-- single-bigint lock of Muaina (the audit chain, imports, the photo reuse check, migrations) can share.
CREATE OR REPLACE FUNCTION inspections_location_repeated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.made_at IS NOT NULL THEN
        NEW.location_repeated := OLD.location_repeated;
        RETURN NEW;
    END IF;
    IF NEW.lat IS NULL OR NEW.lon IS NULL OR NEW.accuracy_m IS NULL OR NEW.accuracy_m >= precise_fix_m() THEN
        NEW.location_repeated := NULL;
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(1718188065, hashtext(NEW.lat::text || ' ' || NEW.lon::text));
    -- At most twenty of them, as in 0026.
    WITH partners AS (
        SELECT p.id FROM repeated_fix_partners(NEW.id, NEW.inspector_id, NEW.started_at, NEW.lat, NEW.lon,
                                              NEW.accuracy_m) p
         LIMIT 20
    ), marked AS (
        UPDATE inspections o SET location_repeated = true
          FROM partners p WHERE o.id = p.id AND o.location_repeated IS NOT TRUE
    )
    SELECT EXISTS (SELECT 1 FROM partners) INTO NEW.location_repeated;
    RETURN NEW;
END $$;
