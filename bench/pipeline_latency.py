"""How long a small document takes from upload to COMPLETED, with the outbox relays woken by Postgres NOTIFY when an
event commits (the default) and, for comparison in the same run, with them only polling every 0.5 s
(PMDI_OUTBOX_LISTEN=false). A document crosses the outboxes several times (each stage's event and progress reports),
so every poll interval it waits is added to what the user waits.

Usage: python bench/pipeline_latency.py [--documents 20]
Writes bench/results/pipeline_latency.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen")]

from tests.support.uploads import Watch, upload  # noqa: E402 - after the path set-up above

RESULTS = ROOT / "bench" / "results" / "pipeline_latency.json"
NOTE = "Status meeting. Tom will send the revised plan by Friday. The vendor may delay the launch by two weeks.\n"


def measure(listen: bool, documents: int) -> dict[str, Any]:
    from tests.platform import launcher_on_free_ports

    launcher = launcher_on_free_ports(
        Path(tempfile.mkdtemp(prefix="pmdi-bench-latency-")),
        {
            "PMDI_LOG_LEVEL": "WARNING",
            "PMDI_OUTBOX_LISTEN": "true" if listen else "false",
            "PMDI_RATE_LIMIT_PER_ADDRESS": "1000000",
        },
    )
    with launcher.running() as deployment:
        url = deployment.gateway_url
        reply = httpx.post(
            f"{url}/graphql",
            json={
                "query": 'mutation($e: String!) { register(organizationName: "Latency", email: $e, password: "bench-Password-2024!") { accessToken } }',
                "variables": {"e": f"latency-{uuid.uuid4().hex[:8]}@example.com"},
            },
            timeout=60,
        ).json()
        token = reply["data"]["register"]["accessToken"]
        timings = []
        for n in range(documents + 2):  # the first two warm the models and connections
            with Watch(url, token) as events:
                started = time.perf_counter()
                document = upload(url, token, f"note-{n}.txt", f"{NOTE} Note {n}.".encode()).ok()["uploadDocument"][
                    "id"
                ]
                while not any(
                    e["documentId"] == document and e["status"] in ("COMPLETED", "FAILED") for e in events.events
                ):
                    time.sleep(0.005)
                elapsed = time.perf_counter() - started
            if n >= 2:
                timings.append(elapsed * 1000)
    timings.sort()
    return {
        "outbox_listen": listen,
        "documents": len(timings),
        "median_ms": round(statistics.median(timings)),
        "p90_ms": round(timings[int(len(timings) * 0.9) - 1]),
        "mean_ms": round(statistics.fmean(timings)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=20)
    args = parser.parse_args()
    notified = measure(True, args.documents)
    print(json.dumps(notified), flush=True)
    polled = measure(False, args.documents)
    print(json.dumps(polled), flush=True)
    result = {
        "benchmark": "pipeline_latency",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "notify": notified,
        "poll_only": polled,
        "saved_median_ms": polled["median_ms"] - notified["median_ms"],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
