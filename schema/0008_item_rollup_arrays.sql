-- Item failures as one row of counts per month, template and district (and region), instead of one
-- row per item.
--
-- 0005 kept a row per (month, template, item, district) and per (…, region). A submission of a
-- 300-item inspection therefore upserted 600 rows, locking each until commit: about 3 ms of
-- PostgreSQL's CPU, a third of everything a submission costs there, and 600 row locks that the next
-- submission in the same district or region queued behind. Here a cell's counts are two integer
-- arrays indexed by the item's position in its template, so a submission updates one row per grain:
-- the arrays add element by element. Reads unnest the arrays of the cells in scope and name each
-- position from template_items.

-- Every item key a template has ever had, with a fixed position (1, 2, 3, … in the order the items
-- first appeared): the index of the item's counts in the rollup arrays. Positions are never reused
-- or moved, so an array written under one version reads correctly under every later one; an item a
-- later version drops keeps its position and simply stops being counted. The label is the one of the
-- newest version that has the item (label_version), which is what a dashboard names it by (its key,
-- should a definition written outside the app have no label).
CREATE TABLE template_items (
    template_id   uuid NOT NULL REFERENCES templates (id),
    item_key      text NOT NULL,
    position      integer NOT NULL CHECK (position > 0),
    label_en      text NOT NULL,
    label_ur      text NOT NULL,
    label_version integer NOT NULL,
    PRIMARY KEY (template_id, item_key),
    UNIQUE (template_id, position)
);

-- A published version's new item keys get the next positions, in the version's order, and every key
-- it has takes its label unless a newer version already gave one. The template's row is locked first
-- so that two versions of one template published at once cannot take the same position. Runs for
-- every way a version is inserted (publication, import, tests, benchmarks).
CREATE FUNCTION template_items_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM templates WHERE id = NEW.template_id FOR NO KEY UPDATE;
    INSERT INTO template_items AS t (template_id, item_key, position, label_en, label_ur, label_version)
    SELECT NEW.template_id, k.item_key,
           (SELECT COALESCE(max(position), 0) FROM template_items WHERE template_id = NEW.template_id)
           + row_number() OVER (ORDER BY k.first),
           COALESCE(k.item -> 'label' ->> 'en', k.item_key), COALESCE(k.item -> 'label' ->> 'ur', k.item_key),
           NEW.version
      FROM (SELECT DISTINCT ON (j.item ->> 'key') j.item ->> 'key' AS item_key, j.n AS first, j.item
              FROM jsonb_path_query(NEW.definition, '$.sections[*].items[*]') WITH ORDINALITY AS j (item, n)
             ORDER BY j.item ->> 'key', j.n) k
     WHERE NOT EXISTS (SELECT 1 FROM template_items x WHERE x.template_id = NEW.template_id AND x.item_key = k.item_key)
    ORDER BY k.first;
    UPDATE template_items t
       SET label_en = COALESCE(j.item -> 'label' ->> 'en', t.item_key),
           label_ur = COALESCE(j.item -> 'label' ->> 'ur', t.item_key), label_version = NEW.version
      FROM jsonb_path_query(NEW.definition, '$.sections[*].items[*]') AS j (item)
     WHERE t.template_id = NEW.template_id AND t.item_key = j.item ->> 'key' AND t.label_version < NEW.version;
    RETURN NULL;
END;
$$;

CREATE TRIGGER template_versions_items AFTER INSERT ON template_versions
    FOR EACH ROW EXECUTE FUNCTION template_items_add();

-- The versions already published: each key at the place it first appeared (oldest version first),
-- with the label of the newest version that has it.
INSERT INTO template_items (template_id, item_key, position, label_en, label_ur, label_version)
SELECT f.template_id, f.item_key, row_number() OVER (PARTITION BY f.template_id ORDER BY f.version, f.n),
       COALESCE(l.item -> 'label' ->> 'en', f.item_key), COALESCE(l.item -> 'label' ->> 'ur', f.item_key), l.version
  FROM (SELECT DISTINCT ON (tv.template_id, j.item ->> 'key') tv.template_id, j.item ->> 'key' AS item_key,
               tv.version, j.n
          FROM template_versions tv,
               jsonb_path_query(tv.definition, '$.sections[*].items[*]') WITH ORDINALITY AS j (item, n)
         ORDER BY tv.template_id, j.item ->> 'key', tv.version, j.n) f
  JOIN (SELECT DISTINCT ON (tv.template_id, j.item ->> 'key') tv.template_id, j.item ->> 'key' AS item_key,
               tv.version, j.item
          FROM template_versions tv, jsonb_path_query(tv.definition, '$.sections[*].items[*]') AS j (item)
         ORDER BY tv.template_id, j.item ->> 'key', tv.version DESC) l USING (template_id, item_key);

-- a + b element by element; the shorter array counts as zeros where it ends (a template's later
-- version may have added items).
CREATE FUNCTION int_array_add(a integer[], b integer[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(COALESCE(x, 0) + COALESCE(y, 0) ORDER BY n)
      FROM unnest(a, b) WITH ORDINALITY AS t (x, y, n)
$$;

-- failed[p] and answered[p] count the inspections of the cell whose item at position p failed / was
-- answered (as in 0005: answered when its effective score is not null, failed when it is 0).
-- A row of 300 items is about 2.5 kB: stored whole on its page (toast_tuple_target), never compressed
-- or moved out of line, with room on the page for the next version of the row (fillfactor 50) so
-- that an update stays a HOT update.
CREATE TABLE rollup_item_counts (
    period_start date NOT NULL,
    template_id  uuid NOT NULL,
    district_id  uuid NOT NULL,
    failed       integer[] NOT NULL,
    answered     integer[] NOT NULL,
    PRIMARY KEY (period_start, template_id, district_id)
) WITH (fillfactor = 50, toast_tuple_target = 8160);
CREATE INDEX rollup_item_counts_district_idx ON rollup_item_counts (district_id, period_start);

CREATE TABLE rollup_item_counts_region (
    period_start date NOT NULL,
    template_id  uuid NOT NULL,
    region_id    uuid NOT NULL,
    failed       integer[] NOT NULL,
    answered     integer[] NOT NULL,
    PRIMARY KEY (period_start, template_id, region_id)
) WITH (fillfactor = 50, toast_tuple_target = 8160);
CREATE INDEX rollup_item_counts_region_region_idx ON rollup_item_counts_region (region_id, period_start);

-- What 0005's tables held, moved into arrays.
INSERT INTO rollup_item_counts (period_start, template_id, district_id, failed, answered)
SELECT c.period_start, c.template_id, c.district_id,
       array_agg(COALESCE(f.failed, 0) ORDER BY t.position), array_agg(COALESCE(f.answered, 0) ORDER BY t.position)
  FROM (SELECT DISTINCT period_start, template_id, district_id FROM rollup_item_failures) c
  JOIN template_items t ON t.template_id = c.template_id
  LEFT JOIN rollup_item_failures f
         ON (f.period_start, f.template_id, f.district_id, f.item_key) = (c.period_start, c.template_id, c.district_id, t.item_key)
 GROUP BY 1, 2, 3;

INSERT INTO rollup_item_counts_region (period_start, template_id, region_id, failed, answered)
SELECT c.period_start, c.template_id, c.region_id,
       array_agg(COALESCE(f.failed, 0) ORDER BY t.position), array_agg(COALESCE(f.answered, 0) ORDER BY t.position)
  FROM (SELECT DISTINCT period_start, template_id, region_id FROM rollup_item_failures_region) c
  JOIN template_items t ON t.template_id = c.template_id
  LEFT JOIN rollup_item_failures_region f
         ON (f.period_start, f.template_id, f.region_id, f.item_key) = (c.period_start, c.template_id, c.region_id, t.item_key)
 GROUP BY 1, 2, 3;

DROP TABLE rollup_item_failures, rollup_item_failures_region;
