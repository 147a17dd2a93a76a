-- A Page's edges take the Page's own access token, which the asset listing
-- gives: a check keeps it sealed with the staged Page until its grants are
-- read, and never in clear. A Page that came without one could not be read
-- (unreadable): its grants stay as they were.
ALTER TABLE asset_staging
    ADD COLUMN token_key_id text,
    ADD COLUMN sealed_token bytea,
    ADD COLUMN unreadable boolean NOT NULL DEFAULT false;
