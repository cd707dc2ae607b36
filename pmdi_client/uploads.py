"""`pmdi upload`: files and folders, sent in parallel, each with a progress bar for its upload and then for its
processing (from the documentEvents subscription), and a summary at the end.

A file whose SHA-256 the organization already has (in a document that did not fail) is skipped unless --again.
On a terminal the bars are drawn in place; otherwise (a pipe, a log, CI) each step is one line, so output can be
read and captured.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn
from rich.table import Table

from pmdi_client.client import EventChannel, PmdiClient
from pmdi_client.errors import UNREACHABLE, PmdiError
from pmdi_client.models import ProcessingEvent

HASH_BLOCK = 1024 * 1024
POLL_INTERVAL_S = 2.0


@dataclass(frozen=True)
class UploadOptions:
    wait: bool = False
    again: bool = False
    parallel: int = 4


@dataclass
class FileResult:
    """One file's fate; `result` is skipped, uploaded, completed, failed (processing), refused or missing."""

    path: str
    size_bytes: int = 0
    sha256: str = ""
    result: str = "pending"
    document_id: str | None = None
    status: str | None = None
    progress: int = 0
    error: dict[str, str] | None = None
    note: str | None = None

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def failed(self) -> bool:
        return self.result in ("failed", "refused", "missing")


@dataclass
class UploadReport:
    files: list[FileResult] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(1 for f in self.files if f.failed)

    def count(self, *results: str) -> int:
        return sum(1 for f in self.files if f.result in results)

    def print_table(self, console: Console) -> None:
        table = Table(title="Upload summary", title_justify="left")
        table.add_column("File", overflow="fold")
        table.add_column("Result", no_wrap=True)
        table.add_column("Document", no_wrap=True)
        table.add_column("Detail", overflow="fold", ratio=1)
        styles = {"completed": "green", "uploaded": "green", "skipped": "dim", "failed": "red", "refused": "red"}
        for item in self.files:
            detail = f"{item.error['code']}: {item.error['message']}" if item.error else item.note or ""
            if item.result == "uploaded" and item.status:
                detail = f"{item.status.lower()} {item.progress}%"
            table.add_row(
                escape(item.path),
                f"[{styles.get(item.result, 'red')}]{item.result}[/]",
                item.document_id or "—",
                escape(detail),
            )
        console.print(table)
        console.print(
            f"{self.count('uploaded', 'completed')} uploaded, {self.count('skipped')} skipped, {self.failed} failed."
        )


class Display(Protocol):
    def start(self, item: FileResult) -> None: ...
    def sending(self, item: FileResult, sent: int, total: int) -> None: ...
    def processing(self, item: FileResult) -> None: ...
    def finish(self, item: FileResult) -> None: ...
    def close(self) -> None: ...


class Bars:
    """On a terminal: one rich progress bar per file, first its bytes going out, then its processing."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.fields[name]}", table_column=None),
            BarColumn(bar_width=30),
            TaskProgressColumn(),
            TextColumn("{task.fields[state]}"),
            console=console,
        )
        self._tasks: dict[str, TaskID] = {}
        self._progress.start()

    def start(self, item: FileResult) -> None:
        self._tasks[item.path] = self._progress.add_task(
            "", total=max(1, item.size_bytes), name=escape(item.name), state="uploading"
        )

    def sending(self, item: FileResult, sent: int, total: int) -> None:
        self._progress.update(self._tasks[item.path], completed=sent, total=max(1, total))

    def processing(self, item: FileResult) -> None:
        task = self._tasks[item.path]
        state = (item.status or "queued").lower()
        self._progress.update(task, completed=item.progress, total=100, state=state)

    def finish(self, item: FileResult) -> None:
        task = self._tasks.get(item.path)
        if task is None:
            task = self._tasks[item.path] = self._progress.add_task("", total=1, name=escape(item.name), state="")
        state = item.result if not item.error else f"{item.result}: {item.error['code']}"
        total = self._progress.tasks[task].total or 1
        if item.result in ("completed", "uploaded", "skipped"):
            completed = total
        elif item.result == "refused":
            completed = 0  # the bytes went out, but nothing was kept
        else:
            completed = self._progress.tasks[task].completed  # processing failed where the bar stands
        self._progress.update(task, completed=completed, state=state)

    def close(self) -> None:
        self._progress.stop()


class Lines:
    """Anywhere else: a line per step (upload start and end, every status and progress change)."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._last: dict[str, tuple[str | None, int]] = {}

    def _say(self, item: FileResult, text: str) -> None:
        self._console.print(f"{escape(item.path)}: {escape(text)}", soft_wrap=True)

    def start(self, item: FileResult) -> None:
        self._say(item, f"uploading {item.size_bytes} bytes")

    def sending(self, item: FileResult, sent: int, total: int) -> None:
        return  # the bytes of one file go out too fast to be worth a line each

    def processing(self, item: FileResult) -> None:
        state = (item.status, item.progress)
        if self._last.get(item.path) != state:
            self._last[item.path] = state
            self._say(item, f"{(item.status or 'queued').lower()} {item.progress}%")

    def finish(self, item: FileResult) -> None:
        detail = f" ({item.error['code']}: {item.error['message']})" if item.error else ""
        detail = detail or (f" ({item.note})" if item.note else "")
        self._say(item, f"{item.result}{detail}")

    def close(self) -> None:
        return


def collect(paths: list[Path]) -> list[FileResult]:
    """The files named, and every file under the folders named (hidden ones left out), in a stable order."""
    found: list[FileResult] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            files = [path]
        else:
            found.append(
                FileResult(
                    path=str(path), result="missing", error={"code": "NOT_FOUND", "message": "no such file or folder"}
                )
            )
            continue
        for file in files:
            resolved = file.resolve()
            if resolved not in seen:
                seen.add(resolved)
                found.append(FileResult(path=str(file), size_bytes=file.stat().st_size))
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


async def _known_hashes(client: PmdiClient) -> dict[str, str]:
    """sha256 -> document id of every document of the organization that did not fail."""
    known: dict[str, str] = {}
    async for document in client.all_documents():
        if document.status != "FAILED":
            known.setdefault(document.sha256, document.id)
    return known


async def _follow(client: PmdiClient, channel: EventChannel | None, item: FileResult, display: Display) -> None:
    """Processing progress until COMPLETED or FAILED: the subscription, or polling if it is lost."""
    assert item.document_id is not None

    def apply(event: ProcessingEvent) -> bool:
        item.status, item.progress = event.status, max(item.progress, event.progress)
        if event.status == "FAILED":
            item.error = {"code": "FAILED", "message": event.message}
        display.processing(item)
        return event.final

    if channel is not None:
        try:
            async for event in channel.document(item.document_id):
                if apply(event):
                    return
        except PmdiError as error:
            if error.code != UNREACHABLE:
                raise
            # The WebSocket dropped: carry on by polling.
    while True:
        detail = await client.document(item.document_id)
        if detail is None:
            item.error = {"code": "NOT_FOUND", "message": "the document was deleted while processing"}
            item.status = "FAILED"
            return
        doc = detail.document
        event = ProcessingEvent(
            document_id=doc.id, status=doc.status, progress=doc.progress, message=doc.error or "", at=doc.updated_at
        )
        if apply(event):
            return
        await asyncio.sleep(POLL_INTERVAL_S)


async def run_uploads(client: PmdiClient, paths: list[Path], options: UploadOptions, console: Console) -> UploadReport:
    report = UploadReport(files=collect(paths))
    pending = [item for item in report.files if item.result == "pending"]
    for item in pending:
        item.sha256 = await asyncio.to_thread(sha256_of, Path(item.path))
    known = {} if options.again else await _known_hashes(client)
    batch: dict[str, str] = {}
    for item in pending:
        earlier = known.get(item.sha256)
        if earlier is not None:
            item.result, item.document_id = "skipped", earlier
            item.note = "already uploaded, same SHA-256; --again uploads it anyway"
        elif not options.again and item.sha256 in batch:
            item.result = "skipped"
            item.note = f"same content as {batch[item.sha256]}"
        batch.setdefault(item.sha256, item.path)

    display: Display = Bars(console) if console.is_terminal else Lines(console)
    limit = asyncio.Semaphore(options.parallel)
    try:
        for item in report.files:
            if item.result != "pending":
                display.finish(item)
        async with contextlib.AsyncExitStack() as stack:
            channel = await stack.enter_async_context(client.events()) if options.wait else None

            async def one(item: FileResult) -> None:
                async with limit:
                    display.start(item)
                    try:
                        document = await client.upload(
                            Path(item.path), on_progress=lambda sent, total: display.sending(item, sent, total)
                        )
                    except PmdiError as error:
                        if error.code in ("UNAUTHENTICATED", UNREACHABLE):
                            raise
                        item.result = "refused"
                        item.error = {"code": error.code, "message": error.message}
                        display.finish(item)
                        return
                item.result, item.document_id = "uploaded", document.id
                item.status, item.progress = document.status, document.progress
                if channel is None:
                    display.finish(item)
                    return
                display.processing(item)
                await _follow(client, channel, item, display)
                item.result = "completed" if item.status == "COMPLETED" else "failed"
                display.finish(item)

            await asyncio.gather(*(one(item) for item in report.files if item.result == "pending"))
    finally:
        display.close()
    return report
