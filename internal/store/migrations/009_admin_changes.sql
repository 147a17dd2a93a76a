-- A check for updates applies a snapshot fetched over minutes; an admin may
-- change a member meanwhile. Admins' changes are numbered, a check notes the
-- number when it starts, and its reconcile leaves alone every member an admin
-- changed after that: the provider's later state comes with the next check.
CREATE SEQUENCE member_changes;
ALTER TABLE members ADD COLUMN admin_change bigint NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN admin_changes_before bigint;
