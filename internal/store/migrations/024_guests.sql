-- A guest is a directory user from outside the company (Entra's userType
-- Guest): shown as such, and matched only by their own addresses.
ALTER TABLE directory_users ADD COLUMN guest boolean NOT NULL DEFAULT false;
ALTER TABLE directory_user_staging ADD COLUMN guest boolean NOT NULL DEFAULT false;

-- Graph keeps a delta round's $select in its deltaLink: links stored before
-- userType was selected would never return it. Each Entra directory starts
-- a full round instead, as after an expired delta token.
UPDATE directories SET delta_link = NULL WHERE type = 'entra';
