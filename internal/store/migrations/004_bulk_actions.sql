-- Bulk actions: the members to act on stay here, not in workflow history;
-- progress and each member's outcome are recorded as chunks finish.
CREATE TABLE bulk_actions (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id   uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    integration_id uuid NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    action         text NOT NULL,
    actor          text NOT NULL,
    reason         text NOT NULL DEFAULT '',
    role           text NOT NULL DEFAULT '',
    member_ids     text[] NOT NULL,
    status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'waiting', 'succeeded', 'failed')),
    waiting_until  timestamptz,
    -- member id -> "" when done, else the error.
    outcomes       jsonb NOT NULL DEFAULT '{}',
    workflow_id    text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);
