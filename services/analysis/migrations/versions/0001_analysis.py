"""Analyses, action items, risks, the model-call ledger with daily roll-ups, the cache, and the outbox.

Revision ID: 0001
Revises:
"""

from alembic import op

from services.common.outbox import outbox_ddl
from services.common.rls import tenant_isolation_sql

revision = "0001"
down_revision = None

TABLES = (
    """CREATE TABLE analysis.analyses (
        document_id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        generation integer NOT NULL,
        summary_short text,
        summary_medium text,
        summary_detailed text,
        cost_usd numeric(14, 8) NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE analysis.action_items (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        document_id uuid NOT NULL REFERENCES analysis.analyses(document_id) ON DELETE CASCADE,
        position integer NOT NULL,
        title text NOT NULL,
        owner text,
        due_date date,
        source_quote text NOT NULL
    )""",
    """CREATE TABLE analysis.risks (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        document_id uuid NOT NULL REFERENCES analysis.analyses(document_id) ON DELETE CASCADE,
        position integer NOT NULL,
        description text NOT NULL,
        severity varchar(8) NOT NULL CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
        mitigation text,
        source_quote text NOT NULL
    )""",
    # Billing facts: kept when a document is deleted.
    """CREATE TABLE analysis.ledger (
        id bigserial PRIMARY KEY,
        organization_id uuid NOT NULL,
        document_id uuid,
        generation integer,
        task text NOT NULL,
        provider text NOT NULL,
        model text NOT NULL,
        input_tokens integer NOT NULL,
        output_tokens integer NOT NULL,
        cost_usd numeric(14, 8) NOT NULL,
        latency_ms integer NOT NULL,
        cached boolean NOT NULL,
        fallback_from text,
        at timestamptz NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE analysis.usage_daily (
        organization_id uuid NOT NULL,
        day date NOT NULL,
        model text NOT NULL,
        task text NOT NULL,
        calls integer NOT NULL,
        input_tokens bigint NOT NULL,
        output_tokens bigint NOT NULL,
        cost_usd numeric(16, 8) NOT NULL,
        PRIMARY KEY (organization_id, day, model, task)
    )""",
    """CREATE TABLE analysis.processing_log (
        organization_id uuid NOT NULL,
        document_id uuid NOT NULL,
        generation integer NOT NULL,
        pages integer NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (document_id, generation)
    )""",
    """CREATE TABLE analysis.cache (
        organization_id uuid NOT NULL,
        key text NOT NULL,
        output jsonb NOT NULL,
        input_tokens integer NOT NULL,
        output_tokens integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, key)
    )""",
)


def upgrade() -> None:
    for statement in TABLES:
        op.execute(statement)
    op.execute("CREATE INDEX ledger_org_at_idx ON analysis.ledger (organization_id, at)")
    op.execute("CREATE INDEX ledger_document_idx ON analysis.ledger (document_id, generation)")
    op.execute("CREATE INDEX processing_log_org_at_idx ON analysis.processing_log (organization_id, at)")
    op.execute("CREATE INDEX action_items_document_idx ON analysis.action_items (document_id, position)")
    op.execute("CREATE INDEX risks_document_idx ON analysis.risks (document_id, position)")
    for table in ("analyses", "action_items", "risks", "ledger", "usage_daily", "processing_log", "cache"):
        for statement in tenant_isolation_sql(f"analysis.{table}"):
            op.execute(statement)
    for statement in outbox_ddl("analysis"):
        op.execute(statement)


def downgrade() -> None:
    for table in ("outbox", "cache", "processing_log", "usage_daily", "ledger", "risks", "action_items", "analyses"):
        op.execute(f"DROP TABLE IF EXISTS analysis.{table}")
