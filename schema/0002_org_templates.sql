-- Organisation lists, template publishing and assignments: indexes and the few columns they need.

-- Station lists are filtered by circle as well as by district.
CREATE INDEX stations_circle_idx ON stations (circle_id);

-- One open assignment per station and template. An inspection submitted for a station and template
-- then completes exactly one assignment, and a schedule can never pile up duplicate open work.
CREATE UNIQUE INDEX assignments_one_open_idx ON assignments (station_id, template_id) WHERE status = 'open';

-- "Overdue" is open work whose due date has passed: a small, hot subset of the table.
CREATE INDEX assignments_open_due_idx ON assignments (due_date) WHERE status = 'open';

-- An inspection completes at most one assignment, which makes completing idempotent.
CREATE UNIQUE INDEX assignments_inspection_idx ON assignments (inspection_id) WHERE inspection_id IS NOT NULL;

CREATE INDEX assignments_schedule_idx ON assignments (schedule_id) WHERE schedule_id IS NOT NULL;
CREATE INDEX schedules_station_idx ON schedules (station_id);
CREATE INDEX schedules_inspector_idx ON schedules (inspector_id);

-- The day of the month a schedule started on. A schedule begun on the 31st falls on the last day of
-- shorter months and returns to the 31st afterwards, instead of drifting to the 28th for ever.
-- Null (rows written without it) means "the day of next_due".
ALTER TABLE schedules ADD COLUMN anchor_day smallint CHECK (anchor_day BETWEEN 1 AND 31);
ALTER TABLE schedules ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
