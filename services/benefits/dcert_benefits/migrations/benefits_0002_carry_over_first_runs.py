"""carry the first version's monthly runs into the ledger

Once: the runs of the first version, whose lines are inside their MonthlyRunCompleted (v1). A
month already paid twice by overlapping v1 runs keeps its first line; in-kind lines (amount 0)
were never money. The prefix is significant_digits() of the region. A database that had it
already (its `ledger_carry_over` row) is left as it is.

Revision ID: benefits_0002
Revises: benefits_0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "benefits_0002"
down_revision: str | Sequence[str] | None = "benefits_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(CARRY_OVER)


CARRY_OVER = """
DO $carry$
BEGIN
    IF EXISTS (SELECT FROM ledger_carry_over WHERE name = 'MonthlyRunCompleted v1') THEN
        RETURN;
    END IF;
    CREATE TEMPORARY TABLE v1_run ON COMMIT DROP AS
        SELECT position, payload->>'run_id' AS id, to_date(payload->>'month', 'YYYY-MM') AS month,
               payload->>'region' AS region, payload->'lines' AS lines, recorded_at
        FROM events WHERE event_type = 'MonthlyRunCompleted' AND schema_version = 1;
    INSERT INTO monthly_run (id, month, region, prefix, status, first_month, catch_up_from,
                             started_at, completed_at)
    SELECT id, month, region, regexp_replace(region, '(00){1,3}$', ''), 'completed', month, month,
           recorded_at, recorded_at
    FROM v1_run ORDER BY position
    ON CONFLICT DO NOTHING;
    INSERT INTO entitlement_line (run_id, person_ref, benefit, for_month, paid_in_month,
                                  certificate_number, household_region, amount_fen, policy_version, kind)
    SELECT r.id, line->>'person_ref', line->>'benefit', r.month, r.month, line->>'certificate_number',
           line->>'household_region', (line->>'amount_fen')::bigint, line->>'policy_version', 'regular'
    FROM v1_run r CROSS JOIN LATERAL jsonb_array_elements(r.lines) AS line
    WHERE (line->>'amount_fen')::bigint > 0
    ORDER BY r.position
    ON CONFLICT DO NOTHING;
    UPDATE monthly_run SET line_count = carried.lines, total_fen = carried.total
    FROM (
        SELECT run_id, count(*) AS lines, sum(amount_fen) AS total FROM entitlement_line
        WHERE run_id IN (SELECT id FROM v1_run) GROUP BY run_id
    ) AS carried
    WHERE monthly_run.id = carried.run_id;
    INSERT INTO ledger_carry_over (name) VALUES ('MonthlyRunCompleted v1');
END
$carry$
"""
