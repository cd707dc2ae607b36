"""The re-index command's narrow exception to row-level security.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from services.search.repository import REINDEX_SETTING

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # Re-embedding with a new model reads and updates every organization's chunks; only a transaction
    # that turned this setting on (the `reindex` command) sees across organizations.
    op.execute(
        f"CREATE POLICY reindex_access ON search.chunks USING (current_setting('{REINDEX_SETTING}', true) = 'on')"
    )


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS reindex_access ON search.chunks")
