-- 004_queued_at.sql - when Postfix durably queued a submitted message (issue 12 #6).  The access point
-- writes the message row before its end-of-message reply, so that nothing is accepted untraced; when the
-- transaction then fails (disk full, milter timeout, a lost connection) Postfix never queues the
-- message and nothing is sent for it.  queued_at is set when the accettazione is emitted (pec-emitter
-- does so only once Postfix delivered the marker of the queued message): the timers only follow
-- messages with queued_at, and a row without it is a certification that never left the access point.
ALTER TABLE messages ADD COLUMN queued_at timestamptz;
-- rows written before this migration were accepted by the version that wrote them: taken as queued
UPDATE messages SET queued_at = accepted_at WHERE queued_at IS NULL;
-- the writer confirms it, and may change nothing else of the row
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pec_trace_writer') THEN
        GRANT UPDATE (queued_at) ON messages TO pec_trace_writer;
    END IF;
END
$$;
