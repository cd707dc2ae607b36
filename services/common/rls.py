"""SQL for row-level security, shared by every service's migrations."""

from __future__ import annotations

# NULLIF: after a SET LOCAL transaction ends the setting reads '' rather than NULL; '' must match nothing.
CURRENT_ORG = "NULLIF(current_setting('app.current_org_id', true), '')::uuid"


def tenant_isolation_sql(table: str, *, column: str = "organization_id") -> list[str]:
    """Statements that confine `table` to the organization set for the transaction, owner included."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({column} = {CURRENT_ORG}) "
        f"WITH CHECK ({column} = {CURRENT_ORG})",
    ]
