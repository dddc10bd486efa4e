CREATE TABLE IF NOT EXISTS person_access_log (
    service text NOT NULL,
    log_id bigint NOT NULL,
    read_at timestamptz NOT NULL,
    person_ref text NOT NULL,
    reader_role text NOT NULL,
    reader_subject text NOT NULL,
    reader_region text,
    reader_organisation text,
    record_kind text NOT NULL,
    record_ref text NOT NULL,
    route text NOT NULL,
    purpose text NOT NULL,
    collected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service, log_id)
);

CREATE INDEX IF NOT EXISTS person_access_log_newest
    ON person_access_log (person_ref, read_at DESC, service DESC, log_id DESC);

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
    CREATE TRIGGER person_access_log_rows_kept BEFORE UPDATE OR DELETE ON person_access_log
        FOR EACH ROW EXECUTE FUNCTION access_log_kept();
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN
    CREATE TRIGGER person_access_log_not_truncated BEFORE TRUNCATE ON person_access_log
        FOR EACH STATEMENT EXECUTE FUNCTION access_log_kept();
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
