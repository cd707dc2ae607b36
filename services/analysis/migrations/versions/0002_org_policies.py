"""Per-organization routing policy: cost priority and monthly budget, overriding the service defaults.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from services.common.rls import tenant_isolation_sql

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("""
        CREATE TABLE analysis.org_policies (
            organization_id uuid PRIMARY KEY,
            cost_priority text CHECK (cost_priority IN ('economy', 'balanced', 'quality')),
            monthly_budget_usd numeric(12, 2) CHECK (monthly_budget_usd >= 0)
        )""")
    for statement in tenant_isolation_sql("analysis.org_policies"):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE analysis.org_policies")
