"""An e-mail's attachments are documents of their own, linked to it; an e-mail keeps its headers.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("ALTER TABLE ingest.documents ADD COLUMN attached_to_id uuid, ADD COLUMN email_headers jsonb")
    # A document's attachments are looked up by their e-mail (its page, its deletion), always within its organization.
    op.execute(
        "CREATE INDEX documents_attached_to ON ingest.documents (organization_id, attached_to_id) "
        "WHERE attached_to_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ingest.documents_attached_to")
    op.execute("ALTER TABLE ingest.documents DROP COLUMN email_headers, DROP COLUMN attached_to_id")
