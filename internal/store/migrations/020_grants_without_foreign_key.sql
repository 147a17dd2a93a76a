-- A check writes tens of thousands of grants at once, and the foreign key
-- checked each row against integrations: a third of the reconcile. Every
-- writer of grants now holds the integration's row instead (the reconcile
-- with FOR KEY SHARE, admins' changes through the member's row), and
-- removing an integration deletes its grants itself.
ALTER TABLE asset_grants DROP CONSTRAINT asset_grants_integration_id_fkey;
