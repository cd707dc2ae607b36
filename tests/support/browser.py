"""Debian's Chromium driven by Playwright, axe-core for accessibility, and screenshots kept as test artifacts.

Playwright's async API, on the test session's event loop: its sync API runs a loop of its own in the main thread,
and while it is alive no other code there may start one (the launcher and the async tests do).

Playwright's own browser download cannot work offline; `make browser` installs Debian's chromium and the tests
launch it by path. axe-core comes from the console's node_modules (`make console`).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.platform import STRONG_PASSWORD

REPO_ROOT = Path(__file__).resolve().parents[2]
AXE_SCRIPT = REPO_ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("PMDI_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts")) / "console"

# As the machine probe found: without the background-networking flags Chromium keeps trying to reach Google.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# axe impacts that fail a page.
FAILING_IMPACTS = ("serious", "critical")


def chromium_path() -> str:
    found = os.environ.get("PMDI_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail("Debian's chromium is not installed: run `make browser` (apt-get install chromium)")
    return found


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not AXE_SCRIPT.is_file():
        pytest.fail(f"{AXE_SCRIPT} is missing: run `make console` (npm ci installs axe-core)")
    async with async_playwright() as driver:
        chromium = await driver.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


async def new_context(browser: Browser) -> BrowserContext:
    """A fresh browser profile (no session), with axe-core injected into every page it opens."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="UTC")
    # An init script is injected by the browser itself, so the pages' Content-Security-Policy does not stop it.
    await context.add_init_script(path=str(AXE_SCRIPT))
    context.set_default_timeout(30_000)
    return context


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await new_context(browser)
    yield context
    await context.close()


async def sign_in(page: Page, base_url: str, email: str, password: str = STRONG_PASSWORD) -> None:
    await page.goto(f"{base_url}/sign-in")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Documents", level=1)).to_be_visible()


async def stored_session(page: Page) -> dict[str, Any] | None:
    raw = await page.evaluate("() => localStorage.getItem('pmdi.session')")
    return json.loads(raw) if raw else None


@dataclass
class PageLog:
    """What a page did that a test may want to check: errors, every URL it requested, every WebSocket frame it sent."""

    errors: list[str]
    requests: list[str]
    frames_sent: list[str]


def watch(page: Page) -> PageLog:
    log = PageLog(errors=[], requests=[], frames_sent=[])
    page.on("pageerror", lambda error: log.errors.append(str(error)))
    page.on("console", lambda message: log.errors.append(message.text) if message.type == "error" else None)
    page.on("request", lambda request: log.requests.append(request.url))
    page.on(
        "websocket",
        lambda socket: socket.on("framesent", lambda payload: log.frames_sent.append(str(payload))),
    )
    return log


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def axe_violations(page: Page, name: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now; the full report is kept as an artifact."""
    report = await page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
            }));
        }"""
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.axe.json").write_text(json.dumps(report, indent=2))
    return [v for v in report if v["impact"] in FAILING_IMPACTS]


async def check_page(page: Page, name: str) -> None:
    """Keep a screenshot of the page and require axe to find nothing serious or critical on it."""
    await screenshot(page, name)
    violations = await axe_violations(page, name)
    assert not violations, f"{name}: " + json.dumps(violations, indent=2)


async def drop_files(page: Page, selector: str, files: list[tuple[str, str, bytes]]) -> None:
    """Drag and drop files onto an element, as a person dropping them from a file manager."""
    payload = [{"name": n, "type": t, "data": base64.b64encode(content).decode()} for n, t, content in files]
    transfer = await page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], f.name, { type: f.type }));
            }
            return transfer;
        }""",
        payload,
    )
    await page.dispatch_event(selector, "dragover", {"dataTransfer": transfer})
    await page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


RECORD_PROGRESS = """() => {
    window.__progress = {};
    const note = (element) => {
        if (element.getAttribute && element.getAttribute("role") === "progressbar") {
            const label = element.getAttribute("aria-label");
            (window.__progress[label] ??= []).push(Number(element.getAttribute("aria-valuenow")));
        }
    };
    new MutationObserver((records) => {
        for (const record of records) {
            note(record.target);
            for (const added of record.addedNodes) {
                if (added.querySelectorAll) [added, ...added.querySelectorAll("[role=progressbar]")].forEach(note);
            }
        }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-valuenow"] });
}"""


async def record_progress(page: Page) -> None:
    """From now on, remember every value each progress bar of the page shows."""
    await page.evaluate(RECORD_PROGRESS)


async def progress_seen(page: Page, label: str) -> list[int]:
    return [int(v) for v in await page.evaluate("(label) => window.__progress[label] || []", label)]
