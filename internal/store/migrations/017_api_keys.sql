-- API keys get an optional expiry and the time each was last used. Support
-- keys belong to no workspace: their events are audited without one.
ALTER TABLE api_keys
    ADD COLUMN expires_at   timestamptz,
    ADD COLUMN last_used_at timestamptz;
ALTER TABLE audit_events ALTER COLUMN workspace_id DROP NOT NULL;
