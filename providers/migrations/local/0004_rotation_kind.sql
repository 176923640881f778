-- What made each version that is a rotation: `automatic` (the rotation schedule) or
-- `on_demand` (a caller). NULL for a key's first version and for versions made before this
-- was recorded.

ALTER TABLE local_key_versions ADD COLUMN rotation TEXT;
