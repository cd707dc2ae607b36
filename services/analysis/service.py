"""The analysis process: migrate, or analyse from JetStream and answer gRPC until signalled."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

from pmdi.analysis.v1 import analysis_pb2, analysis_pb2_grpc
from pmdi.events.v1 import documents_pb2
from pmdi.ingest.v1 import ingest_pb2_grpc
from pmdi.search.v1 import search_pb2_grpc

from services.analysis import tables
from services.analysis.breaker import CircuitBreaker
from services.analysis.catalog import load_catalog
from services.analysis.handlers import AnalysisHandlers, failure_reason
from services.analysis.providers.base import Provider
from services.analysis.providers.local_provider import LocalProvider
from services.analysis.register.handlers import Register
from services.analysis.router import Router
from services.analysis.rpc import AnalysisRpc
from services.analysis.settings import AnalysisSettings
from services.common import events, subjects
from services.common.embeddings import LocalEmbedder
from services.common.erasure import OrganizationEraser
from services.common.grpc_client import open_channel
from services.common.host import Consumer, Loop, ServiceHost, Servicer
from services.common.logging import get_logger
from services.common.migrations import upgrade_to_head
from services.common.object_store import ObjectStore

log = get_logger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def migrate(settings: AnalysisSettings) -> None:
    upgrade_to_head(migrations_dir=MIGRATIONS_DIR, database_url=settings.database_url, schema=tables.SCHEMA)


def local_embedder(settings: AnalysisSettings) -> LocalEmbedder | None:
    """The sentence model the local provider chooses sentences with (the one search embeds with), unless turned off."""
    if not settings.local_embeddings:
        return None
    return LocalEmbedder(precision=settings.embedding_precision)


def providers_from(settings: AnalysisSettings, embedder: LocalEmbedder | None = None) -> dict[str, Provider]:
    """The local provider always; OpenAI and Anthropic when their keys are configured."""
    providers: dict[str, Provider] = {"local": LocalProvider(embed=embedder.encode if embedder else None)}
    if settings.openai_api_key:
        from services.analysis.providers.openai_provider import OpenAIProvider

        providers["openai"] = OpenAIProvider(api_key=settings.openai_api_key, base_url=settings.openai_base_url)
    if settings.anthropic_api_key:
        from services.analysis.providers.anthropic_provider import AnthropicProvider

        providers["anthropic"] = AnthropicProvider(
            api_key=settings.anthropic_api_key, base_url=settings.anthropic_base_url
        )
    return providers


async def start(stack: AsyncExitStack, settings: AnalysisSettings) -> None:
    host = ServiceHost(stack, settings, "analysis")
    sessions = host.database()
    embedder = local_embedder(settings)
    if embedder is not None:
        # Loaded now, in a thread, so the first document is not the one that waits for it.
        await asyncio.to_thread(embedder.warm_up)
    providers = providers_from(settings, embedder)
    router = Router(
        sessions=sessions,
        catalog=load_catalog(settings.catalog_file),
        providers=providers,
        breakers={
            name: CircuitBreaker(failures_to_open=settings.breaker_failures, reset_after_s=settings.breaker_reset_s)
            for name in providers
            if name != "local"
        },
        monthly_budget_usd=settings.monthly_budget_usd,
        priority=settings.cost_priority,
        timeout_s=settings.provider_timeout_s,
        attempts=settings.provider_attempts,
        backoff_base_s=settings.provider_backoff_base_s,
        max_retry_after_s=settings.provider_max_retry_after_s,
    )
    search_channel = open_channel(settings.search_addr)
    stack.push_async_callback(search_channel.close)
    ingest_channel = open_channel(settings.ingest_addr)
    stack.push_async_callback(ingest_channel.close)
    register = Register(sessions=sessions, embed=embedder.encode if embedder else None)
    handlers = AnalysisHandlers(
        sessions=sessions,
        store=ObjectStore(settings),
        router=router,
        search=search_pb2_grpc.SearchServiceStub(search_channel),
        documents=ingest_pb2_grpc.IngestServiceStub(ingest_channel),
        register=register,
        max_answer_chunks=settings.max_answer_chunks,
    )

    async def on_indexed(data: bytes, _: int, __: str) -> None:
        await handlers.analyze(events.parse_header(documents_pb2.DocumentIndexed, data))

    async def on_give_up(data: bytes, error: Exception) -> None:
        await handlers.fail(events.parse_header(documents_pb2.DocumentIndexed, data), failure_reason(error))

    async def on_deleted(data: bytes, _: int, __: str) -> None:
        await handlers.forget(events.parse_header(documents_pb2.DocumentDeleted, data))

    # Analyses, the register, the ledger and usage, the model-reply cache (a table, so it goes with the rows).
    eraser = OrganizationEraser(sessions=sessions, schema=tables.SCHEMA, sweep_delays_s=settings.erasure_sweep_delays_s)
    await host.run(
        on_organization_erased=eraser.erased_elsewhere,
        outbox=(sessions, tables.outbox),
        consumers=[
            # Several documents at once (each waits mostly on providers); one durable, so each goes to one worker.
            Consumer(
                subjects.DOCUMENT_INDEXED,
                "analysis-documents",
                on_indexed,
                workers=settings.analysis_workers,
                batch=1,
                ack_wait_s=settings.analysis_ack_wait_s,
                on_give_up=on_give_up,
            ),
            Consumer(subjects.DOCUMENT_DELETED, "analysis-deleted", on_deleted),
        ],
        # Due-soon and overdue alerts: the marks are in the database, so a restart forgets nothing, and each
        # alert is claimed by one replica.
        loops=[Loop("due_date_scan", register.scan_due_dates, settings.alert_scan_interval_s)],
        servicers=[
            Servicer(
                lambda server: analysis_pb2_grpc.add_AnalysisServiceServicer_to_server(
                    AnalysisRpc(handlers, register, eraser), server
                ),
                analysis_pb2.DESCRIPTOR.services_by_name["AnalysisService"].full_name,
            )
        ],
    )
