CREATE TABLE IF NOT EXISTS signing_keys (
    key_id text PRIMARY KEY,
    private_seed bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz NULL
);

ALTER TABLE signing_keys ADD COLUMN IF NOT EXISTS retired_at timestamptz NULL;
