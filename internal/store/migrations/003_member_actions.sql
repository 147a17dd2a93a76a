-- Admins' actions on members, one row per workflow run, so the API can say
-- what is under way and what it waits for.
CREATE TABLE member_actions (
    workflow_id    text NOT NULL,
    run_id         text NOT NULL,
    workspace_id   uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    integration_id uuid NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    member_id      text NOT NULL,
    action         text NOT NULL,
    actor          text NOT NULL,
    status         text NOT NULL CHECK (status IN ('running', 'waiting', 'succeeded', 'failed')),
    waiting_until  timestamptz,
    error          text NOT NULL DEFAULT '',
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    PRIMARY KEY (run_id)
);
CREATE INDEX member_actions_member ON member_actions (integration_id, member_id, started_at DESC);
