"""Analysis queries. Functions take the session of a transaction the use case owns; none commits."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class CallRecord:
    task: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: int
    cached: bool
    fallback_from: str | None


async def spent_this_month(session: AsyncSession, *, organization_id: str) -> float:
    now = datetime.now(UTC)
    row = await session.execute(
        text(
            "SELECT coalesce(sum(cost_usd), 0) FROM analysis.usage_daily WHERE organization_id = :org AND day >= :first"
        ),
        {"org": organization_id, "first": now.date().replace(day=1)},
    )
    return float(row.scalar_one())


async def org_policy(session: AsyncSession, *, organization_id: str) -> tuple[str | None, float | None]:
    """The organization's own cost priority and monthly budget, where it has set them."""
    row = (
        await session.execute(
            text("SELECT cost_priority, monthly_budget_usd FROM analysis.org_policies WHERE organization_id = :org"),
            {"org": organization_id},
        )
    ).first()
    if row is None:
        return None, None
    return row.cost_priority, float(row.monthly_budget_usd) if row.monthly_budget_usd is not None else None


async def set_org_policy(
    session: AsyncSession,
    *,
    organization_id: str,
    cost_priority: str | None,
    monthly_budget_usd: float | None,
    clear_priority: bool,
    clear_budget: bool,
) -> None:
    """Change the organization's own priority and budget; None keeps a value, clear_* returns to the default."""
    await session.execute(
        text(
            "INSERT INTO analysis.org_policies AS p (organization_id, cost_priority, monthly_budget_usd) "
            "VALUES (:org, :priority, :budget) ON CONFLICT (organization_id) DO UPDATE SET "
            "cost_priority = CASE WHEN :clear_priority THEN NULL ELSE coalesce(EXCLUDED.cost_priority, p.cost_priority) END, "
            "monthly_budget_usd = CASE WHEN :clear_budget THEN NULL "
            "ELSE coalesce(EXCLUDED.monthly_budget_usd, p.monthly_budget_usd) END"
        ),
        {
            "org": organization_id,
            "priority": None if clear_priority else cost_priority,
            "budget": None if clear_budget else monthly_budget_usd,
            "clear_priority": clear_priority,
            "clear_budget": clear_budget,
        },
    )


async def cached_output(session: AsyncSession, *, organization_id: str, key: str) -> dict[str, Any] | None:
    row = (
        await session.execute(
            text(
                "SELECT output, input_tokens, output_tokens FROM analysis.cache WHERE organization_id = :org AND key = :key"
            ),
            {"org": organization_id, "key": key},
        )
    ).first()
    return {"output": row.output, "input_tokens": row.input_tokens, "output_tokens": row.output_tokens} if row else None


async def cached_outputs(session: AsyncSession, *, organization_id: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Cached replies for several keys at once (the parts of a long document)."""
    rows = await session.execute(
        text(
            "SELECT key, output, input_tokens, output_tokens FROM analysis.cache "
            "WHERE organization_id = :org AND key = ANY(CAST(:keys AS text[]))"
        ),
        {"org": organization_id, "keys": keys},
    )
    return {r.key: {"output": r.output, "input_tokens": r.input_tokens, "output_tokens": r.output_tokens} for r in rows}


async def store_cache(
    session: AsyncSession,
    *,
    organization_id: str,
    key: str,
    output: dict[str, Any],
    input_tokens: int,
    output_tokens: int,
    document_id: str | None = None,
) -> None:
    await session.execute(
        text(
            "INSERT INTO analysis.cache (organization_id, key, output, input_tokens, output_tokens, document_id) "
            "VALUES (:org, :key, CAST(:output AS jsonb), :i, :o, :doc) ON CONFLICT DO NOTHING"
        ),
        {
            "org": organization_id,
            "key": key,
            "output": json.dumps(output),
            "i": input_tokens,
            "o": output_tokens,
            "doc": document_id,
        },
    )


async def reserve_budget(
    session: AsyncSession, *, organization_id: str, amount_usd: float, budget_usd: float, ttl_s: float
) -> str | None:
    """Set `amount_usd` aside if this month's spend plus open reservations leaves room for it; its id, or None.

    Serialised per organization (a transaction-scoped advisory lock), so concurrent calls, in this process
    or another replica, cannot all pass the check on the same remaining budget. Reservations of a crashed
    call expire after `ttl_s`.
    """
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:org, 5))"), {"org": organization_id})
    first = datetime.now(UTC).date().replace(day=1)
    committed = (
        await session.execute(
            text(
                "SELECT (SELECT coalesce(sum(cost_usd), 0) FROM analysis.usage_daily "
                "        WHERE organization_id = :org AND day >= :first) + "
                "       (SELECT coalesce(sum(amount_usd), 0) FROM analysis.budget_reservations "
                "        WHERE organization_id = :org AND expires_at > now())"
            ),
            {"org": organization_id, "first": first},
        )
    ).scalar_one()
    if float(committed) + amount_usd > budget_usd:
        return None
    reservation = str(uuid.uuid4())
    await session.execute(
        text(
            "INSERT INTO analysis.budget_reservations (id, organization_id, amount_usd, expires_at) "
            "VALUES (:id, :org, :amount, now() + make_interval(secs => :ttl))"
        ),
        {"id": reservation, "org": organization_id, "amount": amount_usd, "ttl": ttl_s},
    )
    return reservation


async def release_reservation(session: AsyncSession, *, organization_id: str, reservation_id: str) -> None:
    await session.execute(
        text(
            "DELETE FROM analysis.budget_reservations WHERE organization_id = :org "
            "AND (id = :id OR expires_at < now() - interval '1 day')"
        ),
        {"org": organization_id, "id": reservation_id},
    )


async def record_call(
    session: AsyncSession,
    *,
    organization_id: str,
    document_id: str | None,
    generation: int | None,
    call: CallRecord,
) -> None:
    """One ledger line, and the same numbers added to the day's roll-up, in one transaction."""
    now = datetime.now(UTC)
    params = {
        "org": organization_id,
        "doc": document_id,
        "gen": generation,
        "task": call.task,
        "provider": call.provider,
        "model": f"{call.provider}/{call.model}",
        "i": call.input_tokens,
        "o": call.output_tokens,
        "cost": call.cost_usd,
        "latency": call.latency_ms,
        "cached": call.cached,
        "fallback": call.fallback_from,
        "at": now,
        "day": now.date(),
    }
    await session.execute(
        text(
            "INSERT INTO analysis.ledger (organization_id, document_id, generation, task, provider, model, "
            "input_tokens, output_tokens, cost_usd, latency_ms, cached, fallback_from, at) VALUES (:org, :doc, :gen, "
            ":task, :provider, :model, :i, :o, :cost, :latency, :cached, :fallback, :at)"
        ),
        params,
    )
    await session.execute(
        text(
            "INSERT INTO analysis.usage_daily AS u (organization_id, day, model, task, calls, input_tokens, "
            "output_tokens, cost_usd) VALUES (:org, :day, :model, :task, 1, :i, :o, :cost) "
            "ON CONFLICT (organization_id, day, model, task) DO UPDATE SET calls = u.calls + 1, "
            "input_tokens = u.input_tokens + EXCLUDED.input_tokens, output_tokens = u.output_tokens + "
            "EXCLUDED.output_tokens, cost_usd = u.cost_usd + EXCLUDED.cost_usd"
        ),
        params,
    )


# What each kind of finding stores besides its place in the document.
_FINDING_COLUMNS = {
    "action_items": ("title", "owner", "due_date", "source_quote"),
    "risks": ("description", "severity", "mitigation", "source_quote"),
    "decisions": ("text", "made_by", "source_quote"),
}


async def save_analysis(
    session: AsyncSession,
    *,
    organization_id: str,
    document_id: str,
    generation: int,
    summaries: dict[str, str | None],
    action_items: list[dict[str, Any]],
    risks: list[dict[str, Any]],
    decisions: list[dict[str, Any]],
    cost_usd: float,
    pages: int,
) -> None:
    await delete_document(session, organization_id=organization_id, document_id=document_id)
    await session.execute(
        text(
            "INSERT INTO analysis.analyses (document_id, organization_id, generation, summary_short, summary_medium, "
            "summary_detailed, cost_usd) VALUES (:doc, :org, :gen, :s, :m, :d, :cost)"
        ),
        {
            "doc": document_id,
            "org": organization_id,
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
                "organization_id": organization_id,
                "document_id": document_id,
                "position": position,
                **{name: row.get(name) for name in _FINDING_COLUMNS[table]},
                "page": row.get("page"),
                "quote_time": row.get("quote_time"),
            }
            if columns.get("due_date"):
                columns["due_date"] = date.fromisoformat(str(columns["due_date"]))
            # Table and column names are this module's constants; every value is bound.
            await session.execute(
                text(
                    f"INSERT INTO analysis.{table} ({', '.join(columns)}) "  # noqa: S608
                    f"VALUES ({', '.join(':' + name for name in columns)})"
                ),
                columns,
            )
    await session.execute(
        text(
            "INSERT INTO analysis.processing_log (organization_id, document_id, generation, pages) "
            "VALUES (:org, :doc, :gen, :pages) ON CONFLICT DO NOTHING"
        ),
        {"org": organization_id, "doc": document_id, "gen": generation, "pages": pages},
    )


async def delete_document(session: AsyncSession, *, organization_id: str, document_id: str) -> None:
    await session.execute(
        text("DELETE FROM analysis.analyses WHERE organization_id = :org AND document_id = :doc"),
        {"org": organization_id, "doc": document_id},
    )


async def forget_document(session: AsyncSession, *, organization_id: str, document_id: str) -> None:
    """Remove the document's results and cached outputs, and remember it is gone (the ledger keeps its lines)."""
    await delete_document(session, organization_id=organization_id, document_id=document_id)
    await session.execute(
        text("DELETE FROM analysis.cache WHERE organization_id = :org AND document_id = :doc"),
        {"org": organization_id, "doc": document_id},
    )
    await session.execute(
        text(
            "INSERT INTO analysis.deleted_documents (document_id, organization_id) VALUES (:doc, :org) "
            "ON CONFLICT DO NOTHING"
        ),
        {"org": organization_id, "doc": document_id},
    )


async def is_deleted(session: AsyncSession, *, organization_id: str, document_id: str) -> bool:
    row = await session.execute(
        text("SELECT 1 FROM analysis.deleted_documents WHERE organization_id = :org AND document_id = :doc"),
        {"org": organization_id, "doc": document_id},
    )
    return row.first() is not None


async def analysis_generation(session: AsyncSession, *, organization_id: str, document_id: str) -> int | None:
    row = (
        await session.execute(
            text("SELECT generation FROM analysis.analyses WHERE organization_id = :org AND document_id = :doc"),
            {"org": organization_id, "doc": document_id},
        )
    ).first()
    return int(row[0]) if row else None


async def load_analyses(
    session: AsyncSession, *, organization_id: str, document_ids: list[str]
) -> list[dict[str, Any]]:
    analyses = [
        dict(r._mapping)
        for r in await session.execute(
            text(
                "SELECT * FROM analysis.analyses WHERE organization_id = :org AND document_id = ANY(CAST(:ids AS uuid[]))"
            ),
            {"org": organization_id, "ids": document_ids},
        )
    ]
    for analysis in analyses:
        params = {"org": organization_id, "doc": analysis["document_id"], "gen": analysis["generation"]}
        for table in _FINDING_COLUMNS:
            # The table name is one of this module's constants; the values are bound.
            analysis[table] = [
                dict(r._mapping)
                for r in await session.execute(
                    text(
                        f"SELECT * FROM analysis.{table} "  # noqa: S608
                        "WHERE organization_id = :org AND document_id = :doc ORDER BY position"
                    ),
                    params,
                )
            ]
        analysis["model_calls"] = [
            dict(r._mapping)
            for r in await session.execute(
                text(
                    "SELECT * FROM analysis.ledger WHERE organization_id = :org AND document_id = :doc "
                    "AND generation = :gen ORDER BY id"
                ),
                params,
            )
        ]
    return analyses


async def usage(
    session: AsyncSession, *, organization_id: str, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    """Totals per day, model and task (UTC days): whole days from the roll-up, the partial days at each end from the
    ledger."""
    lower = since or datetime(1970, 1, 1, tzinfo=UTC)
    upper = until or datetime.now(UTC)
    first_whole = datetime.combine(lower.date(), datetime.min.time(), tzinfo=UTC)
    if first_whole < lower:
        first_whole += timedelta(days=1)
    after_last_whole = datetime.combine(upper.date(), datetime.min.time(), tzinfo=UTC)
    if after_last_whole <= first_whole:
        # Less than a whole day: the ledger alone, over [lower, upper).
        first_whole = after_last_whole = upper
    # Each ledger range below is narrow, so the (organization_id, at) index reads only the edge days.
    rows = await session.execute(
        text(
            """
            WITH lines AS (
                SELECT day, model, task, calls, input_tokens, output_tokens, cost_usd FROM analysis.usage_daily
                WHERE organization_id = :org AND day >= CAST(:first_day AS date) AND day < CAST(:end_day AS date)
                UNION ALL
                SELECT CAST(at AT TIME ZONE 'UTC' AS date), model, task, 1, input_tokens, output_tokens, cost_usd
                FROM analysis.ledger
                WHERE organization_id = :org AND at >= :lower AND at < :first_whole
                UNION ALL
                SELECT CAST(at AT TIME ZONE 'UTC' AS date), model, task, 1, input_tokens, output_tokens, cost_usd
                FROM analysis.ledger
                WHERE organization_id = :org AND at >= :after_last_whole AND at < :upper
            )
            SELECT day, model, task, sum(calls) AS calls, sum(input_tokens) AS input_tokens,
                   sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd
            FROM lines GROUP BY day, model, task
            """
        ),
        {
            "org": organization_id,
            "lower": lower,
            "upper": upper,
            "first_whole": first_whole,
            "after_last_whole": after_last_whole,
            "first_day": first_whole.date(),
            "end_day": after_last_whole.date(),
        },
    )
    lines = [dict(r._mapping) for r in rows]
    documents = (
        await session.execute(
            text(
                "SELECT count(DISTINCT document_id), coalesce(sum(pages), 0) FROM analysis.processing_log "
                "WHERE organization_id = :org AND at >= :lower AND at < :upper"
            ),
            {"org": organization_id, "lower": lower, "upper": upper},
        )
    ).first()
    return {
        "lines": lines,
        "documents": int(documents[0]) if documents else 0,
        "pages": int(documents[1]) if documents else 0,
    }
