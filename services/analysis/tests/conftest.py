"""The analysis database for router and handler tests: embedded Postgres, provisioned and migrated.

Only Postgres: these tests drive the router and handlers directly; the whole platform is exercised by
tests/test_analysis*.py through the gateway.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.embedded import postgres
from devstack.provisioning import provision_database
from services.analysis.service import MIGRATIONS_DIR
from services.analysis.settings import AnalysisSettings
from services.common.db import create_engine, session_factory
from services.common.migrations import upgrade_to_head


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def analysis_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("analysis-db")
    port, password = _free_port(), secrets.token_hex(16)
    postgres.start(data_dir / "postgres", port=port, password=password, log=data_dir / "postgres.log")
    try:
        urls = provision_database(postgres.admin_url(port, password), data_dir / "db-credentials.json")
        upgrade_to_head(migrations_dir=MIGRATIONS_DIR, database_url=urls["analysis"], schema="analysis")
        yield urls["analysis"]
    finally:
        postgres.stop(data_dir / "postgres")


@pytest.fixture
async def sessions(analysis_database_url: str) -> AsyncIterator[Any]:
    engine = create_engine(AnalysisSettings(database_url=analysis_database_url))
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def sentence_model() -> Any:
    """The sentence model search uses, loaded once for the session: `encode(texts)` gives unit vectors."""
    from services.common.embeddings import LocalEmbedder

    return LocalEmbedder().encode
