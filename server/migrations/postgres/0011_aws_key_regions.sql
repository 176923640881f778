-- The AWS KMS dialect's regions: the region a key was created in through the AWS door (the
-- region its CreateKey request was signed for). NULL for keys the door did not create (made
-- through the CLI, the REST API or another dialect, or by a keygate before this column):
-- those belong to their provider's home region under `[dialects.aws]`. Plain SQL that
-- PostgreSQL also runs.
ALTER TABLE aws_key_ids ADD COLUMN region TEXT;
