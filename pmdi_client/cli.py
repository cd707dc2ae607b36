"""`pmdi`: the platform from a shell, through the public GraphQL API only.

Exit codes: 0 done; 1 a request or a file failed; 2 wrong usage; 3 not signed in, or wrong e-mail or password;
4 the server could not be reached.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pmdi_client.client import DEFAULT_URL, PmdiClient, base_url
from pmdi_client.errors import UNREACHABLE, PmdiError
from pmdi_client.models import Answer, DocumentDetail, SearchHit, UsageLine, to_json
from pmdi_client.tokens import CredentialsFile, config_dir
from pmdi_client.uploads import UploadOptions, run_uploads

EXIT_FAILED = 1
EXIT_AUTH = 3
EXIT_UNREACHABLE = 4

T = TypeVar("T")

app = typer.Typer(
    name="pmdi",
    help="PM Document Intelligence from the command line: upload, list, read, search and ask.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)


class SummaryLength(StrEnum):
    short = "short"
    medium = "medium"
    detailed = "detailed"


class Mode(StrEnum):
    hybrid = "hybrid"
    semantic = "semantic"
    keyword = "keyword"


class Status(StrEnum):
    queued = "queued"
    extracting = "extracting"
    indexing = "indexing"
    analyzing = "analyzing"
    completed = "completed"
    failed = "failed"


@dataclass
class Settings:
    url: str
    credentials: CredentialsFile

    def client(self) -> PmdiClient:
        return PmdiClient(self.url, tokens=self.credentials)


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's field names) instead of tables.")]


@app.callback()
def main_options(
    context: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            envvar="PMDI_URL",
            help=f"The server (default: the one you signed in to last, else {DEFAULT_URL}).",
            show_default=False,
        ),
    ] = None,
) -> None:
    credentials_path = config_dir() / "credentials.json"
    chosen = base_url(url) if url else CredentialsFile("", credentials_path).current_url() or DEFAULT_URL
    context.obj = Settings(url=chosen, credentials=CredentialsFile(chosen, credentials_path))


def _settings(context: typer.Context) -> Settings:
    settings = context.obj
    assert isinstance(settings, Settings)
    return settings


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _exit_code(error: PmdiError) -> int:
    if error.code == "UNAUTHENTICATED":
        return EXIT_AUTH
    if error.code == UNREACHABLE:
        return EXIT_UNREACHABLE
    return EXIT_FAILED


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run one command's coroutine; a refused request ends the command with a message and its exit code."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except PmdiError as error:
        fail(f"{error.code}: {error.message}" if error.message else error.code, _exit_code(error))
    except KeyboardInterrupt:
        fail("interrupted", 130)


def _print_json(value: Any) -> None:
    out.print_json(data=to_json(value))


def _password(stdin: bool, confirm: bool = False) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    from_env = os.environ.get("PMDI_PASSWORD")
    if from_env:
        return from_env
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _usd(value: float) -> str:
    return f"${value:.4f}" if 0 < abs(value) < 0.01 else f"${value:.2f}"


# -- sessions ------------------------------------------------------------------------------------------


@app.command()
def login(
    context: typer.Context,
    email: Annotated[str | None, typer.Option("--email", "-e", help="Prompted for when left out.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (else PMDI_PASSWORD).")
    ] = False,
) -> None:
    """Sign in; the session is kept in your config directory (mode 600) and refreshed as needed."""
    settings = _settings(context)
    address = email or str(typer.prompt("E-mail"))
    password = _password(password_stdin)

    async def work() -> None:
        async with settings.client() as client:
            user = await client.login(address.strip(), password)
        org = user.organization.name if user.organization else ""
        out.print(f"Signed in to {settings.url} as {user.email} ({user.role.lower()}, {escape(org)}).")

    run(work)


@app.command()
def register(
    context: typer.Context,
    organization: Annotated[str, typer.Option("--organization", "-o", prompt=True, help="Your organization's name.")],
    email: Annotated[str, typer.Option("--email", "-e", prompt="E-mail")],
    name: Annotated[str | None, typer.Option("--name", help="Your name.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Create an organization (you become its administrator) and sign in."""
    settings = _settings(context)
    password = _password(password_stdin, confirm=True)

    async def work() -> None:
        async with settings.client() as client:
            user = await client.register(organization.strip(), email.strip(), password, name)
        out.print(f"Created {escape(organization)} on {settings.url}; signed in as {user.email} (admin).")

    run(work)


@app.command()
def logout(context: typer.Context) -> None:
    """Sign out: the server ends the session, and it is removed from your config directory."""
    settings = _settings(context)

    async def work() -> bool:
        async with settings.client() as client:
            return await client.logout()

    ended = run(work)
    out.print(f"Signed out of {settings.url}." if ended else f"Not signed in to {settings.url}.")


@app.command()
def whoami(context: typer.Context, json: JsonOption = False) -> None:
    """Who you are signed in as, on which server."""
    settings = _settings(context)

    async def work() -> Any:
        async with settings.client() as client:
            return await client.me()

    user = run(work)
    if json:
        _print_json({"url": settings.url, **to_json(user)})
        return
    org = user.organization.name if user.organization else ""
    out.print(f"{user.email} ({user.name or 'no name'}), {user.role.lower()} of {escape(org)} on {settings.url}")


# -- documents -----------------------------------------------------------------------------------------


@app.command()
def upload(
    context: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files, and folders to upload every file of (recursively).")],
    wait: Annotated[bool, typer.Option("--wait", help="Follow processing until every document is done.")] = False,
    again: Annotated[
        bool, typer.Option("--again", help="Upload files the organization already has (same SHA-256) too.")
    ] = False,
    parallel: Annotated[int, typer.Option("--parallel", min=1, max=16, help="Uploads at once.")] = 4,
    json: JsonOption = False,
) -> None:
    """Upload documents, each with its own progress bar: upload, then (with --wait) processing."""
    settings = _settings(context)
    options = UploadOptions(wait=wait, again=again, parallel=parallel)

    async def work() -> Any:
        async with settings.client() as client:
            return await run_uploads(client, paths, options, err)

    report = run(work)
    if json:
        counts = {"uploaded": report.count("uploaded", "completed"), "skipped": report.count("skipped")}
        _print_json({"files": report.files, **counts, "failed": report.failed})
    else:
        report.print_table(out)
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


@app.command("ls")
def list_documents(
    context: typer.Context,
    status: Annotated[Status | None, typer.Option("--status", help="Only documents in this state.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
    json: JsonOption = False,
) -> None:
    """List the organization's documents, newest first."""
    settings = _settings(context)

    async def work() -> tuple[list[Any], int]:
        async with settings.client() as client:
            found: list[Any] = []
            total = 0
            after = None
            while len(found) < limit:
                page = await client.documents(
                    first=min(100, limit - len(found)), after=after, status=status.value.upper() if status else None
                )
                total = page.total_count
                found.extend(page.documents)
                if not page.has_next_page:
                    break
                after = page.end_cursor
            return found, total

    documents, total = run(work)
    if json:
        _print_json({"totalCount": total, "documents": documents})
        return
    if not documents:
        out.print("No documents." if status is None else f"No {status.value} documents.")
        return
    table = Table(title=f"{len(documents)} of {total} documents", title_justify="left")
    table.add_column("ID", no_wrap=True)
    for column in ("Title", "Status", "Pages", "Size", "Uploaded"):
        table.add_column(column, overflow="fold")
    for doc in documents:
        state = doc.status.lower() if doc.status in ("COMPLETED", "FAILED") else f"{doc.status.lower()} {doc.progress}%"
        table.add_row(
            doc.id,
            escape(doc.title),
            state,
            str(doc.page_count or "—"),
            _size(doc.size_bytes),
            doc.created_at[:16].replace("T", " "),
        )
    out.print(table)


@app.command()
def show(
    context: typer.Context,
    document_id: Annotated[str, typer.Argument(metavar="ID")],
    summary: Annotated[SummaryLength, typer.Option("--summary", help="Which summary to show.")] = SummaryLength.medium,
    json: JsonOption = False,
) -> None:
    """A document's summary, action items, risks and cost."""
    settings = _settings(context)

    async def work() -> DocumentDetail | None:
        async with settings.client() as client:
            return await client.document(document_id, summary=summary.value.upper())

    detail = run(work)
    if detail is None:
        fail(f"NOT_FOUND: no document {document_id} in your organization")
    if json:
        _print_json(detail)
        return
    doc = detail.document
    out.print(f"[bold]{escape(doc.title)}[/]  ({escape(doc.file_name)}, {_size(doc.size_bytes)}, {doc.status.lower()})")
    if doc.error:
        out.print(f"[red]{escape(doc.error)}[/]")
    analysis = detail.analysis
    if analysis is None:
        out.print("No analysis yet." if doc.status != "FAILED" else "No analysis: processing failed.")
        return
    out.print(f"\n[bold]Summary ({summary.value})[/]\n{escape(analysis.summary or '(none)')}\n")
    items = Table(title="Action items", title_justify="left")
    for column in ("Task", "Owner", "Due", "Quote"):
        items.add_column(column, overflow="fold")
    for item in analysis.action_items:
        items.add_row(escape(item.title), escape(item.owner or "—"), item.due_date or "—", escape(item.source_quote))
    out.print(items)
    risks = Table(title="Risks", title_justify="left")
    for column in ("Severity", "Risk", "Mitigation", "Quote"):
        risks.add_column(column, overflow="fold")
    colours = {"LOW": "dim", "MEDIUM": "yellow", "HIGH": "bold dark_orange", "CRITICAL": "bold white on red"}
    for risk in analysis.risks:
        risks.add_row(
            f"[{colours.get(risk.severity, '')}]{risk.severity.lower()}[/]",
            escape(risk.description),
            escape(risk.mitigation or "—"),
            escape(risk.source_quote),
        )
    out.print(risks)
    decisions = Table(title="Decisions", title_justify="left")
    for column in ("Decision", "By", "Quote"):
        decisions.add_column(column, overflow="fold")
    for decision in analysis.decisions:
        decisions.add_row(escape(decision.text), escape(decision.made_by or "—"), escape(decision.source_quote))
    out.print(decisions)
    out.print(f"Cost {_usd(analysis.cost_usd)} in {len(analysis.model_calls)} model calls.")


@app.command()
def rm(
    context: typer.Context,
    document_ids: Annotated[list[str], typer.Argument(metavar="ID...")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json: JsonOption = False,
) -> None:
    """Delete documents everywhere (yours, or any as an administrator)."""
    settings = _settings(context)
    if not yes and sys.stdin.isatty() and not typer.confirm(f"Delete {len(document_ids)} document(s) for good?"):
        raise typer.Exit(EXIT_FAILED)

    async def work() -> list[dict[str, Any]]:
        results = []
        async with settings.client() as client:
            for document_id in document_ids:
                try:
                    results.append({"id": document_id, "deleted": await client.delete(document_id), "error": None})
                except PmdiError as error:
                    if error.code in ("UNAUTHENTICATED", UNREACHABLE):
                        raise
                    results.append(
                        {"id": document_id, "deleted": False, "error": {"code": error.code, "message": error.message}}
                    )
        return results

    results = run(work)
    if json:
        _print_json({"documents": results})
    else:
        for result in results:
            problem = result["error"]
            out.print(
                f"Deleted {result['id']}."
                if problem is None
                else f"Not deleted {result['id']}: {problem['code']}: {escape(problem['message'])}"
            )
    if any(result["error"] for result in results):
        raise typer.Exit(EXIT_FAILED)


# -- insights ------------------------------------------------------------------------------------------


def _snippet(snippet: str) -> str:
    """A search snippet (HTML-escaped, <mark> around matches) for the terminal: matches in bold."""
    import html

    parts = snippet.replace("</mark>", "<mark>").split("<mark>")
    return "".join(
        f"[bold yellow]{escape(html.unescape(part))}[/]" if index % 2 else escape(html.unescape(part))
        for index, part in enumerate(parts)
    )


def _where(hit: SearchHit) -> str:
    page = f", page {hit.page}" if hit.page is not None else ""
    return f"{escape(hit.document_title)}{page} (document {hit.document_id}, passage {hit.chunk_index + 1})"


@app.command()
def search(
    context: typer.Context,
    query: Annotated[str, typer.Argument(metavar="QUERY")],
    mode: Annotated[Mode, typer.Option("--mode", help="Match by meaning, by words, or both.")] = Mode.hybrid,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100)] = 10,
    json: JsonOption = False,
) -> None:
    """Search the organization's documents."""
    settings = _settings(context)

    async def work() -> list[SearchHit]:
        async with settings.client() as client:
            return await client.search(query, mode=mode.value.upper(), limit=limit)

    hits = run(work)
    if json:
        _print_json({"query": query, "mode": mode.value.upper(), "hits": hits})
        return
    if not hits:
        out.print(f"Nothing found for “{escape(query)}”.")
        return
    for number, hit in enumerate(hits, start=1):
        out.print(f"[bold]{number}.[/] {_where(hit)}  score {hit.score:.3f}")
        out.print(f"   {_snippet(hit.snippet)}\n")


@app.command()
def ask(
    context: typer.Context,
    question: Annotated[str, typer.Argument(metavar="QUESTION")],
    json: JsonOption = False,
) -> None:
    """Ask a question; the answer cites the documents it comes from."""
    settings = _settings(context)

    async def work() -> Answer:
        async with settings.client() as client:
            return await client.ask(question)

    answer = run(work)
    if json:
        _print_json(answer)
        return
    # The server numbers the answer's markers as its citations; an answer without markers gets them at the end.
    marked = re.search(r"\[\d+\]", answer.answer) is not None
    cited = "" if marked else "".join(f" [{n}]" for n in range(1, len(answer.citations) + 1))
    out.print(f"{escape(answer.answer)}{cited}\n")
    for number, hit in enumerate(answer.citations, start=1):
        out.print(f"[bold][{number}][/] {_where(hit)}")
        out.print(f"    {_snippet(hit.snippet)}")


def _lines_table(title: str, key: str, lines: list[UsageLine]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in (key, "Calls", "Tokens in", "Tokens out", "Cost"):
        table.add_column(column, justify="left" if column == key else "right")
    for line in lines:
        table.add_row(
            escape(line.key),
            f"{line.calls:,}",
            f"{line.input_tokens:,}",
            f"{line.output_tokens:,}",
            _usd(line.cost_usd),
        )
    return table


@app.command()
def usage(
    context: typer.Context,
    days: Annotated[int, typer.Option("--days", min=1, max=3660, help="The last N days (UTC), today included.")] = 30,
    json: JsonOption = False,
) -> None:
    """Cost per day, model and task, and this month's spend against the budget (administrators)."""
    settings = _settings(context)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=days - 1)

    async def work() -> Any:
        async with settings.client() as client:
            return await client.usage(since=since)

    report = run(work)
    if json:
        _print_json({"since": since.isoformat(), **to_json(report)})
        return
    out.print(
        f"Last {days} days: {_usd(report.total_cost_usd)}, {report.documents_processed} documents, "
        f"{report.pages_processed} pages."
    )
    if report.policy is not None:
        policy = report.policy
        share = policy.spent_this_month_usd / policy.monthly_budget_usd if policy.monthly_budget_usd else 0
        out.print(
            f"This month: {_usd(policy.spent_this_month_usd)} of a {_usd(policy.monthly_budget_usd)} budget "
            f"({share:.0%}); routing priority {policy.cost_priority.lower()}."
        )
    out.print(_lines_table("Per day", "Day", report.by_day))
    out.print(_lines_table("Per model", "Model", report.by_model))
    out.print(_lines_table("Per task", "Task", report.by_task))


def main() -> None:
    """The `pmdi` console script."""
    app()
