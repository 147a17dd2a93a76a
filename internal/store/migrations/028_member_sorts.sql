-- The console sorts a tab's members by name or e-mail, a page at a time.
CREATE INDEX members_state_name ON members (integration_id, state, name, external_id);
CREATE INDEX members_state_email ON members (integration_id, state, email, external_id);
