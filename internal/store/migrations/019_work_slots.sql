-- A check or import holds a slot while it calls its provider, so that the
-- number running at once is bounded per provider and per workspace across
-- every worker. A slot whose holder vanished without releasing it (a run
-- terminated by an operator) lapses when its lease expires.
CREATE TABLE work_slots (
    holder       text PRIMARY KEY,
    provider     text NOT NULL,
    workspace_id text NOT NULL,
    expires_at   timestamptz NOT NULL
);
