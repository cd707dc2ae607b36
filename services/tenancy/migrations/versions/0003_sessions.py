"""Sessions: one row per sign-in (a refresh-token family), listed and revocable by their user.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from services.common.rls import tenant_isolation_sql

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    # The id is the family id its refresh tokens share and the `sid` claim of its access tokens. Families signed
    # in before this migration get their row at their next refresh (row-level security hides every row from the
    # migration, so it cannot copy them here).
    op.execute("""
        CREATE TABLE tenancy.sessions (
            id uuid PRIMARY KEY,
            organization_id uuid NOT NULL REFERENCES tenancy.organizations(id) ON DELETE CASCADE,
            user_id uuid NOT NULL REFERENCES tenancy.users(id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL,
            last_used_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL,
            user_agent text,
            source_address text,
            revoked_at timestamptz
        )""")
    op.execute("CREATE INDEX sessions_user_idx ON tenancy.sessions (organization_id, user_id, last_used_at DESC)")
    for statement in tenant_isolation_sql("tenancy.sessions"):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS tenancy.sessions")
