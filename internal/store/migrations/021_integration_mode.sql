-- How an integration reaches its provider: Pinterest through its web app
-- in a browser ('browser') or its API ('api'); Meta has one way ('').
ALTER TABLE integrations ADD COLUMN mode text NOT NULL DEFAULT '';
UPDATE integrations SET mode = 'browser' WHERE provider = 'pinterest';

-- An OAuth consent under way: the hash of the state an admin's browser
-- carries to the provider and back, good once, for a while.
CREATE TABLE oauth_states (
    hash           bytea PRIMARY KEY,
    integration_id uuid NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    actor          text NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);
