-- Workspaces (tenants), their API keys, encrypted credentials, corporate
-- directories and the users imported from them, sync runs and the audit log.

CREATE TABLE workspaces (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (name <> ''),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- API keys are stored as SHA-256 hashes; the prefix lets people tell keys apart.
CREATE TABLE api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          text NOT NULL,
    prefix        text NOT NULL,
    hash          bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);

-- Secrets (tokens, client secrets, passwords), AES-256-GCM sealed with the key
-- named by key_id. The row id is the associated data, so a ciphertext cannot
-- be moved to another row.
CREATE TABLE credentials (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind          text NOT NULL,
    key_id        text NOT NULL,
    ciphertext    bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE directories (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id   uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    type           text NOT NULL CHECK (type IN ('okta', 'entra')),
    name           text NOT NULL CHECK (name <> ''),
    settings       jsonb NOT NULL DEFAULT '{}',
    credential_id  uuid NOT NULL REFERENCES credentials(id),
    -- Provider cursor kept between runs (Entra's deltaLink).
    delta_link     text,
    status         text NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'needs_reauth')),
    status_message text NOT NULL DEFAULT '',
    last_synced_at timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX directories_workspace ON directories (workspace_id, id);

-- Unchanged users are never rewritten by an import: last seen is the
-- directory's last_synced_at unless removed_at says the user went away.
CREATE TABLE directory_users (
    directory_id      uuid NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
    external_id       text NOT NULL,
    email             text NOT NULL,
    aliases           text[] NOT NULL DEFAULT '{}',
    display_name      text NOT NULL DEFAULT '',
    given_name        text NOT NULL DEFAULT '',
    family_name       text NOT NULL DEFAULT '',
    status            text NOT NULL CHECK (status IN ('active', 'suspended', 'deprovisioned')),
    provider_status   text NOT NULL DEFAULT '',
    first_seen_at     timestamptz NOT NULL DEFAULT now(),
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    removed_at        timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (directory_id, external_id)
);
CREATE INDEX directory_users_email ON directory_users (directory_id, email);
CREATE INDEX directory_users_aliases ON directory_users USING gin (aliases);
CREATE INDEX directory_users_status ON directory_users (directory_id, status, external_id);

CREATE TABLE sync_runs (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    directory_id  uuid REFERENCES directories(id) ON DELETE CASCADE,
    trigger       text NOT NULL,
    workflow_id   text NOT NULL,
    run_id        text NOT NULL UNIQUE,
    status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
    stage         text NOT NULL DEFAULT 'starting',
    full_listing  boolean NOT NULL DEFAULT false,
    next_delta_link text,
    fetched       integer NOT NULL DEFAULT 0,
    requests      integer NOT NULL DEFAULT 0,
    added         integer NOT NULL DEFAULT 0,
    changed       integer NOT NULL DEFAULT 0,
    deprovisioned integer NOT NULL DEFAULT 0,
    unchanged     integer NOT NULL DEFAULT 0,
    error         text NOT NULL DEFAULT '',
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
CREATE INDEX sync_runs_directory ON sync_runs (directory_id, started_at DESC, id);

-- Users fetched by a sync run, waiting to be applied in one statement.
-- Pages are upserted, so a retried page lands once.
CREATE TABLE directory_user_staging (
    sync_run_id     uuid NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    external_id     text NOT NULL,
    email           text NOT NULL,
    aliases         text[] NOT NULL,
    display_name    text NOT NULL,
    given_name      text NOT NULL,
    family_name     text NOT NULL,
    status          text NOT NULL,
    provider_status text NOT NULL,
    removed         boolean NOT NULL,
    PRIMARY KEY (sync_run_id, external_id)
);

CREATE TABLE audit_events (
    id           bigserial PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    action       text NOT NULL,
    subject_type text NOT NULL,
    subject_id   text NOT NULL,
    workflow_id  text NOT NULL DEFAULT '',
    run_id       text NOT NULL DEFAULT '',
    trace_id     text NOT NULL DEFAULT '',
    details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_workspace ON audit_events (workspace_id, id DESC);
