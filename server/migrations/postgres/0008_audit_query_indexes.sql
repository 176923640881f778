-- The SQLite migration 0008_audit_query_indexes.sql for PostgreSQL: composite indexes for the
-- audit filters the CLI (`keygate audit tail|export` flags), the REST API (`GET /v1/audit`
-- parameters) and the console's audit screen combine, so that no combination reads the whole
-- table.
--
-- Queries page by seq, so an index whose equality columns are followed by seq serves the page
-- in order and stops after it; a time window is served by an index ending in time.
-- One key and one principal: the key's rows of that principal, in seq order.
CREATE INDEX audit_events_by_key_principal ON audit_events (key_uri, principal, seq);
-- One key, one principal, one action or one outcome within a time window.
CREATE INDEX audit_events_by_key_time ON audit_events (key_uri, time);
CREATE INDEX audit_events_by_principal_time ON audit_events (principal, time);
CREATE INDEX audit_events_by_action_time ON audit_events (action, time);
CREATE INDEX audit_events_by_outcome_time ON audit_events (outcome, time);
-- One outcome (failures, denials, intents without outcome), in seq order.
CREATE INDEX audit_events_by_outcome ON audit_events (outcome, seq);
