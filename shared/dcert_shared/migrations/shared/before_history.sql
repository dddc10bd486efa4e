CREATE TABLE IF NOT EXISTS events (
    position bigserial PRIMARY KEY,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id uuid NOT NULL UNIQUE,
    stream_id text NOT NULL,
    version integer NOT NULL,
    event_type text NOT NULL,
    schema_version integer NOT NULL,
    payload jsonb NOT NULL,
    metadata jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_stream_version UNIQUE (stream_id, version)
);

CREATE INDEX IF NOT EXISTS events_global_order ON events (transaction_id, position);

CREATE TABLE IF NOT EXISTS outbox (
    position bigserial PRIMARY KEY,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    message_id uuid NOT NULL UNIQUE,
    subject text NOT NULL,
    headers jsonb NOT NULL,
    body text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS outbox_global_order ON outbox (transaction_id, position);

CREATE TABLE IF NOT EXISTS checkpoints (
    name text PRIMARY KEY,
    transaction_id xid8 NOT NULL DEFAULT '0',
    position bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = coalesce(current_setting('dcert.schema', true), current_schema()) AND table_name = 'checkpoints' AND column_name = 'stream_sequence') THEN ALTER TABLE checkpoints ADD COLUMN stream_sequence bigint NOT NULL DEFAULT 0; END IF; END $$;

CREATE TABLE IF NOT EXISTS idempotency_keys (
    principal text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    response jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);

CREATE TABLE IF NOT EXISTS inbox (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

CREATE TABLE IF NOT EXISTS dead_letters (
    id bigserial PRIMARY KEY,
    consumer text NOT NULL,
    event_id uuid,
    event_type text,
    subject text NOT NULL,
    message jsonb,
    error text NOT NULL,
    deliveries integer NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now(),
    replayed_at timestamptz
);

CREATE INDEX IF NOT EXISTS dead_letters_open ON dead_letters (consumer) WHERE replayed_at IS NULL;

DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = coalesce(current_setting('dcert.schema', true), current_schema()) AND table_name = 'dead_letters' AND column_name = 'lane') THEN ALTER TABLE dead_letters ADD COLUMN lane text; END IF; END $$;

DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = coalesce(current_setting('dcert.schema', true), current_schema()) AND table_name = 'dead_letters' AND column_name = 'discarded_at') THEN ALTER TABLE dead_letters ADD COLUMN discarded_at timestamptz; END IF; END $$;

CREATE TABLE IF NOT EXISTS parked_events (
    id bigserial PRIMARY KEY,
    consumer text NOT NULL,
    lane text NOT NULL,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    subject text NOT NULL,
    message jsonb NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    error text,
    next_try_at timestamptz NOT NULL DEFAULT now(),
    dead boolean NOT NULL DEFAULT false,
    parked_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT parked_events_once UNIQUE (consumer, event_id)
);

CREATE INDEX IF NOT EXISTS parked_events_lanes ON parked_events (consumer, lane, id);

CREATE TABLE IF NOT EXISTS person_keys (
    person_ref text PRIMARY KEY,
    master_key_id text NOT NULL,
    wrapped_key bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at timestamptz
);

DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
               AND table_name = 'access_log' AND column_name = 'actor_role') THEN
        ALTER TABLE access_log RENAME TO access_log_before_v1;
    END IF;
END $$;

CREATE TABLE IF NOT EXISTS access_log (
    id bigserial PRIMARY KEY,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    read_at timestamptz NOT NULL DEFAULT now(),
    person_ref text NOT NULL,
    reader_role text NOT NULL,
    reader_subject text NOT NULL,
    reader_region text,
    reader_organisation text,
    record_kind text NOT NULL,
    record_ref text NOT NULL,
    service text NOT NULL,
    route text NOT NULL,
    purpose text NOT NULL
);

CREATE INDEX IF NOT EXISTS access_log_person_read_at ON access_log (person_ref, read_at);

CREATE INDEX IF NOT EXISTS access_log_commit_order ON access_log (transaction_id, id);

CREATE OR REPLACE FUNCTION access_log_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.read_at < now() - make_interval(days => 1096) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'the access log is kept: % of % refused', TG_OP, TG_TABLE_NAME
        USING HINT = 'rows are removed only past the retention, by the retention job';
END $$;

DO $$ BEGIN
    CREATE TRIGGER access_log_rows_kept BEFORE UPDATE OR DELETE ON access_log
        FOR EACH ROW EXECUTE FUNCTION access_log_kept();
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN
    CREATE TRIGGER access_log_not_truncated BEFORE TRUNCATE ON access_log
        FOR EACH STATEMENT EXECUTE FUNCTION access_log_kept();
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE TABLE IF NOT EXISTS read_model_sets (
    fingerprint text PRIMARY KEY,
    schema_name text NOT NULL,
    inline boolean NOT NULL DEFAULT false,
    built boolean NOT NULL DEFAULT false,
    transaction_id xid8 NOT NULL DEFAULT '0',
    position bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    switched_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION dcert_begin_write(lock_key text, wanted text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(lock_key, 0));
    RETURN coalesce((SELECT inline FROM read_model_sets WHERE fingerprint = wanted), false);
END $$;

CREATE TABLE IF NOT EXISTS agencies (
    person_ref text NOT NULL,
    agent_ref text NOT NULL,
    verified_at timestamptz NOT NULL,
    PRIMARY KEY (person_ref, agent_ref)
);

CREATE INDEX IF NOT EXISTS agencies_by_agent ON agencies (agent_ref);

CREATE UNLOGGED TABLE IF NOT EXISTS rate_limit_buckets (
    key bytea PRIMARY KEY,
    tat double precision NOT NULL,
    admitted boolean NOT NULL
) WITH (fillfactor = 70);
