-- A person an admin kept (a rejected report, or left out of a confirmed one)
-- is not reported again until their directory status changes again: the
-- member remembers who kept them, when, and the status change they were kept at.
ALTER TABLE members
    ADD COLUMN kept_by text,
    ADD COLUMN kept_at timestamptz,
    ADD COLUMN kept_status_changed_at timestamptz;

-- A report's version grows each time people join it; a decision names the
-- version the admin saw, so nobody added since is removed unseen.
ALTER TABLE deprovision_reports ADD COLUMN version integer NOT NULL DEFAULT 0;
