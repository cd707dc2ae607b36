"""Ingest benchmark: 200 five-page PDFs through upload -> extraction -> chunks, the gateway's memory while a 50 MB
file is uploaded, and one file of each kind read since issue 18 (workbook, deck, e-mails, images and scans read by
OCR), each timed alone from upload to its final status beside a five-page text PDF in the same run.

Usage: python bench/ingest_throughput.py [--documents 200] [--url http://127.0.0.1:8000 --gateway-pid PID]
Writes bench/results/ingest_throughput.json. Targets (issue 3): >= 120 documents/minute with two extraction
workers; gateway memory growth < 64 MB during a 50 MB upload.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent.parent / "gen")]

from services.ingest.tests import samples  # noqa: E402 - after the path set-up above
from tests.support import files  # noqa: E402
from tests.support.uploads import upload  # noqa: E402

SCANNED = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdf" / "175.pdf"
DOCUMENT = "query($id: ID!) { document(id: $id) { status error pageCount } }"

RESULTS = Path(__file__).resolve().parent / "results" / "ingest_throughput.json"
PASSWORD = "bench-Password-2024!"
COUNTS = "query($s: DocumentStatus) { documents(first: 1, status: $s) { totalCount } }"


def register(base_url: str) -> str:
    query = (
        'mutation($e: String!, $p: String!) { register(organizationName: "Bench", email: $e, password: $p) '
        "{ accessToken } }"
    )
    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    reply = httpx.post(
        f"{base_url}/graphql", json={"query": query, "variables": {"e": email, "p": PASSWORD}}, timeout=60
    )
    return str(reply.json()["data"]["register"]["accessToken"])


def count(base_url: str, token: str, status: str | None) -> int:
    reply = httpx.post(
        f"{base_url}/graphql",
        json={"query": COUNTS, "variables": {"s": status}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    return int(reply.json()["data"]["documents"]["totalCount"])


def five_page_pdf(seed: int) -> bytes:
    lines = [f"{line} (document {seed}, line {i})" for i, line in enumerate(files.MEETING_LINES * 3)]
    return files.pdf_bytes([lines for _ in range(5)])


def throughput(base_url: str, token: str, documents: int) -> dict[str, Any]:
    pdfs = [five_page_pdf(i) for i in range(documents)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: upload(base_url, token, f"bench-{i}.pdf", pdfs[i]), range(documents)))
    uploaded_s = time.perf_counter() - started
    assert all(not r.errors for r in results), [r.errors for r in results if r.errors][:3]
    while True:
        done = count(base_url, token, "COMPLETED") + count(base_url, token, "FAILED")
        if done >= documents:
            break
        time.sleep(0.5)
    elapsed = time.perf_counter() - started
    return {
        "documents": documents,
        "pages_each": 5,
        "uploaded_in_s": round(uploaded_s, 2),
        "all_final_in_s": round(elapsed, 2),
        "failed": count(base_url, token, "FAILED"),
        "documents_per_minute": round(documents / elapsed * 60, 1),
    }


def _final(base_url: str, token: str, document_id: str) -> dict[str, Any]:
    while True:
        reply = httpx.post(
            f"{base_url}/graphql",
            json={"query": DOCUMENT, "variables": {"id": document_id}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        document = reply.json()["data"]["document"]
        if document["status"] in ("COMPLETED", "FAILED"):
            return dict(document)
        time.sleep(0.1)


def each_kind(base_url: str, token: str) -> dict[str, Any]:
    """One file of each kind, alone, from upload to its final status; a text PDF first as the baseline."""
    scan = samples.scanned_pdf([files.MEETING_LINES[:4], files.MEETING_LINES[4:]])
    kinds = {
        "text.pdf (baseline)": five_page_pdf(0),
        "raid.xlsx": samples.xlsx(),
        "raid.xlsm": samples.xlsm(),
        "steering.pptx": samples.pptx(),
        "cutover.eml": samples.eml(attachments=[("plan.pdf", "application/pdf", files.pdf_bytes([["Plan."]]))]),
        "cutover.msg": samples.outlook_msg(),
        "whiteboard.png": samples.scanned_page(files.MEETING_LINES),
        "whiteboard.jpg": samples.scanned_page(files.MEETING_LINES, image_format="JPEG"),
        "whiteboard.tiff": samples.scanned_page(files.MEETING_LINES, image_format="TIFF"),
        "scan-2-pages.pdf": scan,
    }
    if SCANNED.is_file():
        kinds["175.pdf (real scan, 2 pages)"] = SCANNED.read_bytes()
    timings: dict[str, Any] = {}
    for name, content in kinds.items():
        started = time.perf_counter()
        created = upload(base_url, token, name.split(" ")[0], content).ok()["uploadDocument"]
        final = _final(base_url, token, created["id"])
        timings[name] = {
            "status": final["status"],
            "pages": final["pageCount"],
            "seconds": round(time.perf_counter() - started, 2),
            **({"error": final["error"]} if final["error"] else {}),
        }
        print(name, timings[name], flush=True)
    return timings


def upload_memory(base_url: str, token: str, gateway_pid: int) -> dict[str, Any]:
    gateway = psutil.Process(gateway_pid)
    size = 50 * 1024 * 1024 - 4096
    line = b"Status: the migration is on track; the vendor confirmed the cutover window.\n"
    content = (line * (size // len(line) + 1))[:size]
    baseline = gateway.memory_info().rss
    peak = baseline
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, gateway.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    result = upload(base_url, token, "big.txt", content)
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    return {
        "file_mb": round(size / 1024 / 1024, 1),
        "accepted": not result.errors,
        "upload_s": round(seconds, 2),
        "gateway_rss_baseline_mb": round(baseline / 1024 / 1024, 1),
        "gateway_rss_peak_mb": round(peak / 1024 / 1024, 1),
        "gateway_rss_growth_mb": round((peak - baseline) / 1024 / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--url")
    parser.add_argument("--gateway-pid", type=int)
    args = parser.parse_args()
    base_url, gateway_pid = args.url, args.gateway_pid
    with ExitStack() as started_here:
        if base_url is None:
            from tests.platform import launcher_on_free_ports

            launcher = launcher_on_free_ports(
                Path(tempfile.mkdtemp(prefix="pmdi-bench-")),
                {
                    "PMDI_EXTRACTION_WORKERS": "2",
                    "PMDI_PIPELINE_STAGES": "[]",  # upload -> extraction -> chunks, as the issue measures
                    "PMDI_RATE_LIMIT_PER_USER": "1000000",
                    "PMDI_RATE_LIMIT_PER_ADDRESS": "1000000",
                    "PMDI_LOG_LEVEL": "WARNING",
                },
            )
            deployment = started_here.enter_context(launcher.running())
            base_url, gateway_pid = deployment.gateway_url, launcher.processes["gateway"].pid
        token = register(base_url)
        result = {
            "benchmark": "ingest_throughput",
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"cpus": os.cpu_count()},
            "extraction_workers": 2,
            "throughput": throughput(base_url, token, args.documents),
            "each_kind": each_kind(base_url, token),
            "upload_memory": upload_memory(base_url, token, gateway_pid) if gateway_pid else None,
            "target": {"documents_per_minute": 120, "gateway_rss_growth_mb": 64},
        }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
