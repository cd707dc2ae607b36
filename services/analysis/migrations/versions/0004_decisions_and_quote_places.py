"""Decisions beside action items and risks, and where each quote sits: its page, or the time it was said in a
timed transcript.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from services.common.rls import tenant_isolation_sql

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("""
        CREATE TABLE analysis.decisions (
            id uuid PRIMARY KEY,
            organization_id uuid NOT NULL,
            document_id uuid NOT NULL REFERENCES analysis.analyses(document_id) ON DELETE CASCADE,
            position integer NOT NULL,
            text text NOT NULL,
            made_by text,
            source_quote text NOT NULL,
            page integer,
            quote_time text
        )""")
    op.execute("CREATE INDEX decisions_document_idx ON analysis.decisions (document_id, position)")
    for statement in tenant_isolation_sql("analysis.decisions"):
        op.execute(statement)
    for table in ("action_items", "risks"):
        op.execute(f"ALTER TABLE analysis.{table} ADD COLUMN page integer, ADD COLUMN quote_time text")


def downgrade() -> None:
    for table in ("action_items", "risks"):
        op.execute(f"ALTER TABLE analysis.{table} DROP COLUMN page, DROP COLUMN quote_time")
    op.execute("DROP TABLE IF EXISTS analysis.decisions")
