"""Budget reservations (no overspend across concurrent calls or replicas), deletion tombstones, and cache
rows tied to the document they were computed for (removed with it).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from services.common.rls import tenant_isolation_sql

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("""
        CREATE TABLE analysis.budget_reservations (
            id uuid PRIMARY KEY,
            organization_id uuid NOT NULL,
            amount_usd numeric(14, 8) NOT NULL CHECK (amount_usd >= 0),
            expires_at timestamptz NOT NULL
        )""")
    op.execute("CREATE INDEX budget_reservations_org_idx ON analysis.budget_reservations (organization_id, expires_at)")
    # A document deleted while its analysis was in flight must not come back when that analysis finishes.
    op.execute("""
        CREATE TABLE analysis.deleted_documents (
            document_id uuid PRIMARY KEY,
            organization_id uuid NOT NULL,
            deleted_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("ALTER TABLE analysis.cache ADD COLUMN document_id uuid")
    op.execute("CREATE INDEX cache_document_idx ON analysis.cache (organization_id, document_id)")
    for table in ("budget_reservations", "deleted_documents"):
        for statement in tenant_isolation_sql(f"analysis.{table}"):
            op.execute(statement)


def downgrade() -> None:
    op.execute("DROP INDEX analysis.cache_document_idx")
    op.execute("ALTER TABLE analysis.cache DROP COLUMN document_id")
    op.execute("DROP TABLE analysis.deleted_documents")
    op.execute("DROP TABLE analysis.budget_reservations")
