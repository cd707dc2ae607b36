"""`pmdi`, the command line, run as a user runs it (a separate process, its own config directory) against the
real platform; and its client module used from another Python program."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest

from pmdi_client import PmdiClient, PmdiError, ProcessingEvent
from tests.client import GraphQLClient
from tests.platform import STRONG_PASSWORD, free_port, unique_email
from tests.support.files import pdf_bytes
from tests.support.uploads import upload
from tests.test_analysis import MEETING
from tests.test_documents import wait_final

REPO_ROOT = Path(__file__).resolve().parent.parent
GIF = b"GIF89a" + bytes(64)  # images are read by OCR now; a GIF is still refused
NOTES = "# Steering committee\n\nDecision: the launch moves to June.\n\nPriya will book the venue by Friday.\n"

Pmdi = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def pmdi(tmp_path: Path, gateway: GraphQLClient) -> Pmdi:
    """Runs `pmdi ARGS` with its own config directory, pointed at the test platform."""
    config = tmp_path / "config"

    def run(
        *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith(("PMDI_", "TTY_", "FORCE_COLOR"))
        }
        environment.update(
            {
                "XDG_CONFIG_HOME": str(config),
                "PMDI_URL": gateway.base_url,
                "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'gen'}",
                "COLUMNS": "200",
                "NO_COLOR": "1",
                **(env or {}),
            }
        )
        return subprocess.run(
            [sys.executable, "-m", "pmdi_client", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=environment,
            timeout=600,
            check=False,
        )

    run.config = config  # type: ignore[attr-defined]
    return run


def credentials(pmdi: Pmdi) -> Path:
    return Path(pmdi.config) / "pmdi" / "credentials.json"  # type: ignore[attr-defined]


def logged_in(pmdi: Pmdi, email: str) -> None:
    done = pmdi("login", "--email", email, "--password-stdin", stdin=STRONG_PASSWORD + "\n")
    assert done.returncode == 0, done.stderr


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(done.stdout)


def test_login_whoami_logout_and_a_session_kept_for_the_user_alone(pmdi: Pmdi, org_factory: Any) -> None:
    org = org_factory()
    done = pmdi("login", "--email", org.admin.email, "--password-stdin", stdin=STRONG_PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert f"as {org.admin.email} (admin" in done.stdout
    stored = credentials(pmdi)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    assert STRONG_PASSWORD not in stored.read_text()

    me = pmdi("whoami", "--json")
    assert me.returncode == 0, me.stderr
    shape = as_json(me)
    assert set(shape) == {"url", "id", "email", "name", "role", "organization"}
    assert shape["email"] == org.admin.email and shape["role"] == "ADMIN"
    assert shape["organization"]["id"] == org.id

    # An access token past its time is refreshed: a new one stored, the old refresh token spent.
    saved = json.loads(stored.read_text())
    [server] = saved["servers"].values()
    server["expires_at"] = time.time() - 5
    stored.write_text(json.dumps(saved))
    assert pmdi("whoami").returncode == 0
    [renewed] = json.loads(stored.read_text())["servers"].values()
    assert renewed["refresh_token"] != server["refresh_token"] and renewed["expires_at"] > time.time() + 60
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600

    out = pmdi("logout")
    assert out.returncode == 0 and "Signed out" in out.stdout
    after = pmdi("whoami")
    assert after.returncode == 3 and "not signed in" in after.stderr


def test_a_wrong_password_exits_3_and_stores_nothing(pmdi: Pmdi, org_factory: Any) -> None:
    org = org_factory()
    done = pmdi("login", "-e", org.admin.email, "--password-stdin", stdin="not-the-password-1\n")
    assert done.returncode == 3
    assert "UNAUTHENTICATED" in done.stderr and "invalid email or password" in done.stderr
    assert not credentials(pmdi).exists()


def test_an_unreachable_server_exits_4(pmdi: Pmdi) -> None:
    done = pmdi(
        "--url", f"http://127.0.0.1:{free_port()}", "login", "-e", "x@example.com", "--password-stdin", stdin="x\n"
    )
    assert done.returncode == 4 and "cannot reach" in done.stderr


def _processing_lines(stderr: str, name: str) -> list[tuple[str, int]]:
    return [(status, int(percent)) for status, percent in re.findall(rf"{re.escape(name)}: (\w+) (\d+)%", stderr)]


def test_a_folder_is_uploaded_followed_to_the_end_and_skipped_the_second_time(
    pmdi: Pmdi, org_factory: Any, tmp_path: Path
) -> None:
    org = org_factory()
    logged_in(pmdi, org.admin.email)
    folder = tmp_path / "project"
    (folder / "reports").mkdir(parents=True)
    (folder / "atlas-status.txt").write_text(MEETING)
    (folder / "reports" / "inspection.pdf").write_bytes(pdf_bytes([["Site inspection"], ["Corrosion on pump 2."]]))
    (folder / "steering.md").write_text(NOTES)
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden files are left out

    done = pmdi("upload", str(folder), "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("atlas-status.txt", "reports/inspection.pdf", "steering.md"):
        path = f"{folder}/{name}"
        assert f"{path}: uploading" in done.stderr
        steps = _processing_lines(done.stderr, path)
        percents = [p for _, p in steps]
        assert steps[-1] == ("completed", 100) and percents == sorted(percents), steps
        assert any(0 < p < 100 for p in percents), steps  # progress came in steps from the subscription
        assert f"{path}: completed\n" in done.stderr
    assert ".DS_Store" not in done.stderr + done.stdout
    assert "3 uploaded, 0 skipped, 0 failed." in done.stdout

    listed = as_json(pmdi("ls", "--json"))
    assert listed["totalCount"] == 3 and {d["status"] for d in listed["documents"]} == {"COMPLETED"}
    ids = {d["fileName"]: d["id"] for d in listed["documents"]}

    again = pmdi("upload", str(folder), "--json")
    assert again.returncode == 0, again.stderr
    report = as_json(again)
    assert (report["uploaded"], report["skipped"], report["failed"]) == (0, 3, 0)
    assert {Path(f["path"]).name: f["documentId"] for f in report["files"]} == ids
    assert all(f["result"] == "skipped" and "SHA-256" in f["note"] for f in report["files"])

    forced = as_json(pmdi("upload", str(folder / "steering.md"), "--again", "--json"))
    [file] = forced["files"]
    assert file["result"] == "uploaded" and file["documentId"] not in ids.values()
    assert as_json(pmdi("ls", "--json"))["totalCount"] == 4


def test_a_refused_file_fails_the_command_and_the_others_go_on(pmdi: Pmdi, org_factory: Any, tmp_path: Path) -> None:
    org = org_factory()
    logged_in(pmdi, org.admin.email)
    good, photo = tmp_path / "notes.md", tmp_path / "photo.gif"
    good.write_text(NOTES)
    photo.write_bytes(GIF)
    done = pmdi("upload", str(photo), str(good), str(tmp_path / "missing.pdf"), "--wait", "--json")
    assert done.returncode == 1
    report = as_json(done)
    results = {Path(f["path"]).name: f for f in report["files"]}
    assert results["photo.gif"]["result"] == "refused"
    assert results["photo.gif"]["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert results["missing.pdf"]["result"] == "missing"
    assert results["notes.md"]["result"] == "completed" and results["notes.md"]["status"] == "COMPLETED"
    assert (report["uploaded"], report["failed"]) == (1, 2)
    assert set(results["notes.md"]) == {
        "path",
        "sizeBytes",
        "sha256",
        "result",
        "documentId",
        "status",
        "progress",
        "error",
        "note",
    }


def test_show_search_ask_usage_and_rm_in_tables_and_json(pmdi: Pmdi, org_factory: Any, gateway: GraphQLClient) -> None:
    org = org_factory()
    document_id = upload(gateway.base_url, org.admin.token, "atlas-status.txt", MEETING.encode()).ok()[
        "uploadDocument"
    ]["id"]
    assert wait_final(gateway, org.admin.token, document_id, timeout_s=300)["status"] == "COMPLETED"
    logged_in(pmdi, org.admin.email)

    table = pmdi("show", document_id)
    assert table.returncode == 0, table.stderr
    assert "Action items" in table.stdout and "Priya" in table.stdout and "critical" in table.stdout
    shown = as_json(pmdi("show", document_id, "--summary", "detailed", "--json"))
    assert set(shown) == {"document", "analysis"}
    assert shown["document"]["id"] == document_id and shown["document"]["status"] == "COMPLETED"
    analysis = shown["analysis"]
    assert analysis["summaryLength"] == "DETAILED" and "## " in analysis["summary"]
    assert set(analysis) == {"summaryLength", "summary", "actionItems", "risks", "decisions", "costUsd", "modelCalls"}
    assert {"id", "title", "owner", "dueDate", "sourceQuote", "page", "quoteTime"} == set(analysis["actionItems"][0])
    assert any(item["owner"] == "Priya" and item["dueDate"] == "2024-03-15" for item in analysis["actionItems"])

    listed = pmdi("ls")
    assert listed.returncode == 0 and document_id in listed.stdout and "completed" in listed.stdout

    found = as_json(pmdi("search", "vendor contract", "--mode", "keyword", "--json"))
    assert found["mode"] == "KEYWORD" and found["hits"]
    hit = found["hits"][0]
    assert hit["documentId"] == document_id and "<mark>" in hit["snippet"]
    assert set(hit) == {
        "documentId",
        "documentTitle",
        "snippet",
        "score",
        "chunkIndex",
        "page",
        "startOffset",
        "endOffset",
        "semanticRank",
        "keywordRank",
    }
    words = pmdi("search", "vendor contract")
    assert words.returncode == 0 and "atlas-status" in words.stdout and "<mark>" not in words.stdout

    answered = as_json(pmdi("ask", "Who will send the vendor contract to legal?", "--json"))
    assert "Priya" in answered["answer"] and answered["citations"][0]["documentId"] == document_id
    assert set(answered) == {"answer", "citations", "modelCall"} and answered["modelCall"]["task"] == "answer"
    spoken = pmdi("ask", "Who will send the vendor contract to legal?")
    assert "Priya" in spoken.stdout and "[1] atlas-status" in spoken.stdout

    spent = as_json(pmdi("usage", "--days", "7", "--json"))
    assert set(spent) == {
        "since",
        "documentsProcessed",
        "pagesProcessed",
        "totalCostUsd",
        "byDay",
        "byModel",
        "byTask",
        "policy",
    }
    assert spent["documentsProcessed"] == 1 and len(spent["byDay"]) == 1
    assert set(spent["policy"]) == {"costPriority", "monthlyBudgetUsd", "spentThisMonthUsd"}
    assert "Per task" in pmdi("usage").stdout

    viewer = org.add("VIEWER")
    other = pmdi("--url", gateway.base_url, "login", "-e", viewer.email, "--password-stdin", stdin=STRONG_PASSWORD)
    assert other.returncode == 0
    refused = pmdi("usage")
    assert refused.returncode == 1 and "FORBIDDEN" in refused.stderr
    assert pmdi("rm", document_id, "--yes").returncode == 1  # a viewer deletes nothing

    logged_in(pmdi, org.admin.email)
    removed = as_json(pmdi("rm", document_id, "--yes", "--json"))
    assert removed == {"documents": [{"id": document_id, "deleted": True, "error": None}]}
    gone = pmdi("show", document_id)
    assert gone.returncode == 1 and "NOT_FOUND" in gone.stderr


def test_a_terminal_gets_a_progress_bar_per_file(pmdi: Pmdi, org_factory: Any, tmp_path: Path) -> None:
    org = org_factory()
    logged_in(pmdi, org.admin.email)
    (tmp_path / "a.md").write_text(NOTES)
    (tmp_path / "b.txt").write_text(MEETING)
    # rich draws bars when it believes it writes to a terminal; TTY_COMPATIBLE=1 says so through a pipe.
    done = pmdi("upload", str(tmp_path / "a.md"), str(tmp_path / "b.txt"), "--wait", env={"TTY_COMPATIBLE": "1"})
    assert done.returncode == 0, done.stderr
    final = done.stderr.split("\x1b[2K")[-8:]
    assert "━" in done.stderr and "\x1b[" in done.stderr  # bars, redrawn in place
    assert all(
        any(name in line and "100%" in line and "completed" in line for line in final) for name in ("a.md", "b.txt")
    )


async def test_the_client_module_serves_other_python_programs(gateway: GraphQLClient, tmp_path: Path) -> None:
    email = unique_email("program")
    async with PmdiClient(gateway.base_url) as client:
        user = await client.register("Scripted PMO", email, STRONG_PASSWORD, name="Robo")
        assert user.role == "ADMIN" and (await client.me()).email == email
        assert await client.document("not-an-id") is None  # absent: null, as the contract says
        with pytest.raises(PmdiError) as refused:
            await client.ask("   ")
        assert refused.value.code == "BAD_USER_INPUT" and "empty" in refused.value.message

        sent: list[int] = []
        path = tmp_path / "minutes.md"
        path.write_text(NOTES * 200)
        document = await client.upload(path, on_progress=lambda done, total: sent.append(done))
        assert sent and sent[-1] == len((NOTES * 200).encode())

        events: list[ProcessingEvent] = []
        async with client.events() as channel:
            async for event in channel.document(document.id):
                events.append(event)
        assert events[-1].status == "COMPLETED" and events[-1].progress == 100
        assert [e.progress for e in events] == sorted(e.progress for e in events)

        detail = await client.document(document.id, summary="SHORT")
        assert detail is not None and detail.analysis is not None and detail.analysis.summary
        assert {hit.document_id for hit in await client.search("venue", mode="KEYWORD")} == {document.id}
        assert await client.logout()
        with pytest.raises(PmdiError) as ended:
            await client.me()
        assert ended.value.code == "UNAUTHENTICATED"


def test_pmdi_is_a_console_script_of_the_project() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    target = project["scripts"]["pmdi"]
    module, _, name = target.partition(":")
    assert callable(getattr(import_module(module), name))
    help_text = subprocess.run(
        [sys.executable, "-c", f"import sys; from {module} import {name}; sys.argv[0] = 'pmdi'; {name}()", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "COLUMNS": "120"},
        check=False,
    )
    assert help_text.returncode == 0
    for command in ("login", "logout", "whoami", "upload", "ls", "show", "search", "ask", "usage", "rm"):
        assert re.search(rf"^\W*{command}\b", help_text.stdout, re.M), command
