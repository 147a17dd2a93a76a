-- Each credential names the directory or integration it belongs to, so
-- removing one destroys every secret it ever had, superseded ones too.
ALTER TABLE credentials ADD COLUMN owner_id uuid;
UPDATE credentials c SET owner_id = i.id FROM integrations i WHERE c.id IN (i.credential_id, i.session_credential_id);
UPDATE credentials c SET owner_id = o.integration_id FROM onboardings o
    WHERE c.id IN (o.app_credential_id, o.token_credential_id, o.code_credential_id);
UPDATE credentials c SET owner_id = d.id FROM directories d WHERE c.id = d.credential_id;
CREATE INDEX credentials_owner ON credentials (owner_id);
