CREATE TABLE IF NOT EXISTS deliveries (
	seq BIGSERIAL NOT NULL, 
	id VARCHAR NOT NULL, 
	subscription_id VARCHAR NOT NULL, 
	partner_id VARCHAR NOT NULL, 
	event_id UUID NOT NULL, 
	event_type VARCHAR NOT NULL, 
	order_key VARCHAR DEFAULT '' NOT NULL, 
	person_ref VARCHAR, 
	region VARCHAR, 
	policy_version INTEGER DEFAULT '1' NOT NULL, 
	body TEXT NOT NULL, 
	status VARCHAR NOT NULL, 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	last_status_code INTEGER, 
	last_error VARCHAR, 
	next_attempt_at TIMESTAMP WITH TIME ZONE DEFAULT now(), 
	claimed_until TIMESTAMP WITH TIME ZONE, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	delivered_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (seq), 
	CONSTRAINT deliveries_once_per_subscription UNIQUE (subscription_id, event_id), 
	UNIQUE (id)
);

CREATE INDEX IF NOT EXISTS deliveries_partner ON deliveries (partner_id, seq);

ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS order_key text NOT NULL DEFAULT '';

ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS policy_version integer NOT NULL DEFAULT 1;

ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS person_ref text;

ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS region text;

DROP INDEX IF EXISTS deliveries_pending_heads;

CREATE INDEX IF NOT EXISTS deliveries_pending_heads_by_key ON deliveries (subscription_id, order_key, seq)
    WHERE status = 'pending';

CREATE INDEX IF NOT EXISTS deliveries_dead ON deliveries (created_at) WHERE status = 'dead';

CREATE TABLE IF NOT EXISTS event_regions (
    key text PRIMARY KEY,
    region text NOT NULL
);

CREATE OR REPLACE FUNCTION notify_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify(coalesce(current_setting('dcert.schema', true), current_schema()) || '_deliveries', '');
RETURN NULL; END $$;

DO $$ BEGIN
    CREATE TRIGGER deliveries_notify AFTER INSERT ON deliveries
        FOR EACH STATEMENT EXECUTE FUNCTION notify_deliveries();
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE TABLE IF NOT EXISTS person_links (
    key text PRIMARY KEY,
    person_ref text NOT NULL,
    agent_refs jsonb NOT NULL DEFAULT '[]',
    card_delivery text
);

CREATE TABLE IF NOT EXISTS contacts (
    person_ref text PRIMARY KEY,
    language text NOT NULL DEFAULT 'zh-CN',
    channels jsonb NOT NULL DEFAULT '["inbox"]',
    sealed_phone text,
    sealed_email text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS notices (
    seq bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    event_id uuid NOT NULL,
    recipient_ref text NOT NULL,
    subject_key text NOT NULL,
    kind text NOT NULL,
    channel text NOT NULL CHECK (channel IN ('inbox', 'sms', 'email')),
    sealed_params text NOT NULL,
    status text NOT NULL CHECK (status IN ('queued', 'retried', 'sent', 'failed', 'withdrawn')),
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    due_at timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    read_at timestamptz,
    UNIQUE (event_id, recipient_ref, kind, channel)
);

CREATE INDEX IF NOT EXISTS notices_inbox ON notices (recipient_ref, due_at) WHERE channel = 'inbox';

CREATE INDEX IF NOT EXISTS notices_to_send ON notices (next_attempt_at)
    WHERE status IN ('queued', 'retried') AND channel <> 'inbox';
