"""Isolated extraction: a slow, crashing or greedy file costs a child process, never the caller."""

from __future__ import annotations

import asyncio
import ctypes
import os
import time
from pathlib import Path

import psutil
import pytest

from services.ingest.chunking import chunk_document
from services.ingest.extraction import ExtractionError, ExtractionLimits, extract, extract_isolated
from services.ingest.isolation import IsolationCrash, IsolationOutOfMemory, IsolationTimeout, run_isolated
from services.ingest.media_types import DOCX, PDF, TEXT
from services.ingest.tests import samples

CORPUS = Path("/work/shared/corpus/pdf")


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _descendants() -> set[int]:
    return {process.pid for process in psutil.Process().children(recursive=True)}


def _segfault() -> None:
    ctypes.string_at(0)  # reads address 0: SIGSEGV


def _allocate(size: int) -> int:
    return len(bytearray(size))


def _fail() -> None:
    raise ValueError("bad input")


def test_isolated_extraction_returns_what_extract_returns(tmp_path: Path) -> None:
    path = _file(tmp_path, "a.pdf", samples.pdf([["Page one"], ["Page two"]]))
    assert extract_isolated(path, PDF, ExtractionLimits()) == extract(path, PDF, ExtractionLimits())


@pytest.mark.parametrize(
    ("data", "media_type", "reason"),
    [
        (samples.encrypted_pdf(user_password=samples.PDF_PASSWORD), PDF, "password-protected"),
        (samples.pdf([["Truncated"]] * 3)[:400], PDF, "damaged or truncated"),
        (samples.image_only_pdf(), PDF, "not even by OCR of its pages"),
        (samples.zip_bomb(megabytes=20), DOCX, "possible zip bomb"),
        (b" \n ", TEXT, "no extractable text"),
    ],
)
def test_bad_files_fail_with_their_reason_across_the_process_boundary(
    tmp_path: Path, data: bytes, media_type: str, reason: str
) -> None:
    with pytest.raises(ExtractionError) as failure:
        extract_isolated(_file(tmp_path, "bad", data), media_type, ExtractionLimits())
    assert reason in failure.value.reason


def test_a_pathologically_slow_pdf_is_killed_at_the_time_limit(tmp_path: Path) -> None:
    path = _file(tmp_path, "slow.pdf", samples.slow_pdf())
    extract_isolated(_file(tmp_path, "warm.txt", b"warm up the fork server"), TEXT, ExtractionLimits())
    before = _descendants()
    started = time.monotonic()
    with pytest.raises(ExtractionError) as failure:
        extract_isolated(path, PDF, ExtractionLimits(max_seconds=1))
    elapsed = time.monotonic() - started
    assert failure.value.reason == "Extraction took longer than 1 s; the file may be malformed."
    assert 1 <= elapsed < 4
    assert _descendants() <= before  # the child is gone, not left running in the background


def test_in_process_extraction_also_stops_at_its_deadline(tmp_path: Path) -> None:
    path = _file(tmp_path, "slow.pdf", samples.pdf([["x"]] * 30))
    with pytest.raises(ExtractionError, match="took longer than 0 s"):
        extract(path, PDF, ExtractionLimits(max_seconds=0))


def test_a_crashing_child_is_a_failure_not_a_crash_of_the_caller() -> None:
    with pytest.raises(IsolationCrash) as failure:
        run_isolated(_segfault, max_seconds=10, max_memory_bytes=2**31)
    assert failure.value.detail == "killed by SIGSEGV"
    with pytest.raises(IsolationCrash, match="exited with status 3"):
        run_isolated(os._exit, 3, max_seconds=10, max_memory_bytes=2**31)


def test_the_memory_cap_turns_a_huge_allocation_into_a_failure() -> None:
    with pytest.raises(IsolationOutOfMemory):
        run_isolated(_allocate, 3 * 2**30, max_seconds=10, max_memory_bytes=2**31)
    assert run_isolated(_allocate, 2**20, max_seconds=10, max_memory_bytes=2**31) == 2**20


def test_an_extraction_out_of_memory_reads_as_such(tmp_path: Path) -> None:
    # 300 MB of address space cannot hold the parsers plus a 200 MB text: the child runs out, the caller does not.
    path = _file(tmp_path, "big.txt", b"status line\n" * (16 * 1024 * 1024))
    with pytest.raises(ExtractionError) as failure:
        extract_isolated(path, TEXT, ExtractionLimits(max_memory_bytes=300 * 2**20))
    assert failure.value.reason == "Reading the file needs more than 300 MB of memory; the file may be malformed."


def test_exceptions_in_the_child_come_back_as_themselves() -> None:
    with pytest.raises(ValueError, match="bad input"):
        run_isolated(_fail, max_seconds=10, max_memory_bytes=2**31)
    with pytest.raises(IsolationTimeout):
        run_isolated(time.sleep, 30, max_seconds=0.5, max_memory_bytes=2**31)


async def test_isolated_extractions_run_concurrently_from_asyncio(tmp_path: Path) -> None:
    paths = [_file(tmp_path, f"{n}.pdf", samples.pdf([[f"Document {n}"]])) for n in range(4)]
    documents = await asyncio.gather(
        *(asyncio.to_thread(extract_isolated, path, PDF, ExtractionLimits()) for path in paths)
    )
    assert [document.text for document in documents] == [f"Document {n}" for n in range(4)]


@pytest.mark.heavy
@pytest.mark.skipif(not CORPUS.is_dir(), reason="no shared real-world PDF corpus on this machine")
def test_every_real_world_pdf_extracts_or_fails_with_a_reason() -> None:
    for path in sorted(CORPUS.glob("*.pdf")):
        try:
            document = extract_isolated(path, PDF, ExtractionLimits())
        except ExtractionError as failure:
            assert failure.reason.endswith("."), path
        else:
            assert document.text.strip(), path
            chunks = chunk_document(document)
            assert all(document.text[c.start : c.end] == c.text for c in chunks), path
