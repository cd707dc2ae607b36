"""The search process: migrate, or index from JetStream and answer gRPC until signalled."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

from pmdi.events.v1 import documents_pb2
from pmdi.search.v1 import search_pb2, search_pb2_grpc

from services.common import events, subjects
from services.common.db import create_engine, session_factory
from services.common.embeddings import LocalEmbedder
from services.common.erasure import OrganizationEraser
from services.common.host import Consumer, ServiceHost, Servicer
from services.common.logging import configure_logging, get_logger
from services.common.migrations import upgrade_to_head
from services.common.object_store import ObjectStore
from services.search import tables
from services.search.embeddings import Embedder, create_embedder
from services.search.handlers import SearchHandlers
from services.search.keyword import ExternalKeywordIndex
from services.search.rpc import SearchRpc
from services.search.settings import SearchSettings

log = get_logger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def migrate(settings: SearchSettings) -> None:
    upgrade_to_head(migrations_dir=MIGRATIONS_DIR, database_url=settings.database_url, schema=tables.SCHEMA)


def create_external_keyword_index(settings: SearchSettings) -> ExternalKeywordIndex | None:
    """OpenSearch when configured; None: keyword search is Postgres full text."""
    if settings.opensearch_url:
        from services.search.opensearch import OpenSearchKeyword

        return OpenSearchKeyword(settings.opensearch_url, prefix=settings.opensearch_index_prefix)
    return None


async def _warm_up(embedder: Embedder) -> None:
    if isinstance(embedder, LocalEmbedder):
        await asyncio.to_thread(embedder.warm_up)


def query_settings(settings: SearchSettings) -> dict[str, str]:
    """Every search connection's settings. Filters apply after the HNSW scan; an iterative scan keeps walking
    the graph until enough rows pass them (relaxed_order: the query sorts the few rows again). Custom plans:
    a prepared statement's generic plan cannot see how selective a text-search query is."""
    return {
        "hnsw.ef_search": str(settings.hnsw_ef_search),
        "hnsw.iterative_scan": "relaxed_order",
        "plan_cache_mode": "force_custom_plan",
    }


async def start(stack: AsyncExitStack, settings: SearchSettings) -> None:
    host = ServiceHost(stack, settings, "search")
    sessions = host.database(server_settings=query_settings(settings))
    embedder = create_embedder(settings)
    if settings.embedding_warm_up:
        await _warm_up(embedder)
    external_keyword = create_external_keyword_index(settings)
    if external_keyword is not None:
        stack.push_async_callback(external_keyword.close)
    handlers = SearchHandlers(
        sessions=sessions,
        reads=host.engine.execution_options(isolation_level="AUTOCOMMIT"),
        store=ObjectStore(settings),
        embedder=embedder,
        external_keyword=external_keyword,
        settings=settings,
    )

    async def on_extracted(data: bytes, _: int, __: str) -> None:
        await handlers.index(events.parse_header(documents_pb2.DocumentExtracted, data))

    async def on_give_up(data: bytes, error: Exception) -> None:
        await handlers.fail(
            events.parse_header(documents_pb2.DocumentExtracted, data),
            "Indexing for search failed repeatedly; reprocess the document to try again.",
        )

    async def on_deleted(data: bytes, _: int, __: str) -> None:
        await handlers.forget(events.parse_header(documents_pb2.DocumentDeleted, data))

    async def warn_of_other_models() -> None:
        # In the background: counting every chunk takes a while on a large index, and is only advice.
        try:
            others = await handlers.chunks_of_other_models()
        except Exception:  # advice only: searching and indexing go on
            log.warning("model_check_failed", exc_info=True)
            return
        if others:
            log.warning(
                "chunks_of_another_model",
                configured=embedder.model_name,
                chunks_by_model=others,
                fix="run `python -m services.search reindex`; until then these are found by keyword only",
            )

    log.info(
        "search_configured",
        embedding_model=embedder.model_name,
        keyword_backend="postgres" if external_keyword is None else external_keyword.name,
    )
    # This replica's kept results of the organization go with its rows; the other replicas drop theirs when the
    # OrganizationErased event reaches them.
    eraser = OrganizationEraser(
        sessions=sessions,
        schema=tables.SCHEMA,
        forget=handlers.forget_organization_results,
        sweep_delays_s=settings.erasure_sweep_delays_s,
    )
    await host.run(
        on_organization_erased=eraser.erased_elsewhere,
        outbox=(sessions, tables.outbox),
        consumers=[
            Consumer(subjects.DOCUMENT_EXTRACTED, "search-indexing", on_extracted, batch=1, on_give_up=on_give_up),
            Consumer(subjects.DOCUMENT_DELETED, "search-deleted", on_deleted),
        ],
        tasks=[warn_of_other_models],
        servicers=[
            Servicer(
                lambda server: search_pb2_grpc.add_SearchServiceServicer_to_server(
                    SearchRpc(handlers, embedder.model_name, eraser), server
                ),
                search_pb2.DESCRIPTOR.services_by_name["SearchService"].full_name,
            )
        ],
    )


async def _reindex(settings: SearchSettings) -> int:
    engine = create_engine(settings)
    try:
        handlers = SearchHandlers(
            sessions=session_factory(engine),
            reads=engine.execution_options(isolation_level="AUTOCOMMIT"),
            store=ObjectStore(settings),
            embedder=create_embedder(settings),
            external_keyword=None,
            settings=settings,
        )
        return await handlers.reindex()
    finally:
        await engine.dispose()


def reindex_command(settings: SearchSettings) -> None:
    """Re-embed every chunk with the configured model; searches only ever use vectors of that model."""
    configure_logging(service="search", level=settings.log_level, json=settings.log_json)
    done = asyncio.run(_reindex(settings))
    log.info("reindex_finished", chunks=done, model=create_embedder(settings).model_name)
