-- A queued action looks at its member again before it acts: one that finds
-- the member changed ends cancelled, having sent nothing. Every finished
-- action says what it did in a sentence (outcome); report members say it too.

ALTER TABLE member_actions
    ADD COLUMN outcome text NOT NULL DEFAULT '',
    DROP CONSTRAINT member_actions_status_check,
    ADD CONSTRAINT member_actions_status_check CHECK (status IN ('running', 'waiting', 'succeeded', 'cancelled', 'failed'));

ALTER TABLE report_members
    -- The person the member was matched to when reported: a removal is
    -- called off if the member was matched to someone else meanwhile.
    ADD COLUMN matched_email text,
    -- What happened to the member, for machines; outcome says it for people.
    ADD COLUMN result text NOT NULL DEFAULT '' CHECK (result IN ('', 'removed', 'gone', 'kept', 'cancelled', 'failed'));
UPDATE report_members SET result = CASE WHEN outcome = 'removed' THEN 'removed' WHEN outcome = 'kept' THEN 'kept'
    WHEN outcome LIKE 'failed%' THEN 'failed' ELSE '' END;

-- Each bulk member as the admin saw it (member id -> snapshot): a chunk acts
-- only on members that have not changed since.
ALTER TABLE bulk_actions ADD COLUMN expected jsonb NOT NULL DEFAULT '{}';
