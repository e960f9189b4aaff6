-- Customer e-mails (spec §1.12), sqlite. Keep logically identical to the other backend's
-- 0006_emails.sql (only the identity column differs). No booleans: a switch is a row.

-- E-mail types switched on for a segment (ProAbono: all off by default). A row means "on".
CREATE TABLE segment_email_types (
    business_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    -- The type name, e.g. InvoiceNewPaid (abo-mail's EmailType).
    template TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (business_id, segment_id, template),
    FOREIGN KEY (business_id, segment_id) REFERENCES segments (business_id, id)
);

-- The merchant's own wording of one type in one language; a NULL part keeps the default.
-- Each part is a minijinja template rendered with the e-mail's variables.
CREATE TABLE segment_email_templates (
    business_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    template TEXT NOT NULL,
    -- 'en' or 'fr'
    language TEXT NOT NULL,
    subject TEXT NULL,
    body_html TEXT NULL,
    body_text TEXT NULL,
    updated_at_us BIGINT NOT NULL,
    PRIMARY KEY (business_id, segment_id, template, language),
    FOREIGN KEY (business_id, segment_id) REFERENCES segments (business_id, id)
);

-- Every e-mail job's outcome, once: the natural key is the outbox job's, so however many nodes
-- run the job, one row records whether (and what) was sent. The customer's e-mail history.
CREATE TABLE sent_emails (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    business_id BIGINT NOT NULL,
    natural_key TEXT NOT NULL,
    job_id BIGINT NULL,
    customer_id BIGINT NULL,
    template TEXT NOT NULL,
    language TEXT NOT NULL,
    -- Sent, Disabled (type off for the segment), NoRecipient (customer without e-mail)
    state TEXT NOT NULL,
    recipient TEXT NULL,
    subject TEXT NULL,
    message_id TEXT NULL,
    created_at_us BIGINT NOT NULL,
    CONSTRAINT sent_emails_natural_key UNIQUE (business_id, natural_key)
);
CREATE INDEX sent_emails_customer_idx ON sent_emails (business_id, customer_id, created_at_us);
