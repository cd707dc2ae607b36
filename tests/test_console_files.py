"""The gateway serves the built console and GraphQL explorer: caching headers, page routes, no CDN, the size of
the first page's JavaScript, and a clear page when the build is missing."""

from __future__ import annotations

import gzip
import re
import uuid
from html.parser import HTMLParser
from pathlib import Path

import httpx
from starlette.datastructures import Headers

from services.gateway.console import console_app, explorer_page
from tests.client import GraphQLClient

DIST = Path(__file__).resolve().parent.parent / "console" / "dist"
FIRST_PAGE_BUDGET_BYTES = 200 * 1024


class _Scripts(HTMLParser):
    """The JavaScript a page loads before it runs: its module scripts and the modules preloaded with them."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.stylesheets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.urls.append(str(found["src"]))
        if tag == "link" and found.get("rel") == "modulepreload" and found.get("href"):
            self.urls.append(str(found["href"]))
        if tag == "link" and found.get("rel") == "stylesheet" and found.get("href"):
            self.stylesheets.append(str(found["href"]))


def _scripts(html: str) -> _Scripts:
    parser = _Scripts()
    parser.feed(html)
    return parser


def test_the_console_is_served_at_the_root_with_caching_headers(gateway: GraphQLClient) -> None:
    http = gateway.http
    page = http.get(f"{gateway.base_url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<div id="app">' in page.text
    assert page.headers["cache-control"] == "no-cache"  # revalidated, so a new build shows at once
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    again = http.get(f"{gateway.base_url}/", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304

    # The console's own routes are the same page; its router takes it from there.
    for path in (f"/documents/{uuid.uuid4()}", "/search?q=budget", "/usage", "/sign-in"):
        routed = http.get(f"{gateway.base_url}{path}")
        assert routed.status_code == 200 and routed.text == page.text, path

    scripts = _scripts(page.text)
    assert scripts.urls and scripts.stylesheets
    for url in scripts.urls + scripts.stylesheets:
        asset = http.get(f"{gateway.base_url}{url}", headers={"Accept-Encoding": "gzip"})
        assert asset.status_code == 200, url
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert asset.headers["content-encoding"] == "gzip"
        kind = "javascript" if url.endswith(".js") else "css"
        assert kind in asset.headers["content-type"]

    # What does not exist is a 404, not the page: a broken asset link must show as broken.
    assert http.get(f"{gateway.base_url}/assets/nothing-here.js").status_code == 404
    assert http.get(f"{gateway.base_url}/logo-that-is-not.png").status_code == 404
    # The rest of the gateway is untouched by the console.
    assert http.get(f"{gateway.base_url}/healthz").json() == {"status": "ok"}
    assert gateway("query { __typename }").ok() == {"__typename": "Query"}


def test_the_graphql_explorer_comes_from_the_build_not_a_cdn(gateway: GraphQLClient) -> None:
    page = gateway.http.get(f"{gateway.base_url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    scripts = _scripts(page.text)
    assert scripts.urls and all(url.startswith("/assets/") for url in scripts.urls), scripts.urls
    assert not re.search(r"(src|href)=\"https?://", page.text), page.text
    for url in scripts.urls:
        assert gateway.http.get(f"{gateway.base_url}{url}").status_code == 200
    # A GraphQL request to the same path is still a GraphQL request.
    query = gateway.http.get(f"{gateway.base_url}/graphql", params={"query": "{ __typename }"})
    assert query.json() == {"data": {"__typename": "Query"}}


def test_the_first_pages_javascript_is_at_most_200_kb_gzipped() -> None:
    index = DIST / "index.html"
    assert index.is_file(), "run `make console`"
    urls = _scripts(index.read_text()).urls
    sizes = {url: len(gzip.compress((DIST / url.lstrip("/")).read_bytes(), compresslevel=9)) for url in urls}
    total = sum(sizes.values())
    print(f"first page JavaScript, gzipped: {total} bytes in {len(sizes)} files {sizes}")
    assert urls and total <= FIRST_PAGE_BUDGET_BYTES, sizes
    # Nothing else is fetched before the page can run: every module the entry imports statically is preloaded.
    entry = next(url for url in urls if "console" in url)
    imported = set(re.findall(r"from\s*\"\./([\w.-]+\.js)\"", (DIST / entry.lstrip("/")).read_text()))
    assert {f"/assets/{name}" for name in imported} <= set(urls)


async def test_a_missing_build_is_explained_not_hidden(tmp_path: Path) -> None:
    transport = httpx.ASGITransport(app=console_app(tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        for path in ("/", "/documents/42"):
            page = await client.get(path)
            assert page.status_code == 503 and "make console" in page.text, path
    explorer = explorer_page(tmp_path, Headers())
    assert explorer.status_code == 503 and b"make console" in bytes(explorer.body)
