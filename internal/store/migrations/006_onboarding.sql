-- Meta onboarding: the state of each integration's onboarding workflow, as
-- people read it through the API, and API keys with a scope, so support
-- staff can approve dedicated apps for every workspace and do nothing else.

ALTER TABLE api_keys
    ADD COLUMN scope text NOT NULL DEFAULT 'admin' CHECK (scope IN ('admin', 'support')),
    ALTER COLUMN workspace_id DROP NOT NULL,
    -- Admin keys belong to a workspace; support keys serve every workspace.
    ADD CONSTRAINT api_keys_scope_workspace CHECK ((scope = 'admin') = (workspace_id IS NOT NULL));

-- The onboarding workflow owns stage, waiting_for and until; the API only
-- writes what people submit (app credentials, a token to verify, a profile),
-- and only in the stage that expects it.
CREATE TABLE onboardings (
    integration_id      uuid PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
    workspace_id        uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    -- The directory e-mail of the admin who onboards the business (owner claim, reminders).
    admin_email         text NOT NULL,
    stage               text NOT NULL DEFAULT 'app_approval' CHECK (stage IN ('app_approval', 'claim', 'token', 'profile',
                            'first_check', 'owner_claim', 'schedule', 'done', 'failed')),
    waiting_for         text NOT NULL DEFAULT '',
    until               timestamptz,
    -- Why the last submission (token, profile) or claim check was refused, in words.
    problems            text[] NOT NULL DEFAULT '{}',
    -- The dedicated app's secret, sealed; its id is integrations.app_id.
    app_credential_id   uuid REFERENCES credentials(id),
    -- The last token submitted and not yet accepted (accepted ones move to integrations.credential_id).
    token_credential_id uuid REFERENCES credentials(id),
    token_sha256        bytea,
    system_user_id      text NOT NULL DEFAULT '',
    -- The Facebook profile (business-user id or e-mail) the onboarding admin uses.
    profile             text NOT NULL DEFAULT '',
    message             text NOT NULL DEFAULT '',
    started_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz
);
