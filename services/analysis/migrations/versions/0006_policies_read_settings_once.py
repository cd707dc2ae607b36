"""Row-level security reads its settings once per statement: every policy's current_setting(...) becomes a
sub-select, which Postgres evaluates once (an InitPlan) instead of once per row it checks.

A register list's total is counted from an index alone (organization, kind, status, and the due date the alert
policy reads), without visiting the table's rows.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from services.common.rls import settings_read_once_sql, settings_read_per_row_sql

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute(settings_read_once_sql("analysis"))
    op.execute(
        "CREATE INDEX register_count_idx ON analysis.register_entries "
        "(organization_id, kind, status) INCLUDE (due_date)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX analysis.register_count_idx")
    op.execute(settings_read_per_row_sql("analysis"))
