-- Audit before acting: a state-changing or cryptographic call writes an intent row (outcome
-- 'unknown') before it acts and an outcome row after, which names the intent row's seq here.
-- NULL on intent rows, on rows of calls audited by one row (reads, refusals) and on rows
-- written before this column existed.
ALTER TABLE audit_events ADD COLUMN intent_seq INTEGER;
-- Finding an intent's outcome (audit verify counts intents without one).
CREATE INDEX audit_events_by_intent ON audit_events (intent_seq) WHERE intent_seq IS NOT NULL;
