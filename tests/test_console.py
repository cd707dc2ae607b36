"""The web console in a real browser (Debian's Chromium, driven by Playwright) against the real platform: what a
project manager does, page by page, with a screenshot of each page and axe-core's verdict on it.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, expect

from tests.client import GraphQLClient
from tests.platform import STRONG_PASSWORD, unique_email
from tests.support.browser import (
    axe_violations,
    check_page,
    drop_files,
    progress_seen,
    record_progress,
    screenshot,
    sign_in,
    stored_session,
    watch,
)
from tests.support.files import pdf_bytes
from tests.support.uploads import upload
from tests.test_analysis import MEETING
from tests.test_documents import wait_final

PROCESSING_TIMEOUT_MS = 240_000

# A two-page report: what a search finds is on page 2.
INSPECTION_PAGES = [
    ["Site inspection report, Lisbon data centre", "The fire doors on every floor close and latch as required."],
    [
        "The cooling tower inspection found corrosion on the north pump housing (ticket OPS-2290).",
        "Risk: the pump may fail during the summer peak. Mitigation: replace the housing in May.",
    ],
]
GIF = b"GIF89a" + bytes(64)  # images are read by OCR now; a GIF is still refused
FALCON_MINUTES = Path(__file__).resolve().parent / "data" / "meetings" / "falcon_weekly_minutes.md"


@pytest.mark.timeout(900)
async def test_a_new_user_signs_up_uploads_reads_searches_asks_and_signs_out(
    context: BrowserContext, gateway: GraphQLClient
) -> None:
    base = gateway.base_url
    page = await context.new_page()
    log = watch(page)

    # Signed out, every page leads to the sign-in page, which leads to signing up.
    await page.goto(f"{base}/")
    await expect(page).to_have_url(re.compile(r"/sign-in\?next=%2F$"))
    await check_page(page, "01-sign-in")
    await page.get_by_role("link", name="Create an organization").click()
    await expect(page.get_by_role("heading", name="Create an organization")).to_be_visible()
    email = unique_email("console")
    await page.get_by_label("Organization name").fill("Atlas PMO")
    await page.get_by_label("Your name").fill("Ada Lovelace")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill("short")
    await check_page(page, "02-sign-up")
    await page.get_by_role("button", name="Create organization").click()
    await expect(page.get_by_role("alert")).to_contain_text("at least 10 characters")  # the server's reason, in words
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Create organization").click()
    await expect(page.get_by_role("heading", name="Documents", level=1)).to_be_visible()
    await expect(page.get_by_role("banner")).to_contain_text("Ada Lovelace")

    # Three files dropped at once: two documents, and an image the server refuses; the others go on.
    await record_progress(page)
    await drop_files(
        page,
        "[data-testid=dropzone]",
        [
            ("atlas-status.txt", "text/plain", MEETING.encode()),
            ("inspection.pdf", "application/pdf", pdf_bytes(INSPECTION_PAGES)),
            ("diagram.gif", "image/gif", GIF),
        ],
    )
    refused = page.locator("li.upload[data-file='diagram.gif']")
    await expect(refused.get_by_role("alert")).to_contain_text("Refused (file type)")
    await expect(refused.get_by_role("alert")).to_contain_text("upload a PDF, Word (.docx)")
    for name in ("atlas-status.txt", "inspection.pdf"):
        row = page.locator(f"li.upload[data-file='{name}']")
        await expect(row.get_by_role("progressbar", name=f"Upload of {name}")).to_have_attribute("aria-valuenow", "100")
        await expect(row.locator(".upload-state")).to_have_text("Completed", timeout=PROCESSING_TIMEOUT_MS)
        bar = row.get_by_role("progressbar", name=f"Processing of {name}")
        await expect(bar).to_have_attribute("aria-valuenow", "100")
        # The bar moved live with the subscription's events: through values between, never backwards.
        seen = await progress_seen(page, f"Processing of {name}")
        assert seen == sorted(seen) and seen[-1] == 100, seen
        assert any(0 < value < 100 for value in seen), seen
    listed = page.locator("table.documents tbody tr")
    await expect(listed).to_have_count(2)
    await expect(listed.filter(has_text="atlas-status")).to_contain_text("Completed")
    await check_page(page, "03-documents")

    # The filter narrows the list; nothing failed.
    await page.get_by_label("Status", exact=True).select_option("FAILED")
    await expect(page.get_by_text("No documents are failed.")).to_be_visible()
    await page.get_by_label("Status", exact=True).select_option("")
    await expect(listed).to_have_count(2)

    # The analysis: summaries of three lengths, action items with owners and dates, risks by colour and word.
    await page.get_by_role("link", name="Open atlas-status").click()
    await expect(page.get_by_role("heading", name="atlas-status", level=1)).to_be_visible()
    panel = page.get_by_role("tabpanel")
    medium = await panel.inner_text()
    await page.get_by_role("tab", name="Short").click()
    await expect(page.get_by_role("tab", name="Short")).to_have_attribute("aria-selected", "true")
    short = await panel.inner_text()
    await page.get_by_role("tab", name="Short").press("ArrowRight")  # the keyboard moves between the tabs
    await expect(page.get_by_role("tab", name="Medium")).to_be_focused()
    await page.get_by_role("tab", name="Detailed").click()
    assert len(await panel.inner_text()) > len(short) and short != medium
    items = page.locator("section:has(h2#actions-heading) li")
    await expect(items).to_have_count(3)
    priya = items.filter(has_text="vendor contract")
    await expect(priya).to_contain_text("Priya")
    await expect(priya).to_contain_text("15 Mar 2024")
    critical = page.locator("li.risk-critical")
    await expect(critical.locator(".badge")).to_have_text("Critical")
    assert await critical.locator(".badge").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(153, 27, 27)"
    await expect(page.get_by_role("heading", name=re.compile(r"^Decisions"))).to_be_visible()
    await expect(page.get_by_text(re.compile(r"This analysis cost \$0\.00 in \d+ model calls"))).to_be_visible()

    # A quote, clicked, is highlighted in the document's text.
    await priya.get_by_role("button", name=re.compile("Priya will send the revised vendor contract")).click()
    highlight = page.locator(".document-text mark#highlight")
    await expect(highlight).to_have_text("Priya will send the revised vendor contract to legal by Friday.")
    await expect(highlight).to_be_focused()
    await expect(highlight).to_be_in_viewport()
    await expect(page.get_by_role("status")).to_contain_text("is highlighted below")
    await check_page(page, "04-document")

    # Search: words mode, the match marked, its page given; a click opens the document at that passage.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Search").click()
    await page.get_by_label("Search the organization's documents").fill("OPS-2290 corrosion")
    await page.get_by_label("Words").check()
    await page.get_by_role("button", name="Search").click()
    result = page.locator("ol.results li").first
    await expect(result).to_contain_text("page 2")
    await expect(result.locator("mark").first).to_be_visible()
    assert "corrosion" in [m.lower() for m in await result.locator("mark").all_inner_texts()]
    await expect(page).to_have_url(re.compile(r"mode=KEYWORD"))
    await check_page(page, "05-search")
    await result.get_by_role("link", name="inspection").click()
    await expect(page.get_by_role("heading", name="inspection", level=1)).to_be_visible()
    await expect(page.locator("mark#highlight")).to_contain_text("OPS-2290")
    await expect(page.get_by_role("status")).to_contain_text("on page 2")

    # Ask: an answer with numbered sources; a source opens the cited document at the cited passage.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Ask").click()
    await page.get_by_label("Your question").fill("Who will send the vendor contract to legal?")
    await page.get_by_role("button", name="Ask").click()
    answer = page.locator(".answer-text")
    await expect(answer).to_contain_text("Priya", timeout=60_000)
    await expect(answer.get_by_role("link", name="Source 1")).to_be_visible()
    citation = page.locator("ol.citations li").first
    await expect(citation.get_by_role("link")).to_contain_text("atlas-status")
    await check_page(page, "06-ask")
    await citation.get_by_role("link").click()
    await expect(page.get_by_role("heading", name="atlas-status", level=1)).to_be_visible()
    await expect(page.locator("mark#highlight")).to_contain_text("vendor contract")

    # Usage (an administrator): per day, model and task, and the month's spend against the budget.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Usage").click()
    await expect(page.get_by_role("heading", name="This month's spend")).to_be_visible()
    await expect(page.locator("meter.budget")).to_be_visible()
    await expect(page.get_by_role("img", name=re.compile(r"^Per day: .* over 30 days"))).to_be_visible()
    await expect(page.locator("figure", has_text="Per model")).to_contain_text("local/")
    await expect(page.locator("figure", has_text="Per task")).to_contain_text("summary short")
    await check_page(page, "07-usage")

    # Admin: a colleague added, a role changed, the budget set.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    colleague = unique_email("colleague")
    form = page.locator("section", has=page.get_by_role("heading", name="Add a user"))
    await form.get_by_label("E-mail").fill(colleague)
    await form.get_by_label("Initial password").fill(STRONG_PASSWORD)
    await form.get_by_label("Role").select_option("VIEWER")
    await form.get_by_role("button", name="Add user").click()
    await expect(form.get_by_role("status")).to_contain_text(f"{colleague} can now sign in")
    role = page.get_by_label(f"Role of {colleague}")
    await expect(role).to_have_value("VIEWER")
    await role.select_option("MEMBER")
    await expect(page.get_by_role("status").first).to_contain_text("is now member")
    routing = page.locator("section", has=page.get_by_role("heading", name="Model routing and budget"))
    await routing.get_by_label("Monthly budget (US dollars)").fill("12.5")
    await routing.get_by_label("What to optimise for").select_option("ECONOMY")
    await routing.get_by_role("button", name="Save", exact=True).click()
    await expect(routing.get_by_role("status")).to_contain_text("Saved")
    await check_page(page, "08-admin")
    admin_token = await stored_session(page)
    assert admin_token is not None
    users = gateway("query { users { email role } }", token=admin_token["accessToken"]).ok()["users"]
    assert {"email": colleague, "role": "MEMBER"} in users
    policy = gateway("query { routingPolicy { costPriority monthlyBudgetUsd } }", token=admin_token["accessToken"])
    assert policy.ok()["routingPolicy"] == {"costPriority": "ECONOMY", "monthlyBudgetUsd": 12.5}

    # An address the console does not know.
    await page.goto(f"{base}/no/such/page")
    await expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    await check_page(page, "09-not-found")

    # Sign out: back at the sign-in page, nothing kept, and the refresh token no longer works.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert await stored_session(page) is None
    refused_refresh = gateway(
        "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
        {"t": admin_token["refreshToken"]},
    )
    assert refused_refresh.codes == ["UNAUTHENTICATED"]
    await page.goto(f"{base}/documents/{uuid.uuid4()}")
    await expect(page).to_have_url(re.compile(r"/sign-in\?next="))

    # The whole journey asked nothing of any other host, and the pages logged no errors.
    assert all(url.startswith(base) or url.startswith("data:") for url in log.requests), log.requests
    assert not [e for e in log.errors if "401" not in e], log.errors


async def test_a_wrong_password_says_so(context: BrowserContext, gateway: GraphQLClient, org_factory: Any) -> None:
    org = org_factory()
    page = await context.new_page()
    await page.goto(f"{gateway.base_url}/sign-in")
    await page.get_by_label("E-mail").fill(org.admin.email)
    await page.get_by_label("Password").fill("not-the-password-1")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("The e-mail address or the password is not right.")
    assert await stored_session(page) is None


async def test_a_viewer_sees_no_upload_or_delete_controls_and_no_admin_pages(
    context: BrowserContext, gateway: GraphQLClient, org_factory: Any
) -> None:
    org = org_factory()
    document = upload(gateway.base_url, org.admin.token, "plan.md", b"# Plan\n\nThe launch moves to June.\n")
    title = document.ok()["uploadDocument"]["title"]
    viewer = org.add("VIEWER")
    page = await context.new_page()
    await sign_in(page, gateway.base_url, viewer.email)
    await expect(page.get_by_role("link", name=title)).to_be_visible()
    await expect(page.get_by_role("heading", name="Upload documents")).to_have_count(0)
    await expect(page.get_by_role("button", name="Choose files…")).to_have_count(0)
    await expect(page.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Usage")).to_have_count(0)
    await expect(nav.get_by_role("link", name="Admin")).to_have_count(0)
    await check_page(page, "10-documents-viewer")
    await page.get_by_role("link", name=title).click()
    await expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    await expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    await expect(page.get_by_role("button", name="Process again")).to_have_count(0)
    await page.goto(f"{gateway.base_url}/admin")
    await expect(page.get_by_role("status")).to_contain_text("Only administrators")
    # Hiding a control is a courtesy: the server refuses the viewer's upload whatever the page shows.
    refused = await page.evaluate(
        """async () => {
            const { accessToken } = JSON.parse(localStorage.getItem("pmdi.session"));
            const form = new FormData();
            form.append("operations", JSON.stringify({
                query: "mutation($f: Upload!) { uploadDocument(file: $f) { id } }", variables: { f: null } }));
            form.append("map", JSON.stringify({ 0: ["variables.f"] }));
            form.append("0", new File(["# Sneaky"], "sneaky.md"));
            const reply = await fetch("/graphql", {
                method: "POST", body: form, headers: { Authorization: `Bearer ${accessToken}` } });
            return (await reply.json()).errors.map((e) => e.extensions.code);
        }"""
    )
    assert refused == ["FORBIDDEN"]


async def test_a_member_uploads_but_sees_no_admin_pages(
    context: BrowserContext, gateway: GraphQLClient, org_factory: Any
) -> None:
    org = org_factory()
    member = org.add("MEMBER")
    page = await context.new_page()
    await sign_in(page, gateway.base_url, member.email)
    await expect(page.get_by_role("button", name="Choose files…")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Usage")).to_have_count(0)
    await expect(nav.get_by_role("link", name="Admin")).to_have_count(0)
    await page.goto(f"{gateway.base_url}/usage")
    await expect(page.get_by_role("status")).to_contain_text("Only administrators")
    await check_page(page, "11-usage-member")

    # Decisions on the document page, each with its quote, found in the text when clicked.
    minutes = FALCON_MINUTES.read_bytes()
    document_id = upload(gateway.base_url, member.token, "falcon.md", minutes).ok()["uploadDocument"]["id"]
    assert wait_final(gateway, member.token, document_id, timeout_s=300)["status"] == "COMPLETED"
    await page.goto(f"{gateway.base_url}/documents/{document_id}")
    decision = page.locator("li.decision", has_text="freeze scope for release 2.1")
    await expect(decision).to_be_visible()
    await decision.get_by_role("button", name=re.compile("Show in the text")).click()
    await expect(page.locator("mark#highlight")).to_have_text("The team agreed to freeze scope for release 2.1.")
    await check_page(page, "11-document-decisions")


async def test_a_refresh_keeps_the_session_and_tokens_are_renewed_before_they_expire(
    context: BrowserContext, gateway: GraphQLClient, org_factory: Any
) -> None:
    org = org_factory()
    page = await context.new_page()
    await sign_in(page, gateway.base_url, org.admin.email)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Search").click()
    await page.reload()
    await expect(page.get_by_role("heading", name="Search", level=1)).to_be_visible()
    first = await stored_session(page)
    assert first is not None

    # An access token a minute from expiry is renewed before it is used: new tokens, the old refresh token spent.
    await page.evaluate(
        """() => {
            const session = JSON.parse(localStorage.getItem("pmdi.session"));
            session.expiresAt = Date.now() + 30000;
            localStorage.setItem("pmdi.session", JSON.stringify(session));
        }"""
    )
    await page.reload()
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Documents").click()
    await expect(page.get_by_text("No documents yet.")).to_be_visible()
    await page.wait_for_function(
        "(old) => JSON.parse(localStorage.getItem('pmdi.session')).refreshToken !== old", arg=first["refreshToken"]
    )
    second = await stored_session(page)
    assert second is not None and second["accessToken"] != first["accessToken"]
    assert second["expiresAt"] > first["expiresAt"]

    # A second tab shares the session; signing out in one signs out both.
    other = await context.new_page()
    await other.goto(f"{gateway.base_url}/")
    await expect(other.get_by_role("heading", name="Documents", level=1)).to_be_visible()
    await other.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    # The renewed-away refresh token is spent. (Presenting it while the session lives is taken for theft and ends
    # the session everywhere, its access tokens included: tests/test_tokens.py.)
    spent = gateway(
        "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }", {"t": first["refreshToken"]}
    )
    assert spent.codes == ["UNAUTHENTICATED"]


async def test_the_graphql_explorer_works_offline_with_the_consoles_session(
    context: BrowserContext, gateway: GraphQLClient, org_factory: Any
) -> None:
    org = org_factory()
    page = await context.new_page()
    await sign_in(page, gateway.base_url, org.admin.email)
    explorer = await context.new_page()
    log = watch(explorer)
    async with explorer.expect_response(
        lambda r: r.url.endswith("/graphql") and "IntrospectionQuery" in (r.request.post_data or "")
    ) as introspection:
        await explorer.goto(f"{gateway.base_url}/graphql")
    schema = await (await introspection.value).json()
    assert schema["data"]["__schema"]["queryType"]["name"] == "Query", schema
    await expect(explorer.locator(".graphiql-container")).to_be_visible()
    await expect(explorer.get_by_text("Loading the GraphQL explorer")).to_have_count(0)
    await expect(explorer.locator(".graphiql-editor-tool")).to_contain_text("Bearer ")  # the console's token
    await screenshot(explorer, "12-graphql-explorer")
    assert all(url.startswith(gateway.base_url) or url.startswith("data:") for url in log.requests), log.requests
    assert not log.errors, log.errors


async def test_axe_reports_what_it_should(context: BrowserContext) -> None:
    # The accessibility checks above pass only if axe runs and can fail: on a page with an unlabelled field and
    # an image without a text alternative, it reports both as critical.
    page = await context.new_page()
    await page.set_content('<html lang="en"><title>t</title><main><img src="x.png"><input type="text"></main></html>')
    found = {violation["id"] for violation in await axe_violations(page, "00-axe-self-check")}
    assert {"image-alt", "label"} <= found, found
