-- SCIM directories: the IdP pushes users and groups to Hubkeeper. There is
-- no secret to call it with, only the hash of the bearer token it calls
-- with, and no import: a user missing from nothing is never gone.
ALTER TABLE directories DROP CONSTRAINT directories_type_check;
ALTER TABLE directories ADD CONSTRAINT directories_type_check CHECK (type IN ('okta', 'entra', 'scim'));
ALTER TABLE directories ALTER COLUMN credential_id DROP NOT NULL;
ALTER TABLE directories ADD COLUMN scim_token_hash bytea UNIQUE;
ALTER TABLE directories ADD CONSTRAINT directories_secret
    CHECK (CASE WHEN type = 'scim' THEN credential_id IS NULL AND scim_token_hash IS NOT NULL ELSE credential_id IS NOT NULL END);

-- A pushed user's SCIM attributes as last stored (no id, meta or password).
-- userName is unique among a directory's users that are not deleted.
ALTER TABLE directory_users ADD COLUMN scim jsonb;
CREATE UNIQUE INDEX directory_users_scim_user_name ON directory_users (directory_id, lower(scim->>'userName'))
    WHERE scim IS NOT NULL AND removed_at IS NULL;
CREATE INDEX directory_users_scim_external_id ON directory_users (directory_id, (scim->>'externalId')) WHERE scim IS NOT NULL;

-- A directory's groups, and who is in each.
CREATE TABLE directory_groups (
    directory_id uuid NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
    external_id  text NOT NULL,
    display_name text NOT NULL,
    -- SCIM attributes as last stored, without members (a pushed group).
    scim         jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (directory_id, external_id)
);
CREATE INDEX directory_groups_name ON directory_groups (directory_id, lower(display_name));
CREATE INDEX directory_groups_scim_external_id ON directory_groups (directory_id, (scim->>'externalId')) WHERE scim IS NOT NULL;

CREATE TABLE directory_group_members (
    directory_id uuid NOT NULL,
    group_id     text NOT NULL,
    user_id      text NOT NULL,
    PRIMARY KEY (directory_id, group_id, user_id),
    FOREIGN KEY (directory_id, group_id) REFERENCES directory_groups (directory_id, external_id) ON DELETE CASCADE,
    FOREIGN KEY (directory_id, user_id) REFERENCES directory_users (directory_id, external_id) ON DELETE CASCADE
);
CREATE INDEX directory_group_members_user ON directory_group_members (directory_id, user_id);
