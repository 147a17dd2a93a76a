-- Where the next round of Entra's groups delta query starts.
ALTER TABLE directories ADD COLUMN groups_delta_link text;
