"""Rate-limit counters shared by every gateway replica (keys and counts only, no tenant data).

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE gateway.rate_limit_counters (
            key text NOT NULL,
            window_start bigint NOT NULL,
            hits integer NOT NULL,
            PRIMARY KEY (key, window_start)
        )""")


def downgrade() -> None:
    op.execute("DROP TABLE gateway.rate_limit_counters")
