"""Each organization's index version, so a replica can keep search results and know exactly when they go stale.

Revision ID: 0007
Revises: 0006

Every transaction that changes an organization's chunks (indexing, deleting, re-embedding) raises its
version in the same transaction, so a reader that sees version v sees exactly the chunks of version v. A
search result computed after reading v is therefore valid for as long as the version is still v; the
search service keeps such results in memory (services/search/result_cache.py) and checks the version with
one call of `search.index_version` before serving one.
"""

from alembic import op

from services.common.rls import tenant_isolation_sql
from services.search.repository import REINDEX_SETTING

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

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


def upgrade() -> None:
    op.execute("""
        CREATE TABLE search.index_versions (
            organization_id uuid PRIMARY KEY,
            version bigint NOT NULL
        )""")
    for statement in tenant_isolation_sql("search.index_versions"):
        op.execute(statement)
    # The re-index command re-embeds chunks of every organization and raises every version.
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


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS search.index_version(uuid)")
    op.execute("DROP TABLE IF EXISTS search.index_versions")
