-- Two-factor authentication as Meta reports it: each business user's
-- two_fac_status, the business's two_factor_type.
ALTER TABLE member_staging ADD COLUMN two_fac_status text NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN two_fac_status text NOT NULL DEFAULT '';

-- What debug_token said of the system-user token at the last check: when it
-- and its data access expire (NULL: never, or not checked yet).
ALTER TABLE integrations
    ADD COLUMN two_factor_type text NOT NULL DEFAULT '',
    ADD COLUMN token_expires_at timestamptz,
    ADD COLUMN data_access_expires_at timestamptz,
    ADD COLUMN token_checked_at timestamptz;

-- Token expiry notices sent, per recipient and expiry: each admin is told
-- once about each expiry, however often a check or a send is retried.
CREATE TABLE token_notices (
    integration_id uuid NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    expires_at     timestamptz NOT NULL,
    recipient      text NOT NULL,
    sent_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, expires_at, recipient)
);
