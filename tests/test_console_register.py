"""The project register in the web console, in a real browser against the real platform: a member uploads this
week's minutes as a new version of last week's, sees what changed, gets the high-risk alert live, works the action
items (two mentions, one entry; status and due date changed in place and kept), reads the risks and the decision
log, downloads an export; a viewer reads the same register with no control to change it. axe checks every page."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, FilePayload, Locator, Page, expect

from tests.client import GraphQLClient
from tests.support.browser import PageLog, check_page, new_context, sign_in, watch
from tests.support.uploads import upload
from tests.test_documents import wait_final
from tests.test_register import WEEK_1, WEEK_2

PROCESSING_TIMEOUT_MS = 240_000
PLAN = "Deliver the integration plan"
SANDBOX = re.compile("sandbox API")


async def _wait_for_subscription(log: PageLog, operation: str, timeout_s: float = 30) -> None:
    """Until the page has sent the subscription over its WebSocket (so nothing published after it is missed)."""
    deadline = time.monotonic() + timeout_s
    while not any(f"subscription {operation}" in frame for frame in log.frames_sent):
        assert time.monotonic() < deadline, f"the page never subscribed to {operation}"
        await asyncio.sleep(0.1)


def _card(page: Page, text: str | re.Pattern[str]) -> Locator:
    return page.locator("li.entry").filter(has_text=text)


@pytest.mark.timeout(600)
async def test_a_member_works_the_register_and_a_viewer_only_reads_it(
    context: BrowserContext, browser: Browser, gateway: GraphQLClient, org_factory: Any
) -> None:
    base = gateway.base_url
    org = org_factory()
    member, viewer = org.add("MEMBER"), org.add("VIEWER")
    week_1 = upload(base, member.token, "week-1.md", WEEK_1.encode()).ok()["uploadDocument"]["id"]
    final = await asyncio.to_thread(wait_final, gateway, member.token, week_1, timeout_s=300)
    assert final["status"] == "COMPLETED", final

    page = await context.new_page()
    log = watch(page)
    await sign_in(page, base, member.email)
    await _wait_for_subscription(log, "Alerts")

    # This week's minutes, uploaded from last week's page as its new version: the new version's page opens.
    await page.goto(f"{base}/documents/{week_1}")
    await expect(page.get_by_role("heading", name="week-1", level=1)).to_be_visible()
    await page.get_by_label("A new version of week-1").set_input_files(
        files=FilePayload(name="week-2.md", mimeType="text/markdown", buffer=WEEK_2.encode())
    )
    await expect(page.get_by_role("heading", name="week-2", level=1)).to_be_visible()
    facts = page.locator("dl.facts")
    await expect(facts).to_contain_text("New version of")
    await expect(facts.locator(".badge")).to_have_text("Completed", timeout=PROCESSING_TIMEOUT_MS)

    # What the new version changed: a task reported done, the sandbox risk now critical.
    changes = page.locator("section", has=page.get_by_role("heading", name="Changes since the previous version"))
    await expect(changes).to_contain_text("Compared with week-1")
    closed = changes.get_by_role("list", name=re.compile(r"^Action items closed"))
    await expect(closed).to_contain_text("Update the budget forecast")
    await expect(closed).to_contain_text("Done")
    escalated = changes.get_by_role("list", name=re.compile(r"^Risks escalated"))
    await expect(escalated).to_contain_text("sandbox API")
    await expect(escalated.locator(".badge")).to_have_text("Critical")

    # The escalation arrived as a live alert, counted in the top bar; its panel links to the risk.
    alerts_button = page.get_by_role("banner").get_by_role("button", name=re.compile(r"^Alerts"))
    await expect(alerts_button).not_to_have_text(re.compile(r"Alerts\s*0"))
    await alerts_button.click()
    await expect(alerts_button).to_have_attribute("aria-expanded", "true")
    panel = page.get_by_role("region", name="Alerts")
    alert = panel.locator("li.alert-high-risk")
    await expect(alert).to_contain_text("High risk")
    await expect(alert).to_contain_text("sandbox API")
    await check_page(page, "13-document-changes")
    await alert.get_by_role("link", name="Open the risk").click()

    # The risk register: the risk, focused, critical by colour and word, with its two mentions.
    await expect(page.get_by_role("heading", name="Risks", level=1)).to_be_visible()
    await expect(panel).to_have_count(0)  # following an alert closes the panel
    risk = _card(page, SANDBOX)
    await expect(risk).to_be_focused()
    badge = risk.locator(".severity-critical")
    await expect(badge).to_have_text("Critical")
    assert await badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(153, 27, 27)"
    await expect(risk.locator("li.mention")).to_have_count(2)
    await page.get_by_label("Minimum severity").select_option("CRITICAL")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(page).to_have_url(re.compile(r"minSeverity=CRITICAL"))
    await expect(page.locator("li.entry")).to_have_count(1)
    await check_page(page, "14-risks")

    # Dismissed, an alert leaves the panel; Escape closes it and gives the focus back to its button.
    await alerts_button.click()
    await alert.get_by_role("button", name=re.compile("^Dismiss the alert")).click()
    await expect(alert).to_have_count(0)
    await page.keyboard.press("Escape")
    await expect(panel).to_have_count(0)
    await expect(alerts_button).to_be_focused()

    # Open action items: the plan, mentioned in both weeks, is one entry; the forecast was reported done.
    await page.get_by_role("navigation", name="Register").get_by_role("link", name="Action items").click()
    plan = _card(page, PLAN)
    await expect(plan.locator("li.mention")).to_have_count(2)
    await expect(plan.locator("li.mention a")).to_have_text(["week-1", "week-2"])
    await expect(plan).to_contain_text("Dev still owes the integration plan")
    await expect(plan).to_contain_text("Raj")
    await expect(_card(page, "Update the budget forecast")).to_have_count(0)
    await expect(page.get_by_role("navigation", name="Pages of action items")).to_contain_text("1 action item")

    # Changed in place: under way, due yesterday (so overdue, in red and in words); kept after a reload.
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    form = plan.get_by_role("form", name=f"Change “{PLAN}”")
    await form.get_by_label("Status").select_option("IN_PROGRESS")
    await form.get_by_label("Due date").fill(yesterday)
    await form.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Saved: “{PLAN}” is in progress")
    await page.reload()
    await expect(plan.locator(".entry-status")).to_have_text("In progress")
    await expect(form.get_by_label("Status")).to_have_value("IN_PROGRESS")
    await expect(form.get_by_label("Due date")).to_have_value(yesterday)
    overdue = plan.locator(".overdue-badge")
    await expect(overdue).to_have_text("Overdue")
    assert await overdue.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(185, 28, 28)"
    await page.get_by_label("Arrange by").select_option("owner")
    await expect(page.get_by_role("heading", name=re.compile(r"^Raj \(1\)"), level=3)).to_be_visible()
    await check_page(page, "15-action-items")

    # The export is fetched with the session's token and saved; it parses as CSV and holds the change.
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="Download CSV").click()
    download = await downloading.value
    assert download.suggested_filename == "action-items.csv"
    saved = await download.path()
    rows = list(csv.DictReader(io.StringIO(await asyncio.to_thread(saved.read_text))))
    by_title = {row["title"]: row for row in rows}
    assert by_title[PLAN]["status"] == "IN_PROGRESS" and by_title[PLAN]["mentions"] == "2"
    assert by_title[PLAN]["due_date"] == yesterday and by_title[PLAN]["overdue"] == "yes"
    assert by_title["Update the budget forecast"]["status"] == "DONE"

    # A mention opens its document at the quote.
    await plan.get_by_role("link", name="week-1").click()
    await expect(page.get_by_role("heading", name="week-1", level=1)).to_be_visible()
    await expect(page.locator("mark#highlight")).to_have_text("Raj will deliver the integration plan by 11 September.")

    # The decision log: what was decided, by whom, and where.
    await page.goto(f"{base}/register/decisions")
    decision = _card(page, "migrate the EMEA region first")
    await expect(decision.locator(".item-meta")).to_have_text(re.compile(r"Decided by\s*The team"))
    await expect(decision.locator("li.mention a")).to_have_text(["week-1"])
    await check_page(page, "16-decisions")
    assert not [e for e in log.errors if "401" not in e], log.errors

    # A viewer reads the same register with no control to change it; the server refuses the change anyway.
    viewer_context = await new_context(browser)
    try:
        viewing = await viewer_context.new_page()
        await sign_in(viewing, base, viewer.email)
        await viewing.goto(f"{base}/register/action-items")
        await expect(_card(viewing, PLAN).locator(".entry-status")).to_have_text("In progress")
        await expect(viewing.get_by_role("form", name=re.compile("^Change"))).to_have_count(0)
        await expect(viewing.get_by_role("button", name="Save")).to_have_count(0)
        await check_page(viewing, "17-action-items-viewer")
        entry = await _card(viewing, PLAN).get_attribute("id")
        await viewing.get_by_role("navigation", name="Register").get_by_role("link", name="Risks").click()
        await expect(_card(viewing, SANDBOX)).to_be_visible()
        await expect(viewing.get_by_role("combobox", name="Severity", exact=True)).to_have_count(0)
        await viewing.goto(f"{base}/documents/{week_1}")
        await expect(viewing.get_by_role("heading", name="week-1", level=1)).to_be_visible()
        await expect(viewing.get_by_role("button", name="Upload a new version…")).to_have_count(0)
        # Hiding a control is a courtesy: the server refuses the viewer's change whatever the page shows.
        assert entry is not None and entry.startswith("item-")
        refused = await viewing.evaluate(
            """async (id) => {
                const { accessToken } = JSON.parse(localStorage.getItem("pmdi.session"));
                const reply = await fetch("/graphql", {
                    method: "POST",
                    headers: { "Content-Type": "application/json", Authorization: `Bearer ${accessToken}` },
                    body: JSON.stringify({
                        query: "mutation($id: ID!) { updateActionItem(id: $id, status: DONE) { id } }",
                        variables: { id },
                    }),
                });
                return (await reply.json()).errors.map((e) => e.extensions.code);
            }""",
            entry.removeprefix("item-"),
        )
        assert refused == ["FORBIDDEN"]
    finally:
        await viewer_context.close()


async def test_a_register_page_that_cannot_be_fetched_says_so(
    context: BrowserContext, gateway: GraphQLClient, org_factory: Any
) -> None:
    # The register's pages are their own chunk, fetched when first opened; offline (or replaced by a newer build),
    # the page says what happened instead of staying blank.
    org = org_factory()
    page = await context.new_page()
    await sign_in(page, gateway.base_url, org.admin.email)
    await page.route(re.compile(r"/assets/register-[\w-]+\.js$"), lambda route: route.abort())
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Register").click()
    await expect(page.get_by_role("alert")).to_contain_text("could not fetch this page")
    await expect(page.get_by_role("heading", name="This page could not be loaded", level=1)).to_be_visible()
