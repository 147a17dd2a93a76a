-- Report e-mails sent, per recipient: a retried send mails only the admins
-- who have not had that e-mail yet.
CREATE TABLE report_mails (
    report_id uuid NOT NULL REFERENCES deprovision_reports(id) ON DELETE CASCADE,
    -- Which e-mail: the review run and the step that sends it.
    mail_key  text NOT NULL,
    recipient text NOT NULL,
    sent_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (report_id, mail_key, recipient)
);
