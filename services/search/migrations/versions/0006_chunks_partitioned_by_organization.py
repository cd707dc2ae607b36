"""Chunks partitioned by organization (hash, 16 partitions); no statistics histogram for chunk text.

Revision ID: 0006
Revises: 0005

Partitions: one HNSW graph shared by every organization makes a search walk past other organizations'
vectors until it has enough of its own (an iterative scan), and the more organizations, the longer the walk.
Each partition has its own graph (and its own full-text indexes), and a search, always for one organization,
reads one partition. Measured at 100,000 chunks in 10 organizations: the nearest-50 probe took 2.0 ms in a
graph of the organization's own 10,000 chunks against 5.0 ms in the shared one (bench/search_load.py).

Statistics: the planner estimated a trigram match (`<%`, the misspelling fallback) by running it on every
histogram entry of `text`: 10-17 ms of planning for a 1 ms search. With a statistics target of 1 there is no
histogram, the estimate is pg_trgm's default, and the plan (the trigram index) is the same.
"""

from alembic import op

from services.common.rls import tenant_isolation_sql
from services.search.repository import REINDEX_SETTING

revision = "0006"
down_revision = "0005"

PARTITIONS = 16
COLUMNS = (
    "id, organization_id, document_id, generation, chunk_index, page, start_offset, end_offset, heading, text, "
    "model, embedding"
)
TABLE = """
CREATE TABLE search.chunks_new (
    id bigint NOT NULL DEFAULT nextval('search.chunks_id_seq'),
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
    ) STORED
)"""


def _policies(table: str) -> list[str]:
    return [
        *tenant_isolation_sql(table),
        f"CREATE POLICY reindex_access ON {table} USING (current_setting('{REINDEX_SETTING}', true) = 'on')",
    ]


def _rebuild(*, partitioned: bool) -> None:
    """Copy every chunk into a new table of the other shape, then give it the old one's name, keys, indexes
    and policies. FORCE row-level security binds this owner too: the copy reads under reindex_access."""
    op.execute(f"SELECT set_config('{REINDEX_SETTING}', 'on', true)")
    op.execute(TABLE + (" PARTITION BY HASH (organization_id)" if partitioned else ""))
    if partitioned:
        for remainder in range(PARTITIONS):
            op.execute(
                f"CREATE TABLE search.chunks_p{remainder:02d} PARTITION OF search.chunks_new "
                f"FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {remainder})"
            )
    op.execute(f"INSERT INTO search.chunks_new ({COLUMNS}) SELECT {COLUMNS} FROM search.chunks")  # noqa: S608 - constants
    op.execute("ALTER SEQUENCE search.chunks_id_seq OWNED BY NONE")
    op.execute("DROP TABLE search.chunks")
    op.execute("ALTER TABLE search.chunks_new RENAME TO chunks")
    op.execute("ALTER SEQUENCE search.chunks_id_seq OWNED BY search.chunks.id")
    if partitioned:
        # Keys must include the partition key; id first keeps lookups by id alone (the re-index) indexed.
        op.execute("ALTER TABLE search.chunks ADD CONSTRAINT chunks_pkey PRIMARY KEY (id, organization_id)")
        op.execute(
            "ALTER TABLE search.chunks ADD CONSTRAINT chunks_org_document_chunk_key "
            "UNIQUE (organization_id, document_id, chunk_index)"
        )
        op.execute("ALTER TABLE search.chunks ALTER COLUMN text SET STATISTICS 1")
    else:
        op.execute("ALTER TABLE search.chunks ADD CONSTRAINT chunks_pkey PRIMARY KEY (id)")
        op.execute(
            "ALTER TABLE search.chunks ADD CONSTRAINT chunks_document_id_chunk_index_key "
            "UNIQUE (document_id, chunk_index)"
        )
        op.execute("CREATE INDEX chunks_org_document_idx ON search.chunks (organization_id, document_id)")
    op.execute("SET LOCAL maintenance_work_mem = '512MB'")
    op.execute(
        "CREATE INDEX chunks_embedding_half_hnsw ON search.chunks "
        "USING hnsw ((embedding::halfvec(384)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 128)"
    )
    op.execute("CREATE INDEX chunks_org_tsv_gin ON search.chunks USING gin (organization_id, tsv)")
    op.execute("CREATE INDEX chunks_org_text_trgm ON search.chunks USING gin (organization_id, text gin_trgm_ops)")
    # A partition read directly (its owner could) is confined like the table.
    tables = ["search.chunks"] + (
        [f"search.chunks_p{remainder:02d}" for remainder in range(PARTITIONS)] if partitioned else []
    )
    for table in tables:
        for statement in _policies(table):
            op.execute(statement)
    op.execute("ANALYZE search.chunks")


def upgrade() -> None:
    _rebuild(partitioned=True)


def downgrade() -> None:
    _rebuild(partitioned=False)
