-- Per-version state: a version scheduled for destruction records when its material is
-- destroyed (and keeps the date once it is). The state name `pending_destruction` becomes
-- `destroy_scheduled`.

ALTER TABLE local_key_versions ADD COLUMN destroy_time BIGINT;

UPDATE local_key_versions SET state = 'destroy_scheduled' WHERE state = 'pending_destruction';

CREATE INDEX local_key_versions_destroy_time ON local_key_versions (destroy_time);
