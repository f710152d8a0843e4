-- 006_index_signed_at.sql - when the provider index version was signed (the CMS signingTime of the
-- .ldif.p7m it came in), so that `pecctl index refresh` takes a fetched index only when it is newer than
-- the current copy: a replayed older index never replaces a newer one.  NULL: imported unsigned or
-- before this migration.
ALTER TABLE index_versions ADD COLUMN signed_at timestamptz;
