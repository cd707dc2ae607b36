"""The project register: entries (action items, risks, decisions) across an organization's documents, the mentions
that found them (one per document that speaks of them), and what alerting has already said about each.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from services.common.rls import tenant_isolation_sql

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute("""
        CREATE TABLE analysis.register_entries (
            id uuid PRIMARY KEY,
            organization_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('action_item', 'risk', 'decision')),
            title text NOT NULL,
            owner text,
            due_date date,
            status text NOT NULL,
            severity text CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
            mitigation text,
            made_by text,
            person_fields text[] NOT NULL DEFAULT '{}',
            due_soon_alerted_at timestamptz,
            overdue_alerted_at timestamptz,
            high_risk_alerted_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            -- The orders the register is read in: items by due date (undated last), risks worst first.
            due_order date GENERATED ALWAYS AS (coalesce(due_date, 'infinity'::date)) STORED,
            severity_rank smallint GENERATED ALWAYS AS (
                CASE severity WHEN 'CRITICAL' THEN 4 WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 1
                ELSE 0 END
            ) STORED,
            CHECK (kind <> 'action_item' OR status IN ('OPEN', 'IN_PROGRESS', 'DONE', 'DROPPED')),
            CHECK (kind <> 'risk' OR (status IN ('OPEN', 'MITIGATED', 'CLOSED') AND severity IS NOT NULL))
        )""")
    # Each list in the order it is read, so a page is the next rows of an index.
    op.execute(
        "CREATE INDEX register_due_order_idx ON analysis.register_entries (organization_id, kind, due_order, id)"
    )
    op.execute(
        "CREATE INDEX register_owner_idx ON analysis.register_entries "
        "(organization_id, kind, lower(owner), due_order, id)"
    )
    op.execute(
        "CREATE INDEX register_severity_idx ON analysis.register_entries "
        "(organization_id, kind, severity_rank DESC, updated_at DESC, id)"
    )
    op.execute(
        "CREATE INDEX register_created_idx ON analysis.register_entries (organization_id, kind, created_at DESC, id)"
    )
    op.execute("""
        CREATE TABLE analysis.register_mentions (
            id uuid PRIMARY KEY,
            organization_id uuid NOT NULL,
            entry_id uuid NOT NULL REFERENCES analysis.register_entries(id) ON DELETE CASCADE,
            document_id uuid NOT NULL,
            generation integer NOT NULL,
            source_quote text NOT NULL,
            page integer,
            quote_time text,
            status text,
            severity text,
            at timestamptz NOT NULL DEFAULT now(),
            words text[] NOT NULL DEFAULT '{}',
            embedding vector(384)
        )""")
    op.execute("CREATE INDEX register_mentions_entry_idx ON analysis.register_mentions (entry_id, at, id)")
    op.execute(
        "CREATE INDEX register_mentions_document_idx ON analysis.register_mentions (organization_id, document_id)"
    )
    # Matching looks for a new mention's nearest earlier mentions within the organization.
    op.execute(
        "CREATE INDEX register_mentions_embedding_idx ON analysis.register_mentions "
        "USING hnsw (embedding vector_cosine_ops)"
    )
    # Budget alerts already sent: one per organization, month and threshold.
    op.execute("""
        CREATE TABLE analysis.budget_alerts (
            organization_id uuid NOT NULL,
            month date NOT NULL,
            threshold integer NOT NULL,
            at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (organization_id, month, threshold)
        )""")
    for table in ("register_entries", "register_mentions", "budget_alerts"):
        for statement in tenant_isolation_sql(f"analysis.{table}"):
            op.execute(statement)
    # The due-date scan looks across organizations for items to alert on; this setting lets it read (only read)
    # open, dated action items. Each alert is then sent in a transaction confined to its organization.
    op.execute("""
        CREATE POLICY alert_scan ON analysis.register_entries FOR SELECT
        USING (current_setting('app.alert_scan', true) = 'on' AND kind = 'action_item' AND due_date IS NOT NULL
               AND status IN ('OPEN', 'IN_PROGRESS'))""")


def downgrade() -> None:
    for table in ("budget_alerts", "register_mentions", "register_entries"):
        op.execute(f"DROP TABLE IF EXISTS analysis.{table}")
