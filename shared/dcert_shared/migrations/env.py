"""How alembic meets a service's database: on the connection the start (or the CLI) hands it,
inside its transaction and lock, or offline, printing the SQL for a DBA
(dcert_shared.schema_history)."""

from alembic import context

from dcert_shared.schema_history import configure

configure(context)
