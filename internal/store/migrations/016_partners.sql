-- Native partners: the businesses a Meta business works with (its agencies
-- and its clients), and which partners hold each asset with the tasks they
-- are permitted. Read-only: a check replaces them with what Meta says.
CREATE TABLE partners (
    integration_id uuid NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    relation       text NOT NULL CHECK (relation IN ('agency', 'client')),
    partner_id     text NOT NULL,
    name           text NOT NULL,
    first_seen_at  timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (integration_id, relation, partner_id)
);

CREATE TABLE asset_partners (
    integration_id uuid NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    asset_id       text NOT NULL,
    partner_id     text NOT NULL,
    name           text NOT NULL,
    tasks          text[] NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (integration_id, asset_id, partner_id)
);

CREATE TABLE partner_staging (
    sync_run_id uuid NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    relation    text NOT NULL,
    partner_id  text NOT NULL,
    name        text NOT NULL,
    PRIMARY KEY (sync_run_id, relation, partner_id)
);

CREATE TABLE asset_partner_staging (
    sync_run_id uuid NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    asset_id    text NOT NULL,
    partner_id  text NOT NULL,
    name        text NOT NULL,
    tasks       text[] NOT NULL,
    PRIMARY KEY (sync_run_id, asset_id, partner_id)
);

-- A run that read partners (checks recorded before partners existed did
-- not: their reconcile leaves partners as they were).
ALTER TABLE sync_runs ADD COLUMN partners_fetched boolean NOT NULL DEFAULT false;
