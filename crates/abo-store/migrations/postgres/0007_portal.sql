-- Hosted pages (customer portal): per-segment look, framing and texts, and the grey-list
-- counter of payment-form failures. Keep logically identical on both backends.

-- One row per segment that customised its portal; a segment without a row uses the defaults.
CREATE TABLE portal_segment_settings (
    business_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    -- Extra origins allowed to frame the hosted pages (besides the origins of the segment's
    -- url_integrated_form / url_integrated_portal), space-separated, e.g.
    -- 'https://app.example https://www.example'.
    frame_origins TEXT NULL,
    -- CSS appended after the built-in stylesheet.
    css TEXT NULL,
    -- Header and footer HTML, stored already sanitised (allowlist).
    header_html TEXT NULL,
    footer_html TEXT NULL,
    -- The segment's logo: media type and base64 bytes (PNG, JPEG, SVG, WebP; at most 256 KiB).
    logo_mime TEXT NULL,
    logo_base64 TEXT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT portal_segment_settings_key PRIMARY KEY (business_id, segment_id),
    FOREIGN KEY (business_id, segment_id) REFERENCES segments (business_id, id)
);

-- Per-segment overrides of the portal's strings, per language ('en', 'fr').
CREATE TABLE portal_texts (
    business_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    language TEXT NOT NULL,
    text_key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT portal_texts_key PRIMARY KEY (business_id, segment_id, language, text_key),
    FOREIGN KEY (business_id, segment_id) REFERENCES segments (business_id, id)
);

-- Consecutive declined registrations on the payment forms; reaching the threshold grey-lists
-- the customer (customers.is_grey_listed). Reset by a successful registration.
CREATE TABLE portal_payment_failures (
    business_id BIGINT NOT NULL,
    customer_id BIGINT NOT NULL,
    count BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT portal_payment_failures_key PRIMARY KEY (business_id, customer_id),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id)
);
