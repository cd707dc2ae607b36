"""Analysis use cases on the real database with the local provider: analyse, redeliver, delete, fail,
read, ask and usage. The object store and the search and ingest services are small fakes at their interfaces.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from pmdi.analysis.v1 import analysis_pb2
from pmdi.events.v1 import documents_pb2
from pmdi.ingest.v1 import ingest_pb2
from pmdi.search.v1 import search_pb2

from services.analysis.breaker import CircuitBreaker
from services.analysis.catalog import load_catalog
from services.analysis.handlers import AnalysisHandlers, failure_reason
from services.analysis.providers.base import ProviderError
from services.analysis.providers.local_provider import NO_ANSWER, LocalProvider
from services.analysis.register.handlers import Register
from services.analysis.router import Router
from services.analysis.rpc import AnalysisRpc
from services.analysis.settings import AnalysisSettings
from services.common.artifact import Chunk, ExtractedText
from services.common.auth import Identity, Role, current_identity
from services.common.errors import Forbidden, InvalidInput
from services.common.events import new_header
from services.common.object_store import ObjectMissing
from services.common.subjects import DOCUMENT_ANALYZED, DOCUMENT_FAILED, DOCUMENT_STAGE_PROGRESS

MEETING = """Project Atlas - weekly status meeting
Date: 12 March 2024
Attendees: Priya Shah, Tom Becker, Lena Ortiz

Summary
The migration to the new data centre is 70% complete. The network cutover rehearsal finished on Monday.
Budget spend is on track at 48% of the annual plan.

Action items
- Priya will send the revised vendor contract to legal by Friday.
- Tom to update the migration runbook before the cutover rehearsal (due 20 March 2024).

Risks
- The data-centre move may delay the go-live by two weeks. Mitigation: book a second cutover window.
- Critical: the payment provider has not certified our integration; go-live at risk.
"""


class Store:
    """The extracted artifacts by key; `before_read` lets a test act while analysis is under way."""

    def __init__(self) -> None:
        self.objects: dict[str, Any] = {}
        self.before_read: Callable[[], Awaitable[None]] | None = None

    async def get_json(self, key: str) -> Any:
        if self.before_read is not None:
            await self.before_read()
        if key not in self.objects:
            raise ObjectMissing(key)
        return self.objects[key]


class Search:
    """Answers Search with fixed hits and remembers what it was asked."""

    def __init__(self, hits: list[search_pb2.SearchHit]) -> None:
        self.hits = hits
        self.requests: list[tuple[search_pb2.SearchRequest, Any]] = []

    async def Search(
        self,
        request: search_pb2.SearchRequest,
        *,
        metadata: Any = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the gRPC stub's own keyword
    ) -> search_pb2.SearchResponse:
        self.requests.append((request, metadata))
        return search_pb2.SearchResponse(hits=self.hits)


class Documents:
    """Answers GetDocuments as ingest does: every asked-for document except the deleted ones."""

    def __init__(self, deleted: frozenset[str] = frozenset()) -> None:
        self.deleted = deleted

    async def GetDocuments(
        self,
        request: ingest_pb2.GetDocumentsRequest,
        *,
        metadata: Any = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the gRPC stub's own keyword
    ) -> ingest_pb2.GetDocumentsResponse:
        return ingest_pb2.GetDocumentsResponse(
            documents=[ingest_pb2.Document(id=i) for i in request.document_ids if i not in self.deleted]
        )


def identity(org: str, role: Role = Role.ADMIN) -> Identity:
    return Identity(str(uuid.uuid4()), org, role, "caller-token", str(uuid.uuid4()), 2**31)


def make_handlers(
    sessions: Any, store: Store, search: Search | None = None, documents: Documents | None = None
) -> AnalysisHandlers:
    router = Router(
        sessions=sessions,
        catalog=load_catalog(AnalysisSettings().catalog_file),
        providers={"local": LocalProvider()},
        breakers={"local": CircuitBreaker(failures_to_open=3, reset_after_s=1)},
        monthly_budget_usd=10,
        priority="balanced",
        timeout_s=30,
        attempts=1,
    )
    return AnalysisHandlers(
        sessions=sessions,
        store=store,
        router=router,
        search=search or Search([]),
        documents=documents or Documents(),
        register=Register(sessions=sessions, embed=None),
        max_answer_chunks=6,  # type: ignore[arg-type]
    )


def artifact(text: str) -> dict[str, Any]:
    return ExtractedText(text, 2, (Chunk(0, text, 0, len(text), page=None, heading=None),)).to_json()


def header(org: str, doc: str, generation: int = 1) -> documents_pb2.EventHeader:
    return new_header(organization_id=org, document_id=doc, generation=generation)


def key(org: str, doc: str, generation: int = 1) -> str:
    from services.common.object_store import extracted_key

    return extracted_key(org, doc, generation)


async def query(url: str, org: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.current_org_id', $1, true)", org)
            return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def outbox(url: str, org: str) -> list[tuple[str, bytes]]:
    rows = await query(url, org, "SELECT subject, payload FROM analysis.outbox ORDER BY created_at, id")
    return [(r["subject"], bytes(r["payload"])) for r in rows]


@pytest.fixture
def org() -> str:
    return str(uuid.uuid4())


async def analysed(sessions: Any, org: str) -> tuple[AnalysisHandlers, Store, str]:
    store, doc = Store(), str(uuid.uuid4())
    store.objects[key(org, doc)] = artifact(MEETING)
    handlers = make_handlers(sessions, store)
    await handlers.analyze(header(org, doc))
    return handlers, store, doc


async def test_a_document_is_analysed_with_progress_per_task_then_announced(
    sessions: Any, org: str, analysis_database_url: str
) -> None:
    handlers, _, doc = await analysed(sessions, org)
    [result] = await handlers.analyses(caller=identity(org), document_ids=[doc])
    assert result["summary_short"] and result["summary_detailed"]
    owners = {item["owner"] for item in result["action_items"]}
    assert {"Priya", "Tom"} <= owners
    assert all(item["source_quote"] in MEETING for item in result["action_items"] + result["risks"])
    assert {risk["severity"] for risk in result["risks"]} <= {"LOW", "MEDIUM", "HIGH", "CRITICAL"}
    assert {call["task"] for call in result["model_calls"]} == {
        "summary_short",
        "summary_medium",
        "summary_detailed",
        "action_items",
        "risks",
        "decisions",
    }
    events = await outbox(analysis_database_url, org)
    progress = [documents_pb2.StageProgress.FromString(p) for s, p in events if s == DOCUMENT_STAGE_PROGRESS]
    assert [round(p.fraction, 2) for p in progress] == [0.0, 0.17, 0.33, 0.5, 0.67, 0.83, 1.0]
    assert all(p.stage == "analysis" and p.message for p in progress)
    assert events[-1][0] == DOCUMENT_ANALYZED
    analyzed = documents_pb2.DocumentAnalyzed.FromString(events[-1][1])
    assert analyzed.header.document_id == doc and analyzed.cost_usd == 0


async def test_a_redelivered_event_changes_nothing_and_is_announced_again(
    sessions: Any, org: str, analysis_database_url: str
) -> None:
    handlers, _, doc = await analysed(sessions, org)
    before = await query(analysis_database_url, org, "SELECT count(*) AS n FROM analysis.ledger")
    await handlers.analyze(header(org, doc))
    items = await query(analysis_database_url, org, "SELECT count(*) AS n FROM analysis.action_items")
    after = await query(analysis_database_url, org, "SELECT count(*) AS n FROM analysis.ledger")
    assert items[0]["n"] == 2 and after[0]["n"] == before[0]["n"]
    subjects = [s for s, _ in await outbox(analysis_database_url, org)]
    assert subjects.count(DOCUMENT_ANALYZED) == 2


async def test_reprocessing_the_same_content_is_served_from_the_cache(
    sessions: Any, org: str, analysis_database_url: str
) -> None:
    handlers, store, doc = await analysed(sessions, org)
    store.objects[key(org, doc, 2)] = artifact(MEETING)
    await handlers.analyze(header(org, doc, 2))
    [result] = await handlers.analyses(caller=identity(org), document_ids=[doc])
    assert result["generation"] == 2 and all(call["cached"] for call in result["model_calls"])


async def test_deleting_a_document_removes_its_results_and_cache_but_keeps_the_ledger(
    sessions: Any, org: str, analysis_database_url: str
) -> None:
    handlers, _, doc = await analysed(sessions, org)
    await handlers.forget(header(org, doc))
    assert await handlers.analyses(caller=identity(org), document_ids=[doc]) == []
    for table in ("analyses", "action_items", "risks", "decisions"):
        assert (await query(analysis_database_url, org, f"SELECT count(*) AS n FROM analysis.{table}"))[0]["n"] == 0  # noqa: S608 - fixed table names
    cache = await query(
        analysis_database_url, org, "SELECT count(*) AS n FROM analysis.cache WHERE document_id = $1", doc
    )
    assert cache[0]["n"] == 0
    ledger = await query(
        analysis_database_url, org, "SELECT count(*) AS n FROM analysis.ledger WHERE document_id = $1", doc
    )
    assert ledger[0]["n"] == 6  # billing facts stay
    await handlers.analyze(header(org, doc))  # a late DocumentIndexed for the deleted document
    assert await handlers.analyses(caller=identity(org), document_ids=[doc]) == []


async def test_a_document_deleted_while_being_analysed_does_not_come_back(sessions: Any, org: str) -> None:
    store, doc = Store(), str(uuid.uuid4())
    store.objects[key(org, doc)] = artifact(MEETING)
    handlers = make_handlers(sessions, store)

    async def delete_now() -> None:
        store.before_read = None
        await handlers.forget(header(org, doc))

    store.before_read = delete_now
    await handlers.analyze(header(org, doc))
    assert await handlers.analyses(caller=identity(org), document_ids=[doc]) == []


async def test_giving_up_publishes_a_readable_failure(sessions: Any, org: str, analysis_database_url: str) -> None:
    handlers = make_handlers(sessions, Store())
    doc = str(uuid.uuid4())
    await handlers.fail(header(org, doc), failure_reason(ProviderError("boom at 10.0.0.3")))
    [(subject, payload)] = await outbox(analysis_database_url, org)
    failed = documents_pb2.DocumentFailed.FromString(payload)
    assert subject == DOCUMENT_FAILED and failed.stage == "analysis"
    assert failed.reason.startswith("Analysis failed") and "10.0.0.3" not in failed.reason
    assert "SELECT" not in failure_reason(RuntimeError("SELECT * FROM analysis.ledger"))


async def test_analyses_are_visible_only_to_their_organization(sessions: Any, org: str) -> None:
    handlers, _, doc = await analysed(sessions, org)
    assert await handlers.analyses(caller=identity(str(uuid.uuid4())), document_ids=[doc]) == []
    assert await handlers.analyses(caller=identity(org), document_ids=["not-a-uuid"]) == []


def hit(doc: str, index: int, text: str) -> search_pb2.SearchHit:
    return search_pb2.SearchHit(document_id=doc, chunk_index=index, snippet=text[:40], score=0.5, text=text, page=1)


async def test_ask_answers_with_the_best_sentences_and_cites_their_chunks(sessions: Any, org: str) -> None:
    doc = str(uuid.uuid4())
    search = Search(
        [
            hit(doc, 0, "The migration to the new data centre is 70% complete."),
            hit(doc, 3, "Priya will send the revised vendor contract to legal by Friday."),
        ]
    )
    handlers = make_handlers(sessions, Store(), search)
    answer, cited, outcome = await handlers.ask(
        caller=identity(org, Role.VIEWER), question="Who will send the vendor contract to legal?", document_ids=[doc]
    )
    assert "Priya" in answer.answer and [c.chunk_index for c in cited] == [3]
    assert outcome is not None and outcome.call.provider == "local" and outcome.call.task == "answer"
    request, metadata = search.requests[0]
    assert request.mode == search_pb2.SEARCH_MODE_HYBRID and list(request.document_ids) == [doc]
    assert ("authorization", "Bearer caller-token") in list(metadata)


async def test_ask_leaves_out_the_excerpts_of_a_deleted_document(sessions: Any, org: str) -> None:
    # Search still finds a deleted document until its DocumentDeleted arrives; ingest no longer has it.
    kept, deleted = str(uuid.uuid4()), str(uuid.uuid4())
    search = Search(
        [
            hit(deleted, 0, "Priya will send the revised vendor contract to legal by Friday."),
            hit(kept, 2, "Omar will send the signed vendor contract to finance on Monday."),
        ]
    )
    handlers = make_handlers(sessions, Store(), search, Documents(deleted=frozenset({deleted})))
    answer, cited, _ = await handlers.ask(
        caller=identity(org), question="Who will send the vendor contract to legal?", document_ids=[]
    )
    assert "Priya" not in answer.answer and [c.document_id for c in cited] == [kept]
    only_deleted = make_handlers(sessions, Store(), Search(search.hits[:1]), Documents(deleted=frozenset({deleted})))
    answer, cited, outcome = await only_deleted.ask(caller=identity(org), question="Who sends it?", document_ids=[])
    assert answer.answer == NO_ANSWER and cited == [] and outcome is None


async def test_a_question_the_documents_cannot_answer_says_so(sessions: Any, org: str) -> None:
    doc = str(uuid.uuid4())
    handlers = make_handlers(sessions, Store(), Search([hit(doc, 0, "The migration is 70% complete.")]))
    answer, cited, _ = await handlers.ask(
        caller=identity(org), question="What is the capital of Australia?", document_ids=[]
    )
    assert answer.answer == NO_ANSWER and cited == []
    empty = make_handlers(sessions, Store(), Search([]))
    answer, cited, outcome = await empty.ask(caller=identity(org), question="Anything?", document_ids=[])
    assert answer.answer == NO_ANSWER and cited == [] and outcome is None


async def test_usage_is_for_admins_only_and_counts_every_call(sessions: Any, org: str) -> None:
    handlers, _, _ = await analysed(sessions, org)
    with pytest.raises(Forbidden):
        await handlers.usage(caller=identity(org, Role.MEMBER), since=None, until=None)
    report = await handlers.usage(caller=identity(org), since=None, until=None)
    assert sum(int(line["calls"]) for line in report["lines"]) == 6
    assert report["documents"] == 1 and report["pages"] == 2
    other = await handlers.usage(caller=identity(str(uuid.uuid4())), since=None, until=None)
    assert other["lines"] == [] and other["documents"] == 0


async def test_admins_set_the_routing_policy_and_everyone_in_the_organization_reads_it(sessions: Any, org: str) -> None:
    handlers = make_handlers(sessions, Store())
    default = await handlers.routing_policy(caller=identity(org, Role.VIEWER))
    assert default["cost_priority"] == "balanced" and default["monthly_budget_usd"] == 10
    assert not default["organization_set_priority"] and not default["organization_set_budget"]
    with pytest.raises(Forbidden):
        await handlers.set_routing_policy(
            caller=identity(org, Role.MEMBER), cost_priority="quality", monthly_budget_usd=None
        )
    for bad in ({"cost_priority": "lavish"}, {"monthly_budget_usd": -1.0}, {"monthly_budget_usd": 1e9}):
        with pytest.raises(InvalidInput):
            await handlers.set_routing_policy(
                caller=identity(org),
                **{"cost_priority": None, "monthly_budget_usd": None, **bad},  # type: ignore[arg-type]
            )
    policy = await handlers.set_routing_policy(caller=identity(org), cost_priority="economy", monthly_budget_usd=5.0)
    assert (policy["cost_priority"], policy["monthly_budget_usd"]) == ("economy", 5.0)
    kept = await handlers.set_routing_policy(caller=identity(org), cost_priority=None, monthly_budget_usd=7.5)
    assert (kept["cost_priority"], kept["monthly_budget_usd"]) == ("economy", 7.5)
    other = await handlers.routing_policy(caller=identity(str(uuid.uuid4())))
    assert other["cost_priority"] == "balanced"  # another organization is untouched
    cleared = await handlers.set_routing_policy(
        caller=identity(org), cost_priority=None, monthly_budget_usd=None, clear_priority=True
    )
    assert cleared["cost_priority"] == "balanced" and cleared["monthly_budget_usd"] == 7.5


async def test_the_usage_rpc_totals_equal_the_ledger(sessions: Any, org: str, analysis_database_url: str) -> None:
    handlers, _, _ = await analysed(sessions, org)
    token = current_identity.set(identity(org))
    try:
        register = Register(sessions=sessions, embed=None)
        reply = await AnalysisRpc(handlers, register).GetUsage(analysis_pb2.UsageRequest(), None)  # type: ignore[arg-type]
    finally:
        current_identity.reset(token)
    rows = await query(
        analysis_database_url, org, "SELECT count(*) AS n, coalesce(sum(cost_usd), 0) AS usd FROM analysis.ledger"
    )
    assert sum(line.calls for line in reply.by_model) == sum(line.calls for line in reply.by_task) == rows[0]["n"]
    days = await query(
        analysis_database_url,
        org,
        "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS n FROM analysis.ledger GROUP BY 1",
    )
    assert {(line.key, line.calls) for line in reply.by_day} == {(row["day"], row["n"]) for row in days}
    assert reply.total_cost_usd == pytest.approx(float(rows[0]["usd"]), abs=1e-8)
    assert reply.documents_processed == 1 and reply.pages_processed == 2
    assert {line.key for line in reply.by_task} == {
        "summary_short",
        "summary_medium",
        "summary_detailed",
        "action_items",
        "risks",
        "decisions",
    }


async def test_missing_extracted_text_fails_the_document_instead_of_leaving_it_analysing(
    sessions: Any, org: str, analysis_database_url: str
) -> None:
    handlers, doc = make_handlers(sessions, Store()), str(uuid.uuid4())
    await handlers.analyze(header(org, doc))
    [(subject, payload)] = await outbox(analysis_database_url, org)
    failed = documents_pb2.DocumentFailed.FromString(payload)
    assert subject == DOCUMENT_FAILED and failed.stage == "analysis" and failed.header.document_id == doc
    assert "extracted text" in failed.reason and "missing" in failed.reason
    assert await handlers.analyses(caller=identity(org), document_ids=[doc]) == []
