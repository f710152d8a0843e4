-- 002_roles.sql - the roles the adapters and operators use (see sql/README.md).
--
-- pec_trace_writer: the milter, the Dovecot plugin and the timers.  May insert events but never update,
--   delete or truncate them (the trigger refuses too), and cannot drop partitions (not the owner).
-- pec_trace_reader: log search / extract and trace verify.
-- Roles are cluster-wide: they are created when missing and when the migrating user may create roles;
-- otherwise a notice asks the DBA to create them and the grants are skipped.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pec_trace_writer') THEN
        CREATE ROLE pec_trace_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pec_trace_reader') THEN
        CREATE ROLE pec_trace_reader NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'cannot create roles pec_trace_writer/pec_trace_reader: create them, then run the grants of 002_roles.sql';
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pec_trace_reader') THEN
        GRANT SELECT ON messages, recipients, deliveries, quarantine, chain_heads, events, checkpoints,
                        index_versions, index_providers, pec_schema_version TO pec_trace_reader;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pec_trace_writer') THEN
        GRANT pec_trace_reader TO pec_trace_writer;
        GRANT INSERT ON events, checkpoints, messages, recipients, deliveries, quarantine, chain_heads
            TO pec_trace_writer;
        GRANT UPDATE ON recipients, chain_heads TO pec_trace_writer;
        GRANT USAGE ON SEQUENCE quarantine_id_seq, checkpoints_id_seq TO pec_trace_writer;
        GRANT EXECUTE ON FUNCTION pec_events_partition_ensure(timestamptz) TO pec_trace_writer;
    END IF;
END
$$;
REVOKE UPDATE, DELETE, TRUNCATE ON events, checkpoints FROM PUBLIC;
