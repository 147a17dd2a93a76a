-- An integration that changed how it connects (the API back to the
-- browser) is onboarded again, after an onboarding that finished.
ALTER TABLE workflow_starts DROP CONSTRAINT workflow_starts_kind_check;
ALTER TABLE workflow_starts ADD CONSTRAINT workflow_starts_kind_check
    CHECK (kind IN ('directory_schedule', 'integration_schedule', 'onboarding', 'onboarding_again'));
