-- An automatic corrective action withdrawn because its inspection no longer fails the item.
--
-- Besides a reviewer's override ('override_passed', 0011), the inspector's own correction can take the
-- failure out of the record: a returned inspection, resubmitted with the critical item now passing (or
-- hidden by a changed answer), no longer fails what opened the action. Such an action, if nobody has
-- worked on it yet, is cancelled with `cancel_reason` 'answer_corrected' when a reviewer approves the
-- corrected inspection (server/review/service.py, server/actions/queries.py withdraw_passed).
ALTER TABLE actions DROP CONSTRAINT actions_cancel_reason_check;
ALTER TABLE actions
    ADD CONSTRAINT actions_cancel_reason_check CHECK (cancel_reason IN ('override_passed', 'answer_corrected'));
