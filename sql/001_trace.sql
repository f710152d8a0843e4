-- 001_trace.sql - the trace store (registro): submitted messages, their recipients, delivery claims,
-- the append-only hash-chained event log (monthly partitions), chain heads and signed checkpoints.
--
-- Applied by `pecctl db migrate` in one transaction; forward-only: never edit an applied file, add
-- a new NNN_name.sql instead.  All times are timestamptz; partitions are cut on UTC month boundaries.

-- One row per message submitted to our access point (accepted or not).
CREATE TABLE messages (
    identificativo text PRIMARY KEY,          -- the PEC identifier we assigned
    client_msgid   text,                      -- Message-ID of the user's original message
    sender         text NOT NULL,
    subject        bytea,                     -- verbatim header bytes (any charset, even broken)
    receipt_type   text,                      -- completa | breve | sintetica
    queue_id       text,
    accepted_at    timestamptz NOT NULL,      -- the one time reference of the acceptance
    node           integer NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_client_msgid ON messages (client_msgid);
CREATE INDEX messages_sender ON messages (lower(sender));
CREATE INDEX messages_accepted_at ON messages (accepted_at);

-- One row per recipient of a submitted message, with the time each state was reached.
CREATE TABLE recipients (
    identificativo     text NOT NULL REFERENCES messages (identificativo) ON DELETE CASCADE,
    address            text NOT NULL,
    certified          boolean NOT NULL,      -- certificato (PEC) or esterno
    header             text NOT NULL CHECK (header IN ('to', 'cc')),
    relayed_at         timestamptz,           -- busta di trasporto handed to the next MTA
    presa_in_carico_at timestamptz,
    consegna_at        timestamptz,           -- avvenuta consegna received
    errore_at          timestamptz,           -- avviso di mancata consegna received
    errore_code        text,
    errore_text        bytea,
    notice12_at        timestamptz,           -- 12 h preavviso sent
    notice24_at        timestamptz,           -- 24 h preavviso sent
    PRIMARY KEY (identificativo, address)
);
CREATE INDEX recipients_address ON recipients (lower(address));
-- the timers only ever look at certified recipients still waiting for something
CREATE INDEX recipients_open ON recipients (identificativo)
    WHERE certified AND notice24_at IS NULL AND consegna_at IS NULL AND errore_at IS NULL;

-- Delivery point idempotence: one row per (envelope, mailbox) whose delivery receipt was claimed.
CREATE TABLE deliveries (
    identificativo text NOT NULL,
    address        text NOT NULL,
    claimed_at     timestamptz NOT NULL,
    node           integer NOT NULL,
    PRIMARY KEY (identificativo, address)
);
CREATE INDEX deliveries_claimed_at ON deliveries (claimed_at);

-- Virus-infected messages kept in the special storage (30 months): where, and what was found.
CREATE TABLE quarantine (
    id             bigserial PRIMARY KEY,
    identificativo text,
    detected_at    timestamptz NOT NULL,
    virus          text NOT NULL,
    storage_ref    text NOT NULL,             -- path or URL of the stored message in the archive
    sha256         text,                      -- of the stored message, hex
    sender         text,
    node           integer NOT NULL
);
CREATE INDEX quarantine_identificativo ON quarantine (identificativo);
CREATE INDEX quarantine_detected_at ON quarantine (detected_at);

-- The last link of each hash chain (one chain per node): appends lock this row, so the appends of one
-- chain are serialised while nodes write in parallel.
CREATE TABLE chain_heads (
    chain      integer PRIMARY KEY,
    seq        bigint NOT NULL,
    hash       bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- lower-case copy of an address array, so searches by recipient are case-insensitive and indexed
CREATE FUNCTION pec_lower_array(a text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(lower(x)), '{}') FROM unnest(a) AS x $$;

-- The event log.  hash = SHA-256(prev_hash || canonical row), computed by the writer (trace_canon.c);
-- seq counts 1, 2, 3... per chain, so a deleted row is a gap and an inserted one a duplicate.
CREATE TABLE events (
    chain           integer NOT NULL,
    seq             bigint NOT NULL,
    event_time      timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    type            text NOT NULL,
    identificativo  text,
    message_id      text,                     -- Message-ID of the message this event generated
    queue_id        text,
    sender          text,
    recipients      text[] NOT NULL,
    recipient_types text[] NOT NULL,          -- certificato | esterno | '' per recipient
    subject         bytea,
    gestore         text,
    receipt_type    text,
    errore          text,
    errore_esteso   bytea,
    virus           text,
    node            integer NOT NULL,
    prev_hash       bytea NOT NULL,
    hash            bytea NOT NULL,
    PRIMARY KEY (chain, seq, event_time)
) PARTITION BY RANGE (event_time);
CREATE INDEX events_time ON events (event_time);
CREATE INDEX events_identificativo ON events (identificativo);
CREATE INDEX events_message_id ON events (message_id);
CREATE INDEX events_sender ON events (lower(sender));
CREATE INDEX events_recipients ON events USING gin (pec_lower_array(recipients));

-- refuse every change to a logged row: the log is append-only
CREATE FUNCTION pec_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION pec_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION pec_append_only();

-- pec_events_partition_ensure - create the partition holding instant t if missing; returns its name.
-- SECURITY DEFINER so the writer role needs no CREATE right; creators are serialised by an advisory lock.
CREATE FUNCTION pec_events_partition_ensure(t timestamptz) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
    AS $$
DECLARE
    lo   timestamp := date_trunc('month', t AT TIME ZONE 'UTC');
    part text := 'events_' || to_char(lo, 'YYYYMM');
BEGIN
    IF to_regclass(part) IS NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('pec_events_partition'));
        -- the lock does not refresh this session's catalog cache: a creator that committed while
        -- we waited can still be invisible here, hence the duplicate_table handler
        BEGIN
            EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)', part,
                           lo AT TIME ZONE 'UTC', (lo + interval '1 month') AT TIME ZONE 'UTC');
            -- a TRUNCATE of the partition itself would not fire the parent's statement trigger
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                           'EXECUTE FUNCTION pec_append_only()', part || '_no_truncate', part);
        EXCEPTION WHEN duplicate_table THEN
            NULL;
        END;
    END IF;
    RETURN part;
END
$$;

-- pec_events_partition_drop - drop one monthly partition (purge only; the owner alone may run it)
CREATE FUNCTION pec_events_partition_drop(part text) RETURNS void
    LANGUAGE plpgsql SET search_path FROM CURRENT
    AS $$
BEGIN
    IF part !~ '^events_[0-9]{6}$' OR NOT EXISTS (
            SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'events'::regclass AND c.relname = part) THEN
        RAISE EXCEPTION '% is not a monthly partition of events', part;
    END IF;
    EXECUTE format('DROP TABLE %I', part);
END
$$;
REVOKE ALL ON FUNCTION pec_events_partition_drop(text) FROM PUBLIC;

-- Signed checkpoints: content is the signed text (chain heads, purged ranges), signature the CMS
-- SignedData embedding it.  Also append-only.
CREATE TABLE checkpoints (
    id         bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL,
    reason     text NOT NULL,
    node       integer NOT NULL,
    content    bytea NOT NULL,
    signature  bytea NOT NULL
);
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION pec_append_only();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION pec_append_only();

-- The local copy of the provider index: every imported version (the LDIF as verified), the newest is
-- current; index_providers mirrors the current one for SQL use (replaced in the import transaction).
CREATE TABLE index_versions (
    version     bigserial PRIMARY KEY,
    imported_at timestamptz NOT NULL,
    source      text NOT NULL,
    sha256      text NOT NULL,
    providers   integer NOT NULL,
    ldif        bytea NOT NULL
);
CREATE TABLE index_providers (
    name         text NOT NULL,
    mail_receipt text NOT NULL,
    unit         text,
    ldif_url     text,
    domains      text[] NOT NULL,
    version      bigint NOT NULL REFERENCES index_versions (version)
);
CREATE INDEX index_providers_domains ON index_providers USING gin (domains);
