"""The web console at `/` and the GraphQL explorer's page at `GET /graphql`: files built into console/dist
(`make console`), served with caching headers. Both pages are clients of /graphql only; nothing comes from a CDN.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

import anyio
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Scope

CONSOLE_PAGE = "index.html"
EXPLORER_PAGE = "graphiql.html"
# Vite names every built asset after a hash of its content: a URL never changes meaning, so it may be kept forever.
HASHED_ASSETS = "assets/"
IMMUTABLE = "public, max-age=31536000, immutable"
# Pages and unhashed files are revalidated on every use (a 304 when unchanged), so a new build shows at once.
REVALIDATE = "no-cache"

# The pages talk to their own origin only (HTTP and the WebSocket for subscriptions).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} is not built</title></head>
<body><main><h1>{title} is not built</h1>
<p>The gateway serves the web console and the GraphQL explorer from <code>{directory}</code>, which has no
<code>{page}</code>. Run <code>make console</code> (Node.js 20 or newer), or <code>make run</code>, which builds it.</p>
<p>The GraphQL API itself works: <code>POST /graphql</code>.</p></main></body></html>
"""


def _not_built(directory: Path, page: str, title: str) -> HTMLResponse:
    body = NOT_BUILT.format(title=title, directory=directory, page=page)
    return HTMLResponse(body, status_code=503, headers={"cache-control": "no-store", **PAGE_HEADERS})


def _is_page_route(path: str) -> bool:
    """A path the console's router owns (/documents/…, /search): no file extension, not under assets/."""
    return not path.startswith(HASHED_ASSETS) and not PurePosixPath(path).suffix


class ConsoleFiles(StaticFiles):
    """dist/ as a single-page application: files as they are, any other page path answered with index.html."""

    def __init__(self, directory: Path, *, hidden: frozenset[str] = frozenset()) -> None:
        super().__init__(directory=directory, check_dir=False)
        self._root = directory
        self._hidden = hidden

    async def get_response(self, path: str, scope: Scope) -> Response:
        relative = "" if path == "." else PurePosixPath(*Path(path).parts).as_posix()
        if relative in self._hidden:
            raise HTTPException(status_code=404)
        _, console_page = await anyio.to_thread.run_sync(self.lookup_path, CONSOLE_PAGE)
        if console_page is None:
            return _not_built(self._root, CONSOLE_PAGE, "The web console")
        _, found = await anyio.to_thread.run_sync(self.lookup_path, path)
        if relative in ("", CONSOLE_PAGE) or (found is None and _is_page_route(relative)):
            response = await self._page(CONSOLE_PAGE, scope)
        else:
            response = await super().get_response(path, scope)
        response.headers["cache-control"] = IMMUTABLE if relative.startswith(HASHED_ASSETS) else REVALIDATE
        if relative.endswith(".html") or response.media_type == "text/html":
            response.headers.update(PAGE_HEADERS)
        return response

    async def _page(self, name: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})
        full_path, stat_result = await anyio.to_thread.run_sync(self.lookup_path, name)
        if stat_result is None or not stat.S_ISREG(stat_result.st_mode):
            raise HTTPException(status_code=404)
        return self.file_response(full_path, stat_result, scope)


def console_app(directory: Path, *, explorer: bool = True) -> ASGIApp:
    """The console's files, compressed for clients that accept gzip (JavaScript shrinks about fourfold); without
    the explorer's page when GraphiQL is off (production), as /graphql no longer serves it either."""
    hidden = frozenset() if explorer else frozenset({EXPLORER_PAGE})
    return GZipMiddleware(ConsoleFiles(directory, hidden=hidden), minimum_size=1024)


def explorer_page(directory: Path, headers: Headers) -> Response:
    """GraphiQL, built with the console (React and GraphiQL bundled, no CDN): the page strawberry would serve."""
    page = directory / EXPLORER_PAGE
    try:
        stat_result = os.stat(page)
    except FileNotFoundError:
        return _not_built(directory, EXPLORER_PAGE, "The GraphQL explorer")
    response: Response = FileResponse(page, stat_result=stat_result, media_type="text/html")
    etag = response.headers.get("etag")
    if etag is not None and headers.get("if-none-match") == etag:
        response = Response(status_code=304, headers={"etag": etag})
    response.headers["cache-control"] = REVALIDATE
    response.headers.update(PAGE_HEADERS)
    return response
