-- Deprovision reports: members whose directory identity was deprovisioned,
-- waiting for an admin's decision; confirmation tokens stored hashed.

ALTER TABLE workspaces
    ADD COLUMN admin_emails text[] NOT NULL DEFAULT '{}',
    -- Whether suspended directory users are reported like deprovisioned ones.
    ADD COLUMN report_suspended boolean NOT NULL DEFAULT false;

CREATE TABLE deprovision_reports (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id   uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    integration_id uuid NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    status         text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'confirmed', 'rejected', 'expired', 'applied', 'partially_applied')),
    decided_by     text NOT NULL DEFAULT '',
    decided_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);
-- One open report per integration; later findings join it.
CREATE UNIQUE INDEX deprovision_reports_open ON deprovision_reports (integration_id) WHERE status = 'pending';
CREATE INDEX deprovision_reports_workspace ON deprovision_reports (workspace_id, created_at DESC, id);

CREATE TABLE report_members (
    report_id        uuid NOT NULL REFERENCES deprovision_reports(id) ON DELETE CASCADE,
    member_id        text NOT NULL,
    email            text NOT NULL,
    name             text NOT NULL,
    directory_status text NOT NULL,
    included         boolean NOT NULL DEFAULT true,
    -- '' until decided; then removed, kept (left out or rejected) or failed: <reason>.
    outcome          text NOT NULL DEFAULT '',
    added_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (report_id, member_id)
);

-- Confirmation links: the token travels only in the e-mail; its SHA-256 is kept.
CREATE TABLE report_tokens (
    hash        bytea PRIMARY KEY,
    report_id   uuid NOT NULL REFERENCES deprovision_reports(id) ON DELETE CASCADE,
    recipient   text NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
