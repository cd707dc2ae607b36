"""Gateway load benchmark: `me` queries/s with p50/p95/p99 and logins/s, at 50 concurrent clients.

Usage:
  python bench/gateway_load.py                     # starts its own platform on free ports
  python bench/gateway_load.py --url http://127.0.0.1:8000
Writes bench/results/gateway_load.json. Target (issue 2): `me` >= 520 q/s with p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent.parent / "gen")]

RESULTS = Path(__file__).resolve().parent / "results" / "gateway_load.json"
PASSWORD = "bench-Password-2024!"
ME = {"query": "query { me { id email role organization { id name } } }"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def register_users(client: httpx.AsyncClient, url: str, count: int) -> list[tuple[str, str]]:
    """Register `count` organizations; return (email, access token) pairs."""
    users = []
    for _ in range(count):
        email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
        query = (
            'mutation($e: String!, $p: String!) { register(organizationName: "Bench", email: $e, password: $p) '
            "{ accessToken } }"
        )
        reply = await client.post(url, json={"query": query, "variables": {"e": email, "p": PASSWORD}})
        users.append((email, reply.json()["data"]["register"]["accessToken"]))
    return users


async def drive(
    client: httpx.AsyncClient,
    url: str,
    bodies: list[tuple[dict[str, Any], dict[str, str]]],
    seconds: float,
    clients: int,
) -> tuple[list[float], int]:
    """Each client loops over its body until time is up; returns latencies (s) and error count."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def one(index: int) -> None:
        nonlocal errors
        body, headers = bodies[index % len(bodies)]
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.post(url, json=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or response.json().get("errors"):
                errors += 1

    await asyncio.gather(*(one(i) for i in range(clients)))
    return latencies, errors


async def run(base_url: str, clients: int, seconds: float) -> dict[str, Any]:
    url = f"{base_url}/graphql"
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        users = await register_users(client, url, clients)
        me_bodies = [(ME, {"Authorization": f"Bearer {token}"}) for _, token in users]
        await drive(client, url, me_bodies, 2, clients)  # warm-up
        me_latencies, me_errors = await drive(client, url, me_bodies, seconds, clients)
        login_query = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"
        login_bodies: list[tuple[dict[str, Any], dict[str, str]]] = [
            ({"query": login_query, "variables": {"e": e, "p": PASSWORD}}, {}) for e, _ in users
        ]
        login_latencies, login_errors = await drive(client, url, login_bodies, seconds / 2, clients)
    return {
        "benchmark": "gateway_load",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "clients": clients,
        "me": {
            "requests": len(me_latencies),
            "errors": me_errors,
            "per_second": round(len(me_latencies) / seconds, 1),
            "p50_ms": round(percentile(me_latencies, 0.50) * 1000, 2),
            "p95_ms": round(percentile(me_latencies, 0.95) * 1000, 2),
            "p99_ms": round(percentile(me_latencies, 0.99) * 1000, 2),
            "mean_ms": round(statistics.fmean(me_latencies) * 1000, 2),
        },
        "login": {
            "requests": len(login_latencies),
            "errors": login_errors,
            "per_second": round(len(login_latencies) / (seconds / 2), 1),
            "p95_ms": round(percentile(login_latencies, 0.95) * 1000, 2),
        },
        "target": {"me_per_second": 520, "me_p95_ms": 100},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running gateway; default: start one")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    launcher = None
    base_url = args.url
    if base_url is None:
        from services.launcher import Launcher
        from tests.conftest import free_port, free_port_block

        launcher = Launcher(
            data_dir=Path(tempfile.mkdtemp(prefix="pmdi-bench-")),
            gateway_port=free_port(),
            grpc_ports={name: free_port() for name in ("tenancy", "ingest", "search", "analysis")},
            stack_base_port=free_port_block(40),
            # Measure throughput, not the limiter: every bench client comes from 127.0.0.1.
            extra_env={
                "PMDI_RATE_LIMIT_PER_USER": "1000000",
                "PMDI_RATE_LIMIT_PER_ADDRESS": "1000000",
                "PMDI_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000",
                "PMDI_LOG_LEVEL": "WARNING",
            },
        )
        base_url = launcher.start().gateway_url
    try:
        result = asyncio.run(run(base_url, args.clients, args.seconds))
    finally:
        if launcher is not None:
            launcher.stop(stack=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
