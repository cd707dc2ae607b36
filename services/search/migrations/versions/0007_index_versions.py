"""Each organization's index version, so a replica can keep search results and know exactly when they go stale.

Revision ID: 0007
Revises: 0006

Triggers on search.chunks raise the version of every organization a statement changed, in that statement's
transaction: indexing, deleting, re-embedding, and edits by hand or by an older replica during a rolling
deploy alike. So once a reader sees version v, every change it cannot see yet comes with a version above v.
A search reads the version (one call of `search.index_version`) before it reads any chunk, so the results it
computes reflect v or something newer; the search service keeps them in memory under v
(services/search/result_cache.py) and serves them only while the version is still v.

Lock order: a writer locks chunk rows, then (at the end of its statement) its organizations' version rows,
in organization order; no writer waits for a chunk while holding a version row of another organization.
"""

from alembic import op

from services.common.rls import tenant_isolation_sql
from services.search.repository import REINDEX_SETTING

revision = "0007"
down_revision = "0006"

INDEX_VERSION = """
CREATE FUNCTION search.index_version(p_organization_id uuid) RETURNS bigint
LANGUAGE plpgsql
AS $$
BEGIN
    -- Row-level security reads this; local to the caller's transaction (in autocommit, this statement).
    PERFORM set_config('app.current_org_id', p_organization_id::text, true);
    RETURN coalesce(
        (SELECT v.version FROM search.index_versions AS v WHERE v.organization_id = p_organization_id), 0);
END
$$
"""


RAISE_INDEX_VERSIONS = """
CREATE FUNCTION search.raise_index_versions() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO search.index_versions AS v (organization_id, version)
    SELECT DISTINCT organization_id, 1 FROM changed ORDER BY organization_id
    ON CONFLICT (organization_id) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END
$$
"""

# One trigger per event: a trigger with transition tables takes one event (the table name differs).
TRIGGERS = {"insert": "NEW", "update": "NEW", "delete": "OLD"}


def upgrade() -> None:
    op.execute("""
        CREATE TABLE search.index_versions (
            organization_id uuid PRIMARY KEY,
            version bigint NOT NULL
        )""")
    for statement in tenant_isolation_sql("search.index_versions"):
        op.execute(statement)
    # The re-index command updates chunks of every organization, so its trigger raises their versions.
    op.execute(
        "CREATE POLICY reindex_access ON search.index_versions "
        f"USING (current_setting('{REINDEX_SETTING}', true) = 'on')"
    )
    # FORCE row-level security binds this owner too: the chunks are read under reindex_access.
    op.execute(f"SELECT set_config('{REINDEX_SETTING}', 'on', true)")
    op.execute(
        "INSERT INTO search.index_versions (organization_id, version) "
        "SELECT DISTINCT organization_id, 1 FROM search.chunks"
    )
    op.execute(INDEX_VERSION)
    op.execute(RAISE_INDEX_VERSIONS)
    for event, rows in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER chunks_{event}_raises_index_versions AFTER {event.upper()} ON search.chunks "
            f"REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION search.raise_index_versions()"
        )


def downgrade() -> None:
    for event in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS chunks_{event}_raises_index_versions ON search.chunks")
    op.execute("DROP FUNCTION IF EXISTS search.raise_index_versions()")
    op.execute("DROP FUNCTION IF EXISTS search.index_version(uuid)")
    op.execute("DROP TABLE IF EXISTS search.index_versions")
