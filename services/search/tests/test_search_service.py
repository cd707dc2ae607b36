"""The search service on the real stack (its platform fixtures are in conftest.py)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from typing import Any

import asyncpg
import grpc
import pytest
from pmdi.analysis.v1 import analysis_pb2, analysis_pb2_grpc
from pmdi.search.v1 import search_pb2

from devstack.launcher import REPO_ROOT
from devstack.provisioning import LEAKPROOF_FUNCTIONS
from services.common import subjects
from services.common.db import create_engine, session_factory
from services.search.embeddings import create_embedder
from services.search.handlers import SearchHandlers
from services.search.settings import SearchSettings
from services.search.tests.conftest import MODES, Platform, Tenant
from tests.support.database import tenant_connection

VENDOR = [
    ("Procurement", "The vendor contract renewal is delayed because legal has not signed off yet."),
    ("Engineering", "Ticket JIRA-4711 tracks the database failover test planned for Q1 2024."),
    ("Engineering", "The on-call rotation was updated for the holiday period."),
]
BUDGET = [
    (
        None,
        "The quarterly budget is on track. Spending on cloud hosting fell by ten percent after the reserved "
        "instance purchase. No overruns are expected this quarter.",
    ),
]


@pytest.fixture(scope="module")
async def corpus(platform: Platform, tenants: tuple[Tenant, Tenant]) -> dict[str, str]:
    ours, theirs = tenants
    vendor = await platform.extracted(ours.id, VENDOR)
    budget = await platform.extracted(ours.id, BUDGET)
    # The other organization's twin differs only in its ticket number.
    twin = await platform.extracted(theirs.id, [(h, t.replace("JIRA-4711", "JIRA-9999")) for h, t in VENDOR])
    for doc in (vendor, budget, twin):
        await platform.until_indexed(doc)
    return {"vendor": vendor, "budget": budget, "twin": twin}


async def test_an_indexed_document_is_announced_with_its_generation(platform: Platform, tenants: Any) -> None:
    ours, _ = tenants
    chunks = [("Plan", "Announcement check, part one."), (None, "Announcement check, part two.")]
    doc = await platform.extracted(ours.id, chunks, generation=3)
    indexed = await platform.report(subjects.DOCUMENT_INDEXED, doc)
    assert indexed.header.generation == 3 and indexed.header.organization_id == ours.id
    assert indexed.chunk_count == 2 and indexed.embedding_model == "local/all-MiniLM-L6-v2"


async def test_an_exact_identifier_is_found_by_keyword_only(platform: Platform, tenants: Any, corpus: Any) -> None:
    hits = await platform.search(tenants[0], "JIRA-4711", "KEYWORD")
    assert hits and hits[0].document_id == corpus["vendor"] and hits[0].chunk_index == 1
    assert hits[0].keyword_rank == 1 and not hits[0].HasField("semantic_rank")
    assert "<mark>JIRA-4711</mark>" in hits[0].snippet and hits[0].page == 1
    quoted = await platform.search(tenants[0], '"Q1 2024"', "KEYWORD")
    assert [h.document_id for h in quoted] == [corpus["vendor"]]


async def test_a_paraphrase_is_found_by_meaning_only(platform: Platform, tenants: Any, corpus: Any) -> None:
    paraphrase = "supplier agreement postponed awaiting lawyers approval"
    assert await platform.search(tenants[0], paraphrase, "KEYWORD") == []
    semantic = await platform.search(tenants[0], paraphrase, "SEMANTIC")
    assert semantic[0].document_id == corpus["vendor"] and semantic[0].chunk_index == 0
    assert semantic[0].semantic_rank == 1 and not semantic[0].HasField("keyword_rank")


async def test_hybrid_finds_by_both_and_reports_both_ranks(platform: Platform, tenants: Any, corpus: Any) -> None:
    hits = await platform.search(tenants[0], "vendor contract delayed")
    top = hits[0]
    assert (top.document_id, top.chunk_index) == (corpus["vendor"], 0)
    assert top.HasField("semantic_rank") and top.HasField("keyword_rank")
    assert "<mark>vendor</mark>" in top.snippet and "<mark>delayed</mark>" in top.snippet
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


async def test_partial_matches_rank_by_how_many_query_words_they_share(
    platform: Platform, tenants: Any, corpus: Any
) -> None:
    # No chunk has all three words: the one with two of them ranks above the one with one.
    hits = await platform.search(tenants[0], "vendor contract hosting", "KEYWORD")
    found = [(h.document_id, h.chunk_index) for h in hits]
    assert found[:2] == [(corpus["vendor"], 0), (corpus["budget"], 0)]


async def test_the_word_match_functions_are_leakproof(platform: Platform) -> None:
    # The trigram match uses its index this way too (seen at 100,000 chunks: chunks_org_text_trgm, 8 ms), but
    # on a small table the planner prefers other plans, so here the catalogue is checked for it.
    conn = await asyncpg.connect(platform.deployment.database_urls["search"])
    try:
        for function in LEAKPROOF_FUNCTIONS:
            assert await conn.fetchval("SELECT proleakproof FROM pg_proc WHERE oid = $1::regprocedure", function)
    finally:
        await conn.close()


async def test_word_matches_use_their_index_under_row_level_security(
    platform: Platform, tenants: Any, corpus: Any
) -> None:
    # Row-level security keeps a query's own conditions out of index scans unless their functions are
    # LEAKPROOF; without that, every search would read all of the organization's chunks. Everything done
    # here (a few thousand chunks, statistics, a dropped constraint) is rolled back afterwards.
    conn = await asyncpg.connect(platform.deployment.database_urls["search"])
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("SELECT set_config('app.current_org_id', $1, true)", tenants[0].id)
        await conn.execute(
            "INSERT INTO search.chunks (organization_id, document_id, generation, chunk_index, start_offset, "
            "end_offset, text, model, embedding) SELECT $1, gen_random_uuid(), 1, 0, 0, 0, "
            "md5(i::text) || ' ' || md5((-i)::text), 'filler', array_fill(0.1, ARRAY[384])::vector "
            "FROM generate_series(1, 3000) AS i",
            tenants[0].id,
        )
        await conn.execute("ANALYZE search.chunks")
        # An index, then, and not the organization's btree (which serves any condition by filtering): can
        # the planner use the word index at all? Without LEAKPROOF it cannot, and falls back to a scan.
        await conn.execute("SET LOCAL enable_seqscan = off")
        await conn.execute("ALTER TABLE search.chunks DROP CONSTRAINT chunks_org_document_chunk_key")  # rolled back
        query = (
            "SELECT document_id FROM search.chunks "
            "WHERE organization_id = $1 AND tsv @@ websearch_to_tsquery('english', 'vendor contract')"
        )
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {query}", tenants[0].id))
        rows = await conn.fetch(query, tenants[0].id)
        await transaction.rollback()
    finally:
        await conn.close()
    # The organization's partition's index on (organization_id, tsv), made from chunks_org_tsv_gin.
    assert re.search(r"Index Scan on chunks_p\d+_organization_id_tsv_idx", plan), plan
    # The match itself is an index condition, not a filter over every chunk of the organization.
    assert any("Index Cond" in line and "@@" in line for line in plan.splitlines()), plan
    assert rows and {str(r["document_id"]) for r in rows} <= {corpus["vendor"], corpus["budget"]}


async def test_a_misspelling_still_finds_the_document(platform: Platform, tenants: Any, corpus: Any) -> None:
    hits = await platform.search(tenants[0], "quartely budgett", "KEYWORD")
    assert hits and hits[0].document_id == corpus["budget"]


async def test_an_identifier_or_a_phrase_that_is_not_there_finds_nothing_by_keyword(
    platform: Platform, tenants: Any, corpus: Any
) -> None:
    # Word similarity would take them for misspellings of JIRA-4711 and "Q1 2024" (migration 0008).
    assert await platform.search(tenants[0], "JIRA-4712", "KEYWORD") == []
    assert await platform.search(tenants[0], '"2024 Q1"', "KEYWORD") == []
    assert await platform.search(tenants[0], '"vendr contract"', "KEYWORD") == []
    hybrid = await platform.search(tenants[0], "JIRA-4712", "HYBRID")
    assert hybrid and not any(h.HasField("keyword_rank") for h in hybrid)
    # Found by meaning, the ticket's chunk is shown, but JIRA-4711 is not the identifier asked for.
    assert any("JIRA-4711" in h.snippet for h in hybrid) and not any("<mark>" in h.snippet for h in hybrid)


async def test_the_document_filter_limits_results(platform: Platform, tenants: Any, corpus: Any) -> None:
    for mode in MODES:
        hits = await platform.search(tenants[0], "budget", mode, document_ids=[corpus["vendor"]])
        assert {h.document_id for h in hits} <= {corpus["vendor"]}
        if mode != "KEYWORD":  # by meaning the filtered document always has a nearest chunk: none would be wrong
            assert hits


async def test_no_query_filter_or_id_reaches_another_organization(
    platform: Platform, tenants: Any, corpus: Any
) -> None:
    ours, theirs = tenants
    for query in ("JIRA-9999", "vendor contract renewal", "database failover test", "holiday on-call"):
        for mode in MODES:
            hits = await platform.search(ours, query, mode, limit=100)
            assert corpus["twin"] not in {h.document_id for h in hits}
            assert all("9999" not in h.text and "9999" not in h.snippet for h in hits)
            hits = await platform.search(ours, query, mode, limit=100, document_ids=[corpus["twin"]])
            assert hits == []
    theirs_hits = await platform.search(theirs, "JIRA-4711 vendor", "HYBRID", limit=100)
    assert theirs_hits and {h.document_id for h in theirs_hits} == {corpus["twin"]}
    assert await platform.search(theirs, "JIRA-4711", "KEYWORD", document_ids=[corpus["vendor"]]) == []


async def test_the_search_functions_leave_no_tenant_on_a_pooled_connection(
    platform: Platform, tenants: Any, corpus: Any
) -> None:
    # The service calls them in autocommit on pooled connections: the tenant each sets must end with its own
    # statement, or the connection's next user would read that organization's chunks.
    conn = await asyncpg.connect(platform.deployment.database_urls["search"])
    try:
        found = await conn.fetch(
            "SELECT id, document_id FROM search.search($1, NULL, 'unused', 'vendor contract', true, true, NULL, 10, "
            "10, NULL, NULL, 1.2, 0.75)",
            tenants[0].id,
        )
        assert corpus["vendor"] in {str(r["document_id"]) for r in found if r["id"] is not None}
        assert not await conn.fetchval("SELECT current_setting('app.current_org_id', true)")
        # The previous release's two functions, which its replicas call during a rolling deploy.
        row = await conn.fetchrow(
            "SELECT semantic, keyword FROM search.candidates($1, NULL, 'unused', 'vendor contract', "
            "ARRAY['vendor', 'contract'], NULL, 10, 100, true)",
            tenants[0].id,
        )
        chunks = await conn.fetch("SELECT document_id FROM search.chunks_by_id($1, $2)", tenants[0].id, row["keyword"])
        assert corpus["vendor"] in {str(c["document_id"]) for c in chunks}
        assert not await conn.fetchval("SELECT current_setting('app.current_org_id', true)")
        assert await conn.fetchval("SELECT count(*) FROM search.chunks") == 0
        # Another organization's ids, asked for under our organization, are not there.
        assert await conn.fetch("SELECT id FROM search.chunks_by_id($1, $2)", tenants[1].id, row["keyword"]) == []
    finally:
        await conn.close()


async def test_each_partition_is_confined_like_the_table(platform: Platform, tenants: Any, corpus: Any) -> None:
    # Chunks are partitioned by organization; the service reads the table, but a partition read directly
    # (its owner, the service role, could) shows nothing without a tenant, and only that tenant's chunks.
    conn = await asyncpg.connect(platform.deployment.database_urls["search"])
    try:
        partitions = await conn.fetch(
            "SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'search.chunks'::regclass"
        )
        assert len(partitions) == 16
        for partition in (p["name"] for p in partitions):
            assert await conn.fetchval(f"SELECT count(*) FROM {partition}") == 0  # noqa: S608 - catalogue names
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.current_org_id', $1, true)", tenants[0].id)
                seen = await conn.fetch(f"SELECT DISTINCT organization_id FROM {partition}")  # noqa: S608
            assert {str(r["organization_id"]) for r in seen} <= {tenants[0].id}
    finally:
        await conn.close()


async def test_bad_input_is_refused_or_capped(platform: Platform, tenants: Any, corpus: Any) -> None:
    ours = tenants[0]
    for fields in ({"query": ""}, {"query": "   "}, {"query": "x" * 1001}, {"query": "x" * 10_240}):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await platform.search(ours, fields["query"])
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    for limit in (0, -5):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await platform.search(ours, "budget", limit=limit)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await platform.search(ours, "budget", document_ids=["not-an-id"])
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(await platform.search(ours, "the", limit=10_000)) <= 100


async def test_a_limit_above_the_cap_returns_exactly_the_cap(platform: Platform, org_factory_module: Any) -> None:
    org = org_factory_module()
    many = Tenant(org.id, org.admin.token)
    doc = await platform.extracted(many.id, [(None, f"Inspection note {n} on the cooling pumps.") for n in range(120)])
    await platform.until_indexed(doc)
    for mode in ("SEMANTIC", "KEYWORD", "HYBRID"):
        assert len(await platform.search(many, "cooling pumps", mode, limit=10_000)) == 100


@pytest.mark.parametrize(
    "query",
    [
        "'); DROP TABLE search.chunks; --",
        "budget & !cloud | <-> :* ( ) \\",
        '"unbalanced quote -',
        "Überprüfung des Budgets € 😀 数据库",
        "a:b:c \\ %_ $1 ::vector",
        "\u200b\u202e",
    ],
)
async def test_syntax_characters_and_unicode_are_just_text(
    platform: Platform, tenants: Any, corpus: Any, query: str
) -> None:
    for mode in MODES:
        await platform.search(tenants[0], query, mode)  # no error
    assert await platform.search(tenants[0], "budget", "KEYWORD")  # and the table is still there


async def test_a_caller_without_a_valid_token_is_refused(platform: Platform, corpus: Any) -> None:
    for metadata in ((), (("authorization", "Bearer not-a-token"),)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await platform.stub.Search(search_pb2.SearchRequest(query="budget"), metadata=metadata, timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_deleted_document_never_appears_again(platform: Platform, tenants: Any) -> None:
    ours = tenants[0]
    doomed = await platform.extracted(ours.id, [("Decommission", "The legacy billing server ZX-81 retires.")])
    await platform.until_indexed(doomed)
    assert await platform.search(ours, "ZX-81", "KEYWORD")
    await platform.deleted(ours.id, doomed)
    for _ in range(150):
        if not await platform.search(ours, "ZX-81", "KEYWORD"):
            break
        await asyncio.sleep(0.2)
    assert not await platform.search(ours, "ZX-81", "KEYWORD")
    # A late redelivery of its extraction does not bring it back.
    await platform.announce(ours.id, doomed, 1)
    marker = await platform.extracted(ours.id, [(None, "Marker chunk after the deletion.")])
    await platform.until_indexed(marker)  # one consumer, in order: the redelivery was handled before this
    for mode in MODES:
        hits = await platform.search(ours, "legacy billing server ZX-81", mode, limit=100)
        assert doomed not in {h.document_id for h in hits}
    async with tenant_connection(platform.deployment.database_urls["search"], ours.id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM search.chunks WHERE document_id = $1", doomed) == 0


async def test_ask_never_quotes_a_document_that_ingest_no_longer_has(platform: Platform, tenants: Any) -> None:
    # What search holds after a document was deleted and before its DocumentDeleted arrives (search busy or
    # down): chunks of a document ingest no longer lists. Every document of this module is such a one.
    ours, _ = tenants
    doc = await platform.extracted(ours.id, [(None, "The orbital welding robot ZQ-77 failed its acceptance test.")])
    await platform.until_indexed(doc)
    assert [h.document_id for h in await platform.search(ours, "orbital welding robot", "KEYWORD")] == [doc]
    async with grpc.aio.insecure_channel(platform.deployment.grpc_addresses["analysis"]) as channel:
        reply = await analysis_pb2_grpc.AnalysisServiceStub(channel).Ask(
            analysis_pb2.AskRequest(question="Which orbital welding robot failed its acceptance test?"),
            metadata=(("authorization", f"Bearer {ours.token}"),),
            timeout=60,
        )
    assert "ZQ-77" not in reply.answer and not reply.citations


async def test_a_repeated_search_sees_every_change_to_the_index(platform: Platform, tenants: Any) -> None:
    # The service keeps results per index version (migration 0007): a repeated search must still see a
    # document indexed or deleted since, and one organization's kept results never answer another's search.
    ours, theirs = tenants
    query = "escalator refurbishment EQ-57"
    first = await platform.extracted(ours.id, [(None, "Escalator EQ-57 refurbishment starts in March.")])
    twin = await platform.extracted(theirs.id, [(None, "Escalator EQ-57 refurbishment starts in April.")])
    await platform.until_indexed(first)
    await platform.until_indexed(twin)
    for _ in range(2):
        assert {h.document_id for h in await platform.search(ours, query, "KEYWORD")} == {first}
        assert {h.document_id for h in await platform.search(theirs, query, "KEYWORD")} == {twin}
    second = await platform.extracted(ours.id, [(None, "The EQ-57 escalator refurbishment needs a night crew.")])
    await platform.until_indexed(second)  # announced after its commit: from here on, search must find it
    assert {h.document_id for h in await platform.search(ours, query, "KEYWORD")} == {first, second}
    await platform.deleted(ours.id, first)
    for _ in range(150):
        if first not in {h.document_id for h in await platform.search(ours, query, "KEYWORD")}:
            break
        await asyncio.sleep(0.2)
    assert {h.document_id for h in await platform.search(ours, query, "KEYWORD")} == {second}
    assert {h.document_id for h in await platform.search(theirs, query, "KEYWORD")} == {twin}


async def test_reprocessing_replaces_chunks_and_an_older_generation_is_ignored(
    platform: Platform, tenants: Any
) -> None:
    ours = tenants[0]
    doc = await platform.extracted(ours.id, [(None, "Old wording about the turbine gearbox ZQ-1.")])
    await platform.until_indexed(doc)
    await platform.extracted(ours.id, [(None, "New wording about the compressor ZQ-2.")], doc=doc, generation=2)
    await platform.until_indexed(doc, 2)
    await platform.announce(ours.id, doc, 1)  # stale redelivery of the first generation
    marker = await platform.extracted(ours.id, [(None, "Marker chunk after the stale generation.")])
    await platform.until_indexed(marker)
    hits = await platform.search(ours, "ZQ", "KEYWORD", document_ids=[doc], limit=100)
    assert [h.text for h in hits] == ["New wording about the compressor ZQ-2."]


async def test_indexing_a_long_document_reports_its_progress(platform: Platform, tenants: Any) -> None:
    ours = tenants[0]
    passages = [(None, f"Progress probe passage {n} about the harbour crane refit.") for n in range(300)]
    doc = await platform.extracted(ours.id, passages)
    indexed = await platform.report(subjects.DOCUMENT_INDEXED, doc)
    assert indexed.chunk_count == 300
    first = await platform.report(subjects.DOCUMENT_STAGE_PROGRESS, doc)
    second = await platform.report(subjects.DOCUMENT_STAGE_PROGRESS, doc, nth=2)
    assert (first.stage, second.stage) == ("indexing", "indexing")
    assert 0 < first.fraction < second.fraction < 1
    assert "of 300 passages" in second.message


async def test_a_redelivered_extraction_is_announced_again_without_being_embedded_again(
    platform: Platform, tenants: Any
) -> None:
    ours = tenants[0]
    doc = await platform.extracted(ours.id, [(None, "Redelivery probe for the standby generator test.")])
    await platform.until_indexed(doc)

    async def chunk_ids() -> list[int]:
        async with tenant_connection(platform.deployment.database_urls["search"], ours.id) as conn:
            return [r["id"] for r in await conn.fetch("SELECT id FROM search.chunks WHERE document_id = $1", doc)]

    stored = await chunk_ids()
    await platform.announce(ours.id, doc, 1)  # the same extraction again, as JetStream redelivers it
    again = await platform.report(subjects.DOCUMENT_INDEXED, doc, 1, nth=2)
    assert again.chunk_count == 1
    assert await chunk_ids() == stored  # embedding and storing again would have replaced them


async def test_a_missing_artifact_fails_the_document_with_a_reason(platform: Platform, tenants: Any) -> None:
    doc = str(uuid.uuid4())
    await platform.announce(tenants[0].id, doc, 1)
    failed = await platform.report(subjects.DOCUMENT_FAILED, doc)
    assert failed.stage == "indexing" and "missing" in failed.reason


async def _chunks_of_other_models(platform: Platform) -> dict[str, int]:
    settings = SearchSettings(database_url=platform.deployment.database_urls["search"])
    engine = create_engine(settings)
    try:
        handlers = SearchHandlers(
            sessions=session_factory(engine),
            reads=engine.execution_options(isolation_level="AUTOCOMMIT"),
            store=platform.store,
            embedder=create_embedder(settings),  # the local model, never loaded: only its name is used
            external_keyword=None,
            settings=settings,
        )
        return await handlers.chunks_of_other_models()
    finally:
        await engine.dispose()


async def test_reindex_re_embeds_chunks_of_another_model_and_search_never_mixes_them(
    platform: Platform, tenants: Any, corpus: Any
) -> None:
    ours = tenants[0]
    paraphrase = "supplier agreement postponed awaiting lawyers approval"
    admin = await asyncpg.connect(platform.deployment.endpoints.database_admin_url)
    try:
        # As if these vectors came from a model no longer configured. An edit by hand raises the index version
        # like the service's own writes (migration 0007's triggers), so no kept result outlives it.
        await admin.execute(
            "UPDATE search.chunks SET model = 'old/model' WHERE document_id = $1", uuid.UUID(corpus["vendor"])
        )
        assert corpus["vendor"] not in {h.document_id for h in await platform.search(ours, paraphrase, "SEMANTIC")}
        # What a search replica starting now counts, and logs as `chunks_of_another_model`.
        # (Across organizations: other tests' chunks of made-up models count too.)
        assert (await _chunks_of_other_models(platform)).get("old/model") == len(VENDOR)
        env = {
            **os.environ,
            "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'gen'}",
            "HF_HUB_OFFLINE": "1",
            "PMDI_DATABASE_URL": platform.deployment.database_urls["search"],
        }
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "services.search", "reindex"],
            env=env,
            capture_output=True,
            timeout=240,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        models = await admin.fetch("SELECT DISTINCT model FROM search.chunks")
        assert [r["model"] for r in models] == ["local/all-MiniLM-L6-v2"]
        assert await _chunks_of_other_models(platform) == {}
    finally:
        await admin.close()
    assert (await platform.search(ours, paraphrase, "SEMANTIC"))[0].document_id == corpus["vendor"]
