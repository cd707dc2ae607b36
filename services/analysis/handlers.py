"""Analysis use cases: analyse a document, answer a question with citations, report usage."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any, Protocol

import grpc
from pmdi.events.v1 import documents_pb2
from pmdi.ingest.v1 import ingest_pb2
from pmdi.search.v1 import search_pb2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.analysis import tables
from services.analysis.outline import with_heading_marks
from services.analysis.providers.base import ProviderError
from services.analysis.providers.local_provider import NO_ANSWER
from services.analysis.quotes import QuotePlaces
from services.analysis.register.handlers import Register
from services.analysis.router import Outcome, Router
from services.analysis.routing import DOCUMENT_TASKS, PRIORITIES
from services.analysis.schemas import (
    ActionItemsOutput,
    AnswerOutput,
    AnswerPrompt,
    DecisionsOutput,
    RisksOutput,
    SummaryOutput,
)
from services.analysis.store import AnalysisWork
from services.common.artifact import ExtractedText
from services.common.auth import Identity, Role
from services.common.document_events import enqueue_about, report_failure, report_progress
from services.common.errors import InvalidInput, Unavailable
from services.common.grpc_client import outgoing_metadata
from services.common.logging import get_logger
from services.common.object_store import ObjectMissing, extracted_key
from services.common.subjects import DOCUMENT_ANALYZED

log = get_logger(__name__)

TASK_DONE = {
    "summary_short": "Short summary written",
    "summary_medium": "Summary written",
    "summary_detailed": "Detailed summary written",
    "action_items": "Action items found",
    "risks": "Risks found",
    "decisions": "Decisions found",
}
MAX_QUESTION_CHARS = 2000
PEER_TIMEOUT_S = 30.0  # a search, or the lookup of which documents still exist
MAX_MONTHLY_BUDGET_USD = 1_000_000.0  # numeric(12, 2) in org_policies; anything near it is a typo


# "What did they decide about X?" is answered by what was decided: the search looks for decisions about X.
_ABOUT_DECISIONS = re.compile(r"\b(?:decid\w*|decision\w*|agree[ds]?|agreement)\b", re.I)


def search_query(question: str) -> str:
    """What `ask` searches for: the question, and for a question about decisions the words that state them."""
    return f"{question} decided agreed" if _ABOUT_DECISIONS.search(question) else question


def failure_reason(error: Exception) -> str:
    """What a user reads when analysis gives up: the cause in words, never a stack trace or SQL."""
    if isinstance(error, ProviderError):
        return "Analysis failed: no model, not even the local one, could analyse this document."
    if isinstance(error, StorageError):
        return "Analysis failed: the document's extracted text could not be read from storage."
    return "Analysis failed after repeated attempts because of an internal error; reprocess the document to retry."


_CITATION_MARK = re.compile(r"\s*\[(\d+)\]")


def renumber_citations(answer: str, cited_excerpts: list[int]) -> str:
    """ "[n]" marks in an answer point at excerpts; the caller sees the citations in their own order, so excerpt n
    becomes its citation's number, and a mark of an excerpt that is not cited goes."""
    position = {excerpt: number for number, excerpt in enumerate(cited_excerpts, start=1)}

    def mark(match: re.Match[str]) -> str:
        number = position.get(int(match.group(1)))
        return f" [{number}]" if number else ""

    return _CITATION_MARK.sub(mark, answer)


class StorageError(Exception):
    """The extracted artifact could not be read (after the store's own retries)."""


def _normalized(text: str) -> str:
    return " ".join(text.split())


class ArtifactStore(Protocol):
    """Where extraction left the text and chunks (the object store); ObjectMissing when an artifact is not there."""

    async def get_json(self, key: str) -> Any: ...


class SearchClient(Protocol):
    """The search service's gRPC stub, as far as `ask` uses it."""

    async def Search(
        self,
        request: search_pb2.SearchRequest,
        *,
        metadata: Any = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the gRPC stub's own keyword
    ) -> search_pb2.SearchResponse: ...


class DocumentsClient(Protocol):
    """The ingest service's gRPC stub, as far as `ask` uses it: which documents still exist."""

    async def GetDocuments(
        self,
        request: ingest_pb2.GetDocumentsRequest,
        *,
        metadata: Any = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the gRPC stub's own keyword
    ) -> ingest_pb2.GetDocumentsResponse: ...


class AnalysisHandlers:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: ArtifactStore,
        router: Router,
        search: SearchClient,
        documents: DocumentsClient,
        register: Register,
        max_answer_chunks: int,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._router = router
        self._search = search
        self._documents = documents
        self._register = register
        self._max_answer_chunks = max_answer_chunks

    # -- documents -----------------------------------------------------------------------------

    async def analyze(self, header: documents_pb2.EventHeader) -> None:
        """Run every task on the document's extracted text, save the results, announce them; idempotent."""
        org, doc, generation = header.organization_id, header.document_id, header.generation
        async with AnalysisWork.begin(self._sessions, org) as work:
            if await work.analyses.is_deleted(doc):
                return  # deleted while queued: nothing to analyse, nothing to announce
            done = await work.analyses.generation(doc)
        if done is not None and done >= generation:
            await self._announce_analyzed(header, 0.0)  # a redelivery: say it again, change nothing
            return
        try:
            stored = await self._store.get_json(extracted_key(org, doc, generation))
        except ObjectMissing:
            # Never there, so never will be: fail the document with a reason rather than leave it ANALYZING.
            log.warning("extracted_text_missing", document_id=doc, generation=generation)
            await self.fail(header, "The extracted text of this document is missing, so it cannot be analysed.")
            return
        except Exception as exc:
            raise StorageError(str(exc)) from exc
        artifact = ExtractedText.from_json(stored)  # malformed: retried, then failed like any internal error
        text = artifact.text
        # Headings marked, so sections read as sections (local extraction and remote models alike).
        analysed = with_heading_marks(text, artifact.headings)
        await self._progress(header, 0.0, "Analyzing: summaries, action items, risks and decisions")
        finished = 0
        reporting = asyncio.Lock()  # progress goes out in order, one step per finished task

        async def run(task: str) -> tuple[str, Outcome]:
            nonlocal finished
            outcome = await self._router.run(
                organization_id=org, task=task, text=analysed, document_id=doc, generation=generation
            )
            async with reporting:
                finished += 1
                await self._progress(header, finished / len(DOCUMENT_TASKS), TASK_DONE[task])
            return task, outcome

        # The tasks go out together: with remote models the document takes its slowest task, not the sum.
        async with asyncio.TaskGroup() as group:
            running = [group.create_task(run(task)) for task in DOCUMENT_TASKS]
        outcomes = dict(task.result() for task in running)
        places = QuotePlaces(artifact)
        results = {task: self._merge(task, outcome, places) for task, outcome in outcomes.items()}
        cost = sum(outcome.cost_usd for outcome in outcomes.values())
        # The register's words and vectors are computed before the transaction that folds them in.
        prepared = await self._register.prepare(
            text, {task: results[task] for task in ("action_items", "risks", "decisions")}, places
        )
        async with AnalysisWork.begin(self._sessions, org) as work:
            if await work.analyses.is_deleted(doc):
                log.info("analysis_discarded_deleted", document_id=doc)
                return  # deleted while being analysed: its results must not come back
            await work.analyses.save(
                doc,
                generation=generation,
                summaries={t: results[t] for t in DOCUMENT_TASKS if t.startswith("summary_")},
                action_items=results["action_items"],
                risks=results["risks"],
                decisions=results["decisions"],
                cost_usd=cost,
                pages=artifact.page_count or 1,
            )
            await self._register.record(work, document_id=doc, generation=generation, prepared=prepared)
            await self._budget_alerts(work)
            await self._enqueue_analyzed(work, header, cost)
        log.info("document_analyzed", document_id=doc, cost_usd=cost)

    @staticmethod
    def _merge(task: str, outcome: Outcome, places: QuotePlaces) -> Any:
        output = outcome.output
        if task.startswith("summary_"):
            return output.summary if isinstance(output, SummaryOutput) else None
        items: list[Any] = (
            list(output.items)
            if isinstance(output, ActionItemsOutput)
            else list(output.risks)
            if isinstance(output, RisksOutput)
            else list(output.decisions)
            if isinstance(output, DecisionsOutput)
            else []
        )
        merged: list[dict[str, Any]] = []
        seen: set[str] = set()
        for item in items:
            quote = _normalized(item.source_quote)
            # A quote must be verbatim (up to white space): a model that paraphrased is not cited as if it had quoted.
            offset = places.offset(item.source_quote) if quote and quote not in seen else None
            if offset is None:
                continue
            seen.add(quote)
            merged.append({**item.model_dump(mode="json"), **places.place(offset)})
        return merged

    async def _progress(self, header: documents_pb2.EventHeader, fraction: float, message: str) -> None:
        await report_progress(
            self._sessions, tables.outbox, header, stage="analysis", fraction=fraction, message=message
        )

    async def _enqueue_analyzed(self, work: AnalysisWork, header: documents_pb2.EventHeader, cost: float) -> None:
        await enqueue_about(
            work.outbox,
            header,
            DOCUMENT_ANALYZED,
            lambda out: documents_pb2.DocumentAnalyzed(header=out, cost_usd=cost),
        )

    async def _announce_analyzed(self, header: documents_pb2.EventHeader, cost: float) -> None:
        async with AnalysisWork.begin(self._sessions, header.organization_id) as work:
            await self._enqueue_analyzed(work, header, cost)

    async def fail(self, header: documents_pb2.EventHeader, reason: str) -> None:
        await report_failure(self._sessions, tables.outbox, header, stage="analysis", reason=reason)

    async def forget(self, header: documents_pb2.EventHeader) -> None:
        """Remove the document's results and cached outputs, and remember it is gone (the ledger keeps its lines)."""
        doc = header.document_id
        async with AnalysisWork.begin(self._sessions, header.organization_id) as work:
            await work.analyses.delete(doc)
            await work.cache.forget_document(doc)
            await work.analyses.mark_deleted(doc)
            await self._register.forget(work, document_id=doc)

    async def _budget_alerts(self, work: AnalysisWork) -> None:
        """The month's spend against the organization's budget, for the 80% and 100% alerts."""
        _, own_budget = await work.policy.get()
        budget = self._router.default_budget_usd if own_budget is None else own_budget
        spent = await work.budget.spent_this_month()
        await self._register.budget_passed(work, spent_usd=spent, budget_usd=budget, now=datetime.now(UTC))

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
        async with AnalysisWork.begin(self._sessions, caller.organization_id) as work:
            return await work.analyses.load(wanted)

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
                    query=search_query(question)[:1000],
                    mode=search_pb2.SEARCH_MODE_HYBRID,
                    limit=self._max_answer_chunks,
                    document_ids=document_ids,
                ),
                metadata=outgoing_metadata(caller.token),
                timeout=PEER_TIMEOUT_S,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidInput(exc.details() or "invalid question") from exc
            raise Unavailable("search is unavailable") from exc
        hits = await self._of_existing_documents(list(reply.hits), caller)
        if not hits:
            return AnswerOutput(answer=NO_ANSWER), [], None
        prompt = AnswerPrompt(question, tuple(hit.text for hit in hits))
        outcome = await self._router.run(
            organization_id=caller.organization_id, task="answer", text=str(prompt), prompt=prompt
        )
        answer = outcome.output
        assert isinstance(answer, AnswerOutput)
        # Cite only what was retrieved: numbers outside the excerpts are dropped.
        if outcome.cost_usd:
            async with AnalysisWork.begin(self._sessions, caller.organization_id) as work:
                await self._budget_alerts(work)
        numbers = [n for n in dict.fromkeys(answer.cited_chunks) if 1 <= n <= len(hits)]
        cited = [hits[n - 1] for n in numbers]
        return answer.model_copy(update={"answer": renumber_citations(answer.answer, numbers)}), cited, outcome

    async def _of_existing_documents(
        self, hits: list[search_pb2.SearchHit], caller: Identity
    ) -> list[search_pb2.SearchHit]:
        """The hits whose documents ingest still has. Search forgets a deleted document when its
        DocumentDeleted arrives, which may be late (search busy or down): until then its chunks are still
        found, and must not reach the prompt, where the answer could quote them."""
        if not hits:
            return []
        try:
            reply = await self._documents.GetDocuments(
                ingest_pb2.GetDocumentsRequest(document_ids=list(dict.fromkeys(h.document_id for h in hits))),
                metadata=outgoing_metadata(caller.token),
                timeout=PEER_TIMEOUT_S,
            )
        except grpc.aio.AioRpcError as exc:
            raise Unavailable("documents are unavailable") from exc
        existing = {document.id for document in reply.documents}
        return [hit for hit in hits if hit.document_id in existing]

    async def routing_policy(self, *, caller: Identity) -> dict[str, Any]:
        """The organization's effective cost priority and budget, and this month's spend."""
        async with AnalysisWork.begin(self._sessions, caller.organization_id) as work:
            priority, budget = await work.policy.get()
            spent = await work.budget.spent_this_month()
        return {
            "cost_priority": priority or self._router.default_priority,
            "monthly_budget_usd": self._router.default_budget_usd if budget is None else budget,
            "spent_this_month_usd": spent,
            "organization_set_priority": priority is not None,
            "organization_set_budget": budget is not None,
        }

    async def set_routing_policy(
        self,
        *,
        caller: Identity,
        cost_priority: str | None,
        monthly_budget_usd: float | None,
        clear_priority: bool = False,
        clear_budget: bool = False,
    ) -> dict[str, Any]:
        caller.require(Role.ADMIN)
        if cost_priority is not None and cost_priority not in PRIORITIES:
            raise InvalidInput(f"cost priority must be one of {', '.join(PRIORITIES)}")
        if monthly_budget_usd is not None and not 0 <= monthly_budget_usd <= MAX_MONTHLY_BUDGET_USD:
            raise InvalidInput(f"monthly budget must be between 0 and {MAX_MONTHLY_BUDGET_USD:,.0f} USD")
        async with AnalysisWork.begin(self._sessions, caller.organization_id) as work:
            await work.policy.set(
                cost_priority=cost_priority,
                monthly_budget_usd=monthly_budget_usd,
                clear_priority=clear_priority,
                clear_budget=clear_budget,
            )
        return await self.routing_policy(caller=caller)

    async def estimate(self, *, caller: Identity, pages: int, cost_priority: str | None) -> dict[str, Any]:
        """What analysing a document of `pages` pages may cost under the organization's policy (or `cost_priority`),
        and whether the month's remaining budget covers the most it may cost."""
        if not 1 <= pages <= 100_000:
            raise InvalidInput("pages must be between 1 and 100000")
        if cost_priority is not None and cost_priority not in PRIORITIES:
            raise InvalidInput(f"cost priority must be one of {', '.join(PRIORITIES)}")
        policy = await self.routing_policy(caller=caller)
        least, most, models = self._router.estimate(pages, cost_priority or policy["cost_priority"])
        remaining = policy["monthly_budget_usd"] - policy["spent_this_month_usd"]
        return {"min_usd": least, "max_usd": most, "models": models, "within_budget": most <= remaining}

    async def usage(self, *, caller: Identity, since: datetime | None, until: datetime | None) -> dict[str, Any]:
        caller.require(Role.ADMIN)
        if since and until and since > until:
            raise InvalidInput("since must not be after until")
        async with AnalysisWork.begin(self._sessions, caller.organization_id) as work:
            return await work.usage.between(since, until)
