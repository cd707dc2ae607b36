"""A typed async client of the public GraphQL contract (CONTRACT.md), on gql: HTTP (httpx) for queries,
mutations and multipart uploads, WebSocket (graphql-transport-ws) for progress.

    async with PmdiClient("http://127.0.0.1:8000") as client:
        await client.login("ada@acme.example", "correct-Horse-battery-9")
        document = await client.upload(Path("minutes.pdf"))
        async with client.events() as events:
            async for event in events.document(document.id):
                print(event.status, event.progress)

Access tokens are refreshed a minute before they expire, and once more if the server refuses one; the tokens live
in a TokenStore (memory by default; the CLI keeps them in the user's config directory).
"""

from __future__ import annotations

import asyncio
import io
import mimetypes
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from gql import Client as GqlClient
from gql import FileVar, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.exceptions import (
    TransportClosed,
    TransportConnectionFailed,
    TransportError,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport
from graphql import DocumentNode, parse

from pmdi_client import operations as ops
from pmdi_client.errors import UNREACHABLE, NotSignedIn, PmdiError
from pmdi_client.models import (
    Analysis,
    Answer,
    Document,
    DocumentDetail,
    DocumentPage,
    ModelCall,
    ProcessingEvent,
    RoutingPolicy,
    SearchHit,
    UsageLine,
    UsageReport,
    User,
)
from pmdi_client.tokens import MemoryTokens, Tokens, TokenStore

DEFAULT_URL = "http://127.0.0.1:8000"
# Refresh this long before the access token expires, so a request never races its expiry.
REFRESH_MARGIN_S = 60
MAX_PAGE = 100
SUMMARY_LENGTHS = ("SHORT", "MEDIUM", "DETAILED")
SEARCH_MODES = ("HYBRID", "SEMANTIC", "KEYWORD")

_PARSED: dict[str, DocumentNode] = {}


def _document(text: str) -> DocumentNode:
    parsed = _PARSED.get(text)
    if parsed is None:
        parsed = _PARSED[text] = parse(text)
    return parsed


def base_url(url: str) -> str:
    """The server's root URL, whether given as the root or as its /graphql endpoint."""
    url = url.strip().rstrip("/")
    return url.removesuffix("/graphql")


class _CountingFile(io.FileIO):
    """A file whose reads report how many bytes have gone out, for upload progress."""

    def __init__(self, path: Path, on_read: Callable[[int], None]) -> None:
        super().__init__(path, "rb")
        self._on_read = on_read

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if data:
            self._on_read(len(data))
        return data or b""


class EventChannel:
    """One WebSocket carrying any number of documentEvents subscriptions."""

    def __init__(self, session: AsyncClientSession) -> None:
        self._session = session

    async def document(self, document_id: str | None = None) -> AsyncIterator[ProcessingEvent]:
        """A document's events, from its current state until COMPLETED or FAILED (or, for None, every document
        of the organization until the caller stops)."""
        request = GraphQLRequest(_document(ops.DOCUMENT_EVENTS), variable_values={"documentId": document_id})
        try:
            async for data in self._session.subscribe(request):
                yield ProcessingEvent.from_api(data["documentEvents"])
        except TransportQueryError as exc:
            raise PmdiError.from_errors(exc.errors) from None
        except (TransportError, OSError) as exc:
            raise PmdiError(UNREACHABLE, f"the progress stream was lost: {exc}") from None


class PmdiClient:
    """The public API as Python methods; use it as an async context manager."""

    def __init__(self, url: str = DEFAULT_URL, *, tokens: TokenStore | None = None, timeout_s: float = 300) -> None:
        self.url = base_url(url)
        self.graphql_url = f"{self.url}/graphql"
        self.tokens: TokenStore = tokens if tokens is not None else MemoryTokens()
        self._timeout_s = timeout_s
        self._client: GqlClient | None = None
        self._session: AsyncClientSession | None = None
        self._refreshing = asyncio.Lock()

    async def __aenter__(self) -> Self:
        transport = HTTPXAsyncTransport(url=self.graphql_url, timeout=self._timeout_s)
        self._client = GqlClient(transport=transport, execute_timeout=None)
        try:
            self._session = await self._client.connect_async()
        except (TransportError, httpx.HTTPError, OSError) as exc:
            raise PmdiError(UNREACHABLE, f"cannot reach {self.url}: {exc}") from None
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.close_async()
        self._client = self._session = None

    # -- plumbing ------------------------------------------------------------------------------

    async def _send(
        self, session: AsyncClientSession, query: str, variables: dict[str, Any], headers: dict[str, str], **extra: Any
    ) -> dict[str, Any]:
        request = GraphQLRequest(_document(query), variable_values=variables)
        try:
            result: dict[str, Any] = await session.execute(request, extra_args={"headers": headers}, **extra)
            return result
        except TransportQueryError as exc:
            raise PmdiError.from_errors(exc.errors) from None
        except TransportServerError as exc:
            code = {413: "PAYLOAD_TOO_LARGE", 429: "RATE_LIMITED"}.get(exc.code or 0, "UNAVAILABLE")
            raise PmdiError(code, str(exc)) from None
        except (TransportConnectionFailed, TransportClosed, TransportProtocolError, httpx.HTTPError, OSError) as exc:
            raise PmdiError(UNREACHABLE, f"cannot reach {self.url}: {exc}") from None

    def _http(self) -> AsyncClientSession:
        if self._session is None:
            raise RuntimeError("use the client as `async with PmdiClient(...) as client`")
        return self._session

    async def _anonymous(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return await self._send(self._http(), query, variables, {})

    async def access_token(self) -> str:
        """A valid access token, refreshed first when it is about to expire."""
        tokens = self.tokens.load()
        if tokens is None:
            raise NotSignedIn()
        if tokens.expires_at - time.time() <= REFRESH_MARGIN_S:
            tokens = await self._refresh(tokens.access_token)
        return tokens.access_token

    async def _refresh(self, stale_access_token: str) -> Tokens:
        async with self._refreshing:
            tokens = self.tokens.load()
            if tokens is None:
                raise NotSignedIn()
            if tokens.access_token != stale_access_token and tokens.expires_at - time.time() > REFRESH_MARGIN_S:
                return tokens  # another task refreshed meanwhile
            try:
                payload = await self._anonymous(ops.REFRESH, {"refreshToken": tokens.refresh_token})
            except PmdiError as exc:
                if exc.code in ("UNAUTHENTICATED", "BAD_USER_INPUT", "NOT_FOUND"):
                    self.tokens.save(None)
                    raise NotSignedIn("the session has ended: run `pmdi login` again") from None
                raise
            fresh = Tokens.from_payload(payload["refreshToken"])
            self.tokens.save(fresh)
            return fresh

    async def _call(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """An authenticated request; a token the server refuses is refreshed and the request sent once more."""
        token = await self.access_token()
        try:
            return await self._send(self._http(), query, variables or {}, {"Authorization": f"Bearer {token}"})
        except PmdiError as exc:
            if exc.code != "UNAUTHENTICATED":
                raise
        token = (await self._refresh(token)).access_token
        return await self._send(self._http(), query, variables or {}, {"Authorization": f"Bearer {token}"})

    # -- sessions ------------------------------------------------------------------------------

    async def login(self, email: str, password: str) -> User:
        payload = (await self._anonymous(ops.LOGIN, {"email": email, "password": password}))["login"]
        self.tokens.save(Tokens.from_payload(payload))
        return User.from_api(payload["user"])

    async def register(self, organization_name: str, email: str, password: str, name: str | None = None) -> User:
        """Create an organization; you become its ADMIN and are signed in."""
        variables = {"organizationName": organization_name, "email": email, "password": password, "name": name}
        payload = (await self._anonymous(ops.REGISTER, variables))["register"]
        self.tokens.save(Tokens.from_payload(payload))
        return User.from_api(payload["user"])

    async def logout(self) -> bool:
        """End the session on the server and forget it here; False when there was none."""
        tokens = self.tokens.load()
        if tokens is None:
            return False
        try:
            await self._anonymous(ops.LOGOUT, {"refreshToken": tokens.refresh_token})
        finally:
            self.tokens.save(None)
        return True

    async def me(self) -> User:
        return User.from_api((await self._call(ops.ME))["me"])

    # -- documents -----------------------------------------------------------------------------

    async def documents(self, *, first: int = 20, after: str | None = None, status: str | None = None) -> DocumentPage:
        data = (await self._call(ops.DOCUMENTS, {"first": first, "after": after, "status": status}))["documents"]
        return DocumentPage(
            documents=[Document.from_api(d) for d in data["nodes"]],
            total_count=data["totalCount"],
            end_cursor=data["pageInfo"]["endCursor"],
            has_next_page=data["pageInfo"]["hasNextPage"],
        )

    async def all_documents(self, *, status: str | None = None) -> AsyncIterator[Document]:
        """Every document of the organization, newest first, fetched a page at a time."""
        after: str | None = None
        while True:
            page = await self.documents(first=MAX_PAGE, after=after, status=status)
            for document in page.documents:
                yield document
            if not page.has_next_page or page.end_cursor is None:
                return
            after = page.end_cursor

    async def document(self, document_id: str, *, summary: str = "MEDIUM") -> DocumentDetail | None:
        """A document and its analysis (None until analysed); None when absent or in another organization."""
        length = summary.upper()
        if length not in SUMMARY_LENGTHS:
            raise PmdiError("BAD_USER_INPUT", f"summary must be one of {', '.join(SUMMARY_LENGTHS)}")
        data = (await self._call(ops.DOCUMENT, {"id": document_id, "length": length}))["document"]
        if data is None:
            return None
        analysis = data.get("analysis")
        return DocumentDetail(
            document=Document.from_api(data),
            analysis=Analysis.from_api(analysis, length) if analysis else None,
        )

    async def upload(
        self, path: Path, *, title: str | None = None, on_progress: Callable[[int, int], None] | None = None
    ) -> Document:
        """Send one file (GraphQL multipart request); `on_progress(sent, total)` follows the bytes going out.
        Each upload has its own connection, so several can run at once."""
        total = (await asyncio.to_thread(path.stat)).st_size
        sent = 0

        def counted(size: int) -> None:
            nonlocal sent
            sent = min(total, sent + size)
            if on_progress is not None:
                on_progress(sent, total)

        token = await self.access_token()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        transport = HTTPXAsyncTransport(url=self.graphql_url, timeout=self._timeout_s)
        async with GqlClient(transport=transport, execute_timeout=None) as session:
            with _CountingFile(path, counted) as file:
                variables = {"file": FileVar(file, filename=path.name, content_type=content_type), "title": title}
                data = await self._send(
                    session, ops.UPLOAD, variables, {"Authorization": f"Bearer {token}"}, upload_files=True
                )
        return Document.from_api(data["uploadDocument"])

    async def delete(self, document_id: str) -> bool:
        return bool((await self._call(ops.DELETE, {"id": document_id}))["deleteDocument"])

    @asynccontextmanager
    async def events(self) -> AsyncIterator[EventChannel]:
        """A WebSocket for documentEvents, authenticated with the current access token."""
        token = await self.access_token()
        url = "ws" + self.graphql_url.removeprefix("http")
        transport = WebsocketsTransport(
            url=url,
            init_payload={"Authorization": f"Bearer {token}"},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
            ping_interval=20,
            pong_timeout=20,
        )
        try:
            session = await GqlClient(transport=transport, execute_timeout=None).connect_async()
        except (TransportError, OSError) as exc:
            raise PmdiError(UNREACHABLE, f"cannot open the progress stream at {url}: {exc}") from None
        try:
            yield EventChannel(session)
        finally:
            await session.client.close_async()

    # -- insights ------------------------------------------------------------------------------

    async def search(self, query: str, *, mode: str = "HYBRID", limit: int = 10) -> list[SearchHit]:
        mode = mode.upper()
        if mode not in SEARCH_MODES:
            raise PmdiError("BAD_USER_INPUT", f"mode must be one of {', '.join(SEARCH_MODES)}")
        data = await self._call(ops.SEARCH, {"query": query, "mode": mode, "limit": limit})
        return [SearchHit.from_api(hit) for hit in data["search"]]

    async def ask(self, question: str) -> Answer:
        data = (await self._call(ops.ASK, {"question": question}))["ask"]
        call = data.get("modelCall")
        return Answer(
            answer=data["answer"],
            citations=[SearchHit.from_api(hit) for hit in data["citations"]],
            model_call=ModelCall.from_api(call) if call else None,
        )

    async def usage(self, *, since: datetime | None = None, until: datetime | None = None) -> UsageReport:
        """Costs and calls per day, model and task (ADMIN), with this month's spend against the budget."""
        variables = {
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        }
        data = await self._call(ops.USAGE, variables)
        usage, policy = data["usage"], data["routingPolicy"]
        return UsageReport(
            documents_processed=usage["documentsProcessed"],
            pages_processed=usage["pagesProcessed"],
            total_cost_usd=usage["totalCostUsd"],
            by_day=[UsageLine.from_api(line) for line in usage["byDay"]],
            by_model=[UsageLine.from_api(line) for line in usage["byModel"]],
            by_task=[UsageLine.from_api(line) for line in usage["byTask"]],
            policy=RoutingPolicy(
                cost_priority=policy["costPriority"],
                monthly_budget_usd=policy["monthlyBudgetUsd"],
                spent_this_month_usd=policy["spentThisMonthUsd"],
            ),
        )
