-- Pinterest integrations act through an automation account in a browser:
-- its password is the integration's credential; its browser cookies (a
-- login, and a browser Pinterest trusts) are kept sealed between sessions.

ALTER TABLE integrations
    ADD COLUMN session_credential_id uuid REFERENCES credentials(id);

-- A verification code the person submitted, sealed, for the login waiting for it.
ALTER TABLE onboardings
    ADD COLUMN code_credential_id uuid REFERENCES credentials(id),
    DROP CONSTRAINT onboardings_stage_check,
    ADD CONSTRAINT onboardings_stage_check CHECK (stage IN ('app_approval', 'claim', 'token', 'profile', 'login',
        'first_check', 'owner_claim', 'schedule', 'done', 'failed'));
