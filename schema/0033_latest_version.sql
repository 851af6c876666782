-- The newest published version of a template: the one a new inspection of it starts on, and whose
-- `kinds` say at which stations the template may be used now. Planning (a visit held back), the
-- checks of a new visit, a corrective action's checklist and the templates list each wrote out
-- "ORDER BY version DESC LIMIT 1" before; this is the one place that says which version is newest.
--
-- A plain SQL function of one SELECT: PostgreSQL inlines it into the calling query, so a lateral
-- join or a scalar subquery over it plans as the query written out did (one probe of the
-- (template_id, version) key).
CREATE FUNCTION latest_version(template uuid) RETURNS SETOF template_versions
    LANGUAGE sql STABLE ROWS 1 AS
$$ SELECT * FROM template_versions WHERE template_id = template ORDER BY version DESC LIMIT 1 $$;
