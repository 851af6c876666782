-- What an automatic corrective action says, as a kind rather than only as English text.
--
-- A submission that fails a critical item opens an action whose description ("Critical item failed:
-- <item>") and owner ("SHO, <station>") the server writes in English; exports read that text. The
-- phone words such an action in its reader's language from these kinds and the item's and station's
-- names in both languages. A person who rewrites the text takes it over: the route clears the kind
-- (server/actions/queries.py update_action), and from then on the text is shown as typed.
ALTER TABLE actions
    ADD COLUMN description_kind text CHECK (description_kind IN ('critical_item_failed')),
    ADD COLUMN owner_kind text CHECK (owner_kind IN ('station_sho'));

-- Actions opened before this migration: an automatic action whose text is still exactly what the
-- server wrote (with the item's label in any version of its template, or its key when it had none).
-- The update gives the rows a new change_seq, so phones receive the kinds with their next bundle.
UPDATE actions a
   SET description_kind = CASE
           WHEN a.description = 'Critical item failed: ' || a.item_key
             OR EXISTS (SELECT 1
                          FROM inspections i
                          JOIN template_versions iv ON iv.id = i.template_version_id
                          JOIN template_versions v ON v.template_id = iv.template_id
                         WHERE i.id = a.inspection_id
                           AND a.description = 'Critical item failed: '
                               || (jsonb_path_query_first(v.definition, '$.sections[*].items[*] ? (@.key == $key).label.en',
                                                          jsonb_build_object('key', a.item_key)) #>> '{}'))
           THEN 'critical_item_failed' END,
       owner_kind = CASE WHEN a.owner_name = 'SHO, ' || s.name_en THEN 'station_sho' END
  FROM stations s
 WHERE s.id = a.station_id AND a.source = 'submission' AND a.item_key IS NOT NULL
   AND (a.description LIKE 'Critical item failed: %' OR a.owner_name = 'SHO, ' || s.name_en);
