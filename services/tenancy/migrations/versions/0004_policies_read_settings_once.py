"""Row-level security reads its settings once per statement: every policy's current_setting(...) becomes a
sub-select, which Postgres evaluates once (an InitPlan) instead of once per row it checks.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from services.common.rls import settings_read_once_sql, settings_read_per_row_sql

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute(settings_read_once_sql("tenancy"))


def downgrade() -> None:
    op.execute(settings_read_per_row_sql("tenancy"))
