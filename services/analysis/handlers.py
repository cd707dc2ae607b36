"""Analysis use cases: analyse a document, answer a question with citations, report usage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import grpc
from pmdi.events.v1 import documents_pb2
from pmdi.search.v1 import search_pb2, search_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.analysis import repository as repo
from services.analysis import tables
from services.analysis.complexity import estimate_tokens
from services.analysis.providers.local_provider import NO_ANSWER
from services.analysis.router import Outcome, Router
from services.analysis.schemas import ActionItemsOutput, AnswerOutput, RisksOutput, SummaryOutput
from services.common.auth import Identity, Role
from services.common.db import tenant_transaction
from services.common.errors import InvalidInput, Unavailable
from services.common.events import PermanentFailure, new_header
from services.common.grpc_client import outgoing_metadata
from services.common.logging import get_logger
from services.common.object_store import ObjectStore, extracted_key
from services.common.outbox import enqueue
from services.common.subjects import DOCUMENT_ANALYZED, DOCUMENT_FAILED, DOCUMENT_STAGE_PROGRESS

log = get_logger(__name__)

DOCUMENT_TASKS = ("summary_short", "summary_medium", "summary_detailed", "action_items", "risks")
TASK_MESSAGES = {
    "summary_short": "Writing the short summary",
    "summary_medium": "Writing the summary",
    "summary_detailed": "Writing the detailed summary",
    "action_items": "Finding action items",
    "risks": "Finding risks",
}
# Documents longer than this are analysed part by part (map) and the parts combined (reduce).
PART_TOKENS = 40_000
MAX_QUESTION_CHARS = 2000


def _parts(artifact: dict[str, Any]) -> list[str]:
    text = str(artifact["text"])
    if estimate_tokens(text) <= PART_TOKENS:
        return [text]
    parts: list[str] = []
    current: list[dict[str, Any]] = []
    size = 0
    for chunk in artifact["chunks"]:
        tokens = estimate_tokens(chunk["text"])
        if current and size + tokens > PART_TOKENS:
            parts.append(text[current[0]["start"] : current[-1]["end"]])
            current, size = [], 0
        current.append(chunk)
        size += tokens
    if current:
        parts.append(text[current[0]["start"] : current[-1]["end"]])
    return parts


class AnalysisHandlers:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: ObjectStore,
        router: Router,
        search: search_pb2_grpc.SearchServiceStub,
        max_answer_chunks: int,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._router = router
        self._search = search
        self._max_answer_chunks = max_answer_chunks

    # -- documents -----------------------------------------------------------------------------

    async def analyze(self, header: documents_pb2.EventHeader) -> None:
        org, doc, generation = header.organization_id, header.document_id, header.generation
        async with tenant_transaction(self._sessions, org) as session:
            done = await repo.analysis_generation(session, organization_id=org, document_id=doc)
        if done is not None and done >= generation:
            await self._announce_analyzed(header, 0.0)  # a redelivery: say it again, change nothing
            return
        try:
            artifact = await self._store.get_json(extracted_key(org, doc, generation))
        except Exception as exc:
            if "NoSuchKey" in str(exc):
                raise PermanentFailure(f"no extracted text for {doc} generation {generation}") from exc
            raise
        text = str(artifact["text"])
        parts = _parts(artifact)
        results: dict[str, Any] = {}
        cost = 0.0
        for number, task in enumerate(DOCUMENT_TASKS):
            await self._progress(header, number / len(DOCUMENT_TASKS), TASK_MESSAGES[task])
            outcomes = [
                await self._router.run(
                    organization_id=org, task=task, text=part, document_id=doc, generation=generation
                )
                for part in parts
            ]
            if task.startswith("summary_") and len(outcomes) > 1:
                joined = "\n\n".join(o.output.summary for o in outcomes if isinstance(o.output, SummaryOutput))
                outcomes.append(
                    await self._router.run(
                        organization_id=org, task=task, text=joined, document_id=doc, generation=generation
                    )
                )
                outcomes = outcomes[-1:] + outcomes[:-1]
            cost += sum(o.call.cost_usd for o in outcomes)
            results[task] = self._merge(task, outcomes, text)
        async with tenant_transaction(self._sessions, org) as session:
            await repo.save_analysis(
                session,
                organization_id=org,
                document_id=doc,
                generation=generation,
                summaries={t: results[t] for t in DOCUMENT_TASKS if t.startswith("summary_")},
                action_items=results["action_items"],
                risks=results["risks"],
                cost_usd=cost,
                pages=int(artifact.get("page_count") or 1),
            )
            await self._enqueue_analyzed(session, header, cost)
        log.info("document_analyzed", document_id=doc, cost_usd=cost)

    @staticmethod
    def _merge(task: str, outcomes: list[Outcome], text: str) -> Any:
        if task.startswith("summary_"):
            first = outcomes[0].output
            return first.summary if isinstance(first, SummaryOutput) else None
        merged: list[dict[str, Any]] = []
        seen: set[str] = set()
        for outcome in outcomes:
            output = outcome.output
            items = (
                output.items
                if isinstance(output, ActionItemsOutput)
                else output.risks
                if isinstance(output, RisksOutput)
                else []
            )
            for item in items:
                quote = item.source_quote.strip()
                # A quote must be verbatim: a model that paraphrased is not cited as if it had quoted.
                if quote in seen or quote not in text:
                    continue
                seen.add(quote)
                merged.append(item.model_dump(mode="json"))
        return merged

    async def _progress(self, header: documents_pb2.EventHeader, fraction: float, message: str) -> None:
        async with tenant_transaction(self._sessions, header.organization_id) as session:
            out = new_header(
                organization_id=header.organization_id, document_id=header.document_id, generation=header.generation
            )
            event = documents_pb2.StageProgress(header=out, stage="analysis", fraction=fraction, message=message)
            await enqueue(
                session,
                tables.outbox,
                organization_id=header.organization_id,
                subject=DOCUMENT_STAGE_PROGRESS,
                payload=event.SerializeToString(),
                event_id=out.event_id,
            )

    async def _enqueue_analyzed(self, session: AsyncSession, header: documents_pb2.EventHeader, cost: float) -> None:
        out = new_header(
            organization_id=header.organization_id, document_id=header.document_id, generation=header.generation
        )
        event = documents_pb2.DocumentAnalyzed(header=out, cost_usd=cost)
        await enqueue(
            session,
            tables.outbox,
            organization_id=header.organization_id,
            subject=DOCUMENT_ANALYZED,
            payload=event.SerializeToString(),
            event_id=out.event_id,
        )

    async def _announce_analyzed(self, header: documents_pb2.EventHeader, cost: float) -> None:
        async with tenant_transaction(self._sessions, header.organization_id) as session:
            await self._enqueue_analyzed(session, header, cost)

    async def fail(self, header: documents_pb2.EventHeader, reason: str) -> None:
        async with tenant_transaction(self._sessions, header.organization_id) as session:
            out = new_header(
                organization_id=header.organization_id, document_id=header.document_id, generation=header.generation
            )
            event = documents_pb2.DocumentFailed(header=out, stage="analysis", reason=reason)
            await enqueue(
                session,
                tables.outbox,
                organization_id=header.organization_id,
                subject=DOCUMENT_FAILED,
                payload=event.SerializeToString(),
                event_id=out.event_id,
            )

    async def forget(self, header: documents_pb2.EventHeader) -> None:
        async with tenant_transaction(self._sessions, header.organization_id) as session:
            await repo.delete_document(session, organization_id=header.organization_id, document_id=header.document_id)

    # -- reads ---------------------------------------------------------------------------------

    async def analyses(self, *, caller: Identity, document_ids: list[str]) -> list[dict[str, Any]]:
        import uuid

        wanted = []
        for raw in document_ids:
            try:
                wanted.append(str(uuid.UUID(raw)))
            except ValueError:
                continue
        if not wanted:
            return []
        async with tenant_transaction(self._sessions, caller.organization_id) as session:
            return await repo.load_analyses(session, organization_id=caller.organization_id, document_ids=wanted)

    async def ask(
        self, *, caller: Identity, question: str, document_ids: list[str]
    ) -> tuple[AnswerOutput, list[search_pb2.SearchHit], Outcome | None]:
        question = " ".join(question.split())
        if not question:
            raise InvalidInput("question must not be empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise InvalidInput(f"question must be at most {MAX_QUESTION_CHARS} characters")
        try:
            reply = await self._search.Search(
                search_pb2.SearchRequest(
                    query=question[:1000],
                    mode=search_pb2.SEARCH_MODE_HYBRID,
                    limit=self._max_answer_chunks,
                    document_ids=document_ids,
                ),
                metadata=outgoing_metadata(caller.token),
                timeout=30,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidInput(exc.details() or "invalid question") from exc
            raise Unavailable("search is unavailable") from exc
        hits = list(reply.hits)
        if not hits:
            return AnswerOutput(answer=NO_ANSWER), [], None
        excerpts = "\n".join(f"[{n}] {hit.text}" for n, hit in enumerate(hits, start=1))
        prompt = f"Question: {question}\n\nExcerpts:\n{excerpts}"
        outcome = await self._router.run(
            organization_id=caller.organization_id, task="answer", text=prompt, prompt=prompt
        )
        answer = outcome.output
        assert isinstance(answer, AnswerOutput)
        # Cite only what was retrieved: numbers outside the excerpts are dropped.
        cited = [hits[n - 1] for n in dict.fromkeys(answer.cited_chunks) if 1 <= n <= len(hits)]
        return answer, cited, outcome

    async def usage(self, *, caller: Identity, since: datetime | None, until: datetime | None) -> dict[str, Any]:
        caller.require(Role.ADMIN)
        if since and until and since > until:
            raise InvalidInput("since must not be after until")
        async with tenant_transaction(self._sessions, caller.organization_id) as session:
            return await repo.usage(session, organization_id=caller.organization_id, since=since, until=until)
