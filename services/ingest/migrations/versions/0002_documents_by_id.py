"""Documents by id in one call, for the gateway's lookups behind every search and answer.

Revision ID: 0002
Revises: 0001

The gateway attaches each search hit's document by asking ingest for them (GetDocuments). In a transaction
that lookup took four round trips (begin, tenant setting, select, commit), and at 20 concurrent searches
ingest spent as much CPU on it as the gateway on the whole request, a fifth of it writing to the socket.
`ingest.documents_by_id` sets the tenant itself, local to the caller's transaction (in autocommit, its own
statement), so row-level security filters every row exactly as before; the caller runs it in autocommit.
"""

from alembic import op

revision = "0002"
down_revision = "0001"

DOCUMENTS_BY_ID = """
CREATE FUNCTION ingest.documents_by_id(p_organization_id uuid, p_ids uuid[])
RETURNS SETOF ingest.documents
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM set_config('app.current_org_id', p_organization_id::text, true);
    RETURN QUERY
        SELECT * FROM ingest.documents AS d
        WHERE d.organization_id = p_organization_id AND d.id = ANY(p_ids) AND d.deleted_at IS NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(DOCUMENTS_BY_ID)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS ingest.documents_by_id(uuid, uuid[])")
