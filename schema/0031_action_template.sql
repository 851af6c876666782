-- A corrective action about an item names the checklist (template) the item belongs to.
--
-- Item keys are unique within a template, not across templates: the builder names items item_1,
-- item_2, ... in every checklist, so "item_1" is "Detainees entered in the diary" in one and "Fire
-- extinguisher charged" in another. Actions were keyed on (station, item key) alone: a station's
-- second checklist failing its critical item_1 joined the first checklist's open action (nothing
-- opened for the extinguisher), a reviewer's action for it was refused as a duplicate, and the phone
-- showed the diary's action on the extinguisher's card.
--
-- `template_id` is the template of the inspection the action came from (filled here for every action
-- that names one). A reviewer's action on an item without an inspection takes the only template that
-- has the key; where several have it, the old rows keep NULL (the API now asks for template_id then).
-- The one-unfinished-action index becomes (station, template, item), with NULL templates equal to each
-- other, so such old rows keep their old meaning. The UPDATE stamps change_seq (the actions trigger):
-- every phone receives its actions again, now with the template they belong to.
ALTER TABLE actions ADD COLUMN template_id uuid REFERENCES templates (id);

UPDATE actions a
   SET template_id = tv.template_id
  FROM inspections i JOIN template_versions tv ON tv.id = i.template_version_id
 WHERE i.id = a.inspection_id AND a.item_key IS NOT NULL;

UPDATE actions a
   SET template_id = only_one.template_id
  FROM (SELECT item_key, min(template_id::text)::uuid AS template_id
          FROM template_items GROUP BY item_key HAVING count(DISTINCT template_id) = 1) only_one
 WHERE a.template_id IS NULL AND a.inspection_id IS NULL AND a.item_key = only_one.item_key;

DROP INDEX actions_one_open_idx;
CREATE UNIQUE INDEX actions_one_open_idx ON actions (station_id, template_id, item_key) NULLS NOT DISTINCT
    WHERE status NOT IN ('verified', 'cancelled') AND item_key IS NOT NULL;

COMMENT ON COLUMN actions.template_id IS
    'the checklist the item belongs to (item keys repeat across templates); NULL for an action on no item';
