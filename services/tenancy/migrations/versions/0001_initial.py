"""Organizations, users, refresh tokens, audit log and login throttling, with row-level security.

Revision ID: 0001
Revises:
"""

from alembic import op

from services.common.rls import tenant_isolation_sql

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE tenancy.organizations (
            id uuid PRIMARY KEY,
            name text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("""
        CREATE TABLE tenancy.users (
            id uuid PRIMARY KEY,
            organization_id uuid NOT NULL REFERENCES tenancy.organizations(id) ON DELETE CASCADE,
            email text NOT NULL,
            name text,
            role varchar(16) NOT NULL CHECK (role IN ('ADMIN', 'MEMBER', 'VIEWER')),
            password_hash text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )""")
    # E-mail addresses are the login name, so unique across organizations.
    op.execute("CREATE UNIQUE INDEX users_email_key ON tenancy.users (email)")
    op.execute("CREATE INDEX users_organization_idx ON tenancy.users (organization_id, created_at)")
    op.execute("""
        CREATE TABLE tenancy.refresh_tokens (
            id uuid PRIMARY KEY,
            organization_id uuid NOT NULL REFERENCES tenancy.organizations(id) ON DELETE CASCADE,
            user_id uuid NOT NULL REFERENCES tenancy.users(id) ON DELETE CASCADE,
            family_id uuid NOT NULL,
            token_hash text NOT NULL UNIQUE,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            used_at timestamptz,
            revoked_at timestamptz
        )""")
    op.execute("CREATE INDEX refresh_tokens_family_idx ON tenancy.refresh_tokens (family_id)")
    op.execute("""
        CREATE TABLE tenancy.audit_events (
            id uuid PRIMARY KEY,
            organization_id uuid NOT NULL REFERENCES tenancy.organizations(id) ON DELETE CASCADE,
            event_type text NOT NULL,
            actor_user_id uuid,
            subject text,
            source_address text NOT NULL DEFAULT '',
            details jsonb NOT NULL DEFAULT '{}'::jsonb,
            at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE INDEX audit_events_org_at_idx ON tenancy.audit_events (organization_id, at DESC)")
    op.execute("""
        CREATE TABLE tenancy.login_throttle (
            key text PRIMARY KEY,
            failures integer NOT NULL,
            window_started_at timestamptz NOT NULL
        )""")

    for statement in tenant_isolation_sql("tenancy.organizations", column="id"):
        op.execute(statement)
    for table in ("tenancy.users", "tenancy.refresh_tokens", "tenancy.audit_events"):
        for statement in tenant_isolation_sql(table):
            op.execute(statement)
    # Before sign-in there is no organization yet: a login may read exactly the user whose e-mail it
    # presents, and a refresh exactly the token whose hash it presents. Nothing else becomes visible.
    op.execute("""
        CREATE POLICY login_lookup ON tenancy.users FOR SELECT
        USING (email = NULLIF(current_setting('app.login_email', true), ''))""")
    op.execute("""
        CREATE POLICY refresh_lookup ON tenancy.refresh_tokens FOR SELECT
        USING (token_hash = NULLIF(current_setting('app.refresh_token_hash', true), ''))""")


def downgrade() -> None:
    for table in ("login_throttle", "audit_events", "refresh_tokens", "users", "organizations"):
        op.execute(f"DROP TABLE IF EXISTS tenancy.{table}")
