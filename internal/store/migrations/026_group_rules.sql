-- A group rule: members of a directory group get a role (and tasks on
-- assets) in an integration. Joiners are invited, movers changed, leavers
-- reported; every change is a member action.
CREATE TABLE group_rules (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id   uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    integration_id uuid NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    directory_id   uuid NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
    group_id       text NOT NULL,
    role           text NOT NULL,
    assets         jsonb NOT NULL DEFAULT '[]',
    actor          text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (integration_id, directory_id, group_id)
);

-- The people a rule covers: while in its group they are its; once they
-- leave it, their access goes into the integration's deprovision report.
CREATE TABLE group_rule_people (
    rule_id   uuid NOT NULL REFERENCES group_rules(id) ON DELETE CASCADE,
    email     text NOT NULL,
    joined_at timestamptz NOT NULL DEFAULT now(),
    left_at   timestamptz,
    PRIMARY KEY (rule_id, email)
);

-- A member reported for leaving a rule's group (not for being deprovisioned):
-- the group, which the removal checks they are still out of.
ALTER TABLE report_members ADD COLUMN left_directory_id uuid, ADD COLUMN left_group_id text;
