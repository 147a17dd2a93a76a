-- Workflows and Schedules owed to rows: written in the transaction that
-- creates what they are for, started after it commits (idempotently, by
-- their deterministic ids), and kept until started. A failed commit leaves
-- no Schedule; a Temporal that is down leaves the start here for later.
CREATE TABLE workflow_starts (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('directory_schedule', 'integration_schedule', 'onboarding')),
    -- The directory or integration the start is for.
    subject_id   uuid NOT NULL,
    -- A restarted Meta onboarding whose app was approved begins at the claim.
    app_approved boolean NOT NULL DEFAULT false,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);
