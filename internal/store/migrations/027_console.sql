-- The admin console. Each workspace signs its people in through its own
-- IdP (OpenID Connect): its issuer, client id and sealed client secret;
-- admins are the workspace's admin_emails, viewers these.
ALTER TABLE workspaces
    ADD COLUMN console_issuer    text NOT NULL DEFAULT '',
    ADD COLUMN console_client_id text NOT NULL DEFAULT '',
    ADD COLUMN console_secret_id uuid REFERENCES credentials(id) ON DELETE SET NULL,
    ADD COLUMN console_viewers   text[] NOT NULL DEFAULT '{}';

-- A sign-in under way: the hash of its state, and the nonce the ID token
-- must carry. (The PKCE verifier travels in the browser's cookie only.)
CREATE TABLE console_sign_ins (
    hash         bytea PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    nonce        text NOT NULL,
    expires_at   timestamptz NOT NULL
);

-- A one-time sign-in link (the dev stack's, or an operator's): its hash.
CREATE TABLE console_links (
    hash         bytea PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email        text NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);

-- A signed-in person: the hash of the session cookie's token, the role the
-- workspace gave them, and the token their forms carry against CSRF.
CREATE TABLE console_sessions (
    hash         bytea PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email        text NOT NULL,
    role         text NOT NULL CHECK (role IN ('admin', 'viewer')),
    csrf         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
