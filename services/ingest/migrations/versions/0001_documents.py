"""Documents, their extracted text, and the outbox, with row-level security.

Revision ID: 0001
Revises:
"""

from alembic import op

from services.common.outbox import outbox_ddl
from services.common.rls import tenant_isolation_sql

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE ingest.documents (
            id uuid PRIMARY KEY,
            organization_id uuid NOT NULL,
            generation integer NOT NULL DEFAULT 1,
            title text NOT NULL,
            file_name text NOT NULL,
            content_type text NOT NULL,
            size_bytes bigint NOT NULL,
            sha256 varchar(64) NOT NULL,
            object_key text NOT NULL,
            status varchar(16) NOT NULL CHECK (status IN
                ('QUEUED', 'EXTRACTING', 'INDEXING', 'ANALYZING', 'COMPLETED', 'FAILED')),
            progress integer NOT NULL CHECK (progress BETWEEN 0 AND 100),
            progress_message text NOT NULL DEFAULT '',
            error text,
            page_count integer,
            uploaded_by uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            attempts integer NOT NULL DEFAULT 0,
            lease_expires_at timestamptz,
            deleted_at timestamptz
        )""")
    # Newest-first keyset pagination per organization, optionally by status.
    op.execute(
        "CREATE INDEX documents_org_created_idx ON ingest.documents (organization_id, created_at DESC, id DESC) "
        "WHERE deleted_at IS NULL"
    )
    op.execute(
        "CREATE INDEX documents_org_status_idx ON ingest.documents (organization_id, status, created_at DESC, id DESC) "
        "WHERE deleted_at IS NULL"
    )
    # The reaper looks for work whose lease or stage deadline has passed.
    op.execute(
        "CREATE INDEX documents_working_idx ON ingest.documents (status, updated_at) "
        "WHERE status IN ('QUEUED', 'EXTRACTING', 'INDEXING', 'ANALYZING') AND deleted_at IS NULL"
    )
    op.execute("""
        CREATE TABLE ingest.document_texts (
            document_id uuid PRIMARY KEY REFERENCES ingest.documents(id) ON DELETE CASCADE,
            organization_id uuid NOT NULL,
            generation integer NOT NULL,
            text text NOT NULL
        )""")
    for table in ("ingest.documents", "ingest.document_texts"):
        for statement in tenant_isolation_sql(table):
            op.execute(statement)
    # The reaper works across organizations; this setting opens the documents table to it alone.
    op.execute("""
        CREATE POLICY reaper_access ON ingest.documents
        USING (current_setting('app.reaper', true) = 'on')""")
    for statement in outbox_ddl("ingest"):
        op.execute(statement)


def downgrade() -> None:
    for table in ("outbox", "document_texts", "documents"):
        op.execute(f"DROP TABLE IF EXISTS ingest.{table}")
