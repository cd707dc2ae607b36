"""A document may be a new version of another of its organization's documents.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("ALTER TABLE ingest.documents ADD COLUMN replaces_id uuid")


def downgrade() -> None:
    op.execute("ALTER TABLE ingest.documents DROP COLUMN replaces_id")
