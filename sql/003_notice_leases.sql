-- 003_notice_leases.sql - a 12 h / 24 h notice is leased before it is sent and marked sent only once it
-- went out (issue 12 #4).  Before, the claim marked it sent first: a failed send or a crash between the
-- two left a notice never sent and never retried.  The lease is the time a timer run took the notice;
-- a lease older than PEC_TRACE_NOTICE_LEASE seconds (a run that crashed) may be taken again.
ALTER TABLE recipients
    ADD COLUMN notice12_leased_at timestamptz,
    ADD COLUMN notice24_leased_at timestamptz;
