-- An import halts instead of deprovisioning more than this share of a
-- directory's users (a wrong tenant or a broken filter would otherwise
-- report everyone). A halted run keeps its staged users until an admin
-- accepts it or a newer import starts.
ALTER TABLE directories
    ADD COLUMN deprovision_safeguard real NOT NULL DEFAULT 0.1 CHECK (deprovision_safeguard > 0 AND deprovision_safeguard <= 1);
