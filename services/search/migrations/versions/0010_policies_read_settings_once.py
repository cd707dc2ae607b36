"""Row-level security reads its settings once per statement: every policy's current_setting(...) becomes a
sub-select, which Postgres evaluates once (an InitPlan) instead of once per row it checks.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

from services.common.rls import settings_read_once_sql, settings_read_per_row_sql

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.execute(settings_read_once_sql("search"))


def downgrade() -> None:
    op.execute(settings_read_per_row_sql("search"))
