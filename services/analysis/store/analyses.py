"""A document's analysis: its summaries and findings (action items, risks, decisions), and the documents gone."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import text

from services.common.db import TenantRepository

# What each kind of finding stores besides its place in the document.
_FINDING_COLUMNS = {
    "action_items": ("title", "owner", "due_date", "source_quote"),
    "risks": ("description", "severity", "mitigation", "source_quote"),
    "decisions": ("text", "made_by", "source_quote"),
}


class AnalysisRepository(TenantRepository):
    async def save(
        self,
        document_id: str,
        *,
        generation: int,
        summaries: dict[str, str | None],
        action_items: list[dict[str, Any]],
        risks: list[dict[str, Any]],
        decisions: list[dict[str, Any]],
        cost_usd: float,
        pages: int,
    ) -> None:
        """Replace the document's analysis with this generation's, and log the pages it processed."""
        org = self.organization_id
        await self.delete(document_id)
        await self.session.execute(
            text(
                "INSERT INTO analysis.analyses (document_id, organization_id, generation, summary_short, "
                "summary_medium, summary_detailed, cost_usd) VALUES (:doc, :org, :gen, :s, :m, :d, :cost)"
            ),
            {
                "doc": document_id,
                "org": org,
                "gen": generation,
                "s": summaries.get("summary_short"),
                "m": summaries.get("summary_medium"),
                "d": summaries.get("summary_detailed"),
                "cost": cost_usd,
            },
        )
        for table, rows in (("action_items", action_items), ("risks", risks), ("decisions", decisions)):
            for position, row in enumerate(rows):
                columns = {
                    "id": str(uuid.uuid4()),
                    "organization_id": org,
                    "document_id": document_id,
                    "position": position,
                    **{name: row.get(name) for name in _FINDING_COLUMNS[table]},
                    "page": row.get("page"),
                    "quote_time": row.get("quote_time"),
                }
                if columns.get("due_date"):
                    columns["due_date"] = date.fromisoformat(str(columns["due_date"]))
                # Table and column names are this module's constants; every value is bound.
                await self.session.execute(
                    text(
                        f"INSERT INTO analysis.{table} ({', '.join(columns)}) "  # noqa: S608
                        f"VALUES ({', '.join(':' + name for name in columns)})"
                    ),
                    columns,
                )
        await self.session.execute(
            text(
                "INSERT INTO analysis.processing_log (organization_id, document_id, generation, pages) "
                "VALUES (:org, :doc, :gen, :pages) ON CONFLICT DO NOTHING"
            ),
            {"org": org, "doc": document_id, "gen": generation, "pages": pages},
        )

    async def delete(self, document_id: str) -> None:
        await self.session.execute(
            text("DELETE FROM analysis.analyses WHERE organization_id = :org AND document_id = :doc"),
            {"org": self.organization_id, "doc": document_id},
        )

    async def mark_deleted(self, document_id: str) -> None:
        """Remember the document is gone, so a late analysis of it is discarded."""
        await self.session.execute(
            text(
                "INSERT INTO analysis.deleted_documents (document_id, organization_id) VALUES (:doc, :org) "
                "ON CONFLICT DO NOTHING"
            ),
            {"org": self.organization_id, "doc": document_id},
        )

    async def is_deleted(self, document_id: str) -> bool:
        row = await self.session.execute(
            text("SELECT 1 FROM analysis.deleted_documents WHERE organization_id = :org AND document_id = :doc"),
            {"org": self.organization_id, "doc": document_id},
        )
        return row.first() is not None

    async def generation(self, document_id: str) -> int | None:
        """The generation of the document's saved analysis; None when it has none."""
        row = (
            await self.session.execute(
                text("SELECT generation FROM analysis.analyses WHERE organization_id = :org AND document_id = :doc"),
                {"org": self.organization_id, "doc": document_id},
            )
        ).first()
        return int(row[0]) if row else None

    async def load(self, document_ids: list[str]) -> list[dict[str, Any]]:
        """The documents' analyses with their findings and the model calls that made them."""
        org = self.organization_id
        analyses = [
            dict(r._mapping)
            for r in await self.session.execute(
                text(
                    "SELECT * FROM analysis.analyses "
                    "WHERE organization_id = :org AND document_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"org": org, "ids": document_ids},
            )
        ]
        for analysis in analyses:
            params = {"org": org, "doc": analysis["document_id"], "gen": analysis["generation"]}
            for table in _FINDING_COLUMNS:
                # The table name is one of this module's constants; the values are bound.
                analysis[table] = [
                    dict(r._mapping)
                    for r in await self.session.execute(
                        text(
                            f"SELECT * FROM analysis.{table} "  # noqa: S608
                            "WHERE organization_id = :org AND document_id = :doc ORDER BY position"
                        ),
                        params,
                    )
                ]
            analysis["model_calls"] = [
                dict(r._mapping)
                for r in await self.session.execute(
                    text(
                        "SELECT * FROM analysis.ledger WHERE organization_id = :org AND document_id = :doc "
                        "AND generation = :gen ORDER BY id"
                    ),
                    params,
                )
            ]
        return analyses
