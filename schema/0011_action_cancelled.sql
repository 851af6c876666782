-- A corrective action whose cause is gone: `cancelled`, a final status beside `verified`.
--
-- `verified` says someone saw the fix. When a reviewer's override passes the failed critical item that
-- opened an action automatically, nothing was fixed: the failure is no longer in the record. Such an
-- action, if nobody has worked on it yet, is closed as `cancelled` with `cancel_reason`
-- 'override_passed' (server/actions/queries.py withdraw_for_passed_overrides); a reviewer or an
-- administrator may also cancel an action, saying why in a note, and then `cancel_reason` stays null.
-- Like `verified`, `cancelled` is final, and a failure found again later opens a new action: the
-- one-unfinished-action-per-item index leaves both final statuses out.
ALTER TABLE actions DROP CONSTRAINT actions_status_check;
ALTER TABLE actions
    ADD CONSTRAINT actions_status_check CHECK (status IN ('open', 'in_progress', 'done', 'verified', 'cancelled')),
    ADD COLUMN cancel_reason text CHECK (cancel_reason IN ('override_passed')),
    ADD CONSTRAINT actions_cancelled_for_a_reason CHECK (cancel_reason IS NULL OR status = 'cancelled');

DROP INDEX actions_one_open_idx;
CREATE UNIQUE INDEX actions_one_open_idx ON actions (station_id, item_key)
    WHERE status NOT IN ('verified', 'cancelled') AND item_key IS NOT NULL;
