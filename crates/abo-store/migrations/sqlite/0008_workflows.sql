-- Customer workflows (hosted pages): where to send the customer once a workflow is over
-- (spec §3.5, ProAbono's Settings → Hosted Pages → Customer Workflows). Keep logically
-- identical on both backends.
CREATE TABLE workflow_settings (
    business_id BIGINT NOT NULL,
    segment_id BIGINT NOT NULL,
    -- Absolute http(s) URL; the workflow appends from, outcome, idc, refo, idsub.
    -- NULL: the workflow ends on its own confirmation page.
    url_return TEXT NULL,
    updated_at_us BIGINT NOT NULL,
    CONSTRAINT workflow_settings_key PRIMARY KEY (business_id, segment_id),
    FOREIGN KEY (business_id, segment_id) REFERENCES segments (business_id, id)
);
