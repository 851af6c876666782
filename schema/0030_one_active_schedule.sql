-- At most one active schedule per station and template.
--
-- Two would each make visits for the same station and checklist, while only one visit can be open
-- (assignments_one_open_idx): the second schedule's visits stand in for the first's, which then makes
-- none, never falls overdue and, once the other is stopped, is left active with nothing to do.
--
-- Until now POST /schedules refused a second schedule only while a visit was open, so a live database
-- may hold such pairs. Each is resolved here, the same way whenever this runs: the schedule whose
-- visit is open stays active (it is the one the phones and the visit list show), or else the newest
-- (created_at, then id); the others are stopped, as PATCH /schedules/{id} {"active": false} would stop
-- them, with no open visit to cancel. A stopped one stays in the list (?active=false) with its history.
--
-- schedules holds one row per station and checklist planned (thousands, not millions): the window
-- below reads only its active rows, and the index is built on the small table in an instant.
UPDATE schedules c
   SET active = false, updated_at = now()
  FROM (SELECT s.id,
               row_number() OVER (
                   PARTITION BY s.station_id, s.template_id
                   ORDER BY EXISTS (SELECT 1 FROM assignments a WHERE a.schedule_id = s.id AND a.status = 'open') DESC,
                            s.created_at DESC, s.id DESC) AS n
          FROM schedules s
         WHERE s.active) ranked
 WHERE c.id = ranked.id AND ranked.n > 1;

CREATE UNIQUE INDEX schedules_one_active_idx ON schedules (station_id, template_id) WHERE active;
