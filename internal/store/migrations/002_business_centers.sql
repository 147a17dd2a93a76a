-- Business centers (integrations): their members, assets and who holds
-- which tasks on which asset, and the staging rows of a "check for updates".

CREATE TABLE integrations (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id     uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    provider         text NOT NULL CHECK (provider IN ('meta', 'pinterest')),
    label            text NOT NULL CHECK (label <> ''),
    business_id      text NOT NULL CHECK (business_id <> ''),
    app_id           text NOT NULL DEFAULT '',
    login_method     text NOT NULL CHECK (login_method IN ('sso', 'password')),
    credential_id    uuid REFERENCES credentials(id),
    -- Non-secret connection settings (Graph base URL and version).
    settings         jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'connected' CHECK (status IN ('onboarding', 'connected', 'needs_reauth')),
    status_message   text NOT NULL DEFAULT '',
    -- A sync halts instead of marking more than this share of members removed.
    removal_safeguard real NOT NULL DEFAULT 0.2 CHECK (removal_safeguard > 0 AND removal_safeguard <= 1),
    restricted_until timestamptz,
    last_synced_at   timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, provider, business_id)
);
CREATE INDEX integrations_workspace ON integrations (workspace_id, id);

CREATE TABLE members (
    integration_id    uuid NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    external_id       text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('user', 'invitation', 'system_user')),
    email             text NOT NULL DEFAULT '',
    name              text NOT NULL DEFAULT '',
    role              text NOT NULL DEFAULT '',
    tasks             text[] NOT NULL DEFAULT '{}',
    invitation_status text NOT NULL DEFAULT '',
    state             text NOT NULL CHECK (state IN ('onboarded', 'unmatched', 'exempted', 'pending', 'removed', 'system')),
    -- How many directory people the e-mail matched: one, none or several (a person decides).
    match             text NOT NULL DEFAULT 'none' CHECK (match IN ('one', 'none', 'several')),
    -- The matched person's primary e-mail in the workspace's directories.
    matched_email     text,
    matched_by        text NOT NULL DEFAULT 'sync' CHECK (matched_by IN ('sync', 'admin')),
    hub_role          text CHECK (hub_role IN ('owner', 'collaborator')),
    exempt_reason     text NOT NULL DEFAULT '',
    first_seen_at     timestamptz NOT NULL DEFAULT now(),
    removed_at        timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, external_id)
);
CREATE INDEX members_state ON members (integration_id, state, external_id);

CREATE TABLE assets (
    integration_id uuid NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    external_id    text NOT NULL,
    type           text NOT NULL,
    ownership      text NOT NULL,
    name           text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, external_id)
);

CREATE TABLE asset_grants (
    integration_id uuid NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    asset_id       text NOT NULL,
    member_id      text NOT NULL,
    tasks          text[] NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, asset_id, member_id)
);
CREATE INDEX asset_grants_member ON asset_grants (integration_id, member_id);

ALTER TABLE sync_runs
    ADD COLUMN integration_id uuid REFERENCES integrations(id) ON DELETE CASCADE,
    ADD COLUMN removed       integer NOT NULL DEFAULT 0,
    ADD COLUMN halted        boolean NOT NULL DEFAULT false,
    ADD COLUMN details       jsonb NOT NULL DEFAULT '{}';
CREATE INDEX sync_runs_integration ON sync_runs (integration_id, started_at DESC, id);

CREATE TABLE member_staging (
    sync_run_id       uuid NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    external_id       text NOT NULL,
    kind              text NOT NULL,
    email             text NOT NULL,
    name              text NOT NULL,
    role              text NOT NULL,
    tasks             text[] NOT NULL,
    invitation_status text NOT NULL,
    PRIMARY KEY (sync_run_id, external_id)
);

CREATE TABLE asset_staging (
    sync_run_id uuid NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    external_id text NOT NULL,
    type        text NOT NULL,
    ownership   text NOT NULL,
    name        text NOT NULL,
    PRIMARY KEY (sync_run_id, external_id)
);

CREATE TABLE grant_staging (
    sync_run_id uuid NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    asset_id    text NOT NULL,
    member_id   text NOT NULL,
    tasks       text[] NOT NULL,
    PRIMARY KEY (sync_run_id, asset_id, member_id)
);
