"""A one-round-trip profile read: the function scopes the organization to its own statement.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # SECURITY INVOKER (the default): row-level security applies to the caller's role as always. The
    # setting is transaction-local, and called outside an explicit transaction the statement is the
    # transaction, so it cannot outlive this call.
    op.execute("""
        CREATE FUNCTION tenancy.user_profile(org uuid, member uuid)
        RETURNS TABLE (
            id uuid, email text, name text, role varchar, created_at timestamptz,
            org_id uuid, org_name text, org_created_at timestamptz
        )
        LANGUAGE plpgsql STABLE AS $$
        BEGIN
            PERFORM set_config('app.current_org_id', org::text, true);
            RETURN QUERY
                SELECT u.id, u.email, u.name, u.role, u.created_at, o.id, o.name, o.created_at
                FROM tenancy.users u JOIN tenancy.organizations o ON o.id = u.organization_id
                WHERE u.id = member AND u.organization_id = org;
        END
        $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION tenancy.user_profile(uuid, uuid)")
