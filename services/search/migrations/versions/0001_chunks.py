"""Chunks with embeddings (HNSW, cosine) and full text (GIN), row-level security, and the outbox.

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
        CREATE TABLE search.chunks (
            id bigserial PRIMARY KEY,
            organization_id uuid NOT NULL,
            document_id uuid NOT NULL,
            generation integer NOT NULL,
            chunk_index integer NOT NULL,
            page integer,
            start_offset integer NOT NULL,
            end_offset integer NOT NULL,
            heading text,
            text text NOT NULL,
            model text NOT NULL,
            embedding vector(384) NOT NULL,
            -- english: stemming for prose; simple: identifiers and numbers exactly as written.
            tsv tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english', coalesce(heading, '')), 'A')
                || setweight(to_tsvector('english', text), 'B')
                || setweight(to_tsvector('simple', text), 'C')
            ) STORED,
            UNIQUE (document_id, chunk_index)
        )""")
    # m=16, ef_construction=64: pgvector's defaults; recall is governed at query time by ef_search
    # (see SearchSettings.hnsw_ef_search and bench/search_load.py).
    op.execute(
        "CREATE INDEX chunks_embedding_hnsw ON search.chunks USING hnsw (embedding vector_cosine_ops) "
        "WITH (m = 16, ef_construction = 64)"
    )
    op.execute("CREATE INDEX chunks_tsv_gin ON search.chunks USING gin (tsv)")
    op.execute("CREATE INDEX chunks_text_trgm ON search.chunks USING gin (text gin_trgm_ops)")
    op.execute("CREATE INDEX chunks_org_document_idx ON search.chunks (organization_id, document_id)")
    op.execute("""
        CREATE TABLE search.deleted_documents (
            document_id uuid PRIMARY KEY,
            organization_id uuid NOT NULL,
            deleted_at timestamptz NOT NULL DEFAULT now()
        )""")
    for table in ("search.chunks", "search.deleted_documents"):
        for statement in tenant_isolation_sql(table):
            op.execute(statement)
    for statement in outbox_ddl("search"):
        op.execute(statement)


def downgrade() -> None:
    for table in ("outbox", "deleted_documents", "chunks"):
        op.execute(f"DROP TABLE IF EXISTS search.{table}")
