CREATE TABLE IF NOT EXISTS partner_fact_policy (
	partner_id VARCHAR NOT NULL, 
	facts JSONB NOT NULL, 
	registered_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	policy_version INTEGER DEFAULT '1' NOT NULL, 
	regions JSONB DEFAULT '["000000"]'::jsonb NOT NULL, 
	PRIMARY KEY (partner_id)
);

ALTER TABLE partner_fact_policy ADD COLUMN IF NOT EXISTS policy_version integer NOT NULL DEFAULT 1;

ALTER TABLE partner_fact_policy ADD COLUMN IF NOT EXISTS regions jsonb NOT NULL DEFAULT '["000000"]';

CREATE TABLE IF NOT EXISTS policy_effects (
    benefit text NOT NULL,
    version integer NOT NULL,
    rule_id text NOT NULL,
    region text NOT NULL,
    effective_from date NOT NULL,
    reached text NOT NULL DEFAULT '',
    holders integer NOT NULL DEFAULT 0,
    applied_at timestamptz,
    PRIMARY KEY (benefit, version, rule_id)
);

CREATE TABLE IF NOT EXISTS monthly_run (
    id text PRIMARY KEY,
    month date NOT NULL,
    region text NOT NULL,
    prefix text NOT NULL,
    status text NOT NULL,
    cursor text NOT NULL DEFAULT '',
    first_month date NOT NULL,
    catch_up_from date NOT NULL,
    late_since timestamptz,
    reach_within jsonb NOT NULL DEFAULT '[]',
    line_count integer NOT NULL DEFAULT 0,
    arrears_count integer NOT NULL DEFAULT 0,
    total_fen bigint NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    closed_at timestamptz,
    UNIQUE (month, region)
);

CREATE TABLE IF NOT EXISTS entitlement_line (
    id bigserial PRIMARY KEY,
    run_id text NOT NULL,
    person_ref text NOT NULL,
    benefit text NOT NULL,
    for_month date NOT NULL,
    paid_in_month date NOT NULL,
    certificate_number text NOT NULL,
    household_region text NOT NULL,
    amount_fen bigint NOT NULL CHECK (amount_fen > 0),
    policy_version text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('regular', 'arrears')),
    UNIQUE (person_ref, benefit, for_month)
);

CREATE INDEX IF NOT EXISTS entitlement_line_run ON entitlement_line (run_id, id);

ALTER TABLE monthly_run ADD COLUMN IF NOT EXISTS reach_within jsonb NOT NULL DEFAULT '[]';

CREATE TABLE IF NOT EXISTS ledger_carry_over (
    name text PRIMARY KEY,
    done_at timestamptz NOT NULL DEFAULT now()
);
-- The first version's runs are carried into the ledger by revision benefits_0002, which runs
-- after the baseline is stamped (it does nothing where the carry-over was done already).
