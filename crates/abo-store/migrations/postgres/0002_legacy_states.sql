-- API credentials used by pre-2022 ProAbono clients answer legacy subscription
-- state names ("Running", ...) instead of the current ones ("ActiveRunning").
ALTER TABLE api_credentials ADD COLUMN legacy_states BOOLEAN NOT NULL DEFAULT FALSE;
