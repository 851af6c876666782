-- A reviewer's override judges the answers of the revision the reviewer read. Until now an override
-- stayed in force until the inspector resubmitted (0005); since the server's change that came with
-- this migration, it stops applying as soon as the inspector writes a new revision of the returned
-- inspection, draft or not (server/inspections/queries.py supersede_overrides), because that
-- revision is scored afresh from the new answers.
--
-- Drafts saved after a return before that change still have their overrides in force, beside a score
-- that includes none of them: they are superseded here, at the time the draft was last written. A
-- returned inspection the inspector has not touched keeps its overrides, as does everything else.
UPDATE score_overrides o
   SET superseded_at = i.updated_at
  FROM inspections i
 WHERE i.id = o.inspection_id AND i.status = 'draft' AND o.superseded_at IS NULL;
